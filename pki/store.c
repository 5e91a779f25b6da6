// SPDX-License-Identifier: Apache-2.0
/*
 * store.c: the LMDB environment behind slipway. One write transaction per
 * logical operation, a map sized once at open (store.h says why), group
 * commit for concurrent writers, all-or-nothing creation. Never runs an
 * operation twice, keeps pointers into the map past a transaction or
 * writes a secret unsealed.
 */
#include "store.h"
#include "diskspace.h"
#include "store_int.h"
#include "rand.h"
#include "rec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#define KEK_CHECK_AAD "meta/kek-check"
#define KEK_CHECK_TEXT "slipway-kek-check-v1"
/* 16 GiB of address space on 64-bit; 1 GiB where size_t is 32 bits. */
#define DEFAULT_MAP (SIZE_MAX > 0xffffffffu ? \
	(size_t)STORE_MAPSIZE_GIB << 30 : (size_t)1 << 30)
#define GC_BATCH_MAX 512

static const char *const db_names[DB__COUNT] = {
	"meta", "ca", "certs", "expiry", "secrets", "audit", "tokens",
	"issuance", "journal", "nodes", "owner", "artifacts",
	"manifests",
};

const char *
store_db_name(enum store_db db)
{
	return (unsigned)db < DB__COUNT ? db_names[db] : "?";
}

int
store_kek_path(const char *state, const char *kek_path, char *out, size_t len)
{
	int n;

	if (kek_path != NULL && kek_path[0] != '\0')
		n = snprintf(out, len, "%s", kek_path);
	else
		n = snprintf(out, len, "%s/kek", state);
	return n < 0 || (size_t)n >= len ? SLW_ERR_INVALID : 0;
}

static int
db_path(const char *state, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/db", state);

	return n < 0 || (size_t)n >= len ? SLW_ERR_INVALID : 0;
}

int
store_exists(const char *state)
{
	char p[PATH_MAX];
	struct stat st;

	if (snprintf(p, sizeof(p), "%s/db/data.mdb", state) >= (int)sizeof(p))
		return 0;
	return stat(p, &st) == 0;
}

static int
map_mdb_err(int mr)
{
	switch (mr) {
	case 0: return 0;
	case MDB_NOTFOUND: return SLW_ERR_NOTFOUND;
	case MDB_KEYEXIST: return SLW_ERR_EXISTS;
	case MDB_MAP_FULL: return SLW_ERR_FULL;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH: return SLW_ERR_CORRUPT;
	case ENOMEM: return SLW_ERR_NOMEM;
	case EACCES:
	case EROFS:
	case EPERM: return SLW_ERR_PERM;
	default: return SLW_ERR_STORE;
	}
}

static void
store_free(struct store *s)
{
	if (s == NULL)
		return;
	if (s->env != NULL)
		mdb_env_close(s->env);
	pthread_mutex_destroy(&s->gc_mu);
	pthread_cond_destroy(&s->gc_cv);
	store_gen_free(s);
	if (s->use_fd >= 0)
		close(s->use_fd);
	kek_wipe(&s->kek);
	free(s);
}

void
store_close(struct store *s)
{
	store_free(s);
}

const struct kek *
store_kek(const struct store *s)
{
	return s->have_kek ? &s->kek : NULL;
}

const char *
store_dir(const struct store *s)
{
	return s->dir;
}

static struct store *
store_alloc(const char *state, const char *dbdir, const char *kekp,
    const struct store_opts *o)
{
	struct store *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->use_fd = -1;
	snprintf(s->dir, sizeof(s->dir), "%s", state);
	snprintf(s->dbdir, sizeof(s->dbdir), "%s", dbdir);
	if (o != NULL && o->anchor_path != NULL && o->anchor_path[0] != '\0')
		snprintf(s->anchor_path, sizeof(s->anchor_path), "%s",
		    o->anchor_path);
	else
		snprintf(s->anchor_path, sizeof(s->anchor_path), "%s.anchor", kekp);
	if (o != NULL && o->anchor2 != NULL)
		s->extra = *o->anchor2;
	s->readonly = o != NULL && o->readonly;
	s->mapsize = o != NULL && o->mapsize ? o->mapsize : DEFAULT_MAP;
	s->free_min = o != NULL && o->free_min ? o->free_min : DISKSPACE_MIN;
	pthread_mutex_init(&s->gc_mu, NULL);
	pthread_cond_init(&s->gc_cv, NULL);
	return s;
}

