// SPDX-License-Identifier: Apache-2.0
/*
 * token_test.c: one-time tokens: syntax and randomness, only a hash is
 * stored (no secret anywhere in the database), constant checks with the
 * clock seam (TTL to the second), node and source-address binding,
 * consumption exactly once (also under store_submit from many threads),
 * revocation, pruning of ended tokens, the issuance record (one per
 * token), and the same SLW_ERR_AUTH for every kind of failure.
 */
#include "testutil.h"

#include "audit.h"
#include "http_redeem.h"
#include "rec.h"
#include "store.h"
#include "token.h"

#include <pthread.h>

#define T0 ((time_t)2000000000)

static char *dir;
static char state[4200];
static struct store *st;

static int
populate(struct store_txn *t, void *arg)
{
	(void)arg;
	return audit_append(t, "test", "init", "state", "");
}

static int
setup(void **s)
{
	struct store_opts o;

	(void)s;
	dir = tu_tmpdir();
	snprintf(state, sizeof(state), "%s/state", dir);
	memset(&o, 0, sizeof(o));
	assert_int_equal(store_create(state, &o, populate, NULL, NULL), 0);
	assert_int_equal(store_open(state, &o, &st, NULL), 0);
	tu_now_value = T0;
	slw_clock_set(tu_fixed_now);
	return 0;
}

static int
teardown(void **s)
{
	(void)s;
	slw_clock_set(NULL);
	store_close(st);
	st = NULL;
	tu_rmrf(dir);
	free(dir);
	return 0;
}

static int
put_txn(struct store_txn *t, void *arg)
{
	return token_put(t, arg);
}

/* Makes and stores a token for node (ttl seconds, optional source). */
static void
mk(const char *node, time_t ttl, const char *source, struct token_new *tok)
{
	assert_int_equal(token_make(node, ttl, source, "console:test", slw_now(),
	    tok, NULL), 0);
	assert_int_equal(store_write(st, put_txn, tok, NULL), 0);
}

struct chk {
	const char *tok;
	size_t len;
	struct token_want w;
	struct token_info ti;
	enum token_fail why;
	int consume;
	int r;
};

static int
chk_txn(struct store_txn *t, void *arg)
{
	struct chk *c = arg;

	if (c->consume)
		c->r = token_consume(t, c->tok, c->len, &c->w, "bundle", &c->ti,
		    &c->why);
	else
		c->r = token_check(t, c->tok, c->len, &c->w, &c->ti, &c->why);
	return c->r;
}

static int
check(const char *tok, const char *node, const char *peer, int consume,
    enum token_fail *why)
{
	struct chk c;

	memset(&c, 0, sizeof(c));
	c.tok = tok;
	c.len = strlen(tok);
	c.w.node = node;
	c.w.peer = peer;
	c.w.now = slw_now();
	c.consume = consume;
	if (consume)
		(void)store_write(st, chk_txn, &c, NULL);
	else
		(void)store_read(st, chk_txn, &c, NULL);
	*why = c.why;
	return c.r;
}

