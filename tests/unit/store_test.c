// SPDX-License-Identifier: Apache-2.0
/*
 * store_test.c: the LMDB store: all-or-nothing creation, refusal of a
 * second init, schema version, KEK checks (wrong, missing), sealed records
 * bound to their id, unique serials, the audit chain (changed, removed,
 * truncated records), a KEK held only in memory (created and opened
 * without a file, given later to a store opened sealed), a map sized once
 * (every callback runs once, a full map fails cleanly), a full disk
 * (refused or failed cleanly, resumed when space returns, in a private
 * mount namespace),
 * group commit from many threads, and corrupt database files.
 */
#define _GNU_SOURCE	/* unshare */
#include "testutil.h"

#include "audit.h"
#include "ca.h"
#include "certdb.h"
#include "issue.h"
#include "rec.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char *dir;
static char state[4200];

static int
nothing(struct store_txn *t, void *arg)
{
	(void)arg;
	return audit_append(t, "test", "init", "state", "");
}

static int
fail_populate(struct store_txn *t, void *arg)
{
	(void)arg;
	store_put(t, DB_META, "x", 1, "y", 1, 0);
	return SLW_ERR_INVALID;
}

static int
setup(void **st)
{
	(void)st;
	dir = tu_tmpdir();
	snprintf(state, sizeof(state), "%s/state", dir);
	return 0;
}

static int
teardown(void **st)
{
	(void)st;
	tu_rmrf(dir);
	free(dir);
	return 0;
}

static struct store *
open_ok(const struct store_opts *o)
{
	struct store *s = NULL;
	struct slw_diag d;

	slw_diag_clear(&d);
	if (store_open(state, o, &s, &d) != 0)
		fail_msg("open: %s", d.msg);
	return s;
}

static void
test_create_all_or_nothing(void **st)
{
	struct slw_diag d;
	struct stat sb;
	char p[4300];

	(void)st;
	slw_diag_clear(&d);
	assert_int_equal(store_create(state, NULL, fail_populate, NULL, &d),
	    SLW_ERR_INVALID);
	assert_false(store_exists(state));
	snprintf(p, sizeof(p), "%s/kek", state);
	assert_int_not_equal(stat(p, &sb), 0);	/* no KEK left behind */
	snprintf(p, sizeof(p), "%s/db", state);
	assert_int_not_equal(stat(p, &sb), 0);
	assert_int_equal(store_create(state, NULL, nothing, NULL, &d), 0);
	assert_true(store_exists(state));
	snprintf(p, sizeof(p), "%s/kek", state);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	slw_diag_clear(&d);
	assert_int_equal(store_create(state, NULL, nothing, NULL, &d),
	    SLW_ERR_EXISTS);
	assert_non_null(strstr(d.msg, "already initialised"));
}

static int
put_secret(struct store_txn *t, void *arg)
{
	(void)arg;
	return store_secret_put(t, "sa", (const uint8_t *)"secret", 6);
}

struct getarg {
	const char *name;
	struct buf out;
	int r;
};

static int
get_secret(struct store_txn *t, void *arg)
{
	struct getarg *g = arg;

	g->r = store_secret_get(t, g->name, &g->out);
	return 0;
}

static int
move_secret(struct store_txn *t, void *arg)
{
	const uint8_t *v;
	size_t vl;
	int r;

	(void)arg;
	if ((r = store_get_ref(t, DB_SECRETS, "sa", 2, &v, &vl)) != 0)
		return r;
	{
		struct buf copy = { 0 };

		buf_set(&copy, v, vl);
		r = store_put(t, DB_SECRETS, "other", 5, copy.data, copy.len, 0);
		buf_free(&copy);
	}
	return r;
}

