/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redact.h: what keeps tokens out of the fleet's journal (redact.c).
 */
#ifndef SLW_REDACT_H
#define SLW_REDACT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * Copies in to out with every bearer token replaced by "[redacted]"
 * ("Bearer X", "token=X"), every occurrence of secret (if not NULL) too, and
 * bytes that are not printable UTF-8 replaced by '?'. Untrusted input: no
 * I/O, at most max bytes of in are looked at.
 */
int redact_text(const uint8_t *in, size_t len, const char *secret,
    size_t max, struct buf *out);

#endif
