// SPDX-License-Identifier: Apache-2.0
/*
 * approver.c: the CSR approver as a controller, in the slipway-approver
 * process: list, then watch from the list's resourceVersion; every event
 * is decided by the policy, the decision written to the CSR (approval
 * subresource) and, through the monitor, the audit log; approved CSRs are
 * sent to the monitor to be signed (approver_client.c) and their
 * status.certificate written (status subresource). A failed event is not
 * acknowledged (the watch resumes before it); a 409 re-reads the CSR and
 * decides again; the API being down is retried with capped exponential
 * backoff. Each CSR is signed at most once: the monitor records it under
 * "<node>/csr/<uid>" before answering, and a retry gets the recorded
 * certificate. Must never ask for a signature the policy does not approve,
 * whoever approved the CSR, and never hold a CA key or the store.
 */
#include "approver.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/base64.h>

#include "kube.h"
#include "kube_cluster.h"
#include "nodetoken.h"
#include "rand.h"

#define CSR_PATH "/apis/certificates.k8s.io/v1/certificatesigningrequests"
#define ACTOR "approver"
#define DONE_MAX 4096
#define RECONNECT_MARGIN 3600	/* renew the client cert an hour early */

struct loop {
	struct approver_client *ac;	/* the monitor */
	const struct inventory *inv;
	const struct approver_opts *o;
	const atomic_int *stop;
	struct approver_stats *st;
	struct kube *k;
	char url[PS_APR_URL_MAX];
	time_t cert_not_after;
	struct approver_policy pol;
	char rv[KUBE_RV_MAX];
	int list_failed;		/* a CSR of the last list needs a retry */
	time_t next_token_sync;
	/* CSRs (by uid) already in a final state: skipped without a call */
	char done[DONE_MAX][64];
	size_t done_next;
};

