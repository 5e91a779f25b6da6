// SPDX-License-Identifier: Apache-2.0
/*
 * token_issue_test.c: a node's token as a library call (token_issue): on a
 * state fresh from `slipway init` it makes the endpoint's serving key once
 * and reports the pin that key has; the token is stored (hash only),
 * audited with its actor, bound to the node and the source, with the
 * inventory's TTL or the one asked; bad input (unknown node, TTL out of
 * range, a source that is no address) stores nothing. token_oneliner: the
 * DESIGN.md line byte for byte, and no field can leave its quotes.
 */
#include "testutil.h"

#include "audit.h"
#include "cluster.h"
#include "http_tls.h"
#include "store.h"
#include "token_issue.h"

#define T0 ((time_t)2000000000)

static char *dir;
static struct store *st;
static struct inventory *inv;

static int
setup(void **s)
{
	(void)s;
	dir = tu_tmpdir();
	tu_init_state(dir, &st, &inv);
	tu_now_value = T0;
	slw_clock_set(tu_fixed_now);
	return 0;
}

static int
teardown(void **s)
{
	(void)s;
	slw_clock_set(NULL);
	inventory_free(inv);
	store_close(st);
	tu_rmrf(dir);
	free(dir);
	inv = NULL;
	st = NULL;
	return 0;
}

struct seen {
	size_t tokens, creates;
	char last_actor[AUDIT_ACTOR_MAX], last_object[AUDIT_OBJECT_MAX];
	char last_detail[AUDIT_DETAIL_MAX];
};

static int
audit_one(void *arg, const struct audit_entry *e)
{
	struct seen *s = arg;

	if (strcmp(e->action, "token.create") == 0) {
		s->creates++;
		snprintf(s->last_actor, sizeof(s->last_actor), "%s", e->actor);
		snprintf(s->last_object, sizeof(s->last_object), "%s", e->object);
		snprintf(s->last_detail, sizeof(s->last_detail), "%s", e->detail);
	}
	return 0;
}

static int
seen_txn(struct store_txn *t, void *arg)
{
	struct seen *s = arg;
	int r;

	if ((r = store_count(t, DB_TOKENS, &s->tokens)) != 0)
		return r;
	return audit_foreach(t, audit_one, s);
}

static struct seen
seen(void)
{
	struct seen s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(store_read(st, seen_txn, &s, NULL), 0);
	return s;
}

struct chk {
	const char *tok, *node, *peer;
	struct token_info ti;
	enum token_fail why;
};

static int
chk_txn(struct store_txn *t, void *arg)
{
	struct chk *c = arg;
	struct token_want w = { c->node, c->peer, slw_now() };

	return token_check(t, c->tok, strlen(c->tok), &w, &c->ti, &c->why);
}

static int
check(const char *tok, const char *node, const char *peer,
    struct token_info *ti)
{
	struct chk c;
	int r;

	memset(&c, 0, sizeof(c));
	c.tok = tok;
	c.node = node;
	c.peer = peer;
	r = store_read(st, chk_txn, &c, NULL);

	if (ti != NULL)
		*ti = c.ti;
	return r;
}

/* True if the secret appears nowhere in the database file. */
static int
secret_absent(const char *tok)
{
	char path[4200];
	struct buf db = { 0 };
	int absent;

	snprintf(path, sizeof(path), "%s/state/db/data.mdb", dir);
	assert_int_equal(buf_read_file(&db, path, (size_t)1 << 30), 0);
	absent = tu_memmem(db.data, db.len, tok + TOKEN_ID_LEN + 1,
	    TOKEN_SECRET_LEN) == NULL;
	buf_free(&db);
	return absent;
}

static void
test_issue_makes_pin_once_and_binds(void **s)
{
	struct token_issued a, b;
	struct token_info ti;
	struct slw_diag d;
	struct seen before = seen(), after;
	char pin[HTTP_TLS_PIN_MAX];

	(void)s;
	/* init made no serving key: the first token makes it */
	slw_diag_clear(&d);
	assert_int_equal(http_tls_pin_get(st, pin, &d), SLW_ERR_NOTFOUND);
	assert_int_equal(token_issue(st, inv, "test2", 0, "10.1.2.3",
	    "console:tester", &a, &d), 0);
	assert_int_equal(a.serve_issued, 1);
	assert_int_equal(strlen(a.serve_serial_hex) > 0, 1);
	assert_int_equal(http_tls_pin_get(st, pin, NULL), 0);
	assert_string_equal(a.pin, pin);
	assert_string_equal(a.url, "https://127.0.0.1:8443/v1/bundle");
	assert_int_equal(strlen(a.tok.token), TOKEN_LEN);
	assert_int_equal(a.tok.info.expires, T0 + (time_t)inv->token_ttl);
	/* the second reuses the key: same pin, nothing issued */
	assert_int_equal(token_issue(st, inv, "test3", 60, NULL, "fleet:x",
	    &b, NULL), 0);
	assert_int_equal(b.serve_issued, 0);
	assert_string_equal(b.pin, a.pin);
	assert_int_equal(b.tok.info.expires, T0 + 60);
	assert_string_not_equal(a.tok.token, b.tok.token);

	after = seen();
	assert_int_equal(after.tokens, before.tokens + 2);
	assert_int_equal(after.creates, before.creates + 2);
	assert_string_equal(after.last_actor, "fleet:x");
	assert_string_equal(after.last_object, "test3");
	assert_non_null(strstr(after.last_detail, b.tok.info.id));
	assert_true(secret_absent(a.tok.token));
	assert_true(secret_absent(b.tok.token));

	/* bound to its node and its source */
	assert_int_equal(check(a.tok.token, "test2", "10.1.2.3", &ti), 0);
	assert_string_equal(ti.source, "10.1.2.3");
	assert_string_equal(ti.created_by, "console:tester");
	assert_int_equal(check(a.tok.token, "test2", "10.1.2.4", NULL),
	    SLW_ERR_AUTH);
	assert_int_equal(check(a.tok.token, "test3", "10.1.2.3", NULL),
	    SLW_ERR_AUTH);
	assert_int_equal(check(b.tok.token, "test3", "192.0.2.9", NULL), 0);
	tu_now_value = T0 + 61;
	assert_int_equal(check(b.tok.token, "test3", "192.0.2.9", NULL),
	    SLW_ERR_AUTH);
	token_issue_wipe(&a);
	token_issue_wipe(&b);
	assert_int_equal(a.tok.token[0], 0);
}