/* Opens the environment in s->dbdir and its named databases. */
static int
env_open(struct store *s, int create, struct slw_diag *d)
{
	MDB_txn *txn = NULL;
	unsigned int flags = MDB_NOTLS | s->envflags;
	int mr, i, missing = 0;

	if ((mr = mdb_env_create(&s->env)) != 0)
		return SLW_ERR_STORE;
	if (mdb_env_set_maxdbs(s->env, 32) != 0 ||
	    mdb_env_set_mapsize(s->env, s->mapsize) != 0 ||
	    mdb_env_set_maxreaders(s->env, 512) != 0)
		return SLW_ERR_STORE;
	if (s->readonly)
		flags |= MDB_RDONLY;
	if ((mr = mdb_env_open(s->env, s->dbdir, flags, 0600)) != 0) {
		if (mr == ENOENT)
			return slw_diag(d, SLW_ERR_NOTFOUND,
			    "%s is not initialised (run 'slipway init')", s->dir);
		if (mr == EACCES || mr == EROFS || mr == EPERM)
			return slw_diag(d, SLW_ERR_PERM,
			    "cannot open the store in %s: %s", s->dir,
			    strerror(mr));
		if (map_mdb_err(mr) == SLW_ERR_CORRUPT)
			return slw_diag(d, SLW_ERR_CORRUPT,
			    "the store in %s is corrupt or not an LMDB database (%s)",
			    s->dir, mdb_strerror(mr));
		return slw_diag(d, SLW_ERR_STORE, "cannot open the store in %s: %s",
		    s->dir, mdb_strerror(mr));
	}
	/* Read first: a read-only or console open must not take the writer
	 * lock unless a named database really is missing. */
	if ((mr = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) != 0)
		goto fail;
	for (i = 0; i < DB__COUNT; i++) {
		mr = mdb_dbi_open(txn, db_names[i], 0, &s->dbi[i]);
		if (mr == MDB_NOTFOUND)
			missing = 1;
		else if (mr != 0)
			break;
	}
	if (mr != 0 && mr != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		goto fail;
	}
	if (!missing) {
		mr = mdb_txn_commit(txn);	/* keeps the dbi handles */
		return mr == 0 ? 0 : map_mdb_err(mr);
	}
	mdb_txn_abort(txn);
	if (s->readonly || !create)
		return slw_diag(d, SLW_ERR_CORRUPT,
		    "the store in %s lacks its databases (not a slipway state?)",
		    s->dir);
	if ((mr = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		goto fail;
	for (i = 0; i < DB__COUNT; i++)
		if ((mr = mdb_dbi_open(txn, db_names[i], MDB_CREATE,
		    &s->dbi[i])) != 0) {
			mdb_txn_abort(txn);
			goto fail;
		}
	if ((mr = mdb_txn_commit(txn)) != 0)
		goto fail;
	return 0;
 fail:
	return slw_diag(d, map_mdb_err(mr), "store %s: %s", s->dir,
	    mdb_strerror(mr));
}

static int
begin(struct store *s, int write, MDB_txn **txn)
{
	int mr = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, txn);

	/* only a process that opened with a larger map than ours causes this */
	return mr == MDB_MAP_RESIZED ? SLW_ERR_STORE : map_mdb_err(mr);
}

/* Through LMDB's descriptor: serve measures after dropping privileges. */
static int
space_get(struct store *s, uint64_t *avail, uint64_t *total)
{
	int fd;

	if (mdb_env_get_fd(s->env, &fd) != 0)
		return diskspace_get(s->dbdir, avail, total);
	return diskspace_fget(fd, avail, total);
}

static void
count_werr(struct store *s, enum store_werr w)
{
	atomic_fetch_add_explicit(&s->werr[w], 1, memory_order_relaxed);
}

/*
 * The message for a failed commit or put. LMDB turns a short write of its
 * pages into EIO: with the filesystem (nearly) full that is a full disk.
 * Nothing was written: the meta page still names the last commit.
 */
static int
write_failed(struct store *s, int mr, struct slw_diag *d)
{
	uint64_t avail, total;

	if (mr == MDB_MAP_FULL) {
		count_werr(s, STORE_WERR_MAP_FULL);
		return slw_diag(d, SLW_ERR_FULL,
		    "the store in %s is full: it reached its map size of %zu MiB",
		    s->dir, s->mapsize >> 20);
	}
	(void)space_get(s, &avail, &total);
	if (mr == ENOSPC || mr == EDQUOT || (mr == EIO &&
	    avail < DISKSPACE_MIN)) {
		count_werr(s, STORE_WERR_DISK_FULL);
		return diskspace_full_diag(d, s->dir, avail);
	}
	count_werr(s, mr == EIO ? STORE_WERR_IO : STORE_WERR_OTHER);
	return slw_diag(d, map_mdb_err(mr), "writing the store in %s failed: %s",
	    s->dir, mdb_strerror(mr));
}

/* Refuses a write up front while the state's filesystem is full. */
static int
space_check(struct store *s, struct slw_diag *d)
{
	uint64_t avail, total;

	if (space_get(s, &avail, &total) != 0 || avail >= s->free_min)
		return 0;
	count_werr(s, STORE_WERR_DISK_FULL);
	return diskspace_full_diag(d, s->dir, avail);
}

int
store_reserve_check(struct store *s, struct slw_diag *d)
{
	if (s->readonly)
		return slw_diag(d, SLW_ERR_PERM, "store opened read-only");
	return space_check(s, d);
}

int
store_writable(struct store *s, struct slw_diag *d)
{
	uint64_t avail, total;

	if (s->readonly)
		return slw_diag(d, SLW_ERR_PERM, "store opened read-only");
	if (space_get(s, &avail, &total) != 0 || avail >= s->free_min)
		return 0;
	return diskspace_full_diag(d, s->dir, avail);
}

int
store_space(struct store *s, struct store_space *sp)
{
	size_t i;
	int r;

	memset(sp, 0, sizeof(*sp));
	if ((r = space_get(s, &sp->avail, &sp->total)) != 0)
		return r;
	sp->full = sp->avail < s->free_min;
	if ((r = store_mapsize(s, &sp->mapsize, &sp->used)) != 0)
		return r;
	for (i = 0; i < STORE_WERR__COUNT; i++)
		sp->write_errors[i] = atomic_load_explicit(&s->werr[i],
		    memory_order_relaxed);
	return 0;
}

const char *
store_werr_name(enum store_werr w)
{
	static const char *const names[STORE_WERR__COUNT] = {
		"disk_full", "map_full", "io", "other",
	};

	return (unsigned)w < STORE_WERR__COUNT ? names[w] : "other";
}

int
store_write(struct store *s, int (*fn)(struct store_txn *, void *), void *arg,
    struct slw_diag *d)
{
	struct store_txn t;
	struct anchor_state st;
	MDB_txn *txn;
	int r, mr;

	if (s->readonly)
		return slw_diag(d, SLW_ERR_PERM, "store opened read-only");
	if ((r = space_check(s, d)) != 0)
		return r;
	if ((r = begin(s, 1, &txn)) != 0)
		return slw_diag(d, r, "cannot begin a write transaction in %s",
		    s->dir);
	memset(&t, 0, sizeof(t));
	t.s = s;
	t.txn = txn;
	t.write = 1;
	t.d = d;
	if ((r = fn(&t, arg)) != 0 || (r = store_gen_bump(&t, &st)) != 0) {
		mdb_txn_abort(txn);
		return r == SLW_ERR_FULL ? write_failed(s, MDB_MAP_FULL, d) : r;
	}
	if ((mr = mdb_txn_commit(txn)) != 0)
		return write_failed(s, mr, d);
	store_gen_anchor(s, &st);	/* durable now: the anchors may follow */
	return 0;
}

int
store_read(struct store *s, int (*fn)(struct store_txn *, void *), void *arg,
    struct slw_diag *d)
{
	struct store_txn t;
	MDB_txn *txn;
	int r;

	if ((r = begin(s, 0, &txn)) != 0)
		return slw_diag(d, r, "cannot begin a read transaction in %s",
		    s->dir);
	memset(&t, 0, sizeof(t));
	t.s = s;
	t.txn = txn;
	t.d = d;
	r = fn(&t, arg);
	mdb_txn_abort(txn);
	return r;
}

/*
 * Runs a batch of operations in one transaction, each once, in a nested
 * transaction of its own: one that fails (the map full included) leaves the
 * others. If the outer commit fails, every operation that had succeeded
 * gets that failure: nothing of the batch was written.
 */
static void
run_batch(struct store *s, struct gc_op *batch)
{
	struct store_txn t;
	struct anchor_state st;
	struct gc_op *op;
	MDB_txn *parent, *child;
	struct slw_diag sd;
	int r, mr;

	slw_diag_clear(&sd);
	if ((r = space_check(s, &sd)) != 0 || (r = begin(s, 1, &parent)) != 0) {
		for (op = batch; op != NULL; op = op->next)
			op->result = sd.msg[0] != '\0' ?
			    slw_diag_set(op->d, r, "%s", sd.msg) :
			    slw_diag(op->d, r,
			    "cannot begin a write transaction in %s", s->dir);
		return;
	}
	for (op = batch; op != NULL; op = op->next) {
		slw_diag_clear(op->d);
		if ((mr = mdb_txn_begin(s->env, parent, 0, &child)) != 0) {
			op->result = write_failed(s, mr, op->d);
			continue;
		}
		memset(&t, 0, sizeof(t));
		t.s = s;
		t.txn = child;
		t.write = 1;
		t.d = op->d;
		if ((r = op->fn(&t, op->arg)) != 0) {
			mdb_txn_abort(child);
			op->result = r == SLW_ERR_FULL ?
			    write_failed(s, MDB_MAP_FULL, op->d) : r;
		} else if ((mr = mdb_txn_commit(child)) != 0)
			op->result = write_failed(s, mr, op->d);
		else
			op->result = 0;
	}
	for (op = batch; op != NULL && op->result != 0; op = op->next)
		;
	if (op == NULL) {	/* nothing to commit */
		mdb_txn_abort(parent);
		return;
	}
	memset(&t, 0, sizeof(t));
	t.s = s;
	t.txn = parent;
	t.write = 1;
	t.d = &sd;
	if ((r = store_gen_bump(&t, &st)) != 0) {
		mdb_txn_abort(parent);
		for (op = batch; op != NULL; op = op->next)
			if (op->result == 0)
				op->result = sd.msg[0] != '\0' ?
				    slw_diag_set(op->d, r, "%s", sd.msg) : r;
		return;
	}
	if ((mr = mdb_txn_commit(parent)) != 0) {
		for (op = batch; op != NULL; op = op->next)
			if (op->result == 0)
				op->result = write_failed(s, mr, op->d);
		return;
	}
	store_gen_anchor(s, &st);
}

int
store_submit(struct store *s, int (*fn)(struct store_txn *, void *),
    void *arg, struct slw_diag *d)
{
	struct slw_diag local;
	struct gc_op op, *batch, *last;
	int n;

	if (s->readonly)
		return slw_diag(d, SLW_ERR_PERM, "store opened read-only");
	memset(&op, 0, sizeof(op));
	op.fn = fn;
	op.arg = arg;
	op.d = d != NULL ? d : &local;
	pthread_mutex_lock(&s->gc_mu);
	if (s->q_tail != NULL)
		s->q_tail->next = &op;
	else
		s->q_head = &op;
	s->q_tail = &op;
	while (!op.done) {
		if (s->gc_leader) {
			pthread_cond_wait(&s->gc_cv, &s->gc_mu);
			continue;
		}
		s->gc_leader = 1;
		batch = s->q_head;
		for (last = batch, n = 1; last->next != NULL && n < GC_BATCH_MAX;
		    last = last->next, n++)
			;
		s->q_head = last->next;
		if (s->q_head == NULL)
			s->q_tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&s->gc_mu);
		run_batch(s, batch);
		pthread_mutex_lock(&s->gc_mu);
		while (batch != NULL) {
			struct gc_op *next = batch->next;

			batch->done = 1;
			batch = next;
		}
		s->gc_leader = 0;
		pthread_cond_broadcast(&s->gc_cv);
	}
	pthread_mutex_unlock(&s->gc_mu);
	return op.result;
}