static void
test_syntax(void **s)
{
	struct token_new a, b;
	char id[TOKEN_ID_LEN + 1], sec[TOKEN_SECRET_LEN + 1], bad[80];
	size_t i;

	(void)s;
	assert_int_equal(token_make("test1", 900, NULL, "t", T0, &a, NULL), 0);
	assert_int_equal(token_make("test1", 900, NULL, "t", T0, &b, NULL), 0);
	assert_int_equal(strlen(a.token), TOKEN_LEN);
	assert_int_equal(a.token[TOKEN_ID_LEN], '.');
	assert_string_not_equal(a.token, b.token);
	assert_string_not_equal(a.info.id, b.info.id);
	assert_int_equal(token_parse(a.token, strlen(a.token), id, sec), 0);
	assert_string_equal(id, a.info.id);
	assert_memory_equal(sec, a.token + TOKEN_ID_LEN + 1, TOKEN_SECRET_LEN);
	for (i = 0; i < TOKEN_LEN; i++)
		if (i != TOKEN_ID_LEN)
			assert_non_null(strchr("0123456789abcdef", a.token[i]));
	/* >= 128 random bits in the secret alone */
	assert_true(TOKEN_SECRET_LEN * 4 >= 128);
	/* refusals: length, case, separator, alphabet, whitespace, NULL */
	assert_int_equal(token_parse(a.token, TOKEN_LEN - 1, id, sec),
	    SLW_ERR_AUTH);
	snprintf(bad, sizeof(bad), "%s ", a.token);
	assert_int_equal(token_parse(bad, strlen(bad), id, sec), SLW_ERR_AUTH);
	snprintf(bad, sizeof(bad), "%s", a.token);
	bad[TOKEN_ID_LEN] = ':';
	assert_int_equal(token_parse(bad, TOKEN_LEN, id, sec), SLW_ERR_AUTH);
	snprintf(bad, sizeof(bad), "%s", a.token);
	bad[3] = 'A';
	assert_int_equal(token_parse(bad, TOKEN_LEN, id, sec), SLW_ERR_AUTH);
	bad[3] = 'g';
	assert_int_equal(token_parse(bad, TOKEN_LEN, id, sec), SLW_ERR_AUTH);
	assert_int_equal(token_parse(NULL, 0, id, sec), SLW_ERR_AUTH);
	assert_string_equal(id, "");
	assert_string_equal(sec, "");
	/* make: bad arguments, one clear error each */
	assert_int_equal(token_make("", 900, NULL, "t", T0, &b, NULL),
	    SLW_ERR_INVALID);
	assert_int_equal(token_make("n", 5, NULL, "t", T0, &b, NULL),
	    SLW_ERR_INVALID);
	assert_int_equal(token_make("n", 8 * 86400, NULL, "t", T0, &b, NULL),
	    SLW_ERR_INVALID);
	assert_int_equal(token_make("n", 900, "10.0.0.1/33", "t", T0, &b, NULL),
	    SLW_ERR_INVALID);
	assert_int_equal(token_make("n", 900, "host.example", "t", T0, &b, NULL),
	    SLW_ERR_INVALID);
	token_new_wipe(&a);
	token_new_wipe(&b);
}

struct scan {
	const char *needle;
	int found;
	size_t n;
};

static int
scan_one(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	struct scan *s = arg;

	s->n++;
	if (tu_memmem(v, vl, s->needle, strlen(s->needle)) != NULL ||
	    tu_memmem(k, kl, s->needle, strlen(s->needle)) != NULL)
		s->found = 1;
	return 0;
}

static int
scan_txn(struct store_txn *t, void *arg)
{
	enum store_db db;
	int r;

	for (db = 0; db < DB__COUNT; db++)
		if ((r = store_iter(t, db, NULL, 0, 0, scan_one, arg)) < 0)
			return r;
	return 0;
}

static void
test_only_hash_stored(void **s)
{
	struct token_new tok;
	struct scan sc;
	char secret[TOKEN_SECRET_LEN + 1];
	enum token_fail why;

	(void)s;
	mk("test1", 900, NULL, &tok);
	memcpy(secret, tok.token + TOKEN_ID_LEN + 1, sizeof(secret));
	assert_int_equal(check(tok.token, NULL, NULL, 1, &why), 0);
	memset(&sc, 0, sizeof(sc));
	sc.needle = secret;
	assert_int_equal(store_read(st, scan_txn, &sc, NULL), 0);
	assert_true(sc.n > 0);
	assert_false(sc.found);
	/* only the first half of the secret either */
	secret[TOKEN_SECRET_LEN / 2] = '\0';
	sc.found = 0;
	assert_int_equal(store_read(st, scan_txn, &sc, NULL), 0);
	assert_false(sc.found);
	token_new_wipe(&tok);
}