static void
test_kek_and_sealing(void **st)
{
	struct store *s;
	struct store_opts o;
	struct slw_diag d;
	struct getarg g = { "sa", { 0 }, 0 };
	char kek[4300], other[4300];
	struct kek k;

	(void)st;
	memset(&o, 0, sizeof(o));
	s = open_ok(&o);
	assert_int_equal(store_write(s, put_secret, NULL, NULL), 0);
	assert_int_equal(store_read(s, get_secret, &g, NULL), 0);
	assert_int_equal(g.r, 0);
	assert_memory_equal(g.out.data, "secret", 6);
	buf_free(&g.out);
	/* a sealed blob copied to another record id does not open */
	assert_int_equal(store_write(s, move_secret, NULL, NULL), 0);
	g.name = "other";
	assert_int_equal(store_read(s, get_secret, &g, NULL), 0);
	assert_int_equal(g.r, SLW_ERR_CORRUPT);
	store_close(s);

	/* wrong KEK: refused at open with a clear error */
	snprintf(other, sizeof(other), "%s/other.kek", dir);
	kek_generate(&k);
	assert_int_equal(kek_save(other, &k, NULL), 0);
	o.kek_path = other;
	slw_diag_clear(&d);
	s = NULL;
	assert_int_equal(store_open(state, &o, &s, &d), SLW_ERR_KEK);
	assert_null(s);
	assert_non_null(strstr(d.msg, "wrong key"));
	/* missing KEK: refused when needed, else secrets are unavailable */
	snprintf(kek, sizeof(kek), "%s/missing.kek", dir);
	o.kek_path = kek;
	o.need_kek = 1;
	slw_diag_clear(&d);
	assert_int_equal(store_open(state, &o, &s, &d), SLW_ERR_NOKEK);
	assert_non_null(strstr(d.msg, "missing.kek"));
	o.need_kek = 0;
	s = open_ok(&o);
	assert_null(store_kek(s));
	g.name = "sa";
	assert_int_equal(store_read(s, get_secret, &g, NULL), 0);
	assert_int_equal(g.r, SLW_ERR_NOKEK);
	store_close(s);
}

/* The appliance: the KEK never in a file; a sealed store gets it later. */
static void
test_kek_in_memory(void **st)
{
	struct store *s = NULL;
	struct store_opts o;
	struct slw_diag d;
	struct getarg g = { "sa", { 0 }, 0 };
	char mem[4300], p[4400];
	struct kek k, wrong;
	struct stat sb;

	(void)st;
	snprintf(mem, sizeof(mem), "%s/mem", dir);
	kek_generate(&k);
	kek_generate(&wrong);
	memset(&o, 0, sizeof(o));
	o.kek = &k;
	assert_int_equal(store_create(mem, &o, put_secret, NULL, NULL), 0);
	snprintf(p, sizeof(p), "%s/kek", mem);
	assert_int_not_equal(stat(p, &sb), 0);	/* no KEK file */
	o.need_kek = 1;
	assert_int_equal(store_open(mem, &o, &s, NULL), 0);
	assert_int_equal(store_read(s, get_secret, &g, NULL), 0);
	assert_int_equal(g.r, 0);
	buf_free(&g.out);
	store_close(s);
	s = NULL;
	o.kek = &wrong;
	slw_diag_clear(&d);
	assert_int_equal(store_open(mem, &o, &s, &d), SLW_ERR_KEK);
	assert_non_null(strstr(d.msg, "wrong key"));
	/* sealed: opened without a key, then given one */
	memset(&o, 0, sizeof(o));
	assert_int_equal(store_open(mem, &o, &s, NULL), 0);
	assert_null(store_kek(s));
	assert_int_equal(store_read(s, get_secret, &g, NULL), 0);
	assert_int_equal(g.r, SLW_ERR_NOKEK);
	slw_diag_clear(&d);
	assert_int_equal(store_set_kek(s, &wrong, &d), SLW_ERR_KEK);
	assert_non_null(strstr(d.msg, "wrong key"));
	assert_null(store_kek(s));
	assert_int_equal(store_set_kek(s, &k, NULL), 0);
	assert_non_null(store_kek(s));
	assert_int_equal(store_set_kek(s, &k, NULL), SLW_ERR_EXISTS);
	assert_int_equal(store_read(s, get_secret, &g, NULL), 0);
	assert_int_equal(g.r, 0);
	assert_memory_equal(g.out.data, "secret", 6);
	buf_free(&g.out);
	store_close(s);
}

static int
set_schema(struct store_txn *t, void *arg)
{
	uint8_t v[8];

	rec_be64_put(v, *(uint64_t *)arg);
	return store_put(t, DB_META, "schema", 6, v, 8, 0);
}

static void
test_schema(void **st)
{
	struct store *s;
	struct slw_diag d;
	uint64_t v = 99;

	(void)st;
	s = open_ok(NULL);
	assert_int_equal(store_write(s, set_schema, &v, NULL), 0);
	store_close(s);
	slw_diag_clear(&d);
	s = NULL;
	assert_int_equal(store_open(state, NULL, &s, &d), SLW_ERR_SCHEMA);
	assert_non_null(strstr(d.msg, "schema version 99"));
	/* put it back by hand through a raw env: reopen not possible, so
	 * recreate the state for the following tests */
	tu_rmrf(state);
	assert_int_equal(store_create(state, NULL, nothing, NULL, NULL), 0);
}