struct store *
store_txn_store(struct store_txn *t)
{
	return t->s;
}

struct slw_diag *
store_txn_diag(struct store_txn *t)
{
	return t->d;
}

int
store_txn_writable(const struct store_txn *t)
{
	return t->write;
}

int
store_get_ref(struct store_txn *t, enum store_db db, const void *key,
    size_t klen, const uint8_t **val, size_t *vlen)
{
	MDB_val k = { klen, (void *)key }, v;
	int mr;

	if ((unsigned)db >= DB__COUNT || klen == 0 ||
	    klen > (size_t)mdb_env_get_maxkeysize(t->s->env))
		return SLW_ERR_INVALID;
	if ((mr = mdb_get(t->txn, t->s->dbi[db], &k, &v)) != 0)
		return map_mdb_err(mr);
	*val = v.mv_data;
	*vlen = v.mv_size;
	return 0;
}

int
store_get(struct store_txn *t, enum store_db db, const void *key, size_t klen,
    struct buf *val)
{
	const uint8_t *p;
	size_t l;
	int r;

	if ((r = store_get_ref(t, db, key, klen, &p, &l)) != 0)
		return r;
	return buf_set(val, p, l);
}

int
store_put(struct store_txn *t, enum store_db db, const void *key, size_t klen,
    const void *val, size_t vlen, unsigned int flags)
{
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
	unsigned int mf = 0;
	int mr;

	if (!t->write || (unsigned)db >= DB__COUNT || klen == 0 ||
	    klen > (size_t)mdb_env_get_maxkeysize(t->s->env))
		return SLW_ERR_INVALID;
	if (flags & STORE_NOOVERWRITE)
		mf |= MDB_NOOVERWRITE;
	if (flags & STORE_APPEND)
		mf |= MDB_APPEND;
	mr = mdb_put(t->txn, t->s->dbi[db], &k, &v, mf);
	if (mr == MDB_KEYEXIST && (flags & STORE_APPEND))
		return SLW_ERR_INVALID;	/* out-of-order append */
	return map_mdb_err(mr);
}

