/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_range.h: the Range header of a download (RFC 9110 section 14.2),
 * as GET /v1/artifacts needs it to resume a cut transfer: one range of
 * bytes, over untrusted (buf, len) with a hard cap and no I/O.
 */
#ifndef SLW_HTTP_RANGE_H
#define SLW_HTTP_RANGE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define HTTP_RANGE_MAX 256	/* longest Range header looked at */

/*
 * "bytes=N-", "bytes=N-M" or "bytes=-S" against a representation of size
 * bytes. 0: serve [*start, *end] (inclusive; M beyond the end is cut to
 * it) with 206. 1: no range to apply (absent, another unit, several
 * ranges, malformed or over the cap: RFC 9110 lets a server ignore those
 * and send everything with 200; also a size past INT64_MAX, which no file
 * has). SLW_ERR_INVALID: a well-formed single
 * range that starts at or past the end (or a zero suffix): 416.
 */
int http_range_parse(const char *h, size_t len, uint64_t size,
    uint64_t *start, uint64_t *end);

#endif
