// SPDX-License-Identifier: Apache-2.0
/*
 * redeem.c: token redemption for the HTTPS endpoint: a read-only pre-check,
 * then issuance outside any transaction, then one group-committed write
 * that consumes the token, records the certificates, the issuance record
 * and the audit entry together. Must never write anything for a refused
 * token or a refused request, and never log or store a secret.
 */
#include "http_redeem.h"
#include "audit.h"
#include "ca.h"
#include "rec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

enum {
	I_TOKEN_ID = 1, I_NODE, I_ENDPOINT, I_PEER, I_TIME, I_SERIALS,
	I_PURPOSES, I_SCOPE,
};

static void
issuance_key(const uint8_t tkey[TOKEN_KEY_LEN], uint8_t out[TOKEN_KEY_LEN + 8])
{
	memcpy(out, tkey, TOKEN_KEY_LEN);
	rec_be64_put(out + TOKEN_KEY_LEN, 1);	/* one issuance per token */
}

int
redeem_manifest_put(struct store_txn *t, const uint8_t tkey[TOKEN_KEY_LEN],
    const struct buf *m)
{
	if (m->len == 0 || m->len > REDEEM_MANIFEST_MAX)
		return SLW_ERR_INVALID;
	return store_put(t, DB_MANIFESTS, tkey, TOKEN_KEY_LEN, m->data, m->len,
	    STORE_NOOVERWRITE);
}

int
redeem_manifest_get(struct store_txn *t, const uint8_t tkey[TOKEN_KEY_LEN],
    struct buf *out)
{
	int r;

	if ((r = store_get(t, DB_MANIFESTS, tkey, TOKEN_KEY_LEN, out)) != 0)
		return r;
	if (out->len > REDEEM_MANIFEST_MAX) {
		buf_free(out);
		return SLW_ERR_CORRUPT;
	}
	return 0;
}

int
redeem_issuance_put(struct store_txn *t, const struct token_info *ti,
    const struct issuance *is)
{
	uint8_t key[TOKEN_KEY_LEN + 8];
	uint8_t serials[REDEEM_MAX_CERTS * SERIAL_LEN];
	struct buf purposes = { 0 };
	struct rec w = { 0 };
	size_t i;
	int r;

	if (is->iss.n > REDEEM_MAX_CERTS)
		return SLW_ERR_INVALID;
	for (i = 0; i < is->iss.n; i++) {
		memcpy(serials + i * SERIAL_LEN, is->iss.serial[i], SERIAL_LEN);
		if ((r = buf_appendf(&purposes, "%s%s", i ? "," : "",
		    is->iss.purpose[i])) != 0)
			goto out;
	}
	rec_put_str(&w, I_TOKEN_ID, ti->id);
	rec_put_str(&w, I_NODE, is->node);
	rec_put_str(&w, I_ENDPOINT, is->endpoint);
	rec_put_str(&w, I_PEER, is->peer);
	rec_put_u64(&w, I_TIME, (uint64_t)is->time);
	rec_put_bytes(&w, I_SERIALS, serials, is->iss.n * SERIAL_LEN);
	rec_put_str(&w, I_PURPOSES, purposes.data ? (char *)purposes.data : "");
	if (is->scope != 0)
		rec_put_u64(&w, I_SCOPE, is->scope);
	if ((r = w.err) != 0)
		goto out;
	issuance_key(ti->key, key);
	/* A second record for one token would mean a second redemption. */
	r = store_put(t, DB_ISSUANCE, key, sizeof(key), w.b.data, w.b.len,
	    STORE_NOOVERWRITE);
 out:
	rec_free(&w);
	buf_free(&purposes);
	return r;
}

int
redeem_issuance_get(struct store_txn *t, const uint8_t tkey[TOKEN_KEY_LEN],
    struct issuance *out)
{
	uint8_t key[TOKEN_KEY_LEN + 8];
	const uint8_t *p, *ser;
	char purposes[REDEEM_MAX_CERTS * 65], *tok, *save = NULL;
	size_t n, sl, i;
	uint64_t tm;
	int r;