int
store_del(struct store_txn *t, enum store_db db, const void *key, size_t klen)
{
	MDB_val k = { klen, (void *)key };
	int mr;

	if (!t->write || (unsigned)db >= DB__COUNT || klen == 0)
		return SLW_ERR_INVALID;
	mr = mdb_del(t->txn, t->s->dbi[db], &k, NULL);
	return map_mdb_err(mr);
}

int
store_iter(struct store_txn *t, enum store_db db, const void *prefix,
    size_t plen, int reverse,
    int (*cb)(void *, const uint8_t *, size_t, const uint8_t *, size_t),
    void *arg)
{
	MDB_cursor *c = NULL;
	MDB_val k = { plen, (void *)prefix }, v;
	MDB_cursor_op op;
	int mr, r = 0;

	if ((unsigned)db >= DB__COUNT || (reverse && plen != 0))
		return SLW_ERR_INVALID;
	if ((mr = mdb_cursor_open(t->txn, t->s->dbi[db], &c)) != 0)
		return map_mdb_err(mr);
	if (reverse)
		op = MDB_LAST;
	else
		op = plen ? MDB_SET_RANGE : MDB_FIRST;
	for (;;) {
		mr = mdb_cursor_get(c, &k, &v, op);
		if (mr == MDB_NOTFOUND)
			break;
		if (mr != 0) {
			r = map_mdb_err(mr);
			break;
		}
		if (plen && (k.mv_size < plen ||
		    memcmp(k.mv_data, prefix, plen) != 0))
			break;
		r = cb(arg, k.mv_data, k.mv_size, v.mv_data, v.mv_size);
		if (r != 0)
			break;
		op = reverse ? MDB_PREV : MDB_NEXT;
	}
	mdb_cursor_close(c);
	return r < 0 ? r : 0;
}

