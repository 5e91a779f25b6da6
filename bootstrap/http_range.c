// SPDX-License-Identifier: Apache-2.0
/*
 * http_range.c: one byte range from a Range header (http_range.h). Pure;
 * must never read past len, overflow a 64-bit offset, or answer a range
 * outside the representation.
 */
#include "http_range.h"

#include <string.h>

/* Digits at *p (at most 19: below 2^63), advancing p. -1 if none. */
static int
number(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	int n = 0;

	while (*p < end && **p >= '0' && **p <= '9') {
		if (++n > 19)
			return -1;
		v = v * 10 + (uint64_t)(**p - '0');
		(*p)++;
	}
	if (n == 0)
		return -1;
	*out = v;
	return 0;
}

static void
skip_ows(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
}

int
http_range_parse(const char *h, size_t len, uint64_t size, uint64_t *start,
    uint64_t *end)
{
	const char *p = h, *e;
	uint64_t a = 0, b = 0;
	int have_a, have_b;

	/* sizes past off_t are no file's: their offsets would not even
	 * parse back (19 digits at most); the whole thing, then */
	if (h == NULL || len == 0 || len > HTTP_RANGE_MAX ||
	    size > (uint64_t)INT64_MAX || memchr(h, '\0', len) != NULL)
		return 1;
	e = h + len;
	skip_ows(&p, e);
	if ((size_t)(e - p) < 6 || strncmp(p, "bytes=", 6) != 0)
		return 1;	/* another unit: ignored */
	p += 6;
	skip_ows(&p, e);
	have_a = number(&p, e, &a) == 0;
	if (p >= e || *p != '-')
		return 1;
	p++;
	have_b = number(&p, e, &b) == 0;
	skip_ows(&p, e);
	if (p != e)
		return 1;	/* several ranges, or junk: the whole thing */
	if (!have_a && !have_b)
		return 1;
	if (!have_a) {
		/* the last b bytes */
		if (b == 0 || size == 0)
			return SLW_ERR_INVALID;
		*start = b >= size ? 0 : size - b;
		*end = size - 1;
		return 0;
	}
	if (have_b && b < a)
		return 1;	/* invalid: ignored */
	if (a >= size)
		return SLW_ERR_INVALID;
	*start = a;
	*end = have_b && b < size - 1 ? b : size - 1;
	return 0;
}