struct cert_arg {
	struct cert_rec rec;
};

static int
add_cert(struct store_txn *t, void *arg)
{
	struct cert_arg *a = arg;

	return certdb_add(t, &a->rec);
}

static void
test_unique_serials(void **st)
{
	struct store *s = open_ok(NULL);
	struct signer *ca;
	struct dn subj;
	struct key *k = NULL;
	struct buf der = { 0 };
	struct cert_template t;
	struct profile p;
	struct issued iss;
	struct cert_arg a;

	(void)st;
	memset(&subj, 0, sizeof(subj));
	snprintf(subj.cn, sizeof(subj.cn), "ca");
	assert_int_equal(ca_make_root(&subj, KEY_EC_P256, 10, slw_now(), &k,
	    &der, NULL), 0);
	assert_int_equal(signer_new(der.data, der.len, k, &ca, NULL), 0);
	memset(&t, 0, sizeof(t));
	profile_builtin("client", &p);
	t.profile = &p;
	snprintf(t.subject.cn, sizeof(t.subject.cn), "leaf");
	assert_int_equal(issue_leaf(&t, KEY_EC_P256, NULL, ca, slw_now(), &iss,
	    NULL), 0);
	memset(&a, 0, sizeof(a));
	memcpy(a.rec.serial, iss.serial, SERIAL_LEN);
	snprintf(a.rec.ca, sizeof(a.rec.ca), "test");
	a.rec.der = iss.der;
	assert_int_equal(store_write(s, add_cert, &a, NULL), 0);
	assert_int_equal(store_write(s, add_cert, &a, NULL), SLW_ERR_EXISTS);
	/* a record whose serial does not match its certificate is refused */
	a.rec.serial[3] ^= 1;
	assert_int_equal(store_write(s, add_cert, &a, NULL), SLW_ERR_INVALID);
	issue_free(&iss);
	buf_free(&der);
	signer_free(ca);
	store_close(s);
}

static int
append_n(struct store_txn *t, void *arg)
{
	int i, n = *(int *)arg, r;
	char obj[32];

	for (i = 0; i < n; i++) {
		snprintf(obj, sizeof(obj), "object-%d", i);
		if ((r = audit_append(t, "test", "thing.do", obj, "detail")) != 0)
			return r;
	}
	return 0;
}

static int
tamper(struct store_txn *t, void *arg)
{
	int mode = *(int *)arg;
	uint8_t key[8];
	const uint8_t *v;
	size_t vl;
	struct buf copy = { 0 };
	uint8_t *p;
	int r;

	rec_be64_put(key, 3);
	if (mode == 0) {	/* change one byte of record 3's object */
		if ((r = store_get_ref(t, DB_AUDIT, key, 8, &v, &vl)) != 0)
			return r;
		buf_set(&copy, v, vl);
		p = tu_memmem(copy.data, copy.len, "object-1", 8);
		assert_non_null(p);
		p[7] = '9';
		r = store_put(t, DB_AUDIT, key, 8, copy.data, copy.len, 0);
		buf_free(&copy);
		return r;
	}
	if (mode == 1)		/* remove record 3 */
		return store_del(t, DB_AUDIT, key, 8);
	rec_be64_put(key, 6);	/* remove the last record (6) */
	return store_del(t, DB_AUDIT, key, 8);
}

static void
test_audit_chain(void **st)
{
	struct store *s;
	struct slw_diag d;
	uint64_t n;
	int five = 5, mode;

	(void)st;
	for (mode = 0; mode < 3; mode++) {
		tu_rmrf(state);
		assert_int_equal(store_create(state, NULL, nothing, NULL, NULL), 0);
		s = open_ok(NULL);
		assert_int_equal(store_write(s, append_n, &five, NULL), 0);
		assert_int_equal(audit_verify(s, &n, NULL), 0);
		assert_int_equal(n, 6);
		assert_int_equal(store_write(s, tamper, &mode, NULL), 0);
		slw_diag_clear(&d);
		assert_int_equal(audit_verify(s, &n, &d), SLW_ERR_CORRUPT);
		if (mode == 0)
			assert_non_null(strstr(d.msg, "record 3 was changed"));
		else if (mode == 1)
			assert_non_null(strstr(d.msg, "record 3 is missing"));
		else
			assert_non_null(strstr(d.msg, "records removed"));
		store_close(s);
	}
}