int
store_count(struct store_txn *t, enum store_db db, size_t *n)
{
	MDB_stat st;

	if ((unsigned)db >= DB__COUNT ||
	    mdb_stat(t->txn, t->s->dbi[db], &st) != 0)
		return SLW_ERR_STORE;
	*n = st.ms_entries;
	return 0;
}

int
store_put_sealed(struct store_txn *t, enum store_db db, const void *key,
    size_t klen, const char *aad, const uint8_t *pt, size_t len)
{
	struct buf blob = { 0 };
	int r;

	if (!t->s->have_kek)
		return slw_diag(t->d, SLW_ERR_NOKEK,
		    "the key-encryption key is needed to store secrets");
	if ((r = seal(&t->s->kek, aad, pt, len, &blob)) != 0)
		return r;
	r = store_put(t, db, key, klen, blob.data, blob.len, 0);
	buf_free(&blob);
	return r;
}

int
store_get_sealed(struct store_txn *t, enum store_db db, const void *key,
    size_t klen, const char *aad, struct buf *pt)
{
	const uint8_t *v;
	size_t vl;
	int r;

	if (!t->s->have_kek)
		return slw_diag(t->d, SLW_ERR_NOKEK,
		    "the key-encryption key is needed to open secrets");
	if ((r = store_get_ref(t, db, key, klen, &v, &vl)) != 0)
		return r;
	if ((r = seal_open(&t->s->kek, aad, v, vl, pt)) == SLW_ERR_CORRUPT)
		return slw_diag(t->d, r,
		    "sealed record %s fails its integrity check", aad);
	return r;
}

int
store_mapsize(struct store *s, size_t *mapsize, size_t *used)
{
	MDB_envinfo info;
	MDB_stat st;

	if (mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &st) != 0)
		return SLW_ERR_STORE;
	*mapsize = info.me_mapsize;
	*used = (info.me_last_pgno + 1) * (size_t)st.ms_psize;
	return 0;
}

/* --- opening an existing state ------------------------------------- */

