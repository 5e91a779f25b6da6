// SPDX-License-Identifier: Apache-2.0
/*
 * unseal_msg.c: fuzz target for the messages of serve's unseal socket
 * (any local process may connect; peers are checked before a byte is
 * read, but the parser must hold regardless). What parses must serialise
 * back to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unseal_msg.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct unseal_msg m;
	struct buf out = { 0 };

	if (unseal_msg_parse(data, size, &m, NULL) != 0)
		return 0;
	if (unseal_msg_write(&m, &out) != 0 || out.len != size + 4 ||
	    memcmp(out.data + 4, data, size) != 0)
		abort();
	buf_free(&out);
	unseal_msg_free(&m);
	return 0;
}