struct big_arg {
	uint8_t *val;
	atomic_int calls;	/* how often the callback ran */
	int ok;			/* store_submit calls that returned 0 */
};

static int
big_put(struct store_txn *t, void *arg)
{
	struct big_arg *a = arg;
	uint8_t key[8];
	size_t n;

	atomic_fetch_add(&a->calls, 1);
	store_count(t, DB_JOURNAL, &n);
	rec_be64_put(key, n);
	return store_put(t, DB_JOURNAL, key, 8, a->val, 64 * 1024, 0);
}

static int
count_journal(struct store_txn *t, void *arg)
{
	return store_count(t, DB_JOURNAL, arg);
}

struct sub_arg {
	struct store *s;
	struct big_arg *b;
	int ok, full;
};

static void *
sub_thread(void *p)
{
	struct sub_arg *a = p;
	struct slw_diag d;
	int i, r;

	for (i = 0; i < 40; i++) {
		slw_diag_clear(&d);
		r = store_submit(a->s, big_put, a->b, &d);
		if (r == 0)
			a->ok++;
		else if (r == SLW_ERR_FULL && strstr(d.msg, "map size") != NULL)
			a->full++;
	}
	return NULL;
}

/*
 * The map is sized once and never grows: every operation's callback runs
 * exactly once, also when the map is full (store_write and store_submit),
 * the failure says so, nothing half-done is left, and data.mdb takes the
 * pages written, not the map size.
 */
