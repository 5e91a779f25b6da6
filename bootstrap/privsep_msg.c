// SPDX-License-Identifier: Apache-2.0
/*
 * privsep_msg.c: the messages between serve's monitor and its network
 * child and CSR approver (privsep_msg.h): each type's serializer next to
 * its parser, over (buf, len) with hard caps and no I/O. Must never read
 * past len, accept a field over its cap, leave bytes unparsed, or put a
 * token or a token secret into a diag.
 */
#include "privsep_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>

/* ---- a bounded reader over untrusted bytes ---- */

struct rd {
	const uint8_t *p;
	size_t len, off;
	int bad;
};

static uint32_t
rd_u32(struct rd *r)
{
	uint32_t v;

	if (r->bad || r->len - r->off < 4) {
		r->bad = 1;
		return 0;
	}
	v = (uint32_t)r->p[r->off] << 24 | (uint32_t)r->p[r->off + 1] << 16 |
	    (uint32_t)r->p[r->off + 2] << 8 | (uint32_t)r->p[r->off + 3];
	r->off += 4;
	return v;
}

static uint64_t
rd_u64(struct rd *r)
{
	uint64_t hi = rd_u32(r);

	return hi << 32 | rd_u32(r);
}

static int64_t
rd_i64(struct rd *r)
{
	return (int64_t)rd_u64(r);
}

/* Exactly n raw bytes. */
static void
rd_fixed(struct rd *r, uint8_t *out, size_t n)
{
	if (r->bad || r->len - r->off < n) {
		r->bad = 1;
		return;
	}
	memcpy(out, r->p + r->off, n);
	r->off += n;
}

/* A string of at most cap - 1 bytes, no NUL inside, into out[cap]. */
static size_t
rd_str(struct rd *r, char *out, size_t cap)
{
	size_t n;

	out[0] = '\0';
	if (r->bad || r->len - r->off < 2) {
		r->bad = 1;
		return 0;
	}
	n = (size_t)r->p[r->off] << 8 | r->p[r->off + 1];
	r->off += 2;
	if (n >= cap || r->len - r->off < n ||
	    memchr(r->p + r->off, '\0', n) != NULL) {
		r->bad = 1;
		return 0;
	}
	memcpy(out, r->p + r->off, n);
	out[n] = '\0';
	r->off += n;
	return n;
}

static void
rd_blob(struct rd *r, struct buf *out, size_t cap)
{
	uint32_t n = rd_u32(r);

	if (r->bad)
		return;
	if (n > cap || r->len - r->off < n) {
		r->bad = 1;
		return;
	}
	if (n == 0)
		return;		/* empty: nothing allocated */
	if (buf_set(out, r->p + r->off, n) != 0) {
		r->bad = 2;	/* out of memory, not malformed */
		return;
	}
	r->off += n;
}

/* ---- writer ---- */

static int
wr_u32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v };

	return buf_append(b, x, 4);
}

static int
wr_u64(struct buf *b, uint64_t v)
{
	int r;

	if ((r = wr_u32(b, (uint32_t)(v >> 32))) != 0)
		return r;
	return wr_u32(b, (uint32_t)v);
}

static int
wr_i64(struct buf *b, int64_t v)
{
	return wr_u64(b, (uint64_t)v);
}

static int
wr_str(struct buf *b, const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	uint8_t x[2];

	if (n >= cap)
		return SLW_ERR_INVALID;
	x[0] = (uint8_t)(n >> 8);
	x[1] = (uint8_t)n;
	if (buf_append(b, x, 2) != 0)
		return SLW_ERR_NOMEM;
	return n == 0 ? 0 : buf_append(b, s, n);
}

static int
wr_blob(struct buf *b, const struct buf *v, size_t cap)
{
	if (v->len > cap)
		return SLW_ERR_TOOBIG;
	if (wr_u32(b, (uint32_t)v->len) != 0)
		return SLW_ERR_NOMEM;
	return v->len == 0 ? 0 : buf_append(b, v->data, v->len);
}

/* ---- field checks shared by both directions ---- */

static int
peer_ok(const char *s)
{
	size_t i;

	if (s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    s[i] == '.' || s[i] == ':' || s[i] == '%' || s[i] == '-'))
			return 0;
	return 1;
}

static int
name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

static int
id_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n != 0 && n != TOKEN_ID_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
	return 1;
}

/* SLW_ERR_* codes run from -1 to SLW_ERR_LAST. */
static int
rc_ok(int32_t rc)
{
	return rc <= 0 && rc >= SLW_ERR_LAST;
}

