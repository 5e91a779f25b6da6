// SPDX-License-Identifier: Apache-2.0
/*
 * backup_file.c: fuzz target for backup files (pki/backup.h): the whole
 * file under a fixed test KEK (framing, caps, every MAC, truncation,
 * trailing bytes), the manifest's plaintext parser, and the rollback
 * anchor's slots. Nothing may read out of bounds; nothing forged may
 * verify. The corpus seeds are real backups made under the same test KEK
 * (0x5a x 32) by unit_backup with SLW_WRITE_FUZZ_SEEDS=DIR, which also
 * checks that they still verify.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "anchor.h"
#include "backup.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct backup_manifest m;
	struct anchor_state st;
	uint8_t key[KEK_LEN], akey[32];
	struct kek k;
	int slot;

	memset(key, 0x5a, sizeof(key));
	if (kek_set(&k, key) != 0)
		abort();
	if (backup_parse_buf(&k, data, size, &m, NULL) == 0 &&
	    (m.db_size == 0 || m.db_size > size || m.chunks == 0 ||
	    m.version != 1))
		abort();
	if (backup_manifest_parse(data, size, &m) == 0 &&
	    (m.db_size == 0 || m.db_size > BACKUP_DB_MAX))
		abort();
	memset(akey, 0x11, sizeof(akey));
	if (anchor_parse(data, size, akey, &st, &slot) == 0 &&
	    (slot < 0 || slot > 1 || (st.has_head != 0 && st.has_head != 1)))
		abort();
	kek_wipe(&k);
	return 0;
}
