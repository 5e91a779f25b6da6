// SPDX-License-Identifier: Apache-2.0
/*
 * kekwrap_parse.c: fuzz target for the wrapped-KEK file parser (the file
 * sits on the appliance's state disk: whoever holds the disk may edit it).
 * What parses must serialise back to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kekwrap.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kekwrap w;
	struct buf out = { 0 };
	struct slw_diag d;

	slw_diag_clear(&d);
	if (kekwrap_parse(data, size, &w, &d) != 0) {
		if (d.msg[0] == '\0')
			abort();	/* every refusal says why */
		return 0;
	}
	if (kekwrap_write(&w, &out) != 0 || out.len != size ||
	    memcmp(out.data, data, size) != 0)
		abort();
	buf_free(&out);
	kekwrap_wipe(&w);
	return 0;
}