/* Printable text (UTF-8 allowed): no control characters. */
static int
text_ok(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* n characters of [a-z0-9]; "" also when empty_ok. */
static int
alnum_ok(const char *s, size_t n, int empty_ok)
{
	size_t i, l = strlen(s);

	if (l == 0)
		return empty_ok;
	if (l != n)
		return 0;
	for (i = 0; i < l; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'z')))
			return 0;
	return 1;
}

static int
hex_ok(const char *s, size_t n)
{
	size_t i;

	if (strlen(s) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
	return 1;
}

/* ---- the messages ---- */

static const char *const type_names[] = {
	[PS_CONFIG] = "config", [PS_READY] = "ready",
	[PS_PRECHECK] = "precheck", [PS_REDEEM] = "redeem",
	[PS_ENROLL] = "enroll", [PS_CA_PEM] = "ca-pem", [PS_HEALTH] = "health",
	[PS_METRICS] = "metrics", [PS_TOKEN_ANS] = "token-answer",
	[PS_BYTES_ANS] = "bytes-answer", [PS_METRICS_ALL] = "metrics-all",
	[PS_ARTIFACT] = "artifact", [PS_ARTIFACT_ANS] = "artifact-answer",
	[PS_APR_CONFIG] = "approver-config", [PS_APR_TOKEN] = "approver-token",
	[PS_APR_TOKEN_ANS] = "approver-token-answer",
	[PS_APR_AUDIT] = "approver-audit", [PS_APR_CERT] = "approver-cert",
	[PS_APR_CERT_ANS] = "approver-cert-answer",
	[PS_APR_SIGN] = "approver-sign", [PS_APR_SIGN_ANS] = "approver-sign-answer",
	[PS_APR_DONE] = "approver-done",
	[PS_CRL_PEM] = "crl-pem",
};

static const char *const action_names[PS_APR_AUDIT__COUNT] = {
	[PS_APR_AUDIT_CSR_APPROVE] = "csr.approve",
	[PS_APR_AUDIT_CSR_DENY] = "csr.deny",
	[PS_APR_AUDIT_CSR_FAIL] = "csr.fail",
	[PS_APR_AUDIT_KUBE_APPLY] = "kube.apply",
};

const char *
privsep_msg_apr_action_name(unsigned int action)
{
	return action < PS_APR_AUDIT__COUNT ? action_names[action] : NULL;
}

const char *
privsep_msg_type_name(unsigned int type)
{
	if (type >= sizeof(type_names) / sizeof(type_names[0]) ||
	    type_names[type] == NULL)
		return "unknown";
	return type_names[type];
}

int
privsep_msg_type_is_request(unsigned int type)
{
	return type == PS_PRECHECK || type == PS_REDEEM || type == PS_ENROLL ||
	    type == PS_CA_PEM || type == PS_HEALTH || type == PS_METRICS ||
	    type == PS_METRICS_ALL || type == PS_CRL_PEM ||
	    type == PS_ARTIFACT;
}

int
privsep_msg_type_is_apr_request(unsigned int type)
{
	return type == PS_APR_TOKEN || type == PS_APR_AUDIT ||
	    type == PS_APR_CERT || type == PS_APR_SIGN;
}

void
privsep_msg_init(struct privsep_msg *m, enum ps_type type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
}

void
privsep_msg_free(struct privsep_msg *m)
{
	if (m == NULL)
		return;
	switch (m->type) {
	case PS_PRECHECK: case PS_REDEEM: case PS_ENROLL:
		buf_free(&m->u.req.csr);
		break;
	case PS_TOKEN_ANS:
		buf_free(&m->u.tok.body);
		break;
	case PS_BYTES_ANS:
		buf_free(&m->u.bytes.body);
		break;
	case PS_CONFIG:
		buf_free(&m->u.cfg.key_pem);
		buf_free(&m->u.cfg.cert_pem);
		buf_free(&m->u.cfg.trust_pem);
		break;
	case PS_ARTIFACT:
		buf_free(&m->u.art.cert);
		break;
	case PS_APR_CONFIG:
		buf_free(&m->u.acfg.inventory);
		break;
	case PS_APR_CERT:
		buf_free(&m->u.acert.csr);
		break;
	case PS_APR_CERT_ANS:
		buf_free(&m->u.acans.cert);
		buf_free(&m->u.acans.trust);
		break;
	case PS_APR_SIGN:
		buf_free(&m->u.asign.request);
		buf_free(&m->u.asign.pool);
		break;
	case PS_APR_SIGN_ANS:
		buf_free(&m->u.asans.chain);
		break;
	default:
		break;
	}
	mbedtls_platform_zeroize(m, sizeof(*m));
}

/* PS_PRECHECK, PS_REDEEM, PS_ENROLL */
static void
token_req_parse(struct rd *r, enum ps_type type, struct ps_token_req *q)
{
	q->token_len = rd_str(r, q->token, sizeof(q->token));
	rd_str(r, q->peer, sizeof(q->peer));
	rd_str(r, q->node, sizeof(q->node));
	if (type == PS_ENROLL)
		rd_blob(r, &q->csr, CSR_MAX_LEN);
	if (!r->bad && (q->token_len == 0 || !peer_ok(q->peer) ||
	    !name_ok(q->node)))
		r->bad = 1;
}

static int
token_req_write(struct buf *b, enum ps_type type, const struct ps_token_req *q)
{
	int r;

	if (q->token_len == 0 || q->token_len > PS_TOKEN_MAX ||
	    memchr(q->token, '\0', q->token_len) != NULL)
		return SLW_ERR_INVALID;
	{
		uint8_t x[2] = { (uint8_t)(q->token_len >> 8),
		    (uint8_t)q->token_len };

		if ((r = buf_append(b, x, 2)) != 0 ||
		    (r = buf_append(b, q->token, q->token_len)) != 0)
			return r;
	}
	if ((r = wr_str(b, q->peer, sizeof(q->peer))) != 0 ||
	    (r = wr_str(b, q->node, sizeof(q->node))) != 0)
		return r;
	if (type == PS_ENROLL)
		return wr_blob(b, &q->csr, CSR_MAX_LEN);
	return 0;
}

/* A CA name: what ca_name_valid accepts. */
static int
ca_ok(const char *s)
{
	size_t i;

	if (s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' &&
		    s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

/* PS_CRL_PEM */
static void
crl_req_parse(struct rd *r, struct ps_crl_req *q)
{
	rd_str(r, q->ca, sizeof(q->ca));
	if (!r->bad && !ca_ok(q->ca))
		r->bad = 1;
}

static int
crl_req_write(struct buf *b, const struct ps_crl_req *q)
{
	if (strnlen(q->ca, sizeof(q->ca)) >= sizeof(q->ca) || !ca_ok(q->ca))
		return SLW_ERR_INVALID;
	return wr_str(b, q->ca, sizeof(q->ca));
}

/* PS_TOKEN_ANS */
static void
token_ans_parse(struct rd *r, struct ps_token_ans *a)
{
	a->rc = (int32_t)rd_u32(r);
	a->why = rd_u32(r);
	rd_str(r, a->id, sizeof(a->id));
	rd_str(r, a->node, sizeof(a->node));
	a->n_certs = rd_u32(r);
	rd_blob(r, &a->body, PS_BODY_MAX);
	rd_str(r, a->text, sizeof(a->text));
	if (!r->bad && (!rc_ok(a->rc) || a->why >= TOKEN_FAIL__COUNT ||
	    !id_ok(a->id) || !name_ok(a->node) || a->n_certs > 1024 ||
	    (a->rc != 0 && a->body.len != 0)))
		r->bad = 1;
}

static int
token_ans_write(struct buf *b, const struct ps_token_ans *a)
{
	int r;

	if ((r = wr_u32(b, (uint32_t)a->rc)) != 0 ||
	    (r = wr_u32(b, a->why)) != 0 ||
	    (r = wr_str(b, a->id, sizeof(a->id))) != 0 ||
	    (r = wr_str(b, a->node, sizeof(a->node))) != 0 ||
	    (r = wr_u32(b, a->n_certs)) != 0 ||
	    (r = wr_blob(b, &a->body, PS_BODY_MAX)) != 0)
		return r;
	return wr_str(b, a->text, sizeof(a->text));
}

/* PS_ARTIFACT */
static void
artifact_req_parse(struct rd *r, struct ps_artifact_req *q)
{
	rd_fixed(r, q->sha256, sizeof(q->sha256));
	rd_str(r, q->peer, sizeof(q->peer));
	rd_blob(r, &q->cert, PS_CERT_MAX);
	if (!r->bad && (!peer_ok(q->peer) || q->cert.len == 0))
		r->bad = 1;
}

static int
artifact_req_write(struct buf *b, const struct ps_artifact_req *q)
{
	int r;

	if (q->cert.len == 0)
		return SLW_ERR_INVALID;
	if ((r = buf_append(b, q->sha256, sizeof(q->sha256))) != 0 ||
	    (r = wr_str(b, q->peer, sizeof(q->peer))) != 0)
		return r;
	return wr_blob(b, &q->cert, PS_CERT_MAX);
}

/* PS_ARTIFACT_ANS */
static void
artifact_ans_parse(struct rd *r, struct ps_artifact_ans *a)
{
	a->rc = (int32_t)rd_u32(r);
	a->size = rd_u64(r);
	a->image = rd_u32(r);
	rd_str(r, a->name, sizeof(a->name));
	rd_str(r, a->node, sizeof(a->node));
	rd_str(r, a->text, sizeof(a->text));
	if (!r->bad && (!rc_ok(a->rc) || a->image > 1 || !name_ok(a->name) ||
	    !name_ok(a->node) || a->size > (1ull << 40)))
		r->bad = 1;
}

static int
artifact_ans_write(struct buf *b, const struct ps_artifact_ans *a)
{
	int r;

	if ((r = wr_u32(b, (uint32_t)a->rc)) != 0 ||
	    (r = wr_u64(b, a->size)) != 0 ||
	    (r = wr_u32(b, a->image)) != 0 ||
	    (r = wr_str(b, a->name, sizeof(a->name))) != 0 ||
	    (r = wr_str(b, a->node, sizeof(a->node))) != 0)
		return r;
	return wr_str(b, a->text, sizeof(a->text));
}

/* PS_BYTES_ANS */
static void
bytes_ans_parse(struct rd *r, struct ps_bytes_ans *a)
{
	a->rc = (int32_t)rd_u32(r);
	rd_blob(r, &a->body, PS_BODY_MAX);
	/* a failure carries at most a one-line reason */
	if (!r->bad && (!rc_ok(a->rc) || (a->rc != 0 &&
	    a->body.len >= SLW_DIAG_MAX)))
		r->bad = 1;
}

static int
bytes_ans_write(struct buf *b, const struct ps_bytes_ans *a)
{
	int r;

	if ((r = wr_u32(b, (uint32_t)a->rc)) != 0)
		return r;
	return wr_blob(b, &a->body, PS_BODY_MAX);
}

/* PS_CONFIG */
static void
config_parse(struct rd *r, struct ps_config *c)
{
	uint32_t hi, lo;

	c->threads = rd_u32(r);
	c->workers = rd_u32(r);
	c->max_conns = rd_u32(r);
	c->max_per_addr = rd_u32(r);
	c->idle_timeout = rd_u32(r);
	c->request_timeout = rd_u32(r);
	c->fail_burst = rd_u32(r);
	c->fail_window = rd_u32(r);
	c->max_pending = rd_u32(r);
	c->grace = rd_u32(r);
	c->n_chan = rd_u32(r);
	hi = rd_u32(r);
	lo = rd_u32(r);
	c->serving_not_after = (int64_t)((uint64_t)hi << 32 | lo);
	c->flags = rd_u32(r);
	c->artifact_per_node = rd_u32(r);
	rd_blob(r, &c->key_pem, PS_PEM_MAX);
	rd_blob(r, &c->cert_pem, PS_PEM_MAX);
	rd_blob(r, &c->trust_pem, PS_TRUST_MAX);
	if (!r->bad && (c->threads == 0 || c->threads > 64 || c->workers == 0 ||
	    (c->flags & ~(PS_CFG_SEALED | PS_CFG_METRICS)) != 0 ||
	    c->workers > 256 || c->n_chan == 0 || c->n_chan > PS_CHAN_MAX ||
	    c->key_pem.len == 0 || c->cert_pem.len == 0 ||
	    memchr(c->key_pem.data, '\0', c->key_pem.len) != NULL ||
	    memchr(c->cert_pem.data, '\0', c->cert_pem.len) != NULL ||
	    (c->trust_pem.len > 0 && memchr(c->trust_pem.data, '\0',
	    c->trust_pem.len) != NULL) || c->artifact_per_node > 1024))
		r->bad = 1;
}

static int
config_write(struct buf *b, const struct ps_config *c)
{
	const uint32_t v[] = { c->threads, c->workers, c->max_conns,
	    c->max_per_addr, c->idle_timeout, c->request_timeout,
	    c->fail_burst, c->fail_window, c->max_pending, c->grace, c->n_chan,
	    (uint32_t)((uint64_t)c->serving_not_after >> 32),
	    (uint32_t)c->serving_not_after, c->flags, c->artifact_per_node };
	size_t i;
	int r;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if ((r = wr_u32(b, v[i])) != 0)
			return r;
	if ((r = wr_blob(b, &c->key_pem, PS_PEM_MAX)) != 0 ||
	    (r = wr_blob(b, &c->cert_pem, PS_PEM_MAX)) != 0)
		return r;
	return wr_blob(b, &c->trust_pem, PS_TRUST_MAX);
}

/* ---- the approver's channel ---- */

/* PS_APR_CONFIG */
static void
apr_config_parse(struct rd *r, struct ps_apr_config *c)
{
	c->flags = rd_u32(r);
	c->token_sync_seconds = rd_u32(r);
	c->backoff_cap_ms = rd_u32(r);
	rd_str(r, c->apiserver, sizeof(c->apiserver));
	rd_blob(r, &c->inventory, PS_APR_INV_MAX);
	if (!r->bad && ((c->flags & ~(PS_APR_ONCE | PS_APR_CONSOLE)) != 0 ||
	    c->token_sync_seconds > 86400 || c->backoff_cap_ms > 3600000 ||
	    (c->apiserver[0] != '\0' && (strncmp(c->apiserver, "https://",
	    8) != 0 || strchr(c->apiserver, ' ') != NULL)) ||
	    !text_ok(c->apiserver) || c->inventory.len == 0 ||
	    memchr(c->inventory.data, '\0', c->inventory.len) != NULL))
		r->bad = 1;
}

static int
apr_config_write(struct buf *b, const struct ps_apr_config *c)
{
	int r;

	if ((r = wr_u32(b, c->flags)) != 0 ||
	    (r = wr_u32(b, c->token_sync_seconds)) != 0 ||
	    (r = wr_u32(b, c->backoff_cap_ms)) != 0 ||
	    (r = wr_str(b, c->apiserver, sizeof(c->apiserver))) != 0)
		return r;
	return wr_blob(b, &c->inventory, PS_APR_INV_MAX);
}

/* PS_APR_TOKEN */
static void
apr_token_parse(struct rd *r, struct ps_apr_token *t)
{
	rd_str(r, t->node, sizeof(t->node));
	t->secret = rd_u32(r);
	if (!r->bad && (t->node[0] == '\0' || !name_ok(t->node) ||
	    t->secret > 1))
		r->bad = 1;
}

static int
apr_token_write(struct buf *b, const struct ps_apr_token *t)
{
	int r;

	if ((r = wr_str(b, t->node, sizeof(t->node))) != 0)
		return r;
	return wr_u32(b, t->secret);
}

/* PS_APR_TOKEN_ANS */
static void
apr_token_ans_parse(struct rd *r, struct ps_apr_token_ans *a)
{
	a->rc = (int32_t)rd_u32(r);
	rd_str(r, a->id, sizeof(a->id));
	rd_str(r, a->secret, sizeof(a->secret));
	a->expires = rd_i64(r);
	if (!r->bad && (!rc_ok(a->rc) || !alnum_ok(a->id, 6, a->rc != 0) ||
	    !alnum_ok(a->secret, 16, 1) || a->expires < 0 ||
	    (a->rc != 0 && (a->id[0] != '\0' || a->secret[0] != '\0'))))
		r->bad = 1;
}

static int
apr_token_ans_write(struct buf *b, const struct ps_apr_token_ans *a)
{
	int r;

	if ((r = wr_u32(b, (uint32_t)a->rc)) != 0 ||
	    (r = wr_str(b, a->id, sizeof(a->id))) != 0 ||
	    (r = wr_str(b, a->secret, sizeof(a->secret))) != 0)
		return r;
	return wr_i64(b, a->expires);
}

/* PS_APR_AUDIT */
static void
apr_audit_parse(struct rd *r, struct ps_apr_audit *a)
{
	a->action = rd_u32(r);
	rd_str(r, a->object, sizeof(a->object));
	rd_str(r, a->detail, sizeof(a->detail));
	if (!r->bad && (a->action >= PS_APR_AUDIT__COUNT ||
	    a->object[0] == '\0' || !text_ok(a->object) ||
	    !text_ok(a->detail)))
		r->bad = 1;
}

static int
apr_audit_write(struct buf *b, const struct ps_apr_audit *a)
{
	int r;

	if ((r = wr_u32(b, a->action)) != 0 ||
	    (r = wr_str(b, a->object, sizeof(a->object))) != 0)
		return r;
	return wr_str(b, a->detail, sizeof(a->detail));
}

/* PS_APR_CERT */
static void
apr_cert_parse(struct rd *r, struct ps_apr_cert *c)
{
	rd_blob(r, &c->csr, PS_APR_KEYCSR_MAX);
	if (!r->bad && c->csr.len == 0)
		r->bad = 1;
}

/* PS_APR_CERT_ANS */
static void
apr_cert_ans_parse(struct rd *r, struct ps_apr_cert_ans *a)
{
	a->rc = (int32_t)rd_u32(r);
	rd_str(r, a->text, sizeof(a->text));
	a->not_after = rd_i64(r);
	rd_blob(r, &a->cert, PS_APR_CERT_MAX);
	rd_blob(r, &a->trust, PS_APR_TRUST_MAX);
	if (!r->bad && (!rc_ok(a->rc) || !text_ok(a->text) ||
	    (a->rc == 0 && (a->cert.len == 0 || a->trust.len == 0 ||
	    a->not_after <= 0)) || (a->rc != 0 && (a->cert.len != 0 ||
	    a->trust.len != 0)) ||
	    (a->cert.len && memchr(a->cert.data, '\0', a->cert.len)) ||
	    (a->trust.len && memchr(a->trust.data, '\0', a->trust.len))))
		r->bad = 1;
}

static int
apr_cert_ans_write(struct buf *b, const struct ps_apr_cert_ans *a)
{
	int r;

	if ((r = wr_u32(b, (uint32_t)a->rc)) != 0 ||
	    (r = wr_str(b, a->text, sizeof(a->text))) != 0 ||
	    (r = wr_i64(b, a->not_after)) != 0 ||
	    (r = wr_blob(b, &a->cert, PS_APR_CERT_MAX)) != 0)
		return r;
	return wr_blob(b, &a->trust, PS_APR_TRUST_MAX);
}

/* PS_APR_SIGN: the strings go into one pool (each with its NUL); off
 * gets where. */
static void
rd_pool_str(struct rd *r, struct buf *pool, size_t *off)
{
	char tmp[PS_APR_STR_MAX];
	size_t n = rd_str(r, tmp, sizeof(tmp));

	*off = pool->len;
	if (r->bad)
		return;
	if (buf_append(pool, tmp, n + 1) != 0)
		r->bad = 2;
	mbedtls_platform_zeroize(tmp, n);
}

static void
apr_sign_parse(struct rd *r, struct ps_apr_sign *q)
{
	size_t uoff = 0, ioff = 0, goff[PS_APR_GROUPS_MAX], uzoff[PS_APR_USAGES_MAX];
	size_t i, ng = 0, nu = 0;
	uint32_t hi, lo;

	rd_str(r, q->name, sizeof(q->name));
	rd_str(r, q->uid, sizeof(q->uid));
	rd_str(r, q->signer, sizeof(q->signer));
	rd_pool_str(r, &q->pool, &uoff);
	rd_pool_str(r, &q->pool, &ioff);
	ng = rd_u32(r);
	if (!r->bad && ng > PS_APR_GROUPS_MAX)
		r->bad = 1;
	for (i = 0; !r->bad && i < ng; i++)
		rd_pool_str(r, &q->pool, &goff[i]);
	nu = rd_u32(r);
	if (!r->bad && nu > PS_APR_USAGES_MAX)
		r->bad = 1;
	for (i = 0; !r->bad && i < nu; i++)
		rd_pool_str(r, &q->pool, &uzoff[i]);
	hi = rd_u32(r);
	lo = rd_u32(r);
	q->expiration_seconds = (int64_t)((uint64_t)hi << 32 | lo);
	rd_blob(r, &q->request, CSR_MAX_LEN);
	if (r->bad)
		return;
	/* the pool no longer moves: point into it */
	q->username = (const char *)q->pool.data + uoff;
	q->requester_uid = (const char *)q->pool.data + ioff;
	for (i = 0; i < ng; i++)
		q->groups[i] = (const char *)q->pool.data + goff[i];
	q->n_groups = ng;
	for (i = 0; i < nu; i++)
		q->usages[i] = (const char *)q->pool.data + uzoff[i];
	q->n_usages = nu;
	if (q->name[0] == '\0' || !text_ok(q->name) ||
	    strchr(q->name, '/') != NULL || !text_ok(q->uid) ||
	    strchr(q->uid, '/') != NULL || q->signer[0] == '\0' ||
	    !text_ok(q->signer) || q->expiration_seconds < 0 ||
	    q->expiration_seconds > 2147483647 || q->request.len == 0)
		r->bad = 1;
}

static int
apr_sign_write(struct buf *b, const struct ps_apr_sign *q)
{
	size_t i;
	int r;

	if (q->n_groups > PS_APR_GROUPS_MAX || q->n_usages > PS_APR_USAGES_MAX)
		return SLW_ERR_INVALID;
	if ((r = wr_str(b, q->name, sizeof(q->name))) != 0 ||
	    (r = wr_str(b, q->uid, sizeof(q->uid))) != 0 ||
	    (r = wr_str(b, q->signer, sizeof(q->signer))) != 0 ||
	    (r = wr_str(b, q->username ? q->username : "",
	    PS_APR_STR_MAX)) != 0 ||
	    (r = wr_str(b, q->requester_uid ? q->requester_uid : "",
	    PS_APR_STR_MAX)) != 0 ||
	    (r = wr_u32(b, (uint32_t)q->n_groups)) != 0)
		return r;
	for (i = 0; i < q->n_groups; i++)
		if ((r = wr_str(b, q->groups[i] ? q->groups[i] : "",
		    PS_APR_STR_MAX)) != 0)
			return r;
	if ((r = wr_u32(b, (uint32_t)q->n_usages)) != 0)
		return r;
	for (i = 0; i < q->n_usages; i++)
		if ((r = wr_str(b, q->usages[i] ? q->usages[i] : "",
		    PS_APR_STR_MAX)) != 0)
			return r;
	if ((r = wr_i64(b, q->expiration_seconds)) != 0)
		return r;
	return wr_blob(b, &q->request, CSR_MAX_LEN);
}

/* PS_APR_SIGN_ANS */
static void
apr_sign_ans_parse(struct rd *r, struct ps_apr_sign_ans *a)
{
	a->rc = (int32_t)rd_u32(r);
	rd_str(r, a->text, sizeof(a->text));
	rd_str(r, a->node, sizeof(a->node));
	rd_str(r, a->serial, sizeof(a->serial));
	a->again = rd_u32(r);
	rd_blob(r, &a->chain, PS_APR_CHAIN_MAX);
	if (!r->bad && (!rc_ok(a->rc) || !text_ok(a->text) || a->again > 1 ||
	    (a->rc == 0 && (a->node[0] == '\0' || !name_ok(a->node) ||
	    !hex_ok(a->serial, 32) || a->chain.len == 0 ||
	    memchr(a->chain.data, '\0', a->chain.len) != NULL)) ||
	    (a->rc != 0 && (a->node[0] != '\0' || a->serial[0] != '\0' ||
	    a->chain.len != 0 || a->again != 0))))
		r->bad = 1;
}

static int
apr_sign_ans_write(struct buf *b, const struct ps_apr_sign_ans *a)
{
	int r;

	if ((r = wr_u32(b, (uint32_t)a->rc)) != 0 ||
	    (r = wr_str(b, a->text, sizeof(a->text))) != 0 ||
	    (r = wr_str(b, a->node, sizeof(a->node))) != 0 ||
	    (r = wr_str(b, a->serial, sizeof(a->serial))) != 0 ||
	    (r = wr_u32(b, a->again)) != 0)
		return r;
	return wr_blob(b, &a->chain, PS_APR_CHAIN_MAX);
}

/* PS_APR_DONE */
static void
apr_done_parse(struct rd *r, struct ps_apr_done *a)
{
	a->rc = (int32_t)rd_u32(r);
	rd_str(r, a->text, sizeof(a->text));
	a->approved = rd_u32(r);
	a->denied = rd_u32(r);
	a->signed_ = rd_u32(r);
	a->ignored = rd_u32(r);
	a->errors = rd_u32(r);
	if (!r->bad && (!rc_ok(a->rc) || !text_ok(a->text)))
		r->bad = 1;
}

static int
apr_done_write(struct buf *b, const struct ps_apr_done *a)
{
	const uint32_t v[] = { a->approved, a->denied, a->signed_, a->ignored,
	    a->errors };
	size_t i;
	int r;

	if ((r = wr_u32(b, (uint32_t)a->rc)) != 0 ||
	    (r = wr_str(b, a->text, sizeof(a->text))) != 0)
		return r;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if ((r = wr_u32(b, v[i])) != 0)
			return r;
	return 0;
}

int
privsep_msg_parse(const uint8_t *buf, size_t len, struct privsep_msg *m,
    struct slw_diag *d)
{
	struct rd r;
	unsigned int type;

	privsep_msg_init(m, 0);
	if (buf == NULL || len == 0)
		return slw_diag(d, SLW_ERR_PARSE, "empty message");
	if (len > PS_FRAME_MAX)
		return slw_diag(d, SLW_ERR_TOOBIG, "message of %zu bytes", len);
	type = buf[0];
	memset(&r, 0, sizeof(r));
	r.p = buf;
	r.len = len;
	r.off = 1;
	m->type = (enum ps_type)type;
	switch (type) {
	case PS_PRECHECK: case PS_REDEEM: case PS_ENROLL:
		token_req_parse(&r, m->type, &m->u.req);
		break;
	case PS_CRL_PEM:
		crl_req_parse(&r, &m->u.crl);
		break;
	case PS_TOKEN_ANS:
		token_ans_parse(&r, &m->u.tok);
		break;
	case PS_BYTES_ANS:
		bytes_ans_parse(&r, &m->u.bytes);
		break;
	case PS_ARTIFACT:
		artifact_req_parse(&r, &m->u.art);
		break;
	case PS_ARTIFACT_ANS:
		artifact_ans_parse(&r, &m->u.arta);
		break;
	case PS_CONFIG:
		config_parse(&r, &m->u.cfg);
		break;
	case PS_APR_CONFIG:
		apr_config_parse(&r, &m->u.acfg);
		break;
	case PS_APR_TOKEN:
		apr_token_parse(&r, &m->u.atok);
		break;
	case PS_APR_TOKEN_ANS:
		apr_token_ans_parse(&r, &m->u.atans);
		break;
	case PS_APR_AUDIT:
		apr_audit_parse(&r, &m->u.aaud);
		break;
	case PS_APR_CERT:
		apr_cert_parse(&r, &m->u.acert);
		break;
	case PS_APR_CERT_ANS:
		apr_cert_ans_parse(&r, &m->u.acans);
		break;
	case PS_APR_SIGN:
		apr_sign_parse(&r, &m->u.asign);
		break;
	case PS_APR_SIGN_ANS:
		apr_sign_ans_parse(&r, &m->u.asans);
		break;
	case PS_APR_DONE:
		apr_done_parse(&r, &m->u.adone);
		break;
	case PS_READY: case PS_CA_PEM: case PS_HEALTH: case PS_METRICS:
	case PS_METRICS_ALL:
		break;
	default:
		m->type = 0;
		return slw_diag(d, SLW_ERR_PARSE, "unknown message type %u",
		    type);
	}
	if (r.bad == 0 && r.off != len)
		r.bad = 1;
	if (r.bad != 0) {
		privsep_msg_free(m);
		if (r.bad == 2)
			return SLW_ERR_NOMEM;
		return slw_diag(d, SLW_ERR_PARSE, "malformed %s message "
		    "(%zu bytes)", privsep_msg_type_name(type), len);
	}
	return 0;
}

int
privsep_msg_write(const struct privsep_msg *m, struct buf *out)
{
	size_t start = out->len, n;
	uint8_t t = (uint8_t)m->type;
	int r;

	if ((r = wr_u32(out, 0)) != 0 || (r = buf_append(out, &t, 1)) != 0)
		return r;
	switch (m->type) {
	case PS_PRECHECK: case PS_REDEEM: case PS_ENROLL:
		r = token_req_write(out, m->type, &m->u.req);
		break;
	case PS_CRL_PEM:
		r = crl_req_write(out, &m->u.crl);
		break;
	case PS_TOKEN_ANS:
		r = token_ans_write(out, &m->u.tok);
		break;
	case PS_BYTES_ANS:
		r = bytes_ans_write(out, &m->u.bytes);
		break;
	case PS_ARTIFACT:
		r = artifact_req_write(out, &m->u.art);
		break;
	case PS_ARTIFACT_ANS:
		r = artifact_ans_write(out, &m->u.arta);
		break;
	case PS_CONFIG:
		r = config_write(out, &m->u.cfg);
		break;
	case PS_APR_CONFIG:
		r = apr_config_write(out, &m->u.acfg);
		break;
	case PS_APR_TOKEN:
		r = apr_token_write(out, &m->u.atok);
		break;
	case PS_APR_TOKEN_ANS:
		r = apr_token_ans_write(out, &m->u.atans);
		break;
	case PS_APR_AUDIT:
		r = apr_audit_write(out, &m->u.aaud);
		break;
	case PS_APR_CERT:
		r = wr_blob(out, &m->u.acert.csr, PS_APR_KEYCSR_MAX);
		break;
	case PS_APR_CERT_ANS:
		r = apr_cert_ans_write(out, &m->u.acans);
		break;
	case PS_APR_SIGN:
		r = apr_sign_write(out, &m->u.asign);
		break;
	case PS_APR_SIGN_ANS:
		r = apr_sign_ans_write(out, &m->u.asans);
		break;
	case PS_APR_DONE:
		r = apr_done_write(out, &m->u.adone);
		break;
	case PS_READY: case PS_CA_PEM: case PS_HEALTH: case PS_METRICS:
	case PS_METRICS_ALL:
		r = 0;
		break;
	default:
		r = SLW_ERR_INVALID;
		break;
	}
	n = out->len - start - 4;
	if (r == 0 && n > PS_FRAME_MAX)
		r = SLW_ERR_TOOBIG;
	if (r != 0) {
		/* nothing half-written stays in out */
		mbedtls_platform_zeroize(out->data + start, out->len - start);
		out->len = start;
		return r;
	}
	out->data[start] = (uint8_t)(n >> 24);
	out->data[start + 1] = (uint8_t)(n >> 16);
	out->data[start + 2] = (uint8_t)(n >> 8);
	out->data[start + 3] = (uint8_t)n;
	return 0;
}
