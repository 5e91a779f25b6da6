// SPDX-License-Identifier: Apache-2.0
/*
 * duration.c: durations as the seed writes them (87600h, 15m, 30d, 90s)
 * to seconds or hours. Pure, no I/O.
 */
#include "profile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
duration_parse(const char *s, uint64_t *secs)
{
	char *end;
	unsigned long long v;
	uint64_t mul;

	if (s == NULL || *s < '0' || *s > '9')
		return SLW_ERR_INVALID;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		return SLW_ERR_INVALID;
	if (strcmp(end, "s") == 0)
		mul = 1;
	else if (strcmp(end, "m") == 0)
		mul = 60;
	else if (strcmp(end, "h") == 0)
		mul = 3600;
	else if (strcmp(end, "d") == 0)
		mul = 86400;
	else
		return SLW_ERR_INVALID;
	/* at most 100 years */
	if (v == 0 || v > (100ull * 366 * 86400) / mul)
		return SLW_ERR_INVALID;
	*secs = v * mul;
	return 0;
}

int
duration_parse_seconds(const char *s, uint64_t *secs)
{
	return duration_parse(s, secs);
}

int
duration_parse_hours(const char *s, uint32_t *hours)
{
	uint64_t secs;
	int r;

	if ((r = duration_parse(s, &secs)) != 0)
		return r;
	*hours = (uint32_t)((secs + 3599) / 3600);
	return 0;
}
