/* SPDX-License-Identifier: Apache-2.0 */
/*
 * anchor.h: rollback anchors. The store's generation (a counter every
 * commit raises, authenticated under the KEK together with the audit head)
 * is copied after each commit to anchors outside data.mdb. At open the
 * store refuses a database older than any anchor, so a copied-back older
 * data.mdb, which would make used tokens usable again, is detected.
 *
 * An anchor only ever moves forward. It may lag the database (a crash
 * between the commit and the anchor's update, a lazy anchor): a database
 * ahead of its anchors is accepted and the anchors catch up; one behind
 * them is refused.
 *
 * Two kinds:
 *  - the file anchor (always): KEK_PATH.anchor, next to the KEK and so
 *    outside the state directory on the appliance; 256 bytes, two slots
 *    written alternately in place (pwrite), each with its own
 *    MAC under a key derived from the KEK, so a torn write leaves the other
 *    slot and a file edited without the KEK is refused. The descriptor is
 *    opened with the store, so serve keeps updating it after dropping
 *    privileges; flock serialises processes.
 *  - a second anchor given in store_opts (the TPM's NV counter on the
 *    appliance): struct anchor_ops below. It may carry the generation only
 *    (has_head 0) and may advance lazily (e.g. once per serve start and per
 *    1,000 generations, to spare NV writes): every anchor only ever has to
 *    be at or below the database's generation.
 */
#ifndef SLW_ANCHOR_H
#define SLW_ANCHOR_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "seal.h"

struct anchor_state {
	uint64_t generation;	/* commits since init (0: none anchored) */
	uint8_t head[32];	/* SHA-256 of the audit head record */
	int has_head;		/* 0: this anchor keeps the generation only */
};

struct anchor_ops {
	const char *name;	/* for messages: "TPM NV index 0x1500020" */
	/*
	 * The highest state ever advanced to. SLW_ERR_NOTFOUND if none was
	 * (a new TPM index); SLW_ERR_CORRUPT if it cannot be trusted.
	 */
	int (*load)(void *ctx, struct anchor_state *st, struct slw_diag *d);
	/*
	 * Moves forward to st; a state at or below the current is a no-op.
	 * durable: on stable storage before it returns (a restore, a catch-up
	 * at open); else it may reach it later (every commit: a copied-back
	 * database is checked by the same kernel, which sees the write).
	 */
	int (*advance)(void *ctx, const struct anchor_state *st, int durable,
	    struct slw_diag *d);
	/* Forgets every state (a new init or restore of this appliance). */
	int (*reset)(void *ctx, const struct anchor_state *st,
	    struct slw_diag *d);
	void *ctx;
};

#define ANCHOR_FILE_SIZE 256

struct anchor_file;

/*
 * Opens (create: making it if missing, 0600) the file anchor at path, keyed
 * by k. A missing file without create gives *out with no state (load says
 * SLW_ERR_NOTFOUND). readonly: never written.
 */
int anchor_file_open(const char *path, const struct kek *k, int create,
    int readonly, struct anchor_file **out, struct slw_diag *d);
void anchor_file_free(struct anchor_file *a);
/* The file anchor as anchor_ops (valid while a lives). */
void anchor_file_ops(struct anchor_file *a, struct anchor_ops *ops);
const char *anchor_file_path(const struct anchor_file *a);

/*
 * The anchor file's bytes (untrusted: at most ANCHOR_FILE_SIZE, no I/O):
 * the newest slot whose MAC verifies under key. SLW_ERR_NOTFOUND if len
 * is 0, SLW_ERR_CORRUPT if no slot verifies.
 */
int anchor_parse(const uint8_t *buf, size_t len, const uint8_t key[32],
    struct anchor_state *st, int *slot);
/* One slot (ANCHOR_FILE_SIZE / 2 bytes) for st under key. */
int anchor_slot_write(const struct anchor_state *st, const uint8_t key[32],
    uint8_t out[ANCHOR_FILE_SIZE / 2]);

#endif