static void
test_ttl_clock(void **s)
{
	struct token_new tok;
	enum token_fail why;

	(void)s;
	mk("test1", 900, NULL, &tok);
	tu_now_value = T0 + 899;
	assert_int_equal(check(tok.token, NULL, NULL, 0, &why), 0);
	assert_int_equal(why, TOKEN_OK);
	tu_now_value = T0 + 900;
	assert_int_equal(check(tok.token, NULL, NULL, 0, &why), SLW_ERR_AUTH);
	assert_int_equal(why, TOKEN_FAIL_EXPIRED);
	/* an expired token cannot be consumed either, and stays unused */
	assert_int_equal(check(tok.token, NULL, NULL, 1, &why), SLW_ERR_AUTH);
	assert_int_equal(why, TOKEN_FAIL_EXPIRED);
	tu_now_value = T0 + 10;
	assert_int_equal(check(tok.token, NULL, NULL, 1, &why), 0);
	token_new_wipe(&tok);
}

static void
test_every_failure_is_auth(void **s)
{
	struct token_new tok, other;
	char wrong[TOKEN_LEN + 1], unknown[TOKEN_LEN + 1];
	enum token_fail why;

	(void)s;
	mk("test1", 900, NULL, &tok);
	mk("test2", 900, NULL, &other);
	/* right id, wrong secret */
	snprintf(wrong, sizeof(wrong), "%s", tok.token);
	wrong[TOKEN_LEN - 1] = wrong[TOKEN_LEN - 1] == '0' ? '1' : '0';
	assert_int_equal(check(wrong, NULL, NULL, 0, &why), SLW_ERR_AUTH);
	assert_int_equal(why, TOKEN_FAIL_UNKNOWN);
	/* unknown id */
	snprintf(unknown, sizeof(unknown), "%s", tok.token);
	unknown[0] = unknown[0] == 'a' ? 'b' : 'a';
	assert_int_equal(check(unknown, NULL, NULL, 0, &why), SLW_ERR_AUTH);
	assert_int_equal(why, TOKEN_FAIL_UNKNOWN);
	/* malformed */
	assert_int_equal(check("not-a-token", NULL, NULL, 0, &why), SLW_ERR_AUTH);
	assert_int_equal(why, TOKEN_FAIL_MALFORMED);
	/* bound to another node */
	assert_int_equal(check(other.token, "test1", NULL, 0, &why),
	    SLW_ERR_AUTH);
	assert_int_equal(why, TOKEN_FAIL_NODE);
	assert_int_equal(check(other.token, "test2", NULL, 0, &why), 0);
	/* a wrong-secret attempt does not consume or disturb the real one */
	assert_int_equal(check(wrong, NULL, NULL, 1, &why), SLW_ERR_AUTH);
	assert_int_equal(check(tok.token, NULL, NULL, 1, &why), 0);
	/* used */
	assert_int_equal(check(tok.token, NULL, NULL, 1, &why), SLW_ERR_AUTH);
	assert_int_equal(why, TOKEN_FAIL_USED);
	token_new_wipe(&tok);
	token_new_wipe(&other);
}

static void
test_source_binding(void **s)
{
	struct token_new net, host;
	enum token_fail why;

	(void)s;
	mk("test1", 900, "10.0.0.0/8", &net);
	mk("test1", 900, "192.168.0.91", &host);
	assert_int_equal(check(net.token, NULL, "10.1.2.3", 0, &why), 0);
	assert_int_equal(check(net.token, NULL, "11.0.0.1", 0, &why),
	    SLW_ERR_AUTH);
	assert_int_equal(why, TOKEN_FAIL_SOURCE);
	assert_int_equal(check(net.token, NULL, NULL, 0, &why), SLW_ERR_AUTH);
	assert_int_equal(check(net.token, NULL, "::1", 0, &why), SLW_ERR_AUTH);
	assert_int_equal(check(host.token, NULL, "192.168.0.91", 0, &why), 0);
	assert_int_equal(check(host.token, NULL, "192.168.0.92", 0, &why),
	    SLW_ERR_AUTH);
	assert_int_equal(why, TOKEN_FAIL_SOURCE);
	token_new_wipe(&net);
	token_new_wipe(&host);
}

struct rev {
	const char *id;
	int r;
};

static int
rev_txn(struct store_txn *t, void *arg)
{
	struct rev *a = arg;

	a->r = token_revoke(t, a->id, "console:test", NULL);
	return a->r;
}