static void
test_map_full_runs_once(void **st)
{
	struct store_opts o;
	struct store *s;
	struct slw_diag d;
	struct big_arg b;
	struct sub_arg sa[4];
	pthread_t th[4];
	struct stat sb;
	char p[4300];
	size_t mapsize, used, n = 0, calls;
	int i, r = 0, ok = 0, full = 0;

	(void)st;
	tu_rmrf(state);
	memset(&b, 0, sizeof(b));
	b.val = calloc(1, 64 * 1024);
	memset(&o, 0, sizeof(o));
	o.mapsize = 2 * 1024 * 1024;
	assert_int_equal(store_create(state, &o, nothing, NULL, NULL), 0);
	s = open_ok(&o);
	assert_int_equal(store_mapsize(s, &mapsize, &used), 0);
	assert_int_equal(mapsize, 2 * 1024 * 1024);
	for (i = 0; i < 100; i++) {
		slw_diag_clear(&d);
		calls = (size_t)atomic_load(&b.calls);
		r = store_write(s, big_put, &b, &d);
		assert_int_equal((size_t)atomic_load(&b.calls), calls + 1);
		if (r != 0)
			break;
	}
	assert_int_equal(r, SLW_ERR_FULL);
	assert_non_null(strstr(d.msg, "full: it reached its map size of 2 MiB"));
	assert_true(i > 4);
	/* the map did not grow: the next write fails the same way, once */
	calls = (size_t)atomic_load(&b.calls);
	assert_int_equal(store_write(s, big_put, &b, NULL), SLW_ERR_FULL);
	assert_int_equal((size_t)atomic_load(&b.calls), calls + 1);
	assert_int_equal(store_mapsize(s, &mapsize, &used), 0);
	assert_int_equal(mapsize, 2 * 1024 * 1024);
	assert_int_equal(store_read(s, count_journal, &n, NULL), 0);
	assert_int_equal(n, (size_t)i);
	store_close(s);

	/* group commit from four threads into a fresh, small map */
	tu_rmrf(state);
	assert_int_equal(store_create(state, &o, nothing, NULL, NULL), 0);
	s = open_ok(&o);
	atomic_store(&b.calls, 0);
	memset(sa, 0, sizeof(sa));
	for (i = 0; i < 4; i++) {
		sa[i].s = s;
		sa[i].b = &b;
		assert_int_equal(pthread_create(&th[i], NULL, sub_thread, &sa[i]),
		    0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ok += sa[i].ok;
		full += sa[i].full;
	}
	/* 160 submissions, 160 callbacks; every one either committed or full */
	assert_int_equal(atomic_load(&b.calls), 4 * 40);
	assert_int_equal(ok + full, 4 * 40);
	assert_true(ok > 4 && full > 0);
	n = 0;
	assert_int_equal(store_read(s, count_journal, &n, NULL), 0);
	assert_int_equal(n, (size_t)ok);
	store_close(s);
	/* the store is intact after the failures: it opens and holds them all */
	s = open_ok(&o);
	n = 0;
	assert_int_equal(store_read(s, count_journal, &n, NULL), 0);
	assert_int_equal(n, (size_t)ok);
	store_close(s);

	/* the default map: 16 GiB of address space, a file of a few pages */
	tu_rmrf(state);
	assert_int_equal(store_create(state, NULL, nothing, NULL, NULL), 0);
	s = open_ok(NULL);
	assert_int_equal(store_mapsize(s, &mapsize, &used), 0);
	assert_true(mapsize == (size_t)STORE_MAPSIZE_GIB << 30 ||
	    (SIZE_MAX <= 0xffffffffu && mapsize == (size_t)1 << 30));
	snprintf(p, sizeof(p), "%s/db/data.mdb", state);
	assert_int_equal(stat(p, &sb), 0);
	assert_true(sb.st_size < 1024 * 1024);
	assert_true((size_t)sb.st_blocks * 512 < 1024 * 1024);
	store_close(s);
	free(b.val);
}

/* ---- a full disk: a tiny tmpfs in a private mount namespace ---- */

#define CK(x) do { if (!(x)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, \
	__LINE__, #x); _exit(1); } } while (0)

static int
fill_disk(const char *path)
{
	static const uint8_t zero[4096];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	while (write(fd, zero, sizeof(zero)) > 0)
		;
	while (write(fd, zero, 512) > 0)
		;
	close(fd);
	return 0;
}

/* Runs in a child that owns a private mount namespace. */
static void
disk_full_child(const char *mnt)
{
	struct store_opts o;
	struct store *s;
	struct slw_diag d;
	struct big_arg b;
	struct store_space sp;
	char st[4400], filler[4400], want[4500];
	size_t n = 0, calls;
	int i, r = 0, ok = 0;

	CK(mount("tmpfs", mnt, "tmpfs", 0, "size=768k,mode=0700") == 0);
	snprintf(st, sizeof(st), "%s/state", mnt);
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	memset(&b, 0, sizeof(b));
	CK((b.val = calloc(1, 64 * 1024)) != NULL);
	memset(&o, 0, sizeof(o));
	o.free_min = 1;		/* reach LMDB's own failure first */
	CK(store_create(st, &o, nothing, NULL, NULL) == 0);
	CK(store_open(st, &o, &s, NULL) == 0);
	/* 1. LMDB runs out of disk mid-commit (a short write: EIO) */
	for (i = 0; i < 40; i++) {
		slw_diag_clear(&d);
		calls = (size_t)atomic_load(&b.calls);
		r = store_write(s, big_put, &b, &d);
		CK((size_t)atomic_load(&b.calls) == calls + 1);
		if (r != 0)
			break;
		ok++;
	}
	fprintf(stderr, "disk full after %d writes: %s\n", ok, d.msg);
	CK(r == SLW_ERR_NOSPACE);
	snprintf(want, sizeof(want), "disk full on %s: ", st);
	CK(strncmp(d.msg, want, strlen(want)) == 0);
	CK(strstr(d.msg, " bytes free") != NULL);
	CK(ok > 2);
	/* nothing half-written: reads see exactly the commits that succeeded */
	CK(store_read(s, count_journal, &n, NULL) == 0 && n == (size_t)ok);
	/* 2. the disk is completely full: refused before any work */
	CK(fill_disk(filler) == 0);
	calls = (size_t)atomic_load(&b.calls);
	store_close(s);
	memset(&o, 0, sizeof(o));	/* the real threshold from here on */
	CK(store_open(st, &o, &s, NULL) == 0);
	slw_diag_clear(&d);
	CK(store_write(s, big_put, &b, &d) == SLW_ERR_NOSPACE);
	CK((size_t)atomic_load(&b.calls) == calls);	/* never started */
	CK(strncmp(d.msg, want, strlen(want)) == 0);
	slw_diag_clear(&d);
	CK(store_submit(s, big_put, &b, &d) == SLW_ERR_NOSPACE);
	CK((size_t)atomic_load(&b.calls) == calls);
	CK(strncmp(d.msg, want, strlen(want)) == 0);
	slw_diag_clear(&d);
	CK(store_writable(s, &d) == SLW_ERR_NOSPACE);
	CK(strncmp(d.msg, want, strlen(want)) == 0);
	CK(store_space(s, &sp) == 0 && sp.full &&
	    sp.write_errors[STORE_WERR_DISK_FULL] == 2);
	CK(store_read(s, count_journal, &n, NULL) == 0 && n == (size_t)ok);
	/* 3. space returns: the same open store writes again, no reopen */
	CK(mount(NULL, mnt, NULL, MS_REMOUNT, "size=8m,mode=0700") == 0);
	CK(store_writable(s, NULL) == 0);
	CK(store_write(s, big_put, &b, NULL) == 0);
	CK(store_submit(s, big_put, &b, NULL) == 0);
	CK(store_read(s, count_journal, &n, NULL) == 0 && n == (size_t)ok + 2);
	CK(store_space(s, &sp) == 0 && !sp.full);
	store_close(s);
	CK(store_open(st, NULL, &s, NULL) == 0);
	n = 0;
	CK(store_read(s, count_journal, &n, NULL) == 0 && n == (size_t)ok + 2);
	CK(audit_verify(s, &calls, NULL) == 0);
	store_close(s);
	free(b.val);
	CK(umount(mnt) == 0);
}

static void
test_disk_full(void **st)
{
	char mnt[4300];
	pid_t pid;
	int status;

	(void)st;
	snprintf(mnt, sizeof(mnt), "%s/tiny", dir);
	assert_int_equal(mkdir(mnt, 0700), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) != 0)
			_exit(77);
		CK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
		disk_full_child(mnt);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();		/* no CAP_SYS_ADMIN: not root */
	assert_int_equal(WEXITSTATUS(status), 0);
	rmdir(mnt);
}

