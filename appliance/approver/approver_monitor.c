// SPDX-License-Identifier: Apache-2.0
/*
 * approver_monitor.c: the key holder's side of the CSR approver's channel
 * (approver.h, privsep_msg.h): the table of what the slipway-approver
 * process may ask (a node's bootstrap token, an audit record, its API
 * client certificate, a signature) answered from the store. A signing
 * request is re-parsed and the policy re-run here on exactly what was
 * received, and each CSR is signed and recorded at most once. Must never
 * sign what its own policy run refuses, believe the approver's verdict or
 * clock, or send it a CA key, the KEK or a store record it did not ask for.
 */
#include "approver.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "certdb.h"
#include "cluster.h"
#include "kube_session.h"
#include "rand.h"

#define ACTOR "approver"
/* API client certificates per session: the approver needs one a day (and
 * one after an authentication failure); more is a runaway or an attack. */
#define CERTS_PER_HOUR 6

struct approver_monitor {
	struct store *s;
	const struct inventory *inv;
	struct approver_monitor_opts o;
	struct signing *sg;		/* loaded once, refreshed per use */
	struct approver_policy pol;
	time_t certs[CERTS_PER_HOUR];	/* when this session got them */
	size_t n_certs;
};

static void
mlog(struct approver_monitor *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
mlog(struct approver_monitor *m, const char *fmt, ...)
{
	char line[768];
	va_list ap;

	if (m->o.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	m->o.log(m->o.log_arg, line);
}

/* SLW_ERR_* only: the approver knows no other code. */
static int32_t
known_rc(int r)
{
	return r <= 0 && r >= SLW_ERR_LAST ? r : SLW_ERR_INTERNAL;
}

static int
policy_token_id(void *arg, const char *node, char id[7])
{
	struct approver_monitor *m = arg;

	return nodetoken_lookup_id(m->s, node, id);
}

/* The current CA generations (a rotation step may have happened). */
static int
fresh_signing(struct approver_monitor *m, struct slw_diag *d)
{
	if (m->sg == NULL)
		return signing_local_new(m->s, &m->sg, d);
	return signing_refresh(m->sg, m->s, NULL, d);
}

int
approver_monitor_new(struct store *s, const struct inventory *inv,
    const struct approver_monitor_opts *o, struct approver_monitor **out,
    struct slw_diag *d)
{
	struct approver_monitor *m;

	*out = NULL;
	if (s == NULL || inv == NULL)
		return SLW_ERR_INVALID;
	if (store_kek(s) == NULL)
		return slw_diag(d, SLW_ERR_NOKEK, "the approver's signer needs "
		    "the store's key-encryption key");
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return SLW_ERR_NOMEM;
	m->s = s;
	m->inv = inv;
	if (o != NULL)
		m->o = *o;
	m->pol.inv = inv;
	m->pol.token_id = policy_token_id;
	m->pol.token_arg = m;
	*out = m;
	return 0;
}

void
approver_monitor_free(struct approver_monitor *m)
{
	if (m == NULL)
		return;
	signing_free(m->sg);
	free(m);
}

/* ---- the configuration ---- */

static int
inventory_txn(struct store_txn *t, void *arg)
{
	const uint8_t *v;
	size_t n;
	int r;

	if ((r = store_get_ref(t, DB_META, CLUSTER_META_KEY,
	    strlen(CLUSTER_META_KEY), &v, &n)) != 0)
		return r;
	return buf_set(arg, v, n);
}

int
approver_monitor_config(struct approver_monitor *m,
    const struct approver_opts *o, struct privsep_msg *out,
    struct slw_diag *d)
{
	struct ps_apr_config *c = &out->u.acfg;
	int r;

	privsep_msg_init(out, PS_APR_CONFIG);
	if (o->once)
		c->flags |= PS_APR_ONCE;
	if (o->console)
		c->flags |= PS_APR_CONSOLE;
	c->token_sync_seconds = o->token_sync_seconds;
	c->backoff_cap_ms = o->backoff_cap_ms;
	if (o->apiserver != NULL && snprintf(c->apiserver, sizeof(c->apiserver),
	    "%s", o->apiserver) >= (int)sizeof(c->apiserver))
		return slw_diag(d, SLW_ERR_INVALID, "--apiserver is longer than "
		    "%d bytes", PS_APR_URL_MAX - 1);
	if ((r = store_read(m->s, inventory_txn, &c->inventory, d)) != 0) {
		privsep_msg_free(out);
		return slw_diag(d, r, "cannot read the stored inventory for the "
		    "approver");
	}
	return 0;
}

/* ---- the table ---- */

struct tok_arg {
	const char *node;
	struct node_token tok;
};

static int
token_txn(struct store_txn *t, void *arg)
{
	struct tok_arg *a = arg;

	return nodetoken_get(t, a->node, &a->tok);
}

/* A node's bootstrap token; its secret only to a Secret-syncing approver. */
static int
h_token(struct approver_monitor *m, const struct privsep_msg *q,
    struct privsep_msg *a)
{
	const struct ps_apr_token *tq = &q->u.atok;
	struct ps_apr_token_ans *ta = &a->u.atans;
	struct tok_arg ta_;
	int r;

	privsep_msg_init(a, PS_APR_TOKEN_ANS);
	if (tq->secret && !m->o.token_secrets) {
		mlog(m, "approver: asked for node %s's token secret, which "
		    "this approver does not sync: refused", tq->node);
		ta->rc = SLW_ERR_DENIED;
		return 0;
	}
	if (inventory_node(m->inv, tq->node) == NULL) {
		ta->rc = SLW_ERR_NOTFOUND;
		return 0;
	}
	memset(&ta_, 0, sizeof(ta_));
	ta_.node = tq->node;
	if ((r = store_read(m->s, token_txn, &ta_, NULL)) == 0) {
		memcpy(ta->id, ta_.tok.id, sizeof(ta->id));
		if (tq->secret)
			memcpy(ta->secret, ta_.tok.secret, sizeof(ta->secret));
		ta->expires = ta_.tok.expires < 0 ? 0 : (int64_t)ta_.tok.expires;
	}
	nodetoken_wipe(&ta_.tok);
	ta->rc = known_rc(r);
	return 0;
}

struct audit_arg {
	const char *action;
	char object[AUDIT_OBJECT_MAX];
	const char *detail;
};

static int
audit_txn(struct store_txn *t, void *arg)
{
	struct audit_arg *a = arg;

	return audit_append(t, ACTOR, a->action, a->object, a->detail);
}

static int
h_audit(struct approver_monitor *m, const struct privsep_msg *q,
    struct privsep_msg *a)
{
	const struct ps_apr_audit *aq = &q->u.aaud;
	struct audit_arg aa;
	int r;

	privsep_msg_init(a, PS_BYTES_ANS);
	aa.action = privsep_msg_apr_action_name(aq->action);
	aa.detail = aq->detail;
	if (aq->action == PS_APR_AUDIT_KUBE_APPLY)
		snprintf(aa.object, sizeof(aa.object), "%s", aq->object);
	else
		snprintf(aa.object, sizeof(aa.object), "csr/%.250s", aq->object);
	r = store_submit(m->s, audit_txn, &aa, NULL);
	a->u.bytes.rc = known_rc(r);
	/* a decision written to a CSR: counted by its rule (metrics) */
	if (r == 0 && m->o.decided != NULL &&
	    (aq->action == PS_APR_AUDIT_CSR_APPROVE ||
	    aq->action == PS_APR_AUDIT_CSR_DENY))
		m->o.decided(m->o.decided_arg, aq->action ==
		    PS_APR_AUDIT_CSR_APPROVE ? APPROVER_APPROVE : APPROVER_DENY,
		    aq->detail);
	return 0;
}

/* At most CERTS_PER_HOUR in any hour of a session. */
static int
cert_allowed(struct approver_monitor *m, time_t now)
{
	size_t i, recent = 0;

	for (i = 0; i < m->n_certs && i < CERTS_PER_HOUR; i++)
		if (now - m->certs[i] < 3600)
			recent++;
	if (recent >= CERTS_PER_HOUR)
		return 0;
	m->certs[m->n_certs++ % CERTS_PER_HOUR] = now;
	return 1;
}

/* The approver's API client certificate, for the key in its CSR. */
static int
h_cert(struct approver_monitor *m, const struct privsep_msg *q,
    struct privsep_msg *a)
{
	struct ps_apr_cert_ans *ca = &a->u.acans;
	struct csr *csr = NULL;
	struct slw_diag d;
	time_t na = 0;
	int r;

	slw_diag_clear(&d);
	privsep_msg_init(a, PS_APR_CERT_ANS);
	if (!cert_allowed(m, slw_now())) {
		r = slw_diag(&d, SLW_ERR_LIMIT, "at most %d API client "
		    "certificates an hour", CERTS_PER_HOUR);
		goto out;
	}
	/* the self-signature proves the approver holds the key */
	if ((r = csr_parse(q->u.acert.csr.data, q->u.acert.csr.len, &csr,
	    &d)) != 0)
		goto out;
	if ((r = fresh_signing(m, &d)) != 0)
		goto out;
	r = kube_session_issue(m->sg, m->s, csr->key, ACTOR, &ca->cert,
	    &ca->trust, &na, &d);
	ca->not_after = (int64_t)na;
 out:
	csr_free(csr);
	ca->rc = known_rc(r);
	if (r != 0) {
		snprintf(ca->text, sizeof(ca->text), "%s", slw_diag_str(&d, r));
		mlog(m, "approver: no API client certificate: %s", ca->text);
	}
	return 0;
}

/* ---- signing ---- */

struct issued_arg {
	char key[INV_NAME_MAX + 320];
	uint8_t serial[SERIAL_LEN];
	struct buf der;			/* out: the recorded certificate */
	const struct signing_result *res;	/* to record */
	const char *node, *purpose;
	char object[AUDIT_OBJECT_MAX];	/* "csr/NAME" */
	char detail[256];
	int found;
};

/* Looks up the certificate recorded for a CSR. */
static int
issued_get_txn(struct store_txn *t, void *arg)
{
	struct issued_arg *a = arg;
	struct cert_rec rec;
	struct buf v = { 0 };
	int r;

	a->found = 0;
	r = store_get(t, DB_NODES, a->key, strlen(a->key), &v);
	if (r == SLW_ERR_NOTFOUND)
		return 0;
	if (r != 0)
		return r;
	if (v.len != SERIAL_LEN) {
		buf_free(&v);
		return SLW_ERR_CORRUPT;
	}
	memcpy(a->serial, v.data, SERIAL_LEN);
	buf_free(&v);
	memset(&rec, 0, sizeof(rec));
	if ((r = certdb_get(t, a->serial, &rec)) != 0)
		return r;
	buf_free(&a->der);
	buf_move(&a->der, &rec.der);
	certdb_rec_free(&rec);
	a->found = 1;
	return 0;
}

/* Records a new certificate for a CSR, unless one is recorded already. */
static int
issued_put_txn(struct store_txn *t, void *arg)
{
	struct issued_arg *a = arg;
	struct buf v = { 0 };
	char serial[2 * SERIAL_LEN + 1];
	int r;

	r = store_get(t, DB_NODES, a->key, strlen(a->key), &v);
	buf_free(&v);
	if (r == 0)
		return SLW_ERR_EXISTS;	/* signed meanwhile: keep that one */
	if (r != SLW_ERR_NOTFOUND)
		return r;
	if ((r = signing_result_record(t, a->res, a->node, a->purpose, ACTOR)) !=
	    0)
		return r;
	if ((r = store_put(t, DB_NODES, a->key, strlen(a->key),
	    a->res->serial, SERIAL_LEN, STORE_NOOVERWRITE)) != 0)
		return r;
	hex_encode(a->res->serial, SERIAL_LEN, serial);
	snprintf(a->detail, sizeof(a->detail), "signed for node %s (%s), "
	    "serial %s", a->node, a->purpose, serial);
	return audit_append(t, ACTOR, "csr.sign", a->object, a->detail);
}

/*
 * Signs (or finds the recorded certificate of) the CSR in q, if and only
 * if this process's own policy run approves it.
 */
static int
h_sign(struct approver_monitor *m, const struct privsep_msg *q,
    struct privsep_msg *a)
{
	const struct ps_apr_sign *sq = &q->u.asign;
	struct ps_apr_sign_ans *sa = &a->u.asans;
	struct approver_request rq;
	struct approver_decision dec;
	struct signing_result res;
	struct issued_arg ia;
	struct slw_diag d;
	int r;

	privsep_msg_init(a, PS_APR_SIGN_ANS);
	memset(&dec, 0, sizeof(dec));
	memset(&res, 0, sizeof(res));
	memset(&ia, 0, sizeof(ia));
	slw_diag_clear(&d);
	if (m->inv->signing_mode != SIGNING_APPLIANCE) {
		r = slw_diag(&d, SLW_ERR_DENIED, "signingMode is "
		    "controller-manager: slipway signs no kubelet CSR");
		goto out;
	}
	/* the policy's view of exactly what was received; its status is not
	 * the approver's to claim, so the rules alone decide */
	memset(&rq, 0, sizeof(rq));
	rq.name = sq->name;
	rq.signer = sq->signer;
	rq.username = sq->username;
	rq.groups = sq->groups;
	rq.n_groups = sq->n_groups;
	rq.usages = sq->usages;
	rq.n_usages = sq->n_usages;
	rq.expiration_seconds = sq->expiration_seconds;
	rq.request = sq->request.data;
	rq.request_len = sq->request.len;
	if ((r = approver_policy_evaluate(&m->pol, &rq, &dec)) != 0) {
		r = slw_diag(&d, r, "the policy could not decide (%s); try "
		    "again", slw_strerror(r));
		goto out;
	}
	if (dec.verdict != APPROVER_APPROVE) {
		r = slw_diag(&d, SLW_ERR_DENIED, "%s", dec.reason);
		mlog(m, "approver: refused to sign csr %s: %s", sq->name,
		    dec.reason);
		goto out;
	}
	snprintf(ia.key, sizeof(ia.key), "%s/csr/%s", dec.node,
	    sq->uid[0] ? sq->uid : sq->name);
	ia.node = dec.node;
	ia.purpose = approver_sign_purpose(dec.kind);
	snprintf(ia.object, sizeof(ia.object), "csr/%.250s", sq->name);
	if ((r = store_read(m->s, issued_get_txn, &ia, &d)) != 0 ||
	    (r = fresh_signing(m, &d)) != 0)
		goto out;
	if (ia.found)
		sa->again = 1;
	else {
		if ((r = approver_sign(m->sg, &dec, slw_now(), &res, &sa->chain,
		    &d)) != 0)
			goto out;
		ia.res = &res;
		r = store_submit(m->s, issued_put_txn, &ia, &d);
		if (r == SLW_ERR_EXISTS) {
			/* another signer recorded one first: that one counts */
			slw_diag_clear(&d);
			buf_free(&sa->chain);
			if ((r = store_read(m->s, issued_get_txn, &ia, &d)) != 0)
				goto out;
			if (!ia.found) {
				r = SLW_ERR_INTERNAL;
				goto out;
			}
			sa->again = 1;
		} else if (r != 0)
			goto out;
		else
			memcpy(ia.serial, res.serial, SERIAL_LEN);
	}
	if (sa->chain.len == 0 && (r = approver_sign_chain(m->sg, ia.der.data,
	    ia.der.len, &sa->chain, &d)) != 0)
		goto out;
	snprintf(sa->node, sizeof(sa->node), "%s", dec.node);
	hex_encode(ia.serial, SERIAL_LEN, sa->serial);
	r = 0;
 out:
	if (r != 0) {
		buf_free(&sa->chain);
		sa->again = 0;
		sa->node[0] = sa->serial[0] = '\0';
		snprintf(sa->text, sizeof(sa->text), "%s", slw_diag_str(&d, r));
	}
	sa->rc = known_rc(r);
	buf_free(&ia.der);
	signing_result_free(&res);
	approver_policy_decision_free(&dec);
	return 0;
}

/* What the approver may ask. Nothing else is ever acted on. */
static const struct {
	enum ps_type type;
	int (*fn)(struct approver_monitor *m, const struct privsep_msg *q,
	    struct privsep_msg *a);
} table[] = {
	{ PS_APR_TOKEN, h_token },
	{ PS_APR_AUDIT, h_audit },
	{ PS_APR_CERT, h_cert },
	{ PS_APR_SIGN, h_sign },
};

int
approver_monitor_handle(struct approver_monitor *m,
    const struct privsep_msg *q, struct privsep_msg *a)
{
	size_t i;

	privsep_msg_init(a, 0);
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].type == q->type)
			return table[i].fn(m, q, a);
	return SLW_ERR_INVALID;
}