	memset(out, 0, sizeof(*out));
	issuance_key(tkey, key);
	if ((r = store_get_ref(t, DB_ISSUANCE, key, sizeof(key), &p, &n)) != 0)
		return r;
	if (rec_valid(p, n) != 0 ||
	    rec_get_str(p, n, I_TOKEN_ID, out->token_id,
	    sizeof(out->token_id)) != 0 ||
	    rec_get_str(p, n, I_NODE, out->node, sizeof(out->node)) != 0 ||
	    rec_get_str(p, n, I_ENDPOINT, out->endpoint,
	    sizeof(out->endpoint)) != 0 ||
	    rec_get_str(p, n, I_PEER, out->peer, sizeof(out->peer)) != 0 ||
	    rec_get_u64(p, n, I_TIME, &tm) != 0 ||
	    rec_get(p, n, I_SERIALS, &ser, &sl) != 0 || sl % SERIAL_LEN != 0 ||
	    sl / SERIAL_LEN > REDEEM_MAX_CERTS ||
	    rec_get_str(p, n, I_PURPOSES, purposes, sizeof(purposes)) != 0)
		return SLW_ERR_CORRUPT;
	out->time = (time_t)tm;
	if (rec_get_u64(p, n, I_SCOPE, &out->scope) != 0)
		out->scope = 0;
	out->iss.n = sl / SERIAL_LEN;
	for (i = 0; i < out->iss.n; i++)
		memcpy(out->iss.serial[i], ser + i * SERIAL_LEN, SERIAL_LEN);
	for (i = 0, tok = strtok_r(purposes, ",", &save);
	    tok != NULL && i < out->iss.n; tok = strtok_r(NULL, ",", &save), i++)
		snprintf(out->iss.purpose[i], sizeof(out->iss.purpose[i]), "%s",
		    tok);
	return 0;
}

static const char *const fp_roles[] = { CA_KUBERNETES, CA_ETCD, CA_FRONT_PROXY };

static int
fp_txn(struct store_txn *t, void *arg)
{
	mbedtls_sha256_context h;
	struct buf trust = { 0 };
	char name[CA_NAME_MAX];
	uint8_t gen[4];
	uint32_t g;
	size_t i;
	int r = 0;

	mbedtls_sha256_init(&h);
	mbedtls_sha256_starts(&h, 0);
	for (i = 0; r == 0 && i < sizeof(fp_roles) / sizeof(fp_roles[0]); i++) {
		memset(name, 0, sizeof(name));
		if ((r = ca_resolve(t, fp_roles[i], name)) != 0 ||
		    (r = ca_current(t, name, &g)) != 0)
			break;
		gen[0] = (uint8_t)(g >> 24);
		gen[1] = (uint8_t)(g >> 16);
		gen[2] = (uint8_t)(g >> 8);
		gen[3] = (uint8_t)g;
		mbedtls_sha256_update(&h, (const unsigned char *)name, sizeof(name));
		mbedtls_sha256_update(&h, gen, sizeof(gen));
	}
	if (r == 0 && (r = ca_trust_pem(t, NULL, &trust)) == 0)
		mbedtls_sha256_update(&h, trust.data, trust.len);
	if (r == 0)
		mbedtls_sha256_finish(&h, arg);
	mbedtls_sha256_free(&h);
	buf_free(&trust);
	return r;
}

static int
epoch_txn(struct store_txn *t, void *arg)
{
	return ca_epoch(t, arg);
}

int
redeem_init(struct redeem *rd, struct store *s, const struct inventory *inv,
    struct signing *sg, struct slw_diag *d)
{
	int r;

	memset(rd, 0, sizeof(*rd));
	rd->s = s;
	rd->inv = inv;
	rd->sg = sg;
	rd->art_dirfd = -1;
	pthread_rwlock_init(&rd->sg_lock, NULL);
	if ((r = store_read(s, epoch_txn, &rd->sg_epoch, d)) != 0 ||
	    (r = store_read(s, fp_txn, rd->sg_fp, d)) != 0) {
		redeem_fini(rd);
		return r;
	}
	return 0;
}

void
redeem_fini(struct redeem *rd)
{
	if (rd == NULL || rd->s == NULL)
		return;
	signing_free(rd->sg);
	rd->sg = NULL;
	pthread_rwlock_destroy(&rd->sg_lock);
	rd->s = NULL;
}

int
redeem_signing_refresh(struct redeem *rd, struct slw_diag *d)
{
	struct signing *nsg = NULL, *old;
	uint64_t epoch = 0;
	uint8_t fp[32];
	int r;

	if ((r = store_read(rd->s, epoch_txn, &epoch, d)) != 0 ||
	    (r = store_read(rd->s, fp_txn, fp, d)) != 0)
		return r;
	if (memcmp(fp, rd->sg_fp, sizeof(fp)) == 0) {
		__atomic_store_n(&rd->sg_epoch, epoch, __ATOMIC_RELAXED);
		return 0;
	}
	if ((r = signing_local_new(rd->s, &nsg, d)) != 0)
		return r;
	pthread_rwlock_wrlock(&rd->sg_lock);
	old = rd->sg;
	rd->sg = nsg;
	memcpy(rd->sg_fp, fp, sizeof(fp));
	__atomic_store_n(&rd->sg_epoch, epoch, __ATOMIC_RELAXED);
	pthread_rwlock_unlock(&rd->sg_lock);
	signing_free(old);
	return 1;
}

