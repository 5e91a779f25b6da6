// SPDX-License-Identifier: Apache-2.0
/*
 * approver.c: the CSR approver as a controller: list, then watch from
 * the list's resourceVersion; every event is decided by the policy, the
 * decision written to the CSR (approval subresource) and the audit log, and
 * approved CSRs signed and their status.certificate written (status
 * subresource). A failed event is not acknowledged (the watch resumes before
 * it); a 409 re-reads the CSR and decides again; the API being down is
 * retried with capped exponential backoff. Each CSR is signed at most once:
 * its certificate is recorded under "<node>/csr/<uid>" (DB_NODES) in the
 * same transaction as the issuance, before the status is written, and a
 * retry publishes the recorded certificate instead of signing again.
 * Must never sign what the policy does not approve, whoever approved it.
 */
#include "approver.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/base64.h>

#include "audit.h"
#include "certdb.h"
#include "kube.h"
#include "kube_cluster.h"
#include "kube_session.h"
#include "nodetoken.h"
#include "rand.h"

#define CSR_PATH "/apis/certificates.k8s.io/v1/certificatesigningrequests"
#define ACTOR "approver"
#define DONE_MAX 4096
#define RECONNECT_MARGIN 3600	/* renew the client cert an hour early */

struct loop {
	struct store *s;
	const struct inventory *inv;
	const struct approver_opts *o;
	const atomic_int *stop;
	struct approver_stats *st;
	struct kube *k;
	struct signing *sg;		/* the CA signers, refreshed per CSR */
	time_t cert_not_after;
	struct approver_policy pol;
	char rv[KUBE_RV_MAX];
	int list_failed;		/* a CSR of the last list needs a retry */
	time_t next_token_sync;
	/* CSRs (by uid) already in a final state: skipped without a call */
	char done[DONE_MAX][64];
	size_t done_next;
};

static int
stopping(const struct loop *L)
{
	return L->stop != NULL && atomic_load(L->stop);
}

