// SPDX-License-Identifier: Apache-2.0
/*
 * token_string.c: fuzz target for bootstrap token strings (bootstrap/token.c)
 * as they arrive: an Authorization header value (http_bearer), the
 * "ID.SECRET" syntax (token_parse, against a reference of the syntax), and
 * token_check against a real store holding five known tokens (active,
 * active and bound to 10.1.0.0/16, used, revoked, expired), then the
 * node and source strings of `token create` (token_make). Input:
 * HEADER ['\n' PEER ['\n' NODE]]. Only the exact active token may pass,
 * every failure says why, and an unknown secret reveals nothing stored.
 */
#define _XOPEN_SOURCE 700	/* nftw */
#include <arpa/inet.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "audit.h"
#include "http.h"
#include "rand.h"
#include "store.h"
#include "token.h"

#define T0 ((time_t)2000000000)

enum { K_OPEN, K_SOURCE, K_USED, K_REVOKED, K_EXPIRED, K__N };

/* test tokens of a throwaway store: no secret of anything */
static const struct known {
	const char *tok, *node, *source;
	int state;
	time_t expires;
} known[K__N] = {
	{ "0123456789abcdef.00112233445566778899aabbccddeeff00112233",
	  "test1", "", TOKEN_ACTIVE, T0 + 900 },
	{ "1123456789abcdef.10112233445566778899aabbccddeeff00112233",
	  "test2", "10.1.0.0/16", TOKEN_ACTIVE, T0 + 900 },
	{ "2123456789abcdef.20112233445566778899aabbccddeeff00112233",
	  "test1", "", TOKEN_USED, T0 + 900 },
	{ "3123456789abcdef.30112233445566778899aabbccddeeff00112233",
	  "test1", "", TOKEN_REVOKED, T0 + 900 },
	{ "4123456789abcdef.40112233445566778899aabbccddeeff00112233",
	  "test1", "", TOKEN_ACTIVE, T0 },
};

