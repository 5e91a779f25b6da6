// SPDX-License-Identifier: Apache-2.0
/*
 * key_parse.c: fuzz target for private and public key parsing (PEM or DER).
 */
#include <stdint.h>
#include <stdlib.h>

#include "key.h"
#include "rand.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct key *k = NULL;
	struct buf out = { 0 };

	slw_crypto_init();
	if (key_parse(data, size, &k, NULL) == 0) {
		if (k->type == KEY_NONE || key_write_der(k, &out) != 0)
			abort();
		buf_free(&out);
		key_free(k);
	}
	k = NULL;
	if (key_parse_public(data, size, &k, NULL) == 0)
		key_free(k);
	return 0;
}