static int
revoke(const char *id)
{
	struct rev a = { id, 0 };

	(void)store_write(st, rev_txn, &a, NULL);
	return a.r;
}

struct cnt {
	size_t active, used, expired, revoked;
};

static int
cnt_one(void *arg, const struct token_info *ti)
{
	struct cnt *c = arg;
	const char *s = token_state_name(ti, slw_now());

	if (strcmp(s, "active") == 0)
		c->active++;
	else if (strcmp(s, "used") == 0)
		c->used++;
	else if (strcmp(s, "expired") == 0)
		c->expired++;
	else if (strcmp(s, "revoked") == 0)
		c->revoked++;
	return 0;
}

static int
cnt_txn(struct store_txn *t, void *arg)
{
	return token_foreach(t, cnt_one, arg);
}

static int
get_txn(struct store_txn *t, void *arg)
{
	struct token_info *ti = arg;
	char id[TOKEN_ID_LEN + 1];

	memcpy(id, ti->id, sizeof(id));
	return token_get(t, id, ti);
}

static void
test_revoke_and_states(void **s)
{
	struct token_new a, b, c, e;
	struct token_info ti;
	struct cnt n;
	enum token_fail why;

	(void)s;
	mk("test1", 900, NULL, &a);
	mk("test1", 900, NULL, &b);
	mk("test2", 60, NULL, &c);
	mk("test3", 900, NULL, &e);
	assert_int_equal(revoke(a.info.id), 0);
	assert_int_equal(check(a.token, NULL, NULL, 1, &why), SLW_ERR_AUTH);
	assert_int_equal(why, TOKEN_FAIL_REVOKED);
	assert_int_equal(revoke(a.info.id), SLW_ERR_INVALID);	/* again */
	assert_int_equal(check(b.token, NULL, "127.0.0.1", 1, &why), 0);
	assert_int_equal(revoke(b.info.id), SLW_ERR_INVALID);	/* used */
	assert_int_equal(revoke("0123456789abcdef"), SLW_ERR_NOTFOUND);
	assert_int_equal(revoke("xyz"), SLW_ERR_INVALID);
	/* the used token records when, from where, for what */
	memset(&ti, 0, sizeof(ti));
	snprintf(ti.id, sizeof(ti.id), "%s", b.info.id);
	assert_int_equal(store_read(st, get_txn, &ti, NULL), 0);
	assert_int_equal(ti.state, TOKEN_USED);
	assert_string_equal(ti.used_from, "127.0.0.1");
	assert_string_equal(ti.used_for, "bundle");
	assert_int_equal(ti.used_at, T0);
	assert_string_equal(ti.node, "test1");
	tu_now_value = T0 + 61;
	memset(&n, 0, sizeof(n));
	assert_int_equal(store_read(st, cnt_txn, &n, NULL), 0);
	assert_int_equal(n.active, 1);
	assert_int_equal(n.used, 1);
	assert_int_equal(n.expired, 1);
	assert_int_equal(n.revoked, 1);
	token_new_wipe(&a);
	token_new_wipe(&b);
	token_new_wipe(&c);
	token_new_wipe(&e);
}

/* Pruning: only ended tokens, only before the cutoff; audit kept, verified. */
struct prune {
	time_t cutoff;
	struct token_prune_stats st;
};

static int
prune_txn(struct store_txn *t, void *arg)
{
	struct prune *p = arg;

	return token_prune(t, p->cutoff, slw_now(), "console:test", &p->st);
}