static char dir[4096];
static struct store *st;

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
cleanup(void)
{
	store_close(st);
	st = NULL;
	if (dir[0] != '\0')
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int
populate(struct store_txn *t, void *arg)
{
	struct token_new tn;
	size_t i;
	int r;

	(void)arg;
	if ((r = audit_append(t, "fuzz", "init", "state", "")) != 0)
		return r;
	for (i = 0; i < K__N; i++) {
		memset(&tn, 0, sizeof(tn));
		snprintf(tn.token, sizeof(tn.token), "%s", known[i].tok);
		memcpy(tn.info.id, known[i].tok, TOKEN_ID_LEN);
		mbedtls_sha256((const unsigned char *)tn.token, TOKEN_LEN,
		    tn.hash, 0);
		token_key(tn.info.id, tn.info.key);
		snprintf(tn.info.node, sizeof(tn.info.node), "%s",
		    known[i].node);
		snprintf(tn.info.source, sizeof(tn.info.source), "%s",
		    known[i].source);
		snprintf(tn.info.created_by, sizeof(tn.info.created_by),
		    "fuzz");
		tn.info.created = T0 - 60;
		tn.info.expires = known[i].expires;
		tn.info.state = known[i].state;
		if ((r = token_put(t, &tn)) != 0)
			return r;
	}
	return 0;
}

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");
	struct store_opts o;
	char state[4200];

	slw_crypto_init();
	snprintf(dir, sizeof(dir), "%s/slw-fuzz-token-XXXXXX",
	    tmp != NULL && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		abort();
	atexit(cleanup);
	snprintf(state, sizeof(state), "%s/state", dir);
	memset(&o, 0, sizeof(o));
	o.mapsize = 4 << 20;
	if (store_create(state, &o, populate, NULL, NULL) != 0 ||
	    store_open(state, &o, &st, NULL) != 0)
		abort();
}

/* The syntax, written out again: 16 + '.' + 40 lowercase hex digits. */
static int
syntax_ok(const char *s, size_t n)
{
	size_t i;

	if (n != TOKEN_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (i == TOKEN_ID_LEN ? s[i] != '.' :
		    strchr("0123456789abcdef", s[i]) == NULL || s[i] == '\0')
			return 0;
	return 1;
}

static void
check_parse(const char *s, size_t n)
{
	char id[TOKEN_ID_LEN + 1], secret[TOKEN_SECRET_LEN + 1];
	int r = token_parse(s, n, id, secret);

	if ((r == 0) != syntax_ok(s, n))
		abort();
	if (r != 0) {
		if (r != SLW_ERR_AUTH || id[0] != '\0' || secret[0] != '\0')
			abort();
		return;
	}
	if (strlen(id) != TOKEN_ID_LEN || strlen(secret) != TOKEN_SECRET_LEN ||
	    memcmp(id, s, TOKEN_ID_LEN) != 0 ||
	    memcmp(secret, s + TOKEN_ID_LEN + 1, TOKEN_SECRET_LEN) != 0)
		abort();
}

struct chk {
	const char *tok, *peer, *node;
	size_t len;
	struct token_info ti;
	enum token_fail why;
	int r;
};

static int
chk_txn(struct store_txn *t, void *arg)
{
	struct chk *c = arg;
	struct token_want w = { c->node, c->peer, T0 };

	c->r = token_check(t, c->tok, c->len, &w, &c->ti, &c->why);
	return 0;
}

static int
in_source(const char *peer)
{
	uint8_t a[4];

	return peer != NULL && inet_pton(AF_INET, peer, a) == 1 &&
	    a[0] == 10 && a[1] == 1;
}

/* What token_check must answer for this token, node and peer. */
static enum token_fail
expect(const char *tok, size_t n, const char *node, const char *peer)
{
	size_t i;

	if (!syntax_ok(tok, n))
		return TOKEN_FAIL_MALFORMED;
	for (i = 0; i < K__N; i++)
		if (memcmp(tok, known[i].tok, TOKEN_LEN) == 0)
			break;
	if (i == K__N)
		return TOKEN_FAIL_UNKNOWN;
	if (known[i].state == TOKEN_USED)
		return TOKEN_FAIL_USED;
	if (known[i].state == TOKEN_REVOKED)
		return TOKEN_FAIL_REVOKED;
	if (known[i].expires <= T0)
		return TOKEN_FAIL_EXPIRED;
	if (node != NULL && strcmp(node, known[i].node) != 0)
		return TOKEN_FAIL_NODE;
	if (known[i].source[0] != '\0' && !in_source(peer))
		return TOKEN_FAIL_SOURCE;
	return TOKEN_OK;
}

static void
check_store(const char *tok, size_t n, const char *node, const char *peer)
{
	static const struct token_info zero;
	struct token_info blank;
	struct chk c;
	enum token_fail want = expect(tok, n, node, peer);

	memset(&c, 0, sizeof(c));
	c.tok = tok;
	c.len = n;
	c.node = node;
	c.peer = peer;
	if (store_read(st, chk_txn, &c, NULL) != 0)
		abort();
	if (c.why != want || (c.r == 0) != (want == TOKEN_OK) ||
	    (c.r != 0 && c.r != SLW_ERR_AUTH))
		abort();
	if (want == TOKEN_FAIL_MALFORMED &&
	    memcmp(&c.ti, &zero, sizeof(zero)) != 0)
		abort();
	if (want == TOKEN_FAIL_UNKNOWN) {
		/* the presented id and nothing else: not even the node */
		memset(&blank, 0, sizeof(blank));
		memcpy(blank.id, tok, TOKEN_ID_LEN);
		if (memcmp(&c.ti, &blank, sizeof(blank)) != 0)
			abort();
	}
	if (want == TOKEN_OK && (memcmp(c.ti.id, tok, TOKEN_ID_LEN) != 0 ||
	    c.ti.state != TOKEN_ACTIVE))
		abort();
}

/* An address, or an address '/' a prefix: inet_pton's say on the address. */
static int
addr_ok(const char *s)
{
	char a[INV_ADDR_MAX];
	uint8_t bin[16];
	const char *slash = strchr(s, '/');
	size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);

	if (n >= sizeof(a))
		return 0;
	memcpy(a, s, n);
	a[n] = '\0';
	return inet_pton(AF_INET, a, bin) == 1 || inet_pton(AF_INET6, a, bin) == 1;
}

static void
check_make(const char *node, const char *source)
{
	char id[TOKEN_ID_LEN + 1], secret[TOKEN_SECRET_LEN + 1];
	struct token_new tn;
	struct slw_diag d;

	slw_diag_clear(&d);
	if (token_make(node, 900, source, "fuzz", T0, &tn, &d) != 0) {
		if (d.msg[0] == '\0' || strchr(d.msg, '\n') != NULL)
			abort();
		return;
	}
	if (token_parse(tn.token, strlen(tn.token), id, secret) != 0 ||
	    strcmp(id, tn.info.id) != 0 || strcmp(tn.info.node, node) != 0 ||
	    strcmp(tn.info.source, source) != 0)
		abort();
	token_new_wipe(&tn);
	if (source[0] != '\0' && !addr_ok(source))
		abort();	/* a source is an address or a CIDR */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char peer[80], node[80];
	const char *hdr = (const char *)data, *nl, *tok, *rest;
	size_t hlen, rlen, n, toklen;

	if (st == NULL)
		setup();
	nl = memchr(data, '\n', size);
	hlen = nl != NULL ? (size_t)(nl - hdr) : size;
	peer[0] = node[0] = '\0';
	if (nl != NULL) {
		rest = nl + 1;
		rlen = size - hlen - 1;
		nl = memchr(rest, '\n', rlen);
		n = nl != NULL ? (size_t)(nl - rest) : rlen;
		snprintf(peer, sizeof(peer), "%.*s", (int)n, rest);
		if (nl != NULL)
			snprintf(node, sizeof(node), "%.*s",
			    (int)(rlen - n - 1), nl + 1);
	}
	check_parse(hdr, hlen);
	if (http_bearer(hdr, hlen, &tok, &toklen) == 0) {
		if (tok < hdr || tok + toklen != hdr + hlen || toklen == 0)
			abort();
		check_parse(tok, toklen);
	} else {
		tok = hdr;	/* the token as the CLI takes it */
		toklen = hlen;
	}
	check_store(tok, toklen, node[0] ? node : NULL, peer[0] ? peer : NULL);
	check_make(node, peer);
	return 0;
}
