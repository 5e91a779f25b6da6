// SPDX-License-Identifier: Apache-2.0
/*
 * keyset_test.c: the service-account and encryption key sets: a state
 * from init is generation 1 alone under init's secret names; begin /
 * advance / finish / abort move the generations and the order keyset_load
 * gives (the key that signs or encrypts first); steps out of order are
 * refused and change nothing; retired and aborted keys are deleted.
 */
#include "testutil.h"

#include "inventory.h"
#include "keyset.h"
#include "store.h"

static char *dir;
static struct store *st;
static struct inventory *inv;

static int
setup(void **s)
{
	(void)s;
	dir = tu_tmpdir();
	tu_init_state(dir, &st, &inv);
	return 0;
}

static int
teardown(void **s)
{
	(void)s;
	store_close(st);
	inventory_free(inv);
	tu_rmrf(dir);
	free(dir);
	return 0;
}

struct op {
	const char *set;
	int step;			/* 0 status, 1 begin, 2 advance, 3 finish,
					 * 4 abort, 5 load */
	struct buf secret;
	uint32_t gen;
	struct keyset_status status;
	struct keyset_keys keys;
};

static int
op_txn(struct store_txn *t, void *arg)
{
	struct op *o = arg;
	int r;

	switch (o->step) {
	case 1:
		r = keyset_begin(t, o->set, &o->secret, o->gen, 1000);
		break;
	case 2:
		r = keyset_advance(t, o->set, 2000);
		break;
	case 3:
		r = keyset_finish(t, o->set);
		break;
	case 4:
		r = keyset_abort(t, o->set);
		break;
	case 5:
		return keyset_load(t, o->set, &o->keys);
	default:
		r = 0;
	}
	if (r != 0)
		return r;
	return keyset_status(t, o->set, &o->status);
}

static int
run(const char *set, int step, struct op *o)
{
	struct slw_diag d;
	int r;

	o->set = set;
	o->step = step;
	slw_diag_clear(&d);
	if (step == 0 || step == 5)
		r = store_read(st, op_txn, o, &d);
	else
		r = store_write(st, op_txn, o, &d);
	if (r != 0 && getenv("KEYSET_TEST_VERBOSE"))
		fprintf(stderr, "step %d: %s\n", step, slw_diag_str(&d, r));
	return r;
}

struct sec {
	const char *name;
	struct buf *out;
};

static int
sec_txn(struct store_txn *t, void *arg)
{
	struct sec *a = arg;

	return store_secret_get(t, a->name, a->out);
}

/* A sealed secret by its DB_SECRETS name. */
static int
store_secret_read(struct store *s, const char *name, struct buf *out)
{
	struct sec a = { name, out };
	struct slw_diag d;

	slw_diag_clear(&d);
	return store_read(s, sec_txn, &a, &d);
}

static void
load(const char *set, struct keyset_keys *k)
{
	struct op o;

	memset(&o, 0, sizeof(o));
	assert_int_equal(run(set, 5, &o), 0);
	*k = o.keys;
}

static void
test_init_is_generation_1(void **s)
{
	struct keyset_keys k;
	struct op o;
	struct buf legacy = { 0 };

	(void)s;
	memset(&o, 0, sizeof(o));
	assert_int_equal(run(KEYSET_SA, 0, &o), 0);
	assert_int_equal(o.status.phase, KEYSET_IDLE);
	assert_int_equal(o.status.active_gen, 1);
	assert_int_equal(o.status.max_gen, 1);
	load(KEYSET_ENC, &k);
	assert_int_equal(k.n, 1);
	assert_int_equal(k.gen[0], 1);
	assert_int_equal(k.key[0].len, KEYSET_ENC_LEN);
	/* the same bytes init stored under its name */
	assert_int_equal(store_secret_read(st, "encryption-key", &legacy), 0);
	assert_memory_equal(legacy.data, k.key[0].data, KEYSET_ENC_LEN);
	buf_free(&legacy);
	keyset_keys_free(&k);
	memset(&o, 0, sizeof(o));
	assert_int_not_equal(run("nonsense", 0, &o), 0);
}