static int
check_meta(struct store_txn *t, void *arg)
{
	struct buf pt = { 0 };
	const uint8_t *v;
	size_t vl;
	uint64_t ver;
	int r, *kek_ok = arg;

	r = store_get_ref(t, DB_META, "schema", 6, &v, &vl);
	if (r == SLW_ERR_NOTFOUND)
		return slw_diag(t->d, SLW_ERR_CORRUPT,
		    "the store in %s has no schema version (not a slipway state?)",
		    t->s->dir);
	if (r != 0)
		return r;
	if (vl != 8)
		return slw_diag(t->d, SLW_ERR_CORRUPT, "bad schema record");
	ver = rec_be64_get(v);
	if (ver != STORE_SCHEMA_VERSION)
		return slw_diag(t->d, SLW_ERR_SCHEMA,
		    "store schema version %llu is not supported by this slipway (expects %d)",
		    (unsigned long long)ver, STORE_SCHEMA_VERSION);
	*kek_ok = -1;
	if (!t->s->have_kek)
		return 0;
	if ((r = store_get_ref(t, DB_META, "kek-check", 9, &v, &vl)) != 0)
		return slw_diag(t->d, SLW_ERR_CORRUPT,
		    "the store has no key-encryption key check record");
	r = seal_open(&t->s->kek, KEK_CHECK_AAD, v, vl, &pt);
	*kek_ok = r == 0 && pt.len == strlen(KEK_CHECK_TEXT) &&
	    memcmp(pt.data, KEK_CHECK_TEXT, pt.len) == 0;
	buf_free(&pt);
	return 0;
}

int
store_open(const char *state, const struct store_opts *o, struct store **out,
    struct slw_diag *d)
{
	struct store *s = NULL;
	char dbdir[PATH_MAX], kekp[PATH_MAX];
	struct slw_diag kd;
	int r, kek_ok = -1, kr;

	*out = NULL;
	if ((r = db_path(state, dbdir, sizeof(dbdir))) != 0 ||
	    (r = store_kek_path(state, o ? o->kek_path : NULL, kekp,
	    sizeof(kekp))) != 0)
		return slw_diag(d, r, "state path too long");
	if (!store_exists(state))
		return slw_diag(d, SLW_ERR_NOTFOUND,
		    "%s is not initialised (run 'slipway init')", state);
	if ((s = store_alloc(state, dbdir, kekp, o)) == NULL)
		return SLW_ERR_NOMEM;
	if ((r = store_use_lock(state, 0, &s->use_fd, d)) != 0)
		goto out;
	slw_diag_clear(&kd);
	if (o != NULL && o->kek != NULL) {
		s->kek = *o->kek;
		kr = 0;
	} else
		kr = kek_load(kekp, &s->kek, &kd);
	s->have_kek = kr == 0;
	if (kr != 0 && (kr == SLW_ERR_PERM || (o != NULL && o->need_kek))) {
		r = slw_diag(d, kr, "%s", kd.msg);
		goto out;
	}
	if ((r = env_open(s, 1, d)) != 0)
		goto out;
	if ((r = store_read(s, check_meta, &kek_ok, d)) != 0)
		goto out;
	if (kek_ok == 0) {
		r = o != NULL && o->kek != NULL ? slw_diag(d, SLW_ERR_KEK,
		    "the key-encryption key does not open the state in %s "
		    "(wrong key)", state) : slw_diag(d, SLW_ERR_KEK,
		    "the key-encryption key %s does not open the state in %s (wrong key)",
		    kekp, state);
		goto out;
	}
	if (s->have_kek && ((r = store_gen_setup(s, !s->readonly, d)) != 0 ||
	    (r = store_gen_check(s, d)) != 0))
		goto out;
	*out = s;
	s = NULL;
	r = 0;
 out:
	store_free(s);
	return r;
}

int
store_set_kek(struct store *s, const struct kek *k, struct slw_diag *d)
{
	int r, kek_ok = -1;

	if (s->have_kek)
		return slw_diag(d, SLW_ERR_EXISTS, "the store has its key already");
	s->kek = *k;
	s->have_kek = 1;
	if ((r = store_read(s, check_meta, &kek_ok, d)) == 0 && kek_ok != 1)
		r = slw_diag(d, SLW_ERR_KEK, "the key-encryption key does not "
		    "open the state in %s (wrong key)", s->dir);
	if (r == 0 && ((r = store_gen_setup(s, !s->readonly, d)) != 0 ||
	    (r = store_gen_check(s, d)) != 0))
		store_gen_free(s);
	if (r != 0) {
		kek_wipe(&s->kek);
		s->have_kek = 0;
	}
	return r;
}

