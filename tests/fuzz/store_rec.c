// SPDX-License-Identifier: Apache-2.0
/*
 * store_rec.c: fuzz target for the record encoding read back from the store
 * (a damaged database must give SLW_ERR_CORRUPT, never an out-of-bounds
 * read), and for unsealing arbitrary blobs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rec.h"
#include "seal.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *v;
	struct buf b = { 0 };
	struct kek k;
	char s[64];
	uint64_t u;
	size_t vl;
	int tag;

	if (rec_valid(data, size) == 0)
		for (tag = 0; tag < 16; tag++)
			if (rec_get(data, size, (uint8_t)tag, &v, &vl) == 0 &&
			    (v < data || v + vl > data + size))
				abort();
	(void)rec_get_u64(data, size, 1, &u);
	(void)rec_get_str(data, size, 2, s, sizeof(s));
	if (rec_get_buf(data, size, 3, &b) == 0)
		buf_free(&b);
	memset(&k, 0x5a, sizeof(k));
	if (seal_open(&k, "fuzz", data, size, &b) == 0)
		abort();	/* nothing forged opens */
	return 0;
}
