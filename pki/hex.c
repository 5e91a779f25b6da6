// SPDX-License-Identifier: Apache-2.0
/*
 * hex.c: lower-case hex of bytes (serials, fingerprints). Pure.
 */
#include "cert.h"

void
hex_encode(const uint8_t *p, size_t len, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * len] = '\0';
}