/* One read of the CA epoch; the signer is reloaded only if it moved. */
static int
refresh_if_changed(struct redeem *rd, struct slw_diag *d)
{
	uint64_t epoch = 0;
	int r;

	if ((r = store_read(rd->s, epoch_txn, &epoch, d)) != 0)
		return r;
	if (epoch == __atomic_load_n(&rd->sg_epoch, __ATOMIC_RELAXED))
		return 0;
	return redeem_signing_refresh(rd, d) < 0 ? SLW_ERR_INTERNAL : 0;
}

void
redeem_res_free(struct redeem_res *res)
{
	if (res == NULL)
		return;
	buf_free(&res->body);
	memset(res, 0, sizeof(*res));
}

struct check_arg {
	const struct redeem_req *q;
	struct redeem_res *res;
};

static int
check_txn(struct store_txn *t, void *arg)
{
	struct check_arg *a = arg;
	struct token_want w = { a->q->node, a->q->peer, a->q->now };

	return token_check(t, a->q->token, a->q->token_len, &w, &a->res->ti,
	    &a->res->why);
}

int
redeem_precheck(struct redeem *rd, const struct redeem_req *q,
    struct redeem_res *res, struct slw_diag *d)
{
	struct check_arg a = { q, res };
	int r;

	res->why = TOKEN_FAIL_MALFORMED;
	if ((r = store_read(rd->s, check_txn, &a, d)) != 0)
		return r;
	if (inventory_node(rd->inv, res->ti.node) == NULL) {
		/* bound to a node the inventory no longer has */
		res->why = TOKEN_FAIL_NODE;
		return SLW_ERR_AUTH;
	}
	return 0;
}

/* The consuming transaction shared by both endpoints. */
struct commit_arg {
	struct redeem *rd;
	const struct redeem_req *q;
	struct redeem_res *res;
	const char *endpoint;
	void *bundle_state;		/* bundle: what render made */
	const struct signing_result *sr;	/* enroll: the one certificate */
	const struct buf *manifest;	/* bundle: the files it serves */
	const char *purpose;
	char actor[80];
};

static int
commit_txn(struct store_txn *t, void *arg)
{
	struct commit_arg *a = arg;
	struct token_want w = { a->q->node, a->q->peer, a->q->now };
	struct issuance is;
	char detail[AUDIT_DETAIL_MAX];
	int r;

	if ((r = token_consume(t, a->q->token, a->q->token_len, &w,
	    a->endpoint, &a->res->ti, &a->res->why)) != 0)
		return r;
	if (a->bundle_state != NULL)
		r = a->rd->bundle.record(a->rd->bundle.cls, a->bundle_state, t,
		    a->actor);
	else
		r = signing_result_record(t, a->sr, a->res->ti.node, a->purpose,
		    a->actor);
	if (r != 0)
		return r;
	memset(&is, 0, sizeof(is));
	snprintf(is.token_id, sizeof(is.token_id), "%s", a->res->ti.id);
	snprintf(is.node, sizeof(is.node), "%s", a->res->ti.node);
	snprintf(is.endpoint, sizeof(is.endpoint), "%s", a->endpoint);
	snprintf(is.peer, sizeof(is.peer), "%s", a->q->peer ? a->q->peer : "");
	is.time = a->q->now;
	is.scope = a->res->ti.scope;
	is.iss = a->res->iss;
	if ((r = redeem_issuance_put(t, &a->res->ti, &is)) != 0)
		return r;
	if (a->manifest != NULL && a->manifest->len > 0 &&
	    (r = redeem_manifest_put(t, a->res->ti.key, a->manifest)) != 0)
		return r;
	snprintf(detail, sizeof(detail), "token %s, %s, %zu certificate%s, "
	    "from %s", a->res->ti.id, a->endpoint, is.iss.n,
	    is.iss.n == 1 ? "" : "s", is.peer);
	return audit_append(t, a->actor, "token.redeem", a->res->ti.node,
	    detail);
}

static void
actor_of(const struct redeem_req *q, char *out, size_t len)
{
	snprintf(out, len, "%s:%s", REDEEM_ACTOR, q->peer ? q->peer : "-");
}

int
redeem_bundle(struct redeem *rd, const struct redeem_req *q,
    struct redeem_res *res, struct slw_diag *d)
{
	struct commit_arg a;
	const struct inv_node *node;
	struct buf manifest = { 0 };
	void *state = NULL;
	int r;