static void
test_prune(void **s)
{
	struct token_new used_old, rev_old, exp_old, used_new, active;
	struct prune p;
	struct cnt n;
	uint64_t audits0 = 0, audits1 = 0;
	enum token_fail why;

	(void)s;
	mk("test1", 60, NULL, &exp_old);	/* expires at T0 + 60 */
	mk("test1", 900, NULL, &used_old);
	mk("test2", 900, NULL, &rev_old);
	assert_int_equal(check(used_old.token, NULL, NULL, 1, &why), 0);
	assert_int_equal(revoke(rev_old.info.id), 0);	/* both at T0 */
	tu_now_value = T0 + 1000;
	mk("test3", 900, NULL, &used_new);
	mk("test3", 900, NULL, &active);	/* until T0 + 1900 */
	assert_int_equal(check(used_new.token, NULL, NULL, 1, &why), 0);
	assert_int_equal(audit_verify(st, &audits0, NULL), 0);

	/* a cutoff before every end: nothing goes, no audit record */
	memset(&p, 0, sizeof(p));
	p.cutoff = T0 - 1;
	assert_int_equal(store_write(st, prune_txn, &p, NULL), 0);
	assert_int_equal(p.st.used + p.st.expired + p.st.revoked, 0);
	assert_int_equal(p.st.kept, 5);
	assert_int_equal(p.st.active, 1);
	assert_int_equal(audit_verify(st, &audits1, NULL), 0);
	assert_int_equal(audits1, audits0);

	/* T0 + 500: the three that ended at T0 or T0 + 60 go */
	p.cutoff = T0 + 500;
	assert_int_equal(store_write(st, prune_txn, &p, NULL), 0);
	assert_int_equal(p.st.used, 1);
	assert_int_equal(p.st.revoked, 1);
	assert_int_equal(p.st.expired, 1);
	assert_int_equal(p.st.kept, 2);
	assert_int_equal(p.st.active, 1);
	memset(&n, 0, sizeof(n));
	assert_int_equal(store_read(st, cnt_txn, &n, NULL), 0);
	assert_int_equal(n.used, 1);		/* used_new */
	assert_int_equal(n.active, 1);
	assert_int_equal(n.expired + n.revoked, 0);
	assert_int_equal(audit_verify(st, &audits1, NULL), 0);
	assert_int_equal(audits1, audits0 + 1);	/* one token.prune record */

	/* the active one is never pruned, whatever the cutoff; it still works */
	p.cutoff = T0 + 100000;
	assert_int_equal(store_write(st, prune_txn, &p, NULL), 0);
	assert_int_equal(p.st.used, 1);
	assert_int_equal(p.st.kept, 1);
	assert_int_equal(p.st.active, 1);
	assert_int_equal(check(active.token, NULL, NULL, 1, &why), 0);
	/* a pruned token is unknown now: the same refusal as any other */
	assert_int_equal(check(used_old.token, NULL, NULL, 1, &why),
	    SLW_ERR_AUTH);
	assert_int_equal(why, TOKEN_FAIL_UNKNOWN);
	token_new_wipe(&used_old);
	token_new_wipe(&rev_old);
	token_new_wipe(&exp_old);
	token_new_wipe(&used_new);
	token_new_wipe(&active);
}

/* Many threads consume one token through group commit: exactly one wins. */
struct race {
	const char *tok;
	int ok;
	pthread_mutex_t mu;
};

struct race_op {
	struct race *r;
	struct token_info ti;
	enum token_fail why;
};

static int
race_txn(struct store_txn *t, void *arg)
{
	struct race_op *op = arg;
	struct token_want w = { NULL, "127.0.0.1", slw_now() };
	struct issuance is;
	int r;

	if ((r = token_consume(t, op->r->tok, strlen(op->r->tok), &w, "bundle",
	    &op->ti, &op->why)) != 0)
		return r;
	memset(&is, 0, sizeof(is));
	snprintf(is.token_id, sizeof(is.token_id), "%s", op->ti.id);
	snprintf(is.node, sizeof(is.node), "%s", op->ti.node);
	snprintf(is.endpoint, sizeof(is.endpoint), "bundle");
	snprintf(is.peer, sizeof(is.peer), "127.0.0.1");
	is.iss.n = 1;
	memset(is.iss.serial[0], 0x42, SERIAL_LEN);
	snprintf(is.iss.purpose[0], sizeof(is.iss.purpose[0]), "kubelet");
	return redeem_issuance_put(t, &op->ti, &is);
}

static void *
race_thread(void *arg)
{
	struct race_op op;

	memset(&op, 0, sizeof(op));
	op.r = arg;
	if (store_submit(st, race_txn, &op, NULL) == 0) {
		pthread_mutex_lock(&op.r->mu);
		op.r->ok++;
		pthread_mutex_unlock(&op.r->mu);
	}
	return NULL;
}

