// SPDX-License-Identifier: Apache-2.0
/*
 * http_range.c: fuzz target for the Range header of GET /v1/artifacts
 * (bootstrap/http_range.c), which comes from any client that passed the
 * certificate check. The first 8 bytes are the artifact's size (big-
 * endian), the rest the header. Never a crash; an answered range lies
 * inside the artifact (start <= end < size); a refusal (416) only for a
 * range that starts at or past the end, or a zero suffix; and a header
 * made of the answered numbers is answered the same way.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_range.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t len = 0, s = 0, e = 0, s2 = 0, e2 = 0;
	char again[64];
	size_t i;
	int r;

	if (size < 8)
		return 0;
	for (i = 0; i < 8; i++)
		len = len << 8 | data[i];
	len >>= data[0] & 63;	/* small sizes too */
	r = http_range_parse((const char *)data + 8, size - 8, len, &s, &e);
	if (r == 1)
		return 0;
	if (r == SLW_ERR_INVALID) {
		if (size - 8 > HTTP_RANGE_MAX)
			abort();	/* over the cap: ignored, never 416 */
		return 0;
	}
	if (r != 0 || len == 0 || s > e || e >= len)
		abort();
	snprintf(again, sizeof(again), "bytes=%llu-%llu",
	    (unsigned long long)s, (unsigned long long)e);
	if (http_range_parse(again, strlen(again), len, &s2, &e2) != 0 ||
	    s2 != s || e2 != e)
		abort();
	return 0;
}