	memset(res, 0, sizeof(*res));
	if (rd->bundle.render == NULL)
		return slw_diag(d, SLW_ERR_UNSUPPORTED,
		    "bundle rendering is not available");
	if ((r = redeem_precheck(rd, q, res, d)) != 0)
		return r;
	/* a full disk: no keys made for nothing (the commit checks again) */
	if ((r = store_reserve_check(rd->s, d)) != 0)
		return r;
	/* a CA rotation step since the signer was loaded: the bundle must
	 * carry the trust as it is now (a fleet delivery reads it back), so
	 * do not wait for the monitor's next periodic look */
	if ((r = refresh_if_changed(rd, d)) != 0)
		return r;
	node = inventory_node(rd->inv, res->ti.node);
	pthread_rwlock_rdlock(&rd->sg_lock);
	r = rd->bundle.render(rd->bundle.cls, rd->sg, node, res->ti.scope,
	    q->now, &state, &res->body, &res->iss, d);
	pthread_rwlock_unlock(&rd->sg_lock);
	if (r != 0)
		goto out;
	if (rd->bundle.manifest != NULL &&
	    (r = rd->bundle.manifest(rd->bundle.cls, state, &manifest)) != 0)
		goto out;
	memset(&a, 0, sizeof(a));
	a.rd = rd;
	a.q = q;
	a.res = res;
	a.endpoint = "bundle";
	a.bundle_state = state;
	a.manifest = &manifest;
	actor_of(q, a.actor, sizeof(a.actor));
	r = store_submit(rd->s, commit_txn, &a, d);
 out:
	if (state != NULL)
		rd->bundle.release(rd->bundle.cls, state);
	buf_free(&manifest);
	if (r != 0)
		buf_free(&res->body);
	return r;
}

int
redeem_enroll(struct redeem *rd, const struct redeem_req *q,
    const uint8_t *body, size_t len, struct redeem_res *res,
    struct slw_diag *d)
{
	struct commit_arg a;
	struct signing_request req;
	struct signing_result sr;
	struct cert_template t;
	struct profile prof;
	struct csr *c = NULL;
	struct buf chain = { 0 }, trust = { 0 };
	const struct inv_node *node;
	const char *purpose = NULL;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&sr, 0, sizeof(sr));
	if (len > CSR_MAX_LEN)
		return slw_diag(d, SLW_ERR_TOOBIG,
		    "request body over %d bytes", CSR_MAX_LEN);
	/* The token first: a refused token never learns about the body. */
	if ((r = redeem_precheck(rd, q, res, d)) != 0)
		return r;
	if (len == 0)
		return slw_diag(d, SLW_ERR_PARSE,
		    "the body must be a PEM CERTIFICATE REQUEST");
	if ((r = csr_parse_pem_strict(body, len, &c, d)) != 0) {
		if (r != SLW_ERR_NOMEM)
			r = SLW_ERR_PARSE;
		goto out;
	}
	node = inventory_node(rd->inv, res->ti.node);
	if ((r = redeem_enroll_policy(rd->inv, node, c, &prof, &t, &purpose,
	    d)) == 0)
		r = store_reserve_check(rd->s, d);
	if (r != 0)
		goto out;
	memset(&req, 0, sizeof(req));
	req.ca_role = CA_KUBERNETES;
	req.t = &t;
	req.subject = c->key;
	req.now = q->now;
	pthread_rwlock_rdlock(&rd->sg_lock);
	if ((r = signing_sign(rd->sg, &req, &sr, d)) == 0)
		r = signing_trust_pem(rd->sg, CA_KUBERNETES, &trust);
	pthread_rwlock_unlock(&rd->sg_lock);
	if (r != 0)
		goto out;
	res->iss.n = 1;
	memcpy(res->iss.serial[0], sr.serial, SERIAL_LEN);
	snprintf(res->iss.purpose[0], sizeof(res->iss.purpose[0]), "%s",
	    purpose);
	if ((r = cert_pem_append(&chain, sr.der.data, sr.der.len)) != 0 ||
	    (r = buf_append(&chain, trust.data, trust.len)) != 0)
		goto out;
	memset(&a, 0, sizeof(a));
	a.rd = rd;
	a.q = q;
	a.res = res;
	a.endpoint = "enroll";
	a.sr = &sr;
	a.purpose = purpose;
	actor_of(q, a.actor, sizeof(a.actor));
	if ((r = store_submit(rd->s, commit_txn, &a, d)) != 0)
		goto out;
	buf_move(&res->body, &chain);
 out:
	csr_free(c);
	signing_result_free(&sr);
	buf_free(&chain);
	buf_free(&trust);
	return r;
}