static void
test_bad_input_stores_nothing(void **s)
{
	struct token_issued ti;
	struct slw_diag d;
	struct seen before, after;

	(void)s;
	/* the key first, so that only the token could be left behind */
	assert_int_equal(token_issue(st, inv, "test1", 0, NULL, "t", &ti,
	    NULL), 0);
	before = seen();
	slw_diag_clear(&d);
	assert_int_equal(token_issue(st, inv, "test9", 0, NULL, "t", &ti, &d),
	    SLW_ERR_NOTFOUND);
	assert_non_null(strstr(d.msg, "no node 'test9'"));
	assert_int_equal(ti.tok.token[0], 0);
	assert_int_equal(token_issue(st, inv, NULL, 0, NULL, "t", &ti, NULL),
	    SLW_ERR_NOTFOUND);
	assert_int_equal(token_issue(st, inv, "test1", TOKEN_TTL_MIN - 1, NULL,
	    "t", &ti, NULL), SLW_ERR_INVALID);
	assert_int_equal(token_issue(st, inv, "test1", TOKEN_TTL_MAX + 1, NULL,
	    "t", &ti, NULL), SLW_ERR_INVALID);
	slw_diag_clear(&d);
	assert_int_equal(token_issue(st, inv, "test1", 0, "node.example", "t",
	    &ti, &d), SLW_ERR_INVALID);
	assert_non_null(strstr(d.msg, "node.example"));
	assert_int_equal(ti.tok.token[0], 0);
	after = seen();
	assert_int_equal(after.tokens, before.tokens);
	assert_int_equal(after.creates, before.creates);
}

static void
test_oneliner_exact(void **s)
{
	const char *pin = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
	const char *tok = "0123456789abcdef.0123456789abcdef0123456789abcdef01234567";
	struct buf b = { 0 };

	(void)s;
	assert_int_equal(token_oneliner(pin, tok,
	    "https://10.0.0.5:8443/v1/bundle", &b), 0);
	assert_string_equal((char *)b.data,
	    "curl -fsS --pinnedpubkey "
	    "'sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' -k "
	    "-H 'Authorization: Bearer "
	    "0123456789abcdef.0123456789abcdef0123456789abcdef01234567' "
	    "https://10.0.0.5:8443/v1/bundle | tar -xz -C / && "
	    "/etc/slipway/install.sh");
	assert_int_equal(b.len, strlen((char *)b.data));
	/* replaces what was there; IPv6 in brackets */
	assert_int_equal(token_oneliner(pin, tok, "https://[fd00::5]:8443/v1/bundle",
	    &b), 0);
	assert_non_null(strstr((char *)b.data, " https://[fd00::5]:8443/v1/bundle |"));
	assert_int_equal(strncmp((char *)b.data, "curl ", 5), 0);
	/* nothing may leave its quotes */
	assert_int_equal(token_oneliner("a'b", tok, "https://x/v1/bundle", &b),
	    SLW_ERR_INVALID);
	assert_null(b.data);
	assert_int_equal(token_oneliner(pin, "a b", "https://x/v1/bundle", &b),
	    SLW_ERR_INVALID);
	assert_int_equal(token_oneliner(pin, tok, "https://x/$(id)", &b),
	    SLW_ERR_INVALID);
	assert_int_equal(token_oneliner(pin, tok, "https://x/a;b", &b),
	    SLW_ERR_INVALID);
	assert_int_equal(token_oneliner(pin, tok, "http://x/v1/bundle", &b),
	    SLW_ERR_INVALID);
	assert_int_equal(token_oneliner(pin, "", "https://x/v1/bundle", &b),
	    SLW_ERR_INVALID);
	assert_int_equal(token_oneliner(NULL, tok, "https://x/v1/bundle", &b),
	    SLW_ERR_INVALID);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_issue_makes_pin_once_and_binds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input_stores_nothing,
		    setup, teardown),
		cmocka_unit_test(test_oneliner_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