struct gc_arg {
	struct store *s;
	int base;
	int failures;
};

static int
gc_op(struct store_txn *t, void *arg)
{
	int v = *(int *)arg;
	uint8_t key[8];

	if (v % 50 == 49)	/* some operations fail: only they roll back */
		return SLW_ERR_DENIED;
	rec_be64_put(key, (uint64_t)v);
	return store_put(t, DB_JOURNAL, key, 8, &v, sizeof(v), STORE_NOOVERWRITE);
}

static void *
gc_thread(void *p)
{
	struct gc_arg *a = p;
	int i, v;

	for (i = 0; i < 200; i++) {
		v = a->base + i;
		if (store_submit(a->s, gc_op, &v, NULL) != 0)
			a->failures++;
	}
	return NULL;
}

static void
test_group_commit(void **st)
{
	struct store *s;
	struct gc_arg a[8];
	pthread_t th[8];
	size_t n = 0;
	int i, failures = 0;

	(void)st;
	tu_rmrf(state);
	assert_int_equal(store_create(state, NULL, nothing, NULL, NULL), 0);
	s = open_ok(NULL);
	for (i = 0; i < 8; i++) {
		a[i].s = s;
		a[i].base = i * 1000;
		a[i].failures = 0;
		assert_int_equal(pthread_create(&th[i], NULL, gc_thread, &a[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		failures += a[i].failures;
	}
	assert_int_equal(failures, 8 * 4);
	assert_int_equal(store_read(s, count_journal, &n, NULL), 0);
	assert_int_equal(n, 8 * 200 - 8 * 4);
	store_close(s);
}

static void
test_corrupt_file(void **st)
{
	char p[4300];
	struct store *s = NULL;
	struct slw_diag d;
	char junk[8192];

	(void)st;
	snprintf(p, sizeof(p), "%s/db/data.mdb", state);
	memset(junk, 'x', sizeof(junk));
	tu_write(p, junk, sizeof(junk));
	slw_diag_clear(&d);
	assert_int_equal(store_open(state, NULL, &s, &d), SLW_ERR_CORRUPT);
	assert_null(s);
	assert_non_null(strstr(d.msg, "corrupt"));
	/* a truncated, empty database file */
	tu_write(p, "", 0);
	slw_diag_clear(&d);
	assert_int_not_equal(store_open(state, NULL, &s, &d), 0);
	assert_null(s);
	assert_true(d.msg[0] != '\0');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_all_or_nothing),
		cmocka_unit_test(test_kek_and_sealing),
		cmocka_unit_test(test_kek_in_memory),
		cmocka_unit_test(test_schema),
		cmocka_unit_test(test_unique_serials),
		cmocka_unit_test(test_audit_chain),
		cmocka_unit_test(test_map_full_runs_once),
		cmocka_unit_test(test_disk_full),
		cmocka_unit_test(test_group_commit),
		cmocka_unit_test(test_corrupt_file),
	};

	slw_crypto_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
