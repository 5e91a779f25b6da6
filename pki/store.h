/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.h: slipway's state: one LMDB environment in the state directory
 * with named databases, typed records and one write transaction per logical
 * operation. Memory returned by LMDB belongs to the map: store_get copies,
 * store_get_ref is only for non-secret reads within the transaction.
 *
 * Layout of a state directory:
 *   STATE/db/data.mdb, STATE/db/lock.mdb   the LMDB environment
 *   STATE/kek                              key-encryption key (default path)
 *   KEK.anchor (STATE/kek.anchor)          rollback anchor (anchor.h)
 *
 * Rollback: every commit raises the store's generation (DB_META
 * "generation": the count, and a MAC under a key derived from the KEK over
 * it and the audit head) and then the anchors outside data.mdb. Opening
 * with the KEK (store_open, store_set_kek) refuses, with one line saying
 * what happened and how to proceed, a database whose generation is below
 * an anchor's, one at an anchor's generation with another audit head, one
 * whose generation record does not authenticate, and one that has a
 * generation while its file anchor is missing. A database ahead of its
 * anchors (a crash between commit and anchor) opens and the anchors catch
 * up. Without the KEK nothing can be checked, and nothing written.
 */
#ifndef SLW_STORE_H
#define SLW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "anchor.h"
#include "buf.h"
#include "err.h"
#include "seal.h"

#define STORE_SCHEMA_VERSION 1

enum store_db {
	DB_META = 0,	/* "schema", "kek-check", "audit-head", "cluster", ... */
	DB_CA,		/* "<name>" -> current generation; "<name>/<gen>" -> CA */
	DB_CERTS,	/* serial (16 bytes) -> certificate record */
	DB_EXPIRY,	/* not-after (be64) || serial -> "" */
	DB_SECRETS,	/* name -> sealed secret */
	DB_AUDIT,	/* seq (be64) -> hash-chained audit record */
	DB_TOKENS,	/* SHA-256(token id) -> token record */
	DB_ISSUANCE,	/* token hash || seq -> what a redemption issued */
	DB_JOURNAL,	/* rollout journal */
	DB_NODES,	/* node name -> per-node state (bootstrap tokens) */
	DB_OWNER,	/* node \0 purpose \0 serial -> "": who holds which cert */
	DB_ARTIFACTS,	/* SHA-256 (32 bytes) -> artifact record (artifact.h) */
	DB_MANIFESTS,	/* SHA-256(token id) -> the files a bundle served (hashes) */
	DB__COUNT
};

/* "meta", "ca", "certs", ...: the LMDB names (mdb_stat -s NAME). */
const char *store_db_name(enum store_db db);

#define STORE_NOOVERWRITE 0x1u
#define STORE_APPEND 0x2u

struct store;
struct store_txn;

/*
 * The map is sized once, at open, and never grows (LMDB's usual way). The
 * map size is address space, not disk: data.mdb grows by the pages really
 * written (no MDB_WRITEMAP, so the file is never extended to the map size)
 * and only pages in use take memory (as page cache, reclaimable). 16 GiB is
 * safe on 64-bit Linux: a process has 128 TiB of user address space, the
 * mapping is shared and read-only (writes go through pwrite), and an
 * unread page costs nothing. A certificate record is a few KiB, so the map
 * holds millions of them, far beyond a cluster's lifetime of renewals
 * (tokens and journal entries are pruned). Every process opens with the
 * same size, so none ever sees MDB_MAP_RESIZED. At the cap a write fails with SLW_ERR_FULL ("the
 * store in STATE is full: it reached its map size of 16384 MiB"), changes
 * nothing, and every read still works; `slipway backup` then a restore
 * compacts. Where size_t has 32 bits the map is 1 GiB.
 */
#define STORE_MAPSIZE_GIB 16

struct store_opts {
	const char *kek_path;	/* NULL: STATE/kek */
	/* the KEK in memory (unwrapped on the appliance): no file read or written */
	const struct kek *kek;
	int need_kek;		/* fail at open if the KEK is missing or wrong */
	int readonly;
	size_t mapsize;		/* 0: STORE_MAPSIZE_GIB (tests set less) */
	const char *anchor_path;	/* NULL: KEK_PATH.anchor (anchor.h) */
	const struct anchor_ops *anchor2;	/* a second anchor (the TPM's) */
	uint64_t free_min;	/* writes refused below this free: 0: 1 MiB */
};

/* Default KEK path for a state directory (into out). */
int store_kek_path(const char *state, const char *kek_path, char *out,
    size_t len);
/* 1 if STATE/db holds an environment. */
int store_exists(const char *state);

/*
 * Creates a new state: all or nothing. populate runs inside the single
 * write transaction that also records the schema and KEK check. Refuses an
 * existing state. Uses an existing KEK file if there is one, else makes one.
 */
int store_create(const char *state, const struct store_opts *o,
    int (*populate)(struct store_txn *, void *), void *arg,
    struct slw_diag *d);
/*
 * Opens a state. Holds a shared lock on STATE/.use.lock while open, so a
 * restore (which takes it exclusively) never replaces a store in use; an
 * open during a restore fails with SLW_ERR_BUSY.
 */
int store_open(const char *state, const struct store_opts *o,
    struct store **out, struct slw_diag *d);
void store_close(struct store *s);

/* The database's generation and audit head digest (anchor.h), checked. */
int store_gen_get(struct store_txn *t, struct anchor_state *st);

