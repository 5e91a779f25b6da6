/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_int.h: the store's insides, shared by store.c (the environment,
 * transactions, group commit) and store_gen.c (the generation and its
 * rollback anchors). Nothing outside pki/store*.c includes it.
 */
#ifndef SLW_STORE_INT_H
#define SLW_STORE_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

#include <lmdb.h>

#include "anchor.h"
#include "store.h"

#define STORE_ANCHORS_MAX 2
#define STORE_GEN_LABEL "slipway store generation v1"

struct gc_op {
	int (*fn)(struct store_txn *, void *);
	void *arg;
	struct slw_diag *d;
	int result;
	int done;
	struct gc_op *next;
};

struct store {
	MDB_env *env;
	MDB_dbi dbi[DB__COUNT];
	char dir[PATH_MAX];
	char dbdir[PATH_MAX];
	struct kek kek;
	int have_kek;
	int readonly;
	unsigned int envflags;	/* extra MDB_* flags (a copy: NOSUBDIR...) */
	int use_fd;		/* STATE/.use.lock, held shared while open */
	size_t mapsize;
	uint64_t free_min;
	atomic_ullong werr[STORE_WERR__COUNT];
	/* rollback anchors (store_gen.c) */
	uint8_t gen_key[32];	/* authenticates the generation record */
	char anchor_path[PATH_MAX];
	struct anchor_ops extra;	/* store_opts.anchor2, or all NULL */
	struct anchor_file *af;
	struct anchor_ops anchors[STORE_ANCHORS_MAX];
	size_t n_anchors;
	atomic_ullong anchor_errors;	/* advances that failed since open */
	pthread_mutex_t gc_mu;
	pthread_cond_t gc_cv;
	struct gc_op *q_head, *q_tail;
	int gc_leader;
};

struct store_txn {
	struct store *s;
	MDB_txn *txn;
	int write;
	struct slw_diag *d;
};

/*
 * The generation (store_gen.c). gen_setup opens the anchors once the KEK is
 * known; gen_bump runs last in every write transaction (the outer one of a
 * group commit) and says what to anchor; gen_anchor moves the anchors after
 * the commit; gen_check compares the database with its anchors at open.
 */
int store_gen_setup(struct store *s, int create, struct slw_diag *d);
int store_gen_bump(struct store_txn *t, struct anchor_state *st);
void store_gen_anchor(struct store *s, const struct anchor_state *st);
int store_gen_check(struct store *s, struct slw_diag *d);
int store_gen_reset(struct store *s, struct slw_diag *d);
void store_gen_free(struct store *s);

/*
 * A store over an environment that is not a state's live one: a backup's
 * copy (a file: file=1, read-only, no lock file) or a restore's new
 * directory. Opened with k (checked against the kek-check record), its
 * generation readable and writable, but no anchors, no use lock: nothing
 * outside it moves.
 */
int store_open_raw(const char *label, const char *path, int file,
    int readonly, const struct kek *k, struct store **out,
    struct slw_diag *d);
/* The use lock: LOCK_SH by every open, LOCK_EX by a restore. */
int store_use_lock(const char *state, int exclusive, int *fd,
    struct slw_diag *d);

#endif
