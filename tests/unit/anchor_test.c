// SPDX-License-Identifier: Apache-2.0
/*
 * anchor_test.c: rollback protection. A copied-back older data.mdb is
 * refused at open with the KEK (older, diverged, generation record edited,
 * anchor deleted or damaged), a database ahead of its anchor (a crash after
 * the commit) opens and the anchor catches up, a torn anchor slot falls
 * back to the other, a store made before generations opens and is anchored
 * by its next commit, and a second anchor (the TPM's interface) catches a
 * rollback of the whole state directory, KEK directory included.
 */
#include "testutil.h"

#include "anchor.h"
#include "audit.h"
#include "rec.h"
#include "store.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <lmdb.h>

static char *dir;
static char state[4200], dbf[4300], anc[4300];

static int
setup(void **st)
{
	(void)st;
	dir = tu_tmpdir();
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(dbf, sizeof(dbf), "%s/db/data.mdb", state);
	snprintf(anc, sizeof(anc), "%s/kek.anchor", state);
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

static int
init_txn(struct store_txn *t, void *arg)
{
	(void)arg;
	return audit_append(t, "test", "init", "state", "");
}

static int
note_txn(struct store_txn *t, void *arg)
{
	return audit_append(t, "test", "note", arg, "");
}

static void
copy(const char *from, const char *to)
{
	struct buf b = { 0 };

	assert_int_equal(buf_read_file(&b, from, 64 << 20), 0);
	tu_write(to, b.data, b.len);
	buf_free(&b);
}

static void
fresh(void)
{
	tu_rmrf(state);
	assert_int_equal(store_create(state, NULL, init_txn, NULL, NULL), 0);
}

/* Opens, appends n notes (object what), closes. */
static void
notes_on(const struct store_opts *o, int n, const char *what)
{
	struct store *s = NULL;
	struct slw_diag d;

	slw_diag_clear(&d);
	if (store_open(state, o, &s, &d) != 0)
		fail_msg("open: %s", d.msg);
	while (n-- > 0)
		assert_int_equal(store_write(s, note_txn, (void *)what, NULL), 0);
	store_close(s);
}

static void
notes(const struct store_opts *o, int n)
{
	notes_on(o, n, "x");
}

/* The open's error, "" if it opened. */
static int
open_err(const struct store_opts *o, struct slw_diag *d)
{
	struct store *s = NULL;
	int r;

	slw_diag_clear(d);
	r = store_open(state, o, &s, d);
	store_close(s);
	return r;
}

static int
gen_txn(struct store_txn *t, void *arg)
{
	return store_gen_get(t, arg);
}

static uint64_t
generation(void)
{
	struct anchor_state st;
	struct store *s = NULL;

	assert_int_equal(store_open(state, NULL, &s, NULL), 0);
	assert_int_equal(store_read(s, gen_txn, &st, NULL), 0);
	store_close(s);
	return st.generation;
}

static uint64_t
anchored(void)
{
	struct store_gen_anchor_info ai;
	struct store_opts o;
	struct store *s = NULL;

	memset(&o, 0, sizeof(o));
	o.readonly = 1;		/* reads the anchor, never moves it */
	assert_int_equal(store_open(state, &o, &s, NULL), 0);
	assert_int_equal(store_gen_anchor_info(s, &ai, NULL), 0);
	store_close(s);
	return ai.file.generation;
}

static void
test_copied_back_is_refused(void **st)
{
	struct store_opts o;
	struct slw_diag d;
	char old[4400], newer[4400];

	(void)st;
	fresh();
	assert_int_equal(generation(), 1);
	assert_int_equal(anchored(), 1);
	notes(NULL, 3);
	assert_int_equal(generation(), 4);
	assert_int_equal(anchored(), 4);
	snprintf(old, sizeof(old), "%s/old.mdb", dir);
	snprintf(newer, sizeof(newer), "%s/new.mdb", dir);
	copy(dbf, old);
	notes(NULL, 2);
	copy(dbf, newer);
	copy(old, dbf);
	/* older: refused, one line saying what and how to proceed */
	assert_int_equal(open_err(NULL, &d), SLW_ERR_CORRUPT);
	assert_non_null(strstr(d.msg, "is older than its rollback anchor"));
	assert_non_null(strstr(d.msg, "(generation 4 < 6)"));
	assert_non_null(strstr(d.msg, "slipway restore --rollback"));
	assert_null(strchr(d.msg, '\n'));
	/* audit verify's way in too: need_kek */
	memset(&o, 0, sizeof(o));
	o.need_kek = 1;
	assert_int_equal(open_err(&o, &d), SLW_ERR_CORRUPT);
	/* without the KEK nothing can be checked (status still reads) */
	o.need_kek = 0;
	o.kek_path = "/nonexistent/kek";
	o.anchor_path = anc;
	assert_int_equal(open_err(&o, &d), 0);
	/* the newer copy back: opens */
	copy(newer, dbf);
	assert_int_equal(open_err(NULL, &d), 0);
	assert_int_equal(generation(), 6);
}

static void
test_diverged_and_edited(void **st)
{
	struct slw_diag d;
	char a0[4400], b1[4400], an0[4400], an1[4400];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { 10, "generation" }, v;
	uint8_t rec[40];

	(void)st;
	fresh();
	snprintf(a0, sizeof(a0), "%s/a0.mdb", dir);
	snprintf(b1, sizeof(b1), "%s/b1.mdb", dir);
	snprintf(an0, sizeof(an0), "%s/an0", dir);
	snprintf(an1, sizeof(an1), "%s/an1", dir);
	copy(dbf, a0);
	copy(anc, an0);
	notes(NULL, 1);		/* generation 2, head H */
	copy(dbf, b1);
	copy(anc, an1);
	copy(a0, dbf);		/* back to 1, and its anchor too */
	copy(an0, anc);
	notes_on(NULL, 1, "y");	/* generation 2 again, another head */
	copy(an1, anc);		/* the anchor of the first branch */
	assert_int_equal(open_err(NULL, &d), SLW_ERR_CORRUPT);
	assert_non_null(strstr(d.msg, "does not match its rollback anchor"));
	assert_non_null(strstr(d.msg, "another audit head"));

	/* an attacker raises an old copy's generation without the KEK */
	copy(b1, dbf);
	assert_int_equal(open_err(NULL, &d), 0);
	copy(a0, dbf);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
	snprintf(a0, sizeof(a0), "%s/db", state);
	assert_int_equal(mdb_env_open(env, a0, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	assert_int_equal(v.mv_size, 40);
	memcpy(rec, v.mv_data, 40);
	rec_be64_put(rec, 99);
	v.mv_data = rec;
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	assert_int_equal(open_err(NULL, &d), SLW_ERR_CORRUPT);
	assert_non_null(strstr(d.msg, "fails its generation check"));
}

static void
test_anchor_missing_damaged_torn(void **st)
{
	struct slw_diag d;
	struct buf b = { 0 };
	char keep[4400];

	(void)st;
	fresh();
	notes(NULL, 2);		/* generation 3: slots hold 3 and 2 */
	snprintf(keep, sizeof(keep), "%s/anchor.keep", dir);
	copy(anc, keep);
	/* deleted: refused (it would hide a copied-back database) */
	assert_int_equal(unlink(anc), 0);
	assert_int_equal(open_err(NULL, &d), SLW_ERR_NOTFOUND);
	assert_non_null(strstr(d.msg, "is missing but the store"));
	assert_non_null(strstr(d.msg, "next to the KEK"));
	/* both slots damaged: refused */
	assert_int_equal(buf_read_file(&b, keep, 4096), 0);
	assert_int_equal(b.len, ANCHOR_FILE_SIZE);
	b.data[20] ^= 1;
	b.data[ANCHOR_FILE_SIZE / 2 + 20] ^= 1;
	tu_write(anc, b.data, b.len);
	assert_int_equal(open_err(NULL, &d), SLW_ERR_CORRUPT);
	assert_non_null(strstr(d.msg, "is damaged"));
	/* one slot torn: the other holds; the anchor catches up */
	b.data[ANCHOR_FILE_SIZE / 2 + 20] ^= 1;
	tu_write(anc, b.data, b.len);
	assert_int_equal(open_err(NULL, &d), 0);
	assert_int_equal(anchored(), 3);
	buf_free(&b);
}

static void
test_ahead_catches_up(void **st)
{
	struct slw_diag d;
	char keep[4400];

	(void)st;
	fresh();
	snprintf(keep, sizeof(keep), "%s/anchor.keep", dir);
	copy(anc, keep);
	notes(NULL, 3);
	copy(keep, anc);	/* as if every anchor update was lost */
	assert_int_equal(anchored(), 1);
	assert_int_equal(open_err(NULL, &d), 0);
	assert_int_equal(anchored(), 4);
}

/* A store from before generations: opens, then its next commit anchors. */
static void
test_legacy_store(void **st)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { 10, "generation" };
	char db[4400];

	(void)st;
	fresh();
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
	snprintf(db, sizeof(db), "%s/db", state);
	assert_int_equal(mdb_env_open(env, db, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	assert_int_equal(unlink(anc), 0);
	assert_int_equal(generation(), 0);
	notes(NULL, 1);
	assert_int_equal(generation(), 1);
	assert_int_equal(anchored(), 1);
}

/* A second anchor as the TPM's NV counter would be: generation only. */
struct counter {
	uint64_t value;
	int loads, advances;
};

static int
ctr_load(void *ctx, struct anchor_state *st, struct slw_diag *d)
{
	struct counter *c = ctx;

	(void)d;
	memset(st, 0, sizeof(*st));
	c->loads++;
	if (c->value == 0)
		return SLW_ERR_NOTFOUND;
	st->generation = c->value;
	return 0;
}

static int
ctr_advance(void *ctx, const struct anchor_state *st, int durable,
    struct slw_diag *d)
{
	struct counter *c = ctx;

	(void)d;
	(void)durable;
	c->advances++;
	if (st->generation > c->value)
		c->value = st->generation;
	return 0;
}

static void
test_second_anchor(void **st)
{
	struct counter c = { 0, 0, 0 };
	struct anchor_ops ops = { "test NV counter", ctr_load, ctr_advance, NULL,
	    &c };
	struct store_opts o;
	struct slw_diag d;
	char olddb[4400], oldanc[4400];

	(void)st;
	fresh();
	memset(&o, 0, sizeof(o));
	o.anchor2 = &ops;
	snprintf(olddb, sizeof(olddb), "%s/old.mdb", dir);
	snprintf(oldanc, sizeof(oldanc), "%s/old.anchor", dir);
	notes(&o, 1);		/* the counter catches up at open: 1, then 2 */
	assert_int_equal(c.value, 2);
	copy(dbf, olddb);
	copy(anc, oldanc);
	notes(&o, 3);
	assert_int_equal(c.value, 5);
	/* the whole state rolled back, file anchor included */
	copy(olddb, dbf);
	copy(oldanc, anc);
	assert_int_equal(open_err(NULL, &d), 0);	/* the file alone: blind */
	assert_int_equal(open_err(&o, &d), SLW_ERR_CORRUPT);
	assert_non_null(strstr(d.msg, "test NV counter"));
	assert_non_null(strstr(d.msg, "(generation 2 < 5)"));
}

static void
test_anchor_parse_bounds(void **st)
{
	uint8_t key[32], other[32], file[ANCHOR_FILE_SIZE + 1];
	struct anchor_state a = { 7, { 1, 2, 3 }, 1 }, b = { 8, { 0 }, 0 }, got;
	int slot;
	size_t n;

	(void)st;
	memset(key, 0x11, sizeof(key));
	memset(other, 0x22, sizeof(other));
	assert_int_equal(anchor_slot_write(&a, key, file), 0);
	assert_int_equal(anchor_slot_write(&b, key, file + ANCHOR_FILE_SIZE / 2),
	    0);
	assert_int_equal(anchor_parse(file, ANCHOR_FILE_SIZE, key, &got, &slot),
	    0);
	assert_int_equal(got.generation, 8);
	assert_int_equal(slot, 1);
	assert_int_equal(got.has_head, 0);
	assert_int_equal(anchor_parse(file, ANCHOR_FILE_SIZE / 2, key, &got,
	    &slot), 0);
	assert_int_equal(got.generation, 7);
	assert_int_equal(got.head[2], 3);
	assert_int_equal(anchor_parse(file, 0, key, &got, &slot),
	    SLW_ERR_NOTFOUND);
	for (n = 1; n <= ANCHOR_FILE_SIZE + 1; n++)
		if (n != ANCHOR_FILE_SIZE / 2 && n != ANCHOR_FILE_SIZE)
			assert_int_equal(anchor_parse(file, n, key, &got, &slot),
			    SLW_ERR_CORRUPT);
	/* another KEK's anchor does not verify */
	assert_int_equal(anchor_parse(file, ANCHOR_FILE_SIZE, other, &got,
	    &slot), SLW_ERR_CORRUPT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copied_back_is_refused),
		cmocka_unit_test(test_diverged_and_edited),
		cmocka_unit_test(test_anchor_missing_damaged_torn),
		cmocka_unit_test(test_ahead_catches_up),
		cmocka_unit_test(test_legacy_store),
		cmocka_unit_test(test_second_anchor),
		cmocka_unit_test(test_anchor_parse_bounds),
	};

	slw_crypto_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