static void
rotate(const char *set, enum key_type kt)
{
	struct keyset_keys k;
	struct buf first = { 0 };
	struct op o;

	load(set, &k);
	assert_int_equal(buf_set(&first, k.key[0].data, k.key[0].len), 0);
	keyset_keys_free(&k);

	/* out of order: nothing to advance, finish or abort */
	memset(&o, 0, sizeof(o));
	assert_int_not_equal(run(set, 2, &o), 0);
	assert_int_not_equal(run(set, 3, &o), 0);
	assert_int_not_equal(run(set, 4, &o), 0);

	/* begin: generation 2 decrypts / verifies, listed second */
	memset(&o, 0, sizeof(o));
	assert_int_equal(keyset_generate(set, kt, &o.secret), 0);
	o.gen = 3;			/* not the next one */
	assert_int_not_equal(run(set, 1, &o), 0);
	o.gen = 2;
	assert_int_equal(run(set, 1, &o), 0);
	assert_int_equal(o.status.phase, KEYSET_PENDING);
	assert_int_equal(o.status.pending_gen, 2);
	assert_int_equal(o.status.begun, 1000);
	load(set, &k);
	assert_int_equal(k.n, 2);
	assert_int_equal(k.gen[0], 1);
	assert_int_equal(k.gen[1], 2);
	assert_memory_equal(k.key[0].data, first.data, first.len);
	assert_memory_equal(k.key[1].data, o.secret.data, o.secret.len);
	keyset_keys_free(&k);
	assert_int_not_equal(run(set, 1, &o), 0);	/* already begun */

	/* abort forgets generation 2; begin again */
	assert_int_equal(run(set, 4, &o), 0);
	assert_int_equal(o.status.phase, KEYSET_IDLE);
	load(set, &k);
	assert_int_equal(k.n, 1);
	keyset_keys_free(&k);
	o.gen = 3;			/* generations are never reused */
	assert_int_equal(run(set, 1, &o), 0);

	/* advance: generation 3 first, 1 second */
	assert_int_equal(run(set, 2, &o), 0);
	assert_int_equal(o.status.phase, KEYSET_ADVANCED);
	assert_int_equal(o.status.active_gen, 3);
	assert_int_equal(o.status.previous_gen, 1);
	assert_int_equal(o.status.advanced, 2000);
	load(set, &k);
	assert_int_equal(k.n, 2);
	assert_int_equal(k.gen[0], 3);
	assert_int_equal(k.gen[1], 1);
	assert_memory_equal(k.key[0].data, o.secret.data, o.secret.len);
	assert_memory_equal(k.key[1].data, first.data, first.len);
	keyset_keys_free(&k);

	/* finish: generation 1 retired and deleted */
	assert_int_equal(run(set, 3, &o), 0);
	assert_int_equal(o.status.phase, KEYSET_IDLE);
	assert_int_equal(o.status.active_gen, 3);
	assert_int_equal(o.status.max_gen, 3);
	load(set, &k);
	assert_int_equal(k.n, 1);
	assert_int_equal(k.gen[0], 3);
	keyset_keys_free(&k);
	buf_free(&o.secret);
	buf_free(&first);
}

static void
test_rotate_encryption(void **s)
{
	struct buf x = { 0 };

	(void)s;
	rotate(KEYSET_ENC, KEY_NONE);
	assert_int_equal(store_secret_read(st, "encryption-key", &x),
	    SLW_ERR_NOTFOUND);
}

static void
test_rotate_service_account(void **s)
{
	struct buf x = { 0 };

	(void)s;
	rotate(KEYSET_SA, inv->key_type);
	assert_int_equal(store_secret_read(st, "service-account-key", &x),
	    SLW_ERR_NOTFOUND);
	assert_int_equal(store_secret_read(st, "service-account-key/3", &x), 0);
	buf_free(&x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_is_generation_1),
		cmocka_unit_test(test_rotate_encryption),
		cmocka_unit_test(test_rotate_service_account),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