/* Asked to stop, or the monitor is gone (nothing can be done then). */
static int
stopping(const struct loop *L)
{
	return (L->stop != NULL && atomic_load(L->stop)) ||
	    approver_client_lost(L->ac);
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

/* ---- the audit log, through the monitor ---- */

static int
audit(struct loop *L, unsigned int action, const char *csr,
    const char *detail, struct slw_diag *d)
{
	return approver_client_audit(L->ac, action, csr, detail, d);
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

/* Writes Failed ("not signed: why") to a CSR that will not be signed. */
static int
refuse(struct loop *L, const struct approver_csr *c, const cJSON *obj,
    const char *why, const char *by, struct slw_diag *d)
{
	char msg[APPROVER_REASON_MAX + 32];
	int r;

	snprintf(msg, sizeof(msg), "not signed: %s", why);
	if ((r = write_csr(L, obj, c->name, "status", "Failed", msg, NULL,
	    NULL, d)) != 0)
		return r;
	if ((r = audit(L, PS_APR_AUDIT_CSR_FAIL, c->name, msg, d)) != 0)
		return r;
	lg(L, APPROVER_LOG_INFO, "refused to sign csr %s (%s): %s", c->name,
	    by, why);
	L->st->denied++;
	done_add(L, c->uid);
	return 0;
}

/*
 * Has the monitor sign (or re-publish) the certificate of an approved CSR
 * and writes it to status.certificate. The monitor decides again on what
 * it receives: its refusal is final (Failed), whoever approved.
 */
static int
sign_approved(struct loop *L, const struct approver_csr *c,
    const cJSON *obj, const struct approver_decision *dec0,
    struct slw_diag *d)
{
	struct approver_decision ev;
	struct approver_signed sd;
	char *b64 = NULL;
	size_t blen = 0;
	int r;

	memset(&ev, 0, sizeof(ev));
	memset(&sd, 0, sizeof(sd));
	if (dec0 == NULL) {
		/* approved by someone else: ask only for what the policy
		 * allows */
		if ((r = approver_policy_evaluate(&L->pol, &c->rq, &ev)) != 0)
			goto out;
		if (ev.verdict != APPROVER_APPROVE) {
			r = refuse(L, c, obj, ev.reason, "approved elsewhere", d);
			goto out;
		}
	}
	r = approver_client_sign(L->ac, c, &sd, d);
	if (r == SLW_ERR_DENIED) {
		char why[SLW_DIAG_MAX];

		snprintf(why, sizeof(why), "%s", slw_diag_str(d, r));
		slw_diag_clear(d);
		r = refuse(L, c, obj, why, "the monitor's policy", d);
		goto out;
	}
	if (r != 0)
		goto out;
	mbedtls_base64_encode(NULL, 0, &blen, sd.chain.data, sd.chain.len);
	if ((b64 = malloc(blen + 1)) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	if (mbedtls_base64_encode((unsigned char *)b64, blen + 1, &blen,
	    sd.chain.data, sd.chain.len) != 0) {
		r = SLW_ERR_INTERNAL;
		goto out;
	}
	b64[blen] = '\0';
	if ((r = write_csr(L, obj, c->name, "status", NULL, NULL, b64, NULL,
	    d)) != 0)
		goto out;
	lg(L, APPROVER_LOG_INFO, "signed csr %s for node %s (%s): serial %s%s",
	    c->name, sd.node, approver_sign_purpose(dec0 != NULL ? dec0->kind :
	    ev.kind), sd.serial, sd.again ? " (recorded earlier)" : "");
	L->st->signed_++;
	done_add(L, c->uid);
	r = 0;
 out:
	free(b64);
	approver_signed_free(&sd);
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
		done_add(L, c.uid);
		r = audit(L, PS_APR_AUDIT_CSR_DENY, c.name, dec.reason, d);
		break;
	case APPROVER_APPROVE:
		if ((r = write_csr(L, obj, c.name, "approval", "Approved",
		    dec.reason, NULL, &fresh, d)) != 0)
			goto out;
		lg(L, APPROVER_LOG_INFO, "approved csr %s: %s", c.name,
		    dec.reason);
		L->st->approved++;
		if ((r = audit(L, PS_APR_AUDIT_CSR_APPROVE, c.name, dec.reason,
		    d)) != 0)
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

/* The tokens as they are in the store, from the monitor. */
static int
sync_token(void *arg, const char *node, int create, struct node_token *out,
    struct slw_diag *d)
{
	struct loop *L = arg;

	if (create)		/* never: KUBE_CLUSTER_NO_NEW_TOKENS */
		return SLW_ERR_INVALID;
	return approver_client_token(L->ac, node, out, d);
}

static int
sync_audit(void *arg, const char *actor, const char *object,
    const char *detail, struct slw_diag *d)
{
	struct loop *L = arg;

	(void)actor;		/* the monitor records "approver" */
	return approver_client_audit(L->ac, PS_APR_AUDIT_KUBE_APPLY, object,
	    detail, d);
}

static void
token_sync(struct loop *L)
{
	struct kube_cluster_src src;
	struct slw_diag d;
	time_t now = slw_now();
	int r;

	if (L->o->token_sync_seconds == 0 || now < L->next_token_sync)
		return;
	L->next_token_sync = now + L->o->token_sync_seconds;
	slw_diag_clear(&d);
	src.token = sync_token;
	src.audit = sync_audit;
	src.arg = L;
	r = kube_cluster_apply_src(L->k, &src, L->inv, KUBE_CLUSTER_TOKENS_ONLY |
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
approver_run(struct approver_client *ac, const struct inventory *inv,
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

	if (ac == NULL || inv == NULL || o == NULL)
		return SLW_ERR_INVALID;
	if ((L = calloc(1, sizeof(*L))) == NULL)
		return SLW_ERR_NOMEM;
	L->ac = ac;
	L->inv = inv;
	if (o->apiserver != NULL)
		snprintf(L->url, sizeof(L->url), "%s", o->apiserver);
	else
		inventory_apiserver_url(inv, L->url, sizeof(L->url));
	L->o = o;
	L->stop = stop;
	L->st = stats ? stats : &local;
	memset(L->st, 0, sizeof(*L->st));
	L->pol.inv = inv;
	L->pol.token_id = approver_client_token_id;
	L->pol.token_arg = ac;
	kube_backoff_init(&bo, o->backoff_cap_ms);

	while (!stopping(L)) {
		slw_diag_clear(&dd);
		if (L->k != NULL && slw_now() > L->cert_not_after -
		    RECONNECT_MARGIN)
			drop_client(L);
		if (L->k == NULL) {
			r = approver_client_session(ac, L->url, &L->k,
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
			/* a new session from the monitor: a new client
			 * certificate (AUTH: the CA that signed ours is no longer
			 * trusted) or a new trust bundle (VERIFY: the apiserver
			 * presents a certificate of a CA generation made since) */
			if (r == SLW_ERR_AUTH || r == SLW_ERR_VERIFY)
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
			if (r == SLW_ERR_AUTH || r == SLW_ERR_DENIED ||
			    r == SLW_ERR_VERIFY) {
				drop_client(L);
				nap(L, ms);
				break;
			}
			L->st->resumed++;
			nap(L, ms);
		}
	}
	if (ret == 0 && approver_client_lost(ac))
		ret = slw_diag(d, SLW_ERR_IO, "the monitor is gone");
	drop_client(L);
	free(L);
	return ret;
}