static int
iss_count_txn(struct store_txn *t, void *arg)
{
	return store_count(t, DB_ISSUANCE, arg);
}

static void
test_consume_once_group_commit(void **s)
{
	struct token_new tok[8];
	struct race rc[8];
	pthread_t th[8][16];
	size_t i, j, n = 0;

	(void)s;
	for (i = 0; i < 8; i++) {
		mk("test1", 900, NULL, &tok[i]);
		rc[i].tok = tok[i].token;
		rc[i].ok = 0;
		pthread_mutex_init(&rc[i].mu, NULL);
	}
	for (i = 0; i < 8; i++)
		for (j = 0; j < 16; j++)
			assert_int_equal(pthread_create(&th[i][j], NULL,
			    race_thread, &rc[i]), 0);
	for (i = 0; i < 8; i++)
		for (j = 0; j < 16; j++)
			pthread_join(th[i][j], NULL);
	for (i = 0; i < 8; i++) {
		assert_int_equal(rc[i].ok, 1);
		pthread_mutex_destroy(&rc[i].mu);
		token_new_wipe(&tok[i]);
	}
	assert_int_equal(store_read(st, iss_count_txn, &n, NULL), 0);
	assert_int_equal(n, 8);
}

struct iss_arg {
	struct token_info ti;
	struct issuance in, out;
	int r1, r2, r3;
};

static int
iss_put_txn(struct store_txn *t, void *arg)
{
	struct iss_arg *a = arg;

	a->r1 = redeem_issuance_put(t, &a->ti, &a->in);
	a->r2 = redeem_issuance_put(t, &a->ti, &a->in);	/* second: refused */
	a->r3 = redeem_issuance_get(t, a->ti.key, &a->out);
	return 0;
}

static void
test_issuance_record(void **s)
{
	struct iss_arg a;

	(void)s;
	memset(&a, 0, sizeof(a));
	snprintf(a.ti.id, sizeof(a.ti.id), "00112233aabbccdd");
	token_key(a.ti.id, a.ti.key);
	snprintf(a.in.token_id, sizeof(a.in.token_id), "%s", a.ti.id);
	snprintf(a.in.node, sizeof(a.in.node), "test3");
	snprintf(a.in.endpoint, sizeof(a.in.endpoint), "enroll");
	snprintf(a.in.peer, sizeof(a.in.peer), "::1");
	a.in.time = T0;
	a.in.iss.n = 3;
	memset(a.in.iss.serial[0], 1, SERIAL_LEN);
	memset(a.in.iss.serial[1], 2, SERIAL_LEN);
	memset(a.in.iss.serial[2], 3, SERIAL_LEN);
	snprintf(a.in.iss.purpose[0], 64, "etcd-server");
	snprintf(a.in.iss.purpose[1], 64, "flanneld");
	snprintf(a.in.iss.purpose[2], 64, "kubelet-client");
	assert_int_equal(store_write(st, iss_put_txn, &a, NULL), 0);
	assert_int_equal(a.r1, 0);
	assert_int_equal(a.r2, SLW_ERR_EXISTS);
	assert_int_equal(a.r3, 0);
	assert_string_equal(a.out.token_id, a.ti.id);
	assert_string_equal(a.out.node, "test3");
	assert_string_equal(a.out.endpoint, "enroll");
	assert_string_equal(a.out.peer, "::1");
	assert_int_equal(a.out.time, T0);
	assert_int_equal(a.out.iss.n, 3);
	assert_memory_equal(a.out.iss.serial[2], a.in.iss.serial[2], SERIAL_LEN);
	assert_string_equal(a.out.iss.purpose[1], "flanneld");
	assert_string_equal(a.out.iss.purpose[2], "kubelet-client");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_syntax, setup, teardown),
		cmocka_unit_test_setup_teardown(test_only_hash_stored, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ttl_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_failure_is_auth, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_source_binding, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_revoke_and_states, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_consume_once_group_commit,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issuance_record, setup,
		    teardown),
	};

	assert_int_equal(slw_crypto_init(), 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