int
store_use_lock(const char *state, int exclusive, int *fd, struct slw_diag *d)
{
	char p[PATH_MAX];

	*fd = -1;
	if (snprintf(p, sizeof(p), "%s/.use.lock", state) >= (int)sizeof(p))
		return slw_diag(d, SLW_ERR_INVALID, "state path too long");
	if ((*fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0 &&
	    (*fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		/* a reader without the right to make it: nothing to lock out */
		return exclusive ? slw_diag(d, errno == EACCES ? SLW_ERR_PERM :
		    SLW_ERR_IO, "cannot lock %s: %s", p, strerror(errno)) : 0;
	if (flock(*fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0)
		return 0;
	close(*fd);
	*fd = -1;
	if (exclusive)
		return slw_diag(d, SLW_ERR_BUSY, "the store in %s is in use: stop "
		    "'slipway serve' (and any other slipway command) first", state);
	return slw_diag(d, SLW_ERR_BUSY, "a restore is replacing the store in "
	    "%s; try again when it has finished", state);
}

int
store_open_raw(const char *label, const char *path, int file, int readonly,
    const struct kek *k, struct store **out, struct slw_diag *d)
{
	struct store *s = NULL;
	int r, kek_ok = -1;

	*out = NULL;
	if ((s = store_alloc(label, path, "", NULL)) == NULL)
		return SLW_ERR_NOMEM;
	s->readonly = readonly || file;
	if (file)
		s->envflags = MDB_NOSUBDIR | MDB_NOLOCK;
	s->kek = *k;
	s->have_kek = 1;
	if ((r = env_open(s, !s->readonly, d)) != 0 ||
	    (r = store_read(s, check_meta, &kek_ok, d)) != 0)
		goto out;
	if (kek_ok != 1) {
		r = slw_diag(d, SLW_ERR_KEK, "the key-encryption key does not open "
		    "%s", label);
		goto out;
	}
	if ((r = kek_derive(k, STORE_GEN_LABEL, s->gen_key)) != 0)
		goto out;
	*out = s;
	s = NULL;
 out:
	store_free(s);
	return r;
}

int
store_copy_compact(struct store *s, int fd, struct slw_diag *d)
{
	int mr = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);

	if (mr == 0)
		return 0;
	if (mr == ENOSPC || mr == EDQUOT)
		return slw_diag(d, SLW_ERR_NOSPACE, "copying the store in %s: "
		    "disk full", s->dir);
	return slw_diag(d, map_mdb_err(mr), "copying the store in %s: %s",
	    s->dir, mdb_strerror(mr));
}

/* --- creating a state, all or nothing ------------------------------ */

struct create_arg {
	int (*populate)(struct store_txn *, void *);
	void *arg;
};

static int
create_txn(struct store_txn *t, void *arg)
{
	struct create_arg *ca = arg;
	uint8_t ver[8];
	int r;

	rec_be64_put(ver, STORE_SCHEMA_VERSION);
	if ((r = store_put(t, DB_META, "schema", 6, ver, 8,
	    STORE_NOOVERWRITE)) != 0)
		return r;
	if ((r = store_put_sealed(t, DB_META, "kek-check", 9, KEK_CHECK_AAD,
	    (const uint8_t *)KEK_CHECK_TEXT, strlen(KEK_CHECK_TEXT))) != 0)
		return r;
	return ca->populate != NULL ? ca->populate(t, ca->arg) : 0;
}

static void
remove_env_dir(const char *dir)
{
	char p[PATH_MAX];

	if (snprintf(p, sizeof(p), "%s/data.mdb", dir) < (int)sizeof(p))
		(void)unlink(p);
	if (snprintf(p, sizeof(p), "%s/lock.mdb", dir) < (int)sizeof(p))
		(void)unlink(p);
	(void)rmdir(dir);
}

static void
remove_stale_tmp(const char *state)
{
	char p[PATH_MAX];
	struct dirent *de;
	DIR *dir;

	if ((dir = opendir(state)) == NULL)
		return;
	while ((de = readdir(dir)) != NULL)
		if (strncmp(de->d_name, ".db.init.", 9) == 0 &&
		    snprintf(p, sizeof(p), "%s/%s", state, de->d_name) <
		    (int)sizeof(p))
			remove_env_dir(p);
	closedir(dir);
}

static int
fsync_dir(const char *path)
{
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return SLW_ERR_IO;
	r = fsync(fd) == 0 ? 0 : SLW_ERR_IO;
	close(fd);
	return r;
}

int
store_create(const char *state, const struct store_opts *o,
    int (*populate)(struct store_txn *, void *), void *arg,
    struct slw_diag *d)
{
	struct store *s = NULL;
	struct create_arg ca = { populate, arg };
	char dbdir[PATH_MAX], tmp[PATH_MAX], kekp[PATH_MAX], lockp[PATH_MAX];
	struct slw_diag kd;
	int r, lockfd = -1, made_tmp = 0, made_kek = 0, made_anchor = 0;

	if ((r = db_path(state, dbdir, sizeof(dbdir))) != 0 ||
	    (r = store_kek_path(state, o ? o->kek_path : NULL, kekp,
	    sizeof(kekp))) != 0 ||
	    snprintf(tmp, sizeof(tmp), "%s/.db.init.%ld", state,
	    (long)getpid()) >= (int)sizeof(tmp) ||
	    snprintf(lockp, sizeof(lockp), "%s/.init.lock", state) >=
	    (int)sizeof(lockp))
		return slw_diag(d, SLW_ERR_INVALID, "state path too long");
	if (mkdir(state, 0700) != 0 && errno != EEXIST)
		return slw_diag(d, errno == EACCES || errno == EROFS ?
		    SLW_ERR_PERM : SLW_ERR_IO, "cannot create %s: %s", state,
		    strerror(errno));
	if ((lockfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		r = slw_diag(d, errno == EACCES || errno == EROFS ?
		    SLW_ERR_PERM : SLW_ERR_IO, "cannot write in %s: %s", state,
		    strerror(errno));
		goto out;
	}
	if (flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
		r = slw_diag(d, SLW_ERR_BUSY, "another init is running in %s",
		    state);
		goto out;
	}
	if (store_exists(state) || access(dbdir, F_OK) == 0) {
		r = slw_diag(d, SLW_ERR_EXISTS,
		    "%s is already initialised; refusing to overwrite it", state);
		goto out;
	}
	remove_stale_tmp(state);
	if (mkdir(tmp, 0700) != 0) {
		r = slw_diag(d, SLW_ERR_IO, "cannot create %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	made_tmp = 1;
	if ((s = store_alloc(state, tmp, kekp, o)) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	slw_diag_clear(&kd);
	if (o != NULL && o->kek != NULL) {
		s->kek = *o->kek;
		r = 0;
	} else
		r = kek_load(kekp, &s->kek, &kd);
	if (r == 0)
		s->have_kek = 1;
	else if (r == SLW_ERR_NOKEK && access(kekp, F_OK) != 0) {
		if ((r = kek_generate(&s->kek)) != 0)
			goto out;
		s->have_kek = 1;
		made_kek = 1;
	} else {
		r = slw_diag(d, r, "%s", kd.msg);
		goto out;
	}
	if ((r = env_open(s, 1, d)) != 0)
		goto out;
	made_anchor = access(s->anchor_path, F_OK) != 0;
	/* a new state: its anchors start from its first commit, whatever an
	 * earlier state beside this KEK left in them */
	if ((r = store_gen_setup(s, 1, d)) != 0 ||
	    (r = store_write(s, create_txn, &ca, d)) != 0 ||
	    (r = store_gen_reset(s, d)) != 0)
		goto out;
	mdb_env_close(s->env);
	s->env = NULL;
	if (made_kek && (r = kek_save(kekp, &s->kek, d)) != 0) {
		made_kek = 0;	/* not ours to remove */
		goto out;
	}
	if (rename(tmp, dbdir) != 0) {
		r = slw_diag(d, SLW_ERR_IO, "cannot move the new store into place: %s",
		    strerror(errno));
		goto out;
	}
	made_tmp = 0;
	made_kek = 0;
	made_anchor = 0;
	(void)fsync_dir(state);
	r = 0;
 out:
	if (made_anchor && r != 0 && s != NULL)
		(void)unlink(s->anchor_path);
	store_free(s);
	if (made_tmp)
		remove_env_dir(tmp);
	if (made_kek && r != 0)
		(void)unlink(kekp);
	if (lockfd >= 0)
		close(lockfd);
	return r;
}

int
store_secret_put(struct store_txn *t, const char *name, const uint8_t *pt,
    size_t len)
{
	char aad[128];

	if (snprintf(aad, sizeof(aad), "secrets/%s", name) >= (int)sizeof(aad))
		return SLW_ERR_INVALID;
	return store_put_sealed(t, DB_SECRETS, name, strlen(name), aad, pt, len);
}

int
store_secret_get(struct store_txn *t, const char *name, struct buf *pt)
{
	char aad[128];

	if (snprintf(aad, sizeof(aad), "secrets/%s", name) >= (int)sizeof(aad))
		return SLW_ERR_INVALID;
	return store_get_sealed(t, DB_SECRETS, name, strlen(name), aad, pt);
}