struct store_gen_anchor_info {
	char path[4096];		/* the file anchor */
	struct anchor_state file;	/* what it holds (0: nothing yet) */
	uint64_t errors;		/* anchor updates that failed since open */
};
int store_gen_anchor_info(struct store *s, struct store_gen_anchor_info *ai,
    struct slw_diag *d);

/* NULL when the store was opened without its KEK. */
const struct kek *store_kek(const struct store *s);
/*
 * Gives a store opened without its KEK (a sealed appliance) its KEK, after
 * checking it against the store's check record: SLW_ERR_KEK if it does not
 * open it, SLW_ERR_EXISTS if the store has one already. Call it before any
 * other thread uses the store's sealed records.
 */
int store_set_kek(struct store *s, const struct kek *k, struct slw_diag *d);
const char *store_dir(const struct store *s);

/*
 * One logical operation in one write transaction. fn runs exactly once per
 * call: the map never grows, so nothing is retried. If fn returns 0 its
 * changes are committed if and only if store_write returns 0; whatever fn
 * did outside the store (counters, memory it filled) the caller must judge
 * by that result, not by fn having run.
 */
int store_write(struct store *s, int (*fn)(struct store_txn *, void *),
    void *arg, struct slw_diag *d);
int store_read(struct store *s, int (*fn)(struct store_txn *, void *),
    void *arg, struct slw_diag *d);
/*
 * Like store_write, but operations submitted concurrently from several
 * threads share one commit (group commit): each runs once, in its own nested
 * transaction, so one failing operation (the map full included) does not
 * undo the others. Blocks until the operation is durable. Returns fn's
 * result, or the commit's failure when the shared commit fails.
 */
int store_submit(struct store *s, int (*fn)(struct store_txn *, void *),
    void *arg, struct slw_diag *d);

struct store *store_txn_store(struct store_txn *t);
struct slw_diag *store_txn_diag(struct store_txn *t);
int store_txn_writable(const struct store_txn *t);

int store_get(struct store_txn *t, enum store_db db, const void *key,
    size_t klen, struct buf *val);
int store_get_ref(struct store_txn *t, enum store_db db, const void *key,
    size_t klen, const uint8_t **val, size_t *vlen);
int store_put(struct store_txn *t, enum store_db db, const void *key,
    size_t klen, const void *val, size_t vlen, unsigned int flags);
int store_del(struct store_txn *t, enum store_db db, const void *key,
    size_t klen);
/*
 * Calls cb for every record whose key starts with prefix (all if plen == 0),
 * in key order (reverse order if reverse). cb returns 0 to go on, 1 to stop,
 * < 0 to fail.
 */
int store_iter(struct store_txn *t, enum store_db db, const void *prefix,
    size_t plen, int reverse,
    int (*cb)(void *arg, const uint8_t *k, size_t kl, const uint8_t *v,
    size_t vl), void *arg);
int store_count(struct store_txn *t, enum store_db db, size_t *n);

/* Sealed values: aad names the record ("ca/kubernetes/1"). */
int store_put_sealed(struct store_txn *t, enum store_db db, const void *key,
    size_t klen, const char *aad, const uint8_t *pt, size_t len);
int store_get_sealed(struct store_txn *t, enum store_db db, const void *key,
    size_t klen, const char *aad, struct buf *pt);

/*
 * A consistent copy of the whole environment, compacted (LMDB's
 * mdb_env_copyfd2 with MDB_CP_COMPACT, in a read transaction of its own:
 * writers go on meanwhile), written to fd.
 */
int store_copy_compact(struct store *s, int fd, struct slw_diag *d);

/* The map's size and the bytes in use (for tests and status). */
int store_mapsize(struct store *s, size_t *mapsize, size_t *used);

/*
 * A full disk. Before each write transaction the store measures the free
 * space of the state's filesystem (statvfs); below free_min (1 MiB) the
 * write is refused with SLW_ERR_NOSPACE and "disk full on STATE: N bytes
 * free", without starting it. A commit that fails with ENOSPC, or with EIO
 * (LMDB's word for a short write) while the filesystem is nearly full, gets
 * the same error. Either way nothing was written (LMDB's meta page still
 * names the last commit) and the open store keeps working: the first write
 * after space returns succeeds, with no reopen. Reads never check.
 */
enum store_werr {
	STORE_WERR_DISK_FULL = 0,	/* refused or failed for a full disk */
	STORE_WERR_MAP_FULL,		/* the map's cap (SLW_ERR_FULL) */
	STORE_WERR_IO,			/* another I/O error */
	STORE_WERR_OTHER,		/* any other failed commit */
	STORE_WERR__COUNT
};

struct store_space {
	uint64_t avail, total;	/* the state filesystem's free and size */
	int full;		/* avail below free_min: writes refused */
	size_t mapsize, used;
	uint64_t write_errors[STORE_WERR__COUNT];	/* since open */
};

int store_space(struct store *s, struct store_space *sp);
/* "disk_full", "map_full", "io", "other" (metric labels). */
const char *store_werr_name(enum store_werr w);
/*
 * 0 if a write could start now; SLW_ERR_NOSPACE with the disk-full line
 * if the state's filesystem is full (what /healthz and status report).
 */
int store_writable(struct store *s, struct slw_diag *d);
/*
 * The same check before expensive work that ends in a write (a redemption
 * makes keys first): a refusal counts as a refused write (disk_full).
 */
int store_reserve_check(struct store *s, struct slw_diag *d);

/* Named secrets in DB_SECRETS, sealed with "secrets/<name>" as AAD. */
int store_secret_put(struct store_txn *t, const char *name, const uint8_t *pt,
    size_t len);
int store_secret_get(struct store_txn *t, const char *name, struct buf *pt);

#endif
