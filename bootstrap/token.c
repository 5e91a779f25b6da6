// SPDX-License-Identifier: Apache-2.0
/*
 * token.c: one-time bootstrap tokens: making, storing (hash only),
 * checking in constant time, consuming and revoking. Must never store a
 * secret, put one in a diag or audit record, or tell a caller why a
 * presented token failed beyond SLW_ERR_AUTH.
 */
#include "token.h"
#include "audit.h"
#include "rand.h"
#include "rec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

/* Record fields (pki/rec.h); readers look them up by tag. */
enum {
	T_ID = 1, T_HASH, T_NODE, T_SOURCE, T_CREATED, T_EXPIRES, T_STATE,
	T_CREATED_BY, T_USED_AT, T_USED_FROM, T_USED_FOR, T_REVOKED_AT,
	T_REVOKED_BY, T_SCOPE,
};

static const char hexdig[] = "0123456789abcdef";

static void
hex_lower(const uint8_t *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hexdig[p[i] >> 4];
		out[2 * i + 1] = hexdig[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void
token_key(const char *id, uint8_t key[TOKEN_KEY_LEN])
{
	mbedtls_sha256((const unsigned char *)id, strlen(id), key, 0);
}

static void
token_hash(const char *id, const char *secret, uint8_t out[32])
{
	char tok[TOKEN_LEN + 1];

	snprintf(tok, sizeof(tok), "%s.%s", id, secret);
	mbedtls_sha256((const unsigned char *)tok, TOKEN_LEN, out, 0);
	mbedtls_platform_zeroize(tok, sizeof(tok));
}

/* A source binding as a CIDR: bare addresses become /32 or /128. */
static int
source_cidr(const char *s, struct cidr *out)
{
	char tmp[INV_ADDR_MAX + 8];
	uint8_t a[16];

	if (strchr(s, '/') != NULL)
		return cidr_parse(s, out);
	if (inet_pton(AF_INET, s, a) == 1)
		snprintf(tmp, sizeof(tmp), "%s/32", s);
	else if (inet_pton(AF_INET6, s, a) == 1)
		snprintf(tmp, sizeof(tmp), "%s/128", s);
	else
		return SLW_ERR_INVALID;
	return cidr_parse(tmp, out);
}

int
token_make(const char *node, time_t ttl, const char *source,
    const char *actor, time_t now, struct token_new *out, struct slw_diag *d)
{
	uint8_t rnd[TOKEN_ID_LEN / 2 + TOKEN_SECRET_LEN / 2];
	char secret[TOKEN_SECRET_LEN + 1];
	struct cidr c;
	int r;

	memset(out, 0, sizeof(*out));
	if (node == NULL || node[0] == '\0' ||
	    strlen(node) >= sizeof(out->info.node))
		return slw_diag(d, SLW_ERR_INVALID, "invalid node name");
	if (ttl < TOKEN_TTL_MIN || ttl > TOKEN_TTL_MAX)
		return slw_diag(d, SLW_ERR_INVALID,
		    "token lifetime must be between %d s and %d days",
		    TOKEN_TTL_MIN, TOKEN_TTL_MAX / 86400);
	if (source != NULL && source[0] != '\0' &&
	    (strlen(source) >= sizeof(out->info.source) ||
	    source_cidr(source, &c) != 0))
		return slw_diag(d, SLW_ERR_INVALID,
		    "source '%.64s' is not an address or a CIDR", source);
	if ((r = slw_random(rnd, sizeof(rnd))) != 0)
		return slw_diag(d, r, "no randomness");
	hex_lower(rnd, TOKEN_ID_LEN / 2, out->info.id);
	hex_lower(rnd + TOKEN_ID_LEN / 2, TOKEN_SECRET_LEN / 2, secret);
	mbedtls_platform_zeroize(rnd, sizeof(rnd));
	snprintf(out->token, sizeof(out->token), "%s.%s", out->info.id, secret);
	token_hash(out->info.id, secret, out->hash);
	mbedtls_platform_zeroize(secret, sizeof(secret));
	token_key(out->info.id, out->info.key);
	snprintf(out->info.node, sizeof(out->info.node), "%s", node);
	snprintf(out->info.source, sizeof(out->info.source), "%s",
	    source != NULL ? source : "");
	snprintf(out->info.created_by, sizeof(out->info.created_by), "%s",
	    actor != NULL ? actor : "");
	out->info.created = now;
	out->info.expires = now + ttl;
	out->info.state = TOKEN_ACTIVE;
	return 0;
}

void
token_new_wipe(struct token_new *tok)
{
	if (tok != NULL)
		mbedtls_platform_zeroize(tok, sizeof(*tok));
}

static int
encode(const struct token_info *ti, const uint8_t hash[32], struct rec *w)
{
	rec_put_str(w, T_ID, ti->id);
	rec_put_bytes(w, T_HASH, hash, 32);
	rec_put_str(w, T_NODE, ti->node);
	rec_put_str(w, T_SOURCE, ti->source);
	rec_put_u64(w, T_CREATED, (uint64_t)ti->created);
	rec_put_u64(w, T_EXPIRES, (uint64_t)ti->expires);
	rec_put_u64(w, T_STATE, (uint64_t)ti->state);
	rec_put_str(w, T_CREATED_BY, ti->created_by);
	if (ti->scope != 0)
		rec_put_u64(w, T_SCOPE, ti->scope);
	if (ti->used_at != 0) {
		rec_put_u64(w, T_USED_AT, (uint64_t)ti->used_at);
		rec_put_str(w, T_USED_FROM, ti->used_from);
		rec_put_str(w, T_USED_FOR, ti->used_for);
	}
	if (ti->revoked_at != 0) {
		rec_put_u64(w, T_REVOKED_AT, (uint64_t)ti->revoked_at);
		rec_put_str(w, T_REVOKED_BY, ti->revoked_by);
	}
	return w->err;
}

/* Optional fields read as empty/zero when absent. */
static int
opt_str(const uint8_t *p, size_t n, uint8_t tag, char *out, size_t len)
{
	int r = rec_get_str(p, n, tag, out, len);

	if (r == SLW_ERR_NOTFOUND) {
		out[0] = '\0';
		return 0;
	}
	return r;
}

static int
opt_time(const uint8_t *p, size_t n, uint8_t tag, time_t *out)
{
	uint64_t v = 0;
	int r = rec_get_u64(p, n, tag, &v);

	if (r == SLW_ERR_NOTFOUND)
		r = 0;
	*out = (time_t)v;
	return r;
}

static int
decode(const uint8_t *p, size_t n, struct token_info *ti, uint8_t hash[32])
{
	const uint8_t *h;
	size_t hl;
	uint64_t v;

	memset(ti, 0, sizeof(*ti));
	if (rec_valid(p, n) != 0 ||
	    rec_get_str(p, n, T_ID, ti->id, sizeof(ti->id)) != 0 ||
	    strlen(ti->id) != TOKEN_ID_LEN ||
	    rec_get(p, n, T_HASH, &h, &hl) != 0 || hl != 32 ||
	    rec_get_str(p, n, T_NODE, ti->node, sizeof(ti->node)) != 0 ||
	    opt_str(p, n, T_SOURCE, ti->source, sizeof(ti->source)) != 0 ||
	    opt_time(p, n, T_CREATED, &ti->created) != 0 ||
	    rec_get_u64(p, n, T_EXPIRES, &v) != 0)
		return SLW_ERR_CORRUPT;
	ti->expires = (time_t)v;
	if (rec_get_u64(p, n, T_STATE, &v) != 0 || v < TOKEN_ACTIVE ||
	    v > TOKEN_REVOKED)
		return SLW_ERR_CORRUPT;
	ti->state = (int)v;
	if (opt_str(p, n, T_CREATED_BY, ti->created_by,
	    sizeof(ti->created_by)) != 0 ||
	    opt_time(p, n, T_USED_AT, &ti->used_at) != 0 ||
	    opt_str(p, n, T_USED_FROM, ti->used_from,
	    sizeof(ti->used_from)) != 0 ||
	    opt_str(p, n, T_USED_FOR, ti->used_for, sizeof(ti->used_for)) != 0 ||
	    opt_time(p, n, T_REVOKED_AT, &ti->revoked_at) != 0 ||
	    opt_str(p, n, T_REVOKED_BY, ti->revoked_by,
	    sizeof(ti->revoked_by)) != 0)
		return SLW_ERR_CORRUPT;
	v = 0;
	if (rec_get_u64(p, n, T_SCOPE, &v) != 0)
		v = 0;
	ti->scope = v;
	if (hash != NULL)
		memcpy(hash, h, 32);
	token_key(ti->id, ti->key);
	return 0;
}

static int
put_info(struct store_txn *t, const struct token_info *ti,
    const uint8_t hash[32], unsigned int flags)
{
	struct rec w = { 0 };
	int r;

	if ((r = encode(ti, hash, &w)) == 0)
		r = store_put(t, DB_TOKENS, ti->key, TOKEN_KEY_LEN, w.b.data,
		    w.b.len, flags);
	rec_free(&w);
	return r;
}

int
token_put(struct store_txn *t, const struct token_new *tok)
{
	char detail[AUDIT_DETAIL_MAX], exp[32];
	struct tm tm;
	int r;

	if ((r = put_info(t, &tok->info, tok->hash, STORE_NOOVERWRITE)) != 0)
		return r == SLW_ERR_EXISTS ? slw_diag(store_txn_diag(t), r,
		    "token id collision; try again") : r;
	gmtime_r(&tok->info.expires, &tm);
	strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(detail, sizeof(detail), "token %s, expires %s%s%s",
	    tok->info.id, exp, tok->info.source[0] ? ", source " : "",
	    tok->info.source);
	return audit_append(t, tok->info.created_by, "token.create",
	    tok->info.node, detail);
}

static int
is_hex_lower(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int
token_parse(const char *s, size_t len, char id[TOKEN_ID_LEN + 1],
    char secret[TOKEN_SECRET_LEN + 1])
{
	id[0] = secret[0] = '\0';
	if (s == NULL || len != TOKEN_LEN || s[TOKEN_ID_LEN] != '.' ||
	    !is_hex_lower(s, TOKEN_ID_LEN) ||
	    !is_hex_lower(s + TOKEN_ID_LEN + 1, TOKEN_SECRET_LEN))
		return SLW_ERR_AUTH;
	memcpy(id, s, TOKEN_ID_LEN);
	id[TOKEN_ID_LEN] = '\0';
	memcpy(secret, s + TOKEN_ID_LEN + 1, TOKEN_SECRET_LEN);
	secret[TOKEN_SECRET_LEN] = '\0';
	return 0;
}

static int
load(struct store_txn *t, const uint8_t key[TOKEN_KEY_LEN],
    struct token_info *ti, uint8_t hash[32])
{
	const uint8_t *p;
	size_t n;
	int r;

	if ((r = store_get_ref(t, DB_TOKENS, key, TOKEN_KEY_LEN, &p, &n)) != 0)
		return r;
	return decode(p, n, ti, hash);
}

int
token_check(struct store_txn *t, const char *tok, size_t len,
    const struct token_want *w, struct token_info *out, enum token_fail *why)
{
	char id[TOKEN_ID_LEN + 1], secret[TOKEN_SECRET_LEN + 1];
	uint8_t key[TOKEN_KEY_LEN], want[32], have[32];
	struct cidr c;
	int r, match;

	memset(out, 0, sizeof(*out));
	*why = TOKEN_FAIL_MALFORMED;
	if (token_parse(tok, len, id, secret) != 0)
		return SLW_ERR_AUTH;
	/* Hash first, whether or not the id is known: the same work either way. */
	token_hash(id, secret, have);
	mbedtls_platform_zeroize(secret, sizeof(secret));
	token_key(id, key);
	r = load(t, key, out, want);
	if (r == SLW_ERR_NOTFOUND) {
		*why = TOKEN_FAIL_UNKNOWN;
		r = SLW_ERR_AUTH;
		goto out;
	}
	if (r != 0)
		goto out;
	match = slw_memeq_ct(want, have, sizeof(have)) == 0;
	r = SLW_ERR_AUTH;
	if (!match)
		*why = TOKEN_FAIL_UNKNOWN;
	else if (out->state == TOKEN_USED)
		*why = TOKEN_FAIL_USED;
	else if (out->state == TOKEN_REVOKED)
		*why = TOKEN_FAIL_REVOKED;
	else if (w->now >= out->expires)
		*why = TOKEN_FAIL_EXPIRED;
	else if (w->node != NULL && strcmp(w->node, out->node) != 0)
		*why = TOKEN_FAIL_NODE;
	else if (out->source[0] != '\0' && (w->peer == NULL ||
	    source_cidr(out->source, &c) != 0 || !cidr_contains(&c, w->peer)))
		*why = TOKEN_FAIL_SOURCE;
	else {
		*why = TOKEN_OK;
		r = 0;
	}
 out:
	mbedtls_platform_zeroize(have, sizeof(have));
	mbedtls_platform_zeroize(want, sizeof(want));
	if (r == SLW_ERR_AUTH && *why == TOKEN_FAIL_UNKNOWN) {
		/* nothing about a stored token leaks; only the presented id */
		memset(out, 0, sizeof(*out));
		memcpy(out->id, id, sizeof(out->id));
	}
	return r;
}

int
token_consume(struct store_txn *t, const char *tok, size_t len,
    const struct token_want *w, const char *used_for, struct token_info *out,
    enum token_fail *why)
{
	uint8_t hash[32];
	int r;

	if ((r = token_check(t, tok, len, w, out, why)) != 0)
		return r;
	/* re-read the stored hash to write the record back unchanged */
	if ((r = load(t, out->key, out, hash)) != 0)
		return r;
	out->state = TOKEN_USED;
	out->used_at = w->now;
	snprintf(out->used_from, sizeof(out->used_from), "%s",
	    w->peer != NULL ? w->peer : "");
	snprintf(out->used_for, sizeof(out->used_for), "%s", used_for);
	r = put_info(t, out, hash, 0);
	mbedtls_platform_zeroize(hash, sizeof(hash));
	return r;
}

int
token_get(struct store_txn *t, const char *id, struct token_info *out)
{
	uint8_t key[TOKEN_KEY_LEN];

	memset(out, 0, sizeof(*out));
	if (id == NULL || strlen(id) != TOKEN_ID_LEN ||
	    !is_hex_lower(id, TOKEN_ID_LEN))
		return SLW_ERR_NOTFOUND;
	token_key(id, key);
	return load(t, key, out, NULL);
}

int
token_revoke(struct store_txn *t, const char *id, const char *actor,
    struct slw_diag *d)
{
	struct token_info ti;
	uint8_t hash[32];
	char detail[128];
	int r;

	if (id == NULL || strlen(id) != TOKEN_ID_LEN ||
	    !is_hex_lower(id, TOKEN_ID_LEN))
		return slw_diag(d, SLW_ERR_INVALID,
		    "not a token id (16 lowercase hex digits, as in 'token list')");
	token_key(id, ti.key);
	if ((r = load(t, ti.key, &ti, hash)) != 0)
		return r == SLW_ERR_NOTFOUND ? slw_diag(d, r,
		    "no token with id %s", id) : r;
	if (ti.state == TOKEN_USED)
		return slw_diag(d, SLW_ERR_INVALID,
		    "token %s was already used; nothing to revoke", id);
	if (ti.state == TOKEN_REVOKED)
		return slw_diag(d, SLW_ERR_INVALID,
		    "token %s is already revoked", id);
	ti.state = TOKEN_REVOKED;
	ti.revoked_at = slw_now();
	snprintf(ti.revoked_by, sizeof(ti.revoked_by), "%s", actor);
	if ((r = put_info(t, &ti, hash, 0)) != 0)
		return r;
	snprintf(detail, sizeof(detail), "token %s%s", id,
	    ti.revoked_at >= ti.expires ? " (already expired)" : "");
	return audit_append(t, actor, "token.revoke", ti.node, detail);
}

struct each_arg {
	int (*cb)(void *, const struct token_info *);
	void *arg;
};

static int
each_one(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	struct each_arg *a = arg;
	struct token_info ti;

	(void)k;
	(void)kl;
	if (decode(v, vl, &ti, NULL) != 0)
		return SLW_ERR_CORRUPT;
	return a->cb(a->arg, &ti);
}

int
token_foreach(struct store_txn *t,
    int (*cb)(void *arg, const struct token_info *ti), void *arg)
{
	struct each_arg a = { cb, arg };
	int r = store_iter(t, DB_TOKENS, NULL, 0, 0, each_one, &a);

	return r > 0 ? 0 : r;
}

struct prune_arg {
	time_t cutoff, now;
	struct token_prune_stats *st;
	struct buf keys;	/* TOKEN_KEY_LEN bytes each */
};

static int
prune_one(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	struct prune_arg *a = arg;
	struct token_info ti;
	time_t ended;
	size_t *count;

	if (kl != TOKEN_KEY_LEN || decode(v, vl, &ti, NULL) != 0)
		return SLW_ERR_CORRUPT;
	switch (ti.state) {
	case TOKEN_USED:
		ended = ti.used_at;
		count = &a->st->used;
		break;
	case TOKEN_REVOKED:
		ended = ti.revoked_at;
		count = &a->st->revoked;
		break;
	default:
		if (a->now < ti.expires) {
			a->st->kept++;
			a->st->active++;
			return 0;
		}
		ended = ti.expires;
		count = &a->st->expired;
		break;
	}
	if (ended > a->cutoff) {
		a->st->kept++;
		return 0;
	}
	if (buf_append(&a->keys, k, TOKEN_KEY_LEN) != 0)
		return SLW_ERR_NOMEM;
	(*count)++;
	return 0;
}

int
token_prune(struct store_txn *t, time_t cutoff, time_t now,
    const char *actor, struct token_prune_stats *st)
{
	struct prune_arg a;
	char detail[AUDIT_DETAIL_MAX];
	size_t i, n;
	int r;

	memset(st, 0, sizeof(*st));
	memset(&a, 0, sizeof(a));
	a.cutoff = cutoff;
	a.now = now;
	a.st = st;
	/* collect first: no deletes under the iterating cursor */
	if ((r = store_iter(t, DB_TOKENS, NULL, 0, 0, prune_one, &a)) < 0)
		goto out;
	n = a.keys.len / TOKEN_KEY_LEN;
	for (i = 0; i < n; i++)
		if ((r = store_del(t, DB_TOKENS, a.keys.data + i * TOKEN_KEY_LEN,
		    TOKEN_KEY_LEN)) != 0)
			goto out;
	r = 0;
	if (n > 0) {
		snprintf(detail, sizeof(detail), "%zu token records that ended "
		    "at or before %lld: %zu used, %zu expired, %zu revoked", n,
		    (long long)cutoff, st->used, st->expired, st->revoked);
		r = audit_append(t, actor, "token.prune", "", detail);
	}
 out:
	buf_free(&a.keys);
	return r;
}

struct void_arg {
	struct buf keys;	/* TOKEN_KEY_LEN bytes each */
};

static int
void_one(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	struct void_arg *a = arg;
	struct token_info ti;

	if (kl != TOKEN_KEY_LEN || decode(v, vl, &ti, NULL) != 0)
		return SLW_ERR_CORRUPT;
	if (ti.state != TOKEN_ACTIVE)
		return 0;
	return buf_append(&a->keys, k, TOKEN_KEY_LEN) == 0 ? 0 :
	    SLW_ERR_NOMEM;
}

int
token_void_active(struct store_txn *t, const char *actor, const char *why,
    size_t *n)
{
	struct void_arg a;
	struct token_info ti;
	char detail[AUDIT_DETAIL_MAX];
	uint8_t hash[32];
	time_t now = slw_now();
	size_t i;
	int r;

	*n = 0;
	memset(&a, 0, sizeof(a));
	/* collect first: no writes under the iterating cursor */
	if ((r = store_iter(t, DB_TOKENS, NULL, 0, 0, void_one, &a)) < 0)
		goto out;
	for (i = 0; i < a.keys.len / TOKEN_KEY_LEN; i++) {
		if ((r = load(t, a.keys.data + i * TOKEN_KEY_LEN, &ti,
		    hash)) != 0)
			goto out;
		ti.state = TOKEN_REVOKED;
		ti.revoked_at = now;
		snprintf(ti.revoked_by, sizeof(ti.revoked_by), "%s", actor);
		r = put_info(t, &ti, hash, 0);
		mbedtls_platform_zeroize(hash, sizeof(hash));
		if (r != 0)
			goto out;
	}
	*n = a.keys.len / TOKEN_KEY_LEN;
	snprintf(detail, sizeof(detail), "%zu unused token%s voided: %s", *n,
	    *n == 1 ? "" : "s", why);
	r = audit_append(t, actor, "token.void", "", detail);
 out:
	buf_free(&a.keys);
	return r;
}

struct prune_store_arg {
	time_t cutoff, now;
	const char *actor;
	struct token_prune_stats *st;
};

static int
prune_store_txn(struct store_txn *t, void *arg)
{
	struct prune_store_arg *a = arg;

	return token_prune(t, a->cutoff, a->now, a->actor, a->st);
}

int
token_prune_store(struct store *s, time_t cutoff, time_t now,
    const char *actor, struct token_prune_stats *st, struct slw_diag *d)
{
	struct prune_store_arg a = { cutoff, now, actor, st };

	return store_write(s, prune_store_txn, &a, d);
}

const char *
token_state_name(const struct token_info *ti, time_t now)
{
	switch (ti->state) {
	case TOKEN_USED: return "used";
	case TOKEN_REVOKED: return "revoked";
	default: return now >= ti->expires ? "expired" : "active";
	}
}

const char *
token_fail_name(enum token_fail f)
{
	static const char *const names[TOKEN_FAIL__COUNT] = {
		"ok", "malformed", "unknown", "expired", "used", "revoked",
		"other-node", "other-source",
	};

	return (unsigned)f < TOKEN_FAIL__COUNT ? names[f] : "unknown";
}