/* ---- a session ---- */

int
approver_monitor_serve(struct approver_monitor *m, int fd,
    const struct privsep_msg *cfg, struct ps_apr_done *done)
{
	struct privsep_msg q, a;
	struct slw_diag d;
	int r, said = 0;

	memset(done, 0, sizeof(*done));
	m->n_certs = 0;
	if (privsep_io_send(fd, cfg) != 0) {
		mlog(m, "approver: did not take its configuration");
		return SLW_ERR_IO;
	}
	for (;;) {
		slw_diag_clear(&d);
		r = privsep_io_recv(fd, PS_APR_REQ_FRAME_MAX, &q, &d);
		if (r == SLW_ERR_IO)
			break;		/* it closed the channel, or is gone */
		if (r != 0) {
			mlog(m, "approver: %s from the approver: channel closed",
			    slw_diag_str(&d, r));
			break;
		}
		if (q.type == PS_READY) {
			privsep_msg_free(&q);
			continue;
		}
		if (q.type == PS_APR_DONE) {
			*done = q.u.adone;
			said = 1;
			privsep_msg_free(&q);
			continue;
		}
		if (approver_monitor_handle(m, &q, &a) != 0) {
			mlog(m, "approver: '%s' is not a request the approver "
			    "may make: channel closed",
			    privsep_msg_type_name(q.type));
			privsep_msg_free(&q);
			break;
		}
		privsep_msg_free(&q);
		r = privsep_io_send(fd, &a);
		privsep_msg_free(&a);
		if (r != 0) {
			if (r != SLW_ERR_IO)
				mlog(m, "approver: an answer could not be sent "
				    "(%s): channel closed", slw_strerror(r));
			break;
		}
	}
	return said ? 0 : SLW_ERR_IO;
}
