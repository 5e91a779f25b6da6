/* SPDX-License-Identifier: Apache-2.0 */
/*
 * backup.h: sealed, consistent, rollback-safe backups of a state.
 *
 * A backup is a hot, compacted copy of the LMDB environment
 * (store_copy_compact: a read transaction of its own, so serve goes on
 * writing), sealed under the KEK with AES-256-GCM (seal.h) in 1 MiB chunks,
 * after a sealed manifest. The file:
 *
 *   "SLWBKUP1"                      magic, 8 bytes
 *   appliance id                    16 bytes: HMAC(KEK, label), public
 *   u32 length, sealed manifest     AAD "backup/<appliance id hex>/manifest"
 *   { u32 length, sealed chunk }    AAD "backup/<backup id hex>/<n>/<last>"
 *
 * (big-endian lengths). Each chunk is bound to the backup, its place and
 * whether it is the last, so chunks cannot be dropped, reordered, spliced
 * from another backup or cut off at the end; the manifest is bound to the
 * appliance. It carries the time, the generation and audit head (anchor.h)
 * of the copy, the records per database, the copy's size and SHA-256.
 *
 * A restore verifies the whole file, the copy's KEK check, generation and
 * audit chain before it changes anything, refuses a backup of another
 * appliance (another KEK), and refuses while the store is in use (serve
 * running: the use lock). Restoring a backup older than the store (below
 * the anchors or the current generation) is allowed only with
 * BACKUP_ROLLBACK: the caller's fixup then runs in the restored copy's
 * first transaction (slipway voids every token unused at backup time
 * there), the generation moves past everything the appliance ever had, so
 * no copy of the database from before the restore opens again, and a
 * "store.restore" audit record says what happened.
 */
#ifndef SLW_BACKUP_H
#define SLW_BACKUP_H

#include <stdint.h>
#include <time.h>

#include "store.h"

#define BACKUP_MAGIC "SLWBKUP1"
#define BACKUP_CHUNK (1u << 20)			/* plaintext per chunk */
#define BACKUP_MANIFEST_MAX (16u << 10)		/* sealed manifest */
#define BACKUP_DB_MAX ((uint64_t)STORE_MAPSIZE_GIB << 30)

struct backup_manifest {
	uint32_t version;		/* 1 */
	uint8_t id[16];			/* random: names this backup */
	char appliance[33];		/* hex of the appliance id */
	time_t time;
	uint64_t generation;		/* of the copy */
	uint8_t head[32];		/* its audit head digest */
	uint64_t audit_records;
	uint64_t counts[DB__COUNT];	/* records per database */
	uint64_t db_size;		/* bytes of the copy */
	uint8_t db_sha256[32];
	uint64_t chunks;
};

/* The appliance id of a KEK, as 32 hex digits (out: 33 bytes). */
int backup_appliance_id(const struct kek *k, uint8_t id[16], char hex[33]);

/*
 * Writes a backup of s (opened with its KEK) to fd, which must be a fresh
 * file the caller renames into place on success. *m says what it holds.
 */
int backup_write(struct store *s, int fd, struct backup_manifest *m,
    struct slw_diag *d);

/*
 * Untrusted bytes: a whole backup file in memory (at most len, no I/O).
 * Verifies it under k (framing, caps, every MAC, the last chunk, nothing
 * after it, size and SHA-256) and fills *m. The copy is not opened: that
 * needs a file (backup_restore).
 */
int backup_parse_buf(const struct kek *k, const uint8_t *buf, size_t len,
    struct backup_manifest *m, struct slw_diag *d);
/* The manifest's plaintext (fuzzable, capped, no I/O). */
int backup_manifest_parse(const uint8_t *p, size_t len,
    struct backup_manifest *m);

#define BACKUP_ROLLBACK 0x1u	/* an older backup may replace the store */

struct backup_restore_result {
	struct backup_manifest m;
	int older;			/* it was older: a rollback */
	uint64_t was_generation;	/* the store's (or its anchor's) before */
	uint64_t generation;		/* the restored store's now */
	char fixup_note[160];		/* what the fixup said ("3 tokens ...") */
};

/*
 * Restores the backup read from fd into state. o gives the KEK (as for
 * store_open) and the anchors. fixup (may be NULL) runs in the restored
 * copy's write transaction when the backup is older, before the audit
 * record; it may write a short note. Nothing in state changes unless
 * everything verified; the switch is one rename (exchange), and the anchors
 * follow it.
 */
int backup_restore(const char *state, const struct store_opts *o, int fd,
    unsigned int flags,
    int (*fixup)(struct store_txn *t, void *arg, char *note, size_t len),
    void *arg, const char *actor, struct backup_restore_result *res,
    struct slw_diag *d);

#endif