static void
lg(struct loop *L, enum approver_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
lg(struct loop *L, enum approver_log_level lvl, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	if (L->o->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	L->o->log(L->o->log_arg, lvl, msg);
}

static void
nap(struct loop *L, unsigned int ms)
{
	struct timespec ts;
	unsigned int step;

	while (ms > 0 && !stopping(L)) {
		step = ms < 100 ? ms : 100;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)step * 1000000L;
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

static int
done_has(const struct loop *L, const char *uid)
{
	size_t i;

	if (uid[0] == '\0')
		return 0;
	for (i = 0; i < DONE_MAX; i++)
		if (L->done[i][0] != '\0' && strcmp(L->done[i], uid) == 0)
			return 1;
	return 0;
}

static void
done_add(struct loop *L, const char *uid)
{
	if (uid[0] == '\0' || done_has(L, uid))
		return;
	snprintf(L->done[L->done_next], sizeof(L->done[0]), "%s", uid);
	L->done_next = (L->done_next + 1) % DONE_MAX;
}

/* ---- the store ---- */

static int
token_id(void *arg, const char *node, char id[7])
{
	struct loop *L = arg;

	return nodetoken_lookup_id(L->s, node, id);
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
audit(struct loop *L, const char *action, const char *csr,
    const char *detail, struct slw_diag *d)
{
	struct audit_arg a;

	a.action = action;
	snprintf(a.object, sizeof(a.object), "csr/%.250s", csr);
	a.detail = detail;
	return store_submit(L->s, audit_txn, &a, d);
}

static void
issued_key(const struct approver_csr *c, const char *node, char *key,
    size_t len)
{
	snprintf(key, len, "%s/csr/%s", node, c->uid[0] ? c->uid : c->name);
}

struct issued_arg {
	char key[INV_NAME_MAX + 320];
	uint8_t serial[SERIAL_LEN];
	struct buf der;			/* in: to record; out: recorded */
	const struct signing_result *res;	/* to record, or NULL: look up */
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

/* ---- writing to the CSR ---- */

static int
csr_path(const char *name, const char *sub, char *out, size_t len)
{
	char esc[800];

	if (kube_query_escape(name, esc, sizeof(esc)) != 0)
		return SLW_ERR_TOOBIG;
	if (snprintf(out, len, CSR_PATH "/%s/%s", esc, sub) >= (int)len)
		return SLW_ERR_TOOBIG;
	return 0;
}

/*
 * PUTs obj to the approval or status subresource with a condition added
 * (type != NULL) and/or status.certificate set (cert_b64 != NULL).
 */
static int
write_csr(struct loop *L, const cJSON *obj, const char *name,
    const char *sub, const char *type, const char *msg, const char *cert_b64,
    cJSON **out, struct slw_diag *d)
{
	char path[1200], ts[32];
	struct tm tm;
	time_t now = slw_now();
	cJSON *o, *st, *conds, *c;
	int r;

	if (out != NULL)
		*out = NULL;
	if ((r = csr_path(name, sub, path, sizeof(path))) != 0)
		return slw_diag(d, r, "CSR name too long");
	if ((o = cJSON_Duplicate(obj, 1)) == NULL)
		return SLW_ERR_NOMEM;
	r = SLW_ERR_NOMEM;
	st = cJSON_GetObjectItemCaseSensitive(o, "status");
	if (!cJSON_IsObject(st)) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, "status");
		if ((st = cJSON_AddObjectToObject(o, "status")) == NULL)
			goto out;
	}
	if (type != NULL) {
		conds = cJSON_GetObjectItemCaseSensitive(st, "conditions");
		if (!cJSON_IsArray(conds)) {
			cJSON_DeleteItemFromObjectCaseSensitive(st,
			    "conditions");
			if ((conds = cJSON_AddArrayToObject(st, "conditions")) ==
			    NULL)
				goto out;
		}
		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if ((c = cJSON_CreateObject()) == NULL)
			goto out;
		cJSON_AddItemToArray(conds, c);
		if (cJSON_AddStringToObject(c, "type", type) == NULL ||
		    cJSON_AddStringToObject(c, "status", "True") == NULL ||
		    cJSON_AddStringToObject(c, "reason",
		    APPROVER_CONDITION_REASON) == NULL ||
		    cJSON_AddStringToObject(c, "message", msg) == NULL ||
		    cJSON_AddStringToObject(c, "lastUpdateTime", ts) == NULL ||
		    cJSON_AddStringToObject(c, "lastTransitionTime", ts) == NULL)
			goto out;
	}
	if (cert_b64 != NULL) {
		cJSON_DeleteItemFromObjectCaseSensitive(st, "certificate");
		if (cJSON_AddStringToObject(st, "certificate", cert_b64) == NULL)
			goto out;
	}
	r = kube_update(L->k, path, o, 0, out, d);
 out:
	cJSON_Delete(o);
	return r;
}

/* Signs (or re-publishes) the certificate of an approved CSR. */
static int
sign_approved(struct loop *L, const struct approver_csr *c,
    const cJSON *obj, const struct approver_decision *dec0,
    struct slw_diag *d)
{
	struct approver_decision ev;
	const struct approver_decision *dec = dec0;
	struct signing *sg;
	struct signing_result res;
	struct issued_arg ia;
	struct buf chain = { 0 };
	char *b64 = NULL, msg[APPROVER_REASON_MAX + 32], serial[33];
	size_t blen = 0;
	int r;

	memset(&ev, 0, sizeof(ev));
	memset(&res, 0, sizeof(res));
	memset(&ia, 0, sizeof(ia));
	if (dec == NULL) {
		/* approved by someone else: sign only what the policy allows */
		if ((r = approver_policy_evaluate(&L->pol, &c->rq, &ev)) != 0)
			goto out;
		dec = &ev;
		if (ev.verdict != APPROVER_APPROVE) {
			snprintf(msg, sizeof(msg), "not signed: %s", ev.reason);
			r = write_csr(L, obj, c->name, "status", "Failed", msg,
			    NULL, NULL, d);
			if (r != 0)
				goto out;
			if ((r = audit(L, "csr.fail", c->name, msg, d)) != 0)
				goto out;
			lg(L, APPROVER_LOG_INFO, "refused to sign csr %s "
			    "(approved elsewhere): %s", c->name, ev.reason);
			L->st->denied++;
			done_add(L, c->uid);
			goto out;
		}
	}
	issued_key(c, dec->node, ia.key, sizeof(ia.key));
	ia.node = dec->node;
	ia.purpose = approver_sign_purpose(dec->kind);
	snprintf(ia.object, sizeof(ia.object), "csr/%.250s", c->name);
	if ((r = store_read(L->s, issued_get_txn, &ia, d)) != 0)
		goto out;
	/* the current CA generations (a rotation may have moved on) */
	if (L->sg == NULL)
		r = signing_local_new(L->s, &L->sg, d);
	else
		r = signing_refresh(L->sg, L->s, NULL, d);
	if (r != 0)
		goto out;
	sg = L->sg;
	if (!ia.found) {
		if ((r = approver_sign(sg, dec, slw_now(), &res, &chain, d)) !=
		    0)
			goto out;
		ia.res = &res;
		r = store_submit(L->s, issued_put_txn, &ia, d);
		if (r == SLW_ERR_EXISTS) {
			/* another approver recorded one first: publish it */
			slw_diag_clear(d);
			buf_free(&chain);
			if ((r = store_read(L->s, issued_get_txn, &ia, d)) != 0)
				goto out;
			if (!ia.found) {
				r = SLW_ERR_INTERNAL;
				goto out;
			}
		} else if (r != 0)
			goto out;
		else {
			memcpy(ia.serial, res.serial, SERIAL_LEN);
			ia.found = 1;
		}
	}
	if (chain.len == 0 && (r = approver_sign_chain(sg, ia.der.data,
	    ia.der.len, &chain, d)) != 0)
		goto out;
	mbedtls_base64_encode(NULL, 0, &blen, chain.data, chain.len);
	if ((b64 = malloc(blen + 1)) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	if (mbedtls_base64_encode((unsigned char *)b64, blen + 1, &blen,
	    chain.data, chain.len) != 0) {
		r = SLW_ERR_INTERNAL;
		goto out;
	}
	b64[blen] = '\0';
	if ((r = write_csr(L, obj, c->name, "status", NULL, NULL, b64, NULL,
	    d)) != 0)
		goto out;
	hex_encode(ia.serial, SERIAL_LEN, serial);
	lg(L, APPROVER_LOG_INFO, "signed csr %s for node %s (%s): serial %s",
	    c->name, dec->node, approver_sign_purpose(dec->kind), serial);
	L->st->signed_++;
	done_add(L, c->uid);
	r = 0;
 out:
	free(b64);
	buf_free(&chain);
	buf_free(&ia.der);
	signing_result_free(&res);
	approver_policy_decision_free(&ev);
	return r;
}

/* One decision for one CSR object; SLW_ERR_BUSY after a 409. */
static int
handle(struct loop *L, const cJSON *obj, struct slw_diag *d)
{
	struct approver_csr c;
	struct approver_decision dec;
	cJSON *fresh = NULL;
	int appliance = L->inv->signing_mode == SIGNING_APPLIANCE;
	const char *name;
	int r;

	memset(&dec, 0, sizeof(dec));
	if ((r = approver_csr_from_json(obj, &c, d)) != 0) {
		name = kube_str(obj, "metadata.name");
		lg(L, APPROVER_LOG_WARN, "csr %.200s: cannot read it: %s",
		    name ? name : "(no name)", slw_diag_str(d, r));
		slw_diag_clear(d);
		L->st->errors++;
		name = kube_str(obj, "metadata.uid");
		if (name != NULL && strlen(name) < 64)
			done_add(L, name);
		return 0;	/* retrying would not change it */
	}
	if (done_has(L, c.uid)) {
		approver_csr_free(&c);
		return 0;
	}
	if ((r = approver_policy_decide(&L->pol, &c.rq, &dec)) != 0)
		goto out;
	switch (dec.verdict) {
	case APPROVER_IGNORE:
		if (dec.kind != APPROVER_KIND_NONE && c.rq.approved &&
		    !c.rq.issued && !c.rq.denied && !c.rq.failed) {
			if (appliance) {
				r = sign_approved(L, &c, obj, NULL, d);
				goto out;
			}
			break;	/* the controller-manager signs */
		}
		L->st->ignored++;
		done_add(L, c.uid);
		break;
	case APPROVER_DENY:
		if ((r = write_csr(L, obj, c.name, "approval", "Denied",
		    dec.reason, NULL, NULL, d)) != 0)
			goto out;
		lg(L, APPROVER_LOG_INFO, "denied csr %s: %s", c.name,
		    dec.reason);
		L->st->denied++;
		if (L->o->decided != NULL)
			L->o->decided(L->o->decided_arg, APPROVER_DENY,
			    dec.reason);
		done_add(L, c.uid);
		r = audit(L, "csr.deny", c.name, dec.reason, d);
		break;
	case APPROVER_APPROVE:
		if ((r = write_csr(L, obj, c.name, "approval", "Approved",
		    dec.reason, NULL, &fresh, d)) != 0)
			goto out;
		lg(L, APPROVER_LOG_INFO, "approved csr %s: %s", c.name,
		    dec.reason);
		L->st->approved++;
		if (L->o->decided != NULL)
			L->o->decided(L->o->decided_arg, APPROVER_APPROVE,
			    dec.reason);
		if ((r = audit(L, "csr.approve", c.name, dec.reason, d)) != 0)
			goto out;
		if (!appliance) {
			done_add(L, c.uid);
			break;
		}
		r = sign_approved(L, &c, fresh, &dec, d);
		break;
	}
 out:
	cJSON_Delete(fresh);
	approver_policy_decision_free(&dec);
	approver_csr_free(&c);
	return r;
}

/* handle() with conflict retry: a 409 re-reads the CSR and decides again. */
static int
process(struct loop *L, const cJSON *obj0)
{
	struct slw_diag d;
	const cJSON *obj = obj0;
	cJSON *cur = NULL;
	const char *name = kube_str(obj0, "metadata.name");
	char path[1200], n[254];
	int attempt, r = 0;

	snprintf(n, sizeof(n), "%s", name ? name : "");
	for (attempt = 0; attempt < KUBE_CONFLICT_RETRIES; attempt++) {
		slw_diag_clear(&d);
		if ((r = handle(L, obj, &d)) != SLW_ERR_BUSY)
			break;
		lg(L, APPROVER_LOG_INFO, "csr %s changed meanwhile (409 "
		    "Conflict): reading it again", n);
		cJSON_Delete(cur);
		cur = NULL;
		if (csr_path(n, "", path, sizeof(path)) != 0)
			break;
		path[strlen(path) - 1] = '\0';	/* no subresource */
		slw_diag_clear(&d);
		if ((r = kube_get(L->k, path, 0, &cur, &d)) != 0)
			break;
		obj = cur;
	}
	if (r == SLW_ERR_NOTFOUND)
		r = 0;		/* deleted meanwhile: nothing to do */
	if (r == SLW_ERR_BUSY)
		slw_diag_set(&d, r, "still conflicting after %d attempts",
		    KUBE_CONFLICT_RETRIES);
	if (r != 0 && !stopping(L)) {
		lg(L, APPROVER_LOG_WARN, "csr %s: %s (will retry)", n,
		    slw_diag_str(&d, r));
		L->st->errors++;
	}
	cJSON_Delete(cur);
	return r;
}

static int
on_item(void *arg, cJSON *obj)
{
	struct loop *L = arg;

	if (stopping(L))
		return SLW_ERR_IO;
	if (process(L, obj) != 0)
		L->list_failed = 1;
	return 0;	/* one CSR never stops the list */
}

static int
on_event(void *arg, const char *type, cJSON *obj)
{
	struct loop *L = arg;

	if (stopping(L))
		return SLW_ERR_IO;
	if (strcmp(type, "DELETED") == 0)
		return 0;
	/* a failure leaves the event unacknowledged: the resumed watch
	 * delivers it again */
	return process(L, obj);
}

static void
sync_report(void *arg, const char *line)
{
	struct loop *L = arg;
	size_t n = strlen(line);

	if (n >= 11 && strcmp(line + n - 11, ": unchanged") == 0)
		return;
	lg(L, APPROVER_LOG_INFO, "%s", line);
}

static void
token_sync(struct loop *L)
{
	struct slw_diag d;
	time_t now = slw_now();
	int r;

	if (L->o->token_sync_seconds == 0 || now < L->next_token_sync)
		return;
	L->next_token_sync = now + L->o->token_sync_seconds;
	slw_diag_clear(&d);
	r = kube_cluster_apply(L->k, L->s, L->inv, KUBE_CLUSTER_TOKENS_ONLY |
	    KUBE_CLUSTER_NO_NEW_TOKENS, ACTOR, sync_report, L, NULL, &d);
	if (r != 0)
		lg(L, APPROVER_LOG_WARN, "bootstrap-token Secrets: %s",
		    slw_diag_str(&d, r));
}

/* Errors that waiting does not cure. */
static int
fatal(int r)
{
	return r == SLW_ERR_NOKEK || r == SLW_ERR_KEK || r == SLW_ERR_INVALID ||
	    r == SLW_ERR_UNSUPPORTED || r == SLW_ERR_CORRUPT ||
	    r == SLW_ERR_SCHEMA || r == SLW_ERR_NOMEM;
}

static void
drop_client(struct loop *L)
{
	kube_free(L->k);
	L->k = NULL;
}

int
approver_run(struct store *s, const struct inventory *inv,
    const struct approver_opts *o, const atomic_int *stop,
    struct approver_stats *stats, struct slw_diag *d)
{
	struct approver_stats local;
	struct kube_backoff bo;
	struct slw_diag dd;
	struct loop *L;
	unsigned int ms;
	time_t t0;
	int r, ret = 0;

	if (s == NULL || inv == NULL || o == NULL)
		return SLW_ERR_INVALID;
	if (store_kek(s) == NULL)
		return slw_diag(d, SLW_ERR_NOKEK, "the approver needs the "
		    "store's key-encryption key");
	if ((L = calloc(1, sizeof(*L))) == NULL)
		return SLW_ERR_NOMEM;
	L->s = s;
	L->inv = inv;
	L->o = o;
	L->stop = stop;
	L->st = stats ? stats : &local;
	memset(L->st, 0, sizeof(*L->st));
	L->pol.inv = inv;
	L->pol.token_id = token_id;
	L->pol.token_arg = L;
	kube_backoff_init(&bo, o->backoff_cap_ms);

	while (!stopping(L)) {
		slw_diag_clear(&dd);
		if (L->k != NULL && slw_now() > L->cert_not_after -
		    RECONNECT_MARGIN)
			drop_client(L);
		if (L->k == NULL) {
			r = kube_session_open(s, inv, o->apiserver, ACTOR, &L->k,
			    &L->cert_not_after, &dd);
			if (r != 0) {
				if (fatal(r) || o->once) {
					ret = slw_diag(d, r, "%s",
					    slw_diag_str(&dd, r));
					break;
				}
				ms = kube_backoff_next(&bo);
				lg(L, APPROVER_LOG_WARN, "cannot connect to the "
				    "API server: %s; retrying in %u ms",
				    slw_diag_str(&dd, r), ms);
				nap(L, ms);
				continue;
			}
			kube_set_stop(L->k, stop);
		}
		L->list_failed = 0;
		r = kube_list(L->k, CSR_PATH, NULL, 0, on_item, L, L->rv, &dd);
		L->st->lists++;
		if (stopping(L))
			break;
		if (r != 0) {
			if (o->once) {
				ret = slw_diag(d, r, "%s", slw_diag_str(&dd, r));
				break;
			}
			ms = kube_backoff_next(&bo);
			lg(L, APPROVER_LOG_WARN, "listing certificate signing "
			    "requests: %s; retrying in %u ms",
			    slw_diag_str(&dd, r), ms);
			if (r == SLW_ERR_AUTH)
				drop_client(L);
			nap(L, ms);
			continue;
		}
		if (o->once) {
			if (L->list_failed)
				ret = slw_diag(d, SLW_ERR_IO, "some CSRs could "
				    "not be processed (see above)");
			break;
		}
		if (L->list_failed) {
			ms = kube_backoff_next(&bo);
			nap(L, ms);
			continue;	/* list again to retry them */
		}
		kube_backoff_reset(&bo);
		lg(L, APPROVER_LOG_INFO, "watching certificate signing requests "
		    "from resourceVersion %s", L->rv);
		while (!stopping(L)) {
			token_sync(L);
			if (slw_now() > L->cert_not_after - RECONNECT_MARGIN) {
				drop_client(L);
				break;
			}
			slw_diag_clear(&dd);
			t0 = slw_now();
			r = kube_watch(L->k, CSR_PATH, NULL, L->rv, on_event, L,
			    &dd);
			L->st->watches++;
			if (stopping(L))
				break;
			if (r == 0) {
				if (slw_now() - t0 < KUBE_WATCH_SECONDS - 5)
					lg(L, APPROVER_LOG_INFO, "watch closed "
					    "by the server after %llds; resuming "
					    "from resourceVersion %s",
					    (long long)(slw_now() - t0), L->rv);
				L->st->resumed++;
				kube_backoff_reset(&bo);
				continue;
			}
			if (r == SLW_ERR_EXPIRED) {
				lg(L, APPROVER_LOG_INFO, "resourceVersion %s is "
				    "too old (410 Gone): listing again", L->rv);
				L->st->relists++;
				break;
			}
			ms = kube_backoff_next(&bo);
			lg(L, APPROVER_LOG_WARN, "watch: %s; resuming from "
			    "resourceVersion %s in %u ms", slw_diag_str(&dd, r),
			    L->rv, ms);
			if (r == SLW_ERR_AUTH || r == SLW_ERR_DENIED) {
				drop_client(L);
				nap(L, ms);
				break;
			}
			L->st->resumed++;
			nap(L, ms);
		}
	}
	drop_client(L);
	signing_free(L->sg);
	free(L);
	return ret;
}

/* ---- in a thread ---- */

struct approver {
	pthread_t th;
	atomic_int stop;
	struct store *s;
	const struct inventory *inv;
	struct approver_opts o;
	struct approver_stats st;
	struct slw_diag d;
	int result;
};

static void *
thread_main(void *arg)
{
	struct approver *a = arg;

	a->result = approver_run(a->s, a->inv, &a->o, &a->stop, &a->st, &a->d);
	if (a->result != 0 && a->o.log != NULL) {
		char msg[SLW_DIAG_MAX + 32];

		snprintf(msg, sizeof(msg), "approver stopped: %s",
		    slw_diag_str(&a->d, a->result));
		a->o.log(a->o.log_arg, APPROVER_LOG_WARN, msg);
	}
	return NULL;
}

int
approver_start(struct store *s, const struct inventory *inv,
    const struct approver_opts *o, struct approver **out, struct slw_diag *d)
{
	struct approver *a;

	*out = NULL;
	if (s == NULL || inv == NULL || o == NULL || o->once)
		return SLW_ERR_INVALID;
	if (store_kek(s) == NULL)
		return slw_diag(d, SLW_ERR_NOKEK, "the approver needs the "
		    "store's key-encryption key");
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return SLW_ERR_NOMEM;
	atomic_init(&a->stop, 0);
	a->s = s;
	a->inv = inv;
	a->o = *o;
	if (pthread_create(&a->th, NULL, thread_main, a) != 0) {
		free(a);
		return slw_diag(d, SLW_ERR_INTERNAL, "cannot start the approver "
		    "thread");
	}
	*out = a;
	return 0;
}

void
approver_stop(struct approver *a)
{
	if (a == NULL)
		return;
	atomic_store(&a->stop, 1);
	pthread_join(a->th, NULL);
	free(a);
}
