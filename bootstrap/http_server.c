// SPDX-License-Identifier: Apache-2.0
/*
 * http_server.c: the HTTPS endpoint on libmicrohttpd: connection
 * admission, routing, limits, the redemption worker pool, request
 * deadlines, the access log and a graceful stop. Runs in serve's network
 * child: every token, the store and the signer are reached through the
 * monitor (privsep_client.h). Must never log or echo a token or a key,
 * never tell a client why a token failed, never read a body before
 * bounding it, and never hold a CA key, the KEK or the store.
 */
#include "http_server.h"
#include "http_artifact.h"
#include "http_guard.h"
#include "http_limits.h"
#include "http.h"
#include "http_tls.h"
#include "privsep_client.h"
#include "rand.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <mbedtls/platform_util.h>

#define BODY_CAP CSR_MAX_LEN
#define ERR_TOKEN "invalid or expired token"
#define CT_JSON "application/json"
#define HEAD_TIMEOUT 10		/* s: TLS handshake and request head */
#define POOL_SIZE (32 * 1024)	/* libmicrohttpd's memory per connection */
#define LOG_WINDOW 10		/* s: lines a client can cause... */
#define LOG_PER_WINDOW 5	/* ...at most this many of each kind */

/* What we keep per connection (libmicrohttpd's socket context). */
struct conn {
	struct http_guard g;		/* first: the guard hands us back */
	struct http_server *h;
	struct conn_entry *ce;
	char peer[HTTP_ADDR_MAX];
};

enum stage { ST_NEW = 0, ST_RECV, ST_WORKING, ST_DONE, ST_ANSWERED };

struct req {
	struct http_server *h;
	struct MHD_Connection *conn;
	struct conn_entry *ce;
	const char *url;		/* libmicrohttpd's, for the request */
	enum http_ep ep;
	enum stage stage;
	int late;			/* began after the stop was asked */
	int v1;				/* the path is under /v1/ */
	int too_big;
	struct buf body;
	char token[HTTP_AUTH_MAX + 1];	/* secret: wiped in req_free */
	size_t token_len;
	char peer[HTTP_ADDR_MAX];
	struct sockaddr_storage peer_sa;
	char node[64];
	int has_node;
	char crl_ca[32];		/* EP_CRL: which CA */
	char id[TOKEN_ID_LEN + 1];	/* claimed in the in-flight guard */
	time_t now;
	struct timespec t0;
	/* the answer, made by a worker or by the loop */
	struct MHD_Response *resp;
	unsigned int status;
	char note[160];			/* for the access log; never a secret */
	struct req *next;		/* work queue */
};

/* Connection events logged as one line per LOG_WINDOW, with counts. */
struct conn_counts {
	unsigned long refused[2], evicted, deadline;
};

struct http_server {
	struct http_config c;
	struct MHD_Daemon *d;
	struct http_metrics m;
	struct ratelim *rl;
	struct inflight *inf;
	struct conntrack *ct;
	struct loglimit *ll;		/* lines a client can cause */
	struct conn_counts logged;	/* counts in the last summary line */
	struct http_artifacts *arts;	/* GET /v1/artifacts: per-node limits */
	struct MHD_Response *r401;	/* the one refused-token answer */
	pthread_mutex_t ca_mu;		/* guards ca_resp */
	struct MHD_Response *ca_resp;
	struct buf ca_pem;
	/* workers */
	pthread_mutex_t q_mu;
	pthread_cond_t q_cv;
	struct req *q_head, *q_tail;
	size_t q_len;
	pthread_t *workers;
	unsigned int n_workers;
	int q_stop;
	/* sweeper */
	pthread_t sweeper;
	int have_sweeper;
	pthread_mutex_t sw_mu;
	pthread_cond_t sw_cv;
	int sw_stop;
	atomic_int active;		/* requests not yet completed */
	atomic_int stopping;
	atomic_int handover;		/* stopping for a new child: no 503 */
};

/* ---- small helpers ---- */

static void
logf_(struct http_server *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
logf_(struct http_server *h, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	size_t i;

	if (h->c.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* parts of a line can come from a CSR: one printable line, always */
	for (i = 0; line[i] != '\0'; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] == 0x7f)
			line[i] = '?';
	h->c.log(h->c.log_cls, line);
}

static void
add_common_headers(struct MHD_Response *r, const char *ctype)
{
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
}

static struct MHD_Response *
json_error(const char *msg)
{
	struct MHD_Response *r;
	struct buf b = { 0 };

	if (http_error_json(msg, &b) != 0) {
		buf_free(&b);
		return NULL;
	}
	r = MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_COPY);
	buf_free(&b);
	if (r != NULL)
		add_common_headers(r, CT_JSON);
	return r;
}

/* Queues r (dropping our reference) and remembers the status. */
static enum MHD_Result
answer(struct req *q, unsigned int status, struct MHD_Response *r)
{
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;	/* out of memory: drop the connection */
	if (atomic_load(&q->h->stopping))
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	q->status = status;
	ret = MHD_queue_response(q->conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
answer_error(struct req *q, unsigned int status, const char *msg)
{
	return answer(q, status, json_error(msg));
}

static struct MHD_Response *
new_401(void)
{
	struct MHD_Response *r = json_error(ERR_TOKEN);

	if (r != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer");
	return r;
}

/*
 * The shared refused-token answer: identical status, headers and body.
 * While stopping, a copy of it that also closes the connection.
 */
static enum MHD_Result
answer_401(struct req *q)
{
	if (atomic_load(&q->h->stopping))
		return answer(q, MHD_HTTP_UNAUTHORIZED, new_401());
	q->status = MHD_HTTP_UNAUTHORIZED;
	return MHD_queue_response(q->conn, MHD_HTTP_UNAUTHORIZED, q->h->r401);
}

static void
req_free(struct req *q)
{
	if (q == NULL)
		return;
	if (q->resp != NULL)
		MHD_destroy_response(q->resp);
	buf_free(&q->body);
	mbedtls_platform_zeroize(q, sizeof(*q));
	free(q);
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* ---- /v1/ca.pem: a cached response, refreshed by the sweeper ---- */

static struct MHD_Response *
ca_response(const struct buf *pem)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_buffer(pem->len, pem->data,
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return NULL;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/x-pem-file");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	return r;
}

static int
ca_refresh(struct http_server *h)
{
	struct buf pem = { 0 };
	struct MHD_Response *r, *old;
	int rc;

	if (h->c.sealed)	/* nothing to serve: every /v1/ is 503 */
		return 0;
	if ((rc = privsep_client_ca_pem(h->c.ps, &pem)) != 0) {
		buf_free(&pem);
		return rc;
	}
	if (h->ca_resp != NULL && pem.len == h->ca_pem.len &&
	    memcmp(pem.data, h->ca_pem.data, pem.len) == 0) {
		buf_free(&pem);
		return 0;
	}
	if ((r = ca_response(&pem)) == NULL) {
		buf_free(&pem);
		return SLW_ERR_NOMEM;
	}
	pthread_mutex_lock(&h->ca_mu);
	old = h->ca_resp;
	h->ca_resp = r;
	buf_move(&h->ca_pem, &pem);
	pthread_mutex_unlock(&h->ca_mu);
	if (old != NULL)
		MHD_destroy_response(old);
	return 0;
}

static enum MHD_Result
serve_ca(struct req *q)
{
	struct http_server *h = q->h;
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (atomic_load(&h->stopping)) {	/* a copy that closes */
		pthread_mutex_lock(&h->ca_mu);
		r = ca_response(&h->ca_pem);
		pthread_mutex_unlock(&h->ca_mu);
		return answer(q, MHD_HTTP_OK, r);
	}
	pthread_mutex_lock(&h->ca_mu);
	q->status = MHD_HTTP_OK;
	ret = MHD_queue_response(q->conn, MHD_HTTP_OK, h->ca_resp);
	pthread_mutex_unlock(&h->ca_mu);
	return ret;
}

/* ---- /healthz, /metrics ---- */

static enum MHD_Result
serve_health(struct req *q)
{
	static const char ok[] = "ok\n";
	struct MHD_Response *r;
	char why[SLW_DIAG_MAX];

	/* the monitor's store answers a read and could take a write */
	if (privsep_client_health(q->h->c.ps, why, sizeof(why)) != 0)
		return answer_error(q, MHD_HTTP_SERVICE_UNAVAILABLE,
		    why[0] != '\0' ? why : "store unavailable");
	r = MHD_create_response_from_buffer(sizeof(ok) - 1, (void *)ok,
	    MHD_RESPMEM_PERSISTENT);
	if (r != NULL)
		add_common_headers(r, "text/plain; charset=utf-8");
	return answer(q, MHD_HTTP_OK, r);
}

static enum MHD_Result
serve_metrics(struct req *q)
{
	struct MHD_Response *r;
	struct buf b = { 0 };

	/* sealed: the HTTP counters only; the monitor's come once it serves */
	if (http_metrics_render(&q->h->m, NULL, slw_now(), &b) != 0 ||
	    buf_appendf(&b, "# HELP slipway_sealed 1 while the appliance waits "
	    "for its key-encryption key (slipway unseal).\n# TYPE slipway_sealed "
	    "gauge\nslipway_sealed %d\n", q->h->c.sealed ? 1 : 0) != 0 ||
	    (!q->h->c.sealed && privsep_client_metrics(q->h->c.ps, &b) != 0)) {
		buf_free(&b);
		return answer_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "internal error");
	}
	r = MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_COPY);
	buf_free(&b);
	if (r != NULL)
		add_common_headers(r, "text/plain; version=0.0.4; charset=utf-8");
	return answer(q, MHD_HTTP_OK, r);
}

/* ---- /v1/crl/<ca>.pem: no auth; the monitor re-signs what is due ---- */

static enum MHD_Result
serve_crl(struct req *q)
{
	struct MHD_Response *r;
	struct buf pem = { 0 };
	int rc;

	rc = privsep_client_crl_pem(q->h->c.ps, q->crl_ca, &pem);
	if (rc == SLW_ERR_NOTFOUND) {
		buf_free(&pem);
		return answer_error(q, MHD_HTTP_NOT_FOUND, "unknown CA");
	}
	if (rc != 0) {
		buf_free(&pem);
		snprintf(q->note, sizeof(q->note), "CRL: %s", slw_strerror(rc));
		return answer_error(q, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "the CRL is not available");
	}
	r = MHD_create_response_from_buffer(pem.len, pem.data,
	    MHD_RESPMEM_MUST_COPY);
	buf_free(&pem);
	if (r != NULL)
		add_common_headers(r, "application/x-pem-file");
	return answer(q, MHD_HTTP_OK, r);
}

/* ---- token endpoints ---- */

static void
count(atomic_ulong *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* A refused token: rate-limit bookkeeping, metrics, the identical 401. */
static enum MHD_Result
refuse(struct req *q, enum token_fail why)
{
	ratelim_fail(q->h->rl, (struct sockaddr *)&q->peer_sa, q->now);
	http_metrics_refused(&q->h->m, why);
	snprintf(q->note, sizeof(q->note), "token %s refused (%s)",
	    q->id[0] ? q->id : "-", token_fail_name(why));
	return answer_401(q);
}

static void
bundle_free_cb(void *p)
{
	struct buf *b = p;

	buf_free(b);
	free(b);
}

/* Runs on a worker: the expensive part of a redemption. */
static void
work(struct req *q)
{
	struct http_server *h = q->h;
	struct redeem_req rq;
	struct redeem_res res;
	struct slw_diag d;
	struct MHD_Response *r = NULL;
	unsigned int status;
	int rc;

	memset(&rq, 0, sizeof(rq));
	rq.token = q->token;
	rq.token_len = q->token_len;
	rq.peer = q->peer;
	rq.node = q->has_node ? q->node : NULL;
	rq.now = q->now;
	slw_diag_clear(&d);
	if (q->ep == EP_BUNDLE)
		rc = privsep_client_redeem(h->c.ps, &rq, &res, &d);
	else
		rc = privsep_client_enroll(h->c.ps, &rq, q->body.data, q->body.len,
		    &res, &d);
	inflight_release(h->inf, q->id);
	mbedtls_platform_zeroize(q->token, sizeof(q->token));
	if (rc == 0) {
		struct buf *b = calloc(1, sizeof(*b));

		status = MHD_HTTP_OK;
		if (b != NULL) {
			buf_move(b, &res.body);
			r = MHD_create_response_from_buffer_with_free_callback_cls(
			    b->len, b->data, bundle_free_cb, b);
			if (r == NULL)
				bundle_free_cb(b);
		}
		if (r != NULL) {
			if (q->ep == EP_BUNDLE) {
				char cd[128];

				add_common_headers(r, "application/gzip");
				snprintf(cd, sizeof(cd),
				    "attachment; filename=\"slipway-%s.tar.gz\"",
				    res.ti.node);
				MHD_add_response_header(r,
				    MHD_HTTP_HEADER_CONTENT_DISPOSITION, cd);
			} else
				add_common_headers(r, "application/x-pem-file");
		}
		count(&h->m.outcomes[TO_REDEEMED]);
		atomic_fetch_add_explicit(&h->m.certs_issued[q->ep == EP_BUNDLE ?
		    0 : 1], res.iss.n, memory_order_relaxed);
		if (q->ep == EP_BUNDLE)
			count(&h->m.bundles);
		snprintf(q->note, sizeof(q->note), "token %s redeemed: node %s, "
		    "%zu certificate%s", res.ti.id, res.ti.node, res.iss.n,
		    res.iss.n == 1 ? "" : "s");
	} else if (rc == SLW_ERR_AUTH) {
		ratelim_fail(h->rl, (struct sockaddr *)&q->peer_sa, q->now);
		http_metrics_refused(&h->m, res.why);
		snprintf(q->note, sizeof(q->note), "token %s refused at commit "
		    "(%s)", q->id, token_fail_name(res.why));
		status = MHD_HTTP_UNAUTHORIZED;
		r = NULL;	/* the shared answer, see handler() */
	} else {
		const char *msg = slw_diag_str(&d, rc);

		switch (rc) {
		case SLW_ERR_TOOBIG:
			status = MHD_HTTP_CONTENT_TOO_LARGE;
			break;
		case SLW_ERR_PARSE:
		case SLW_ERR_INVALID:
		case SLW_ERR_UNSUPPORTED:
			status = MHD_HTTP_BAD_REQUEST;
			break;
		case SLW_ERR_DENIED:
			status = MHD_HTTP_FORBIDDEN;
			break;
		case SLW_ERR_NOSPACE:	/* nothing was written: try later */
			status = MHD_HTTP_SERVICE_UNAVAILABLE;
			break;
		default:
			status = MHD_HTTP_INTERNAL_SERVER_ERROR;
			break;
		}
		if (status == MHD_HTTP_SERVICE_UNAVAILABLE) {
			count(&h->m.outcomes[TO_ERROR]);
			snprintf(q->note, sizeof(q->note), "token %s not "
			    "consumed: %s", q->id, msg);
		} else if (status == MHD_HTTP_INTERNAL_SERVER_ERROR) {
			count(&h->m.outcomes[TO_ERROR]);
			snprintf(q->note, sizeof(q->note), "token %s: %s", q->id,
			    msg);
			msg = "internal error";
		} else {
			count(&h->m.outcomes[TO_DENIED]);
			snprintf(q->note, sizeof(q->note), "token %s not "
			    "consumed: %s", q->id, msg);
		}
		r = json_error(msg);
	}
	redeem_res_free(&res);
	q->status = status;
	q->resp = r;
	q->stage = ST_DONE;
	MHD_resume_connection(q->conn);
}

static void *
worker_main(void *arg)
{
	struct http_server *h = arg;
	struct req *q;

	for (;;) {
		pthread_mutex_lock(&h->q_mu);
		while (h->q_head == NULL && !h->q_stop)
			pthread_cond_wait(&h->q_cv, &h->q_mu);
		if (h->q_head == NULL) {
			pthread_mutex_unlock(&h->q_mu);
			return NULL;
		}
		q = h->q_head;
		h->q_head = q->next;
		if (h->q_head == NULL)
			h->q_tail = NULL;
		h->q_len--;
		pthread_mutex_unlock(&h->q_mu);
		q->next = NULL;
		work(q);
	}
}

static int
enqueue(struct http_server *h, struct req *q)
{
	pthread_mutex_lock(&h->q_mu);
	if (h->q_len >= h->c.max_pending) {
		pthread_mutex_unlock(&h->q_mu);
		return SLW_ERR_LIMIT;
	}
	if (h->q_tail != NULL)
		h->q_tail->next = q;
	else
		h->q_head = q;
	h->q_tail = q;
	h->q_len++;
	pthread_cond_signal(&h->q_cv);
	pthread_mutex_unlock(&h->q_mu);
	return 0;
}

static struct MHD_Response *
busy_response(void)
{
	struct MHD_Response *r = json_error("busy; retry later");

	if (r != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	return r;
}

static enum MHD_Result
answer_busy(struct req *q)
{
	count(&q->h->m.outcomes[TO_BUSY]);
	snprintf(q->note, sizeof(q->note), "busy");
	return answer(q, MHD_HTTP_SERVICE_UNAVAILABLE, busy_response());
}

static enum MHD_Result
serve_token(struct req *q)
{
	struct http_server *h = q->h;
	const union MHD_ConnectionInfo *ci;
	const char *auth, *tok, *node;
	struct redeem_req rq;
	struct redeem_res res;
	size_t toklen;
	unsigned int retry;
	char ra[16];
	int rc;

	ci = MHD_get_connection_info(q->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && ci->client_addr != NULL) {
		size_t sl = ci->client_addr->sa_family == AF_INET6 ?
		    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);

		memcpy(&q->peer_sa, ci->client_addr, sl);
	}
	http_addr_text((struct sockaddr *)&q->peer_sa, q->peer, sizeof(q->peer));
	q->now = slw_now();
	if (ratelim_blocked(h->rl, (struct sockaddr *)&q->peer_sa, q->now,
	    &retry)) {
		struct MHD_Response *r = json_error(
		    "too many failed token attempts from this address; retry later");

		count(&h->m.outcomes[TO_RATE_LIMITED]);
		snprintf(q->note, sizeof(q->note), "rate limited");
		if (r != NULL) {
			snprintf(ra, sizeof(ra), "%u", retry);
			MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
		}
		return answer(q, MHD_HTTP_TOO_MANY_REQUESTS, r);
	}
	auth = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	if (auth == NULL ||
	    http_bearer(auth, strnlen(auth, HTTP_AUTH_MAX + 1), &tok, &toklen)
	    != 0 || toklen > HTTP_AUTH_MAX)
		return refuse(q, TOKEN_FAIL_MALFORMED);
	memcpy(q->token, tok, toklen);
	q->token[toklen] = '\0';
	q->token_len = toklen;
	node = MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, "node");
	if (node != NULL) {
		size_t nl = strnlen(node, sizeof(q->node));

		if (!http_node_name_ok(node, nl))
			return refuse(q, TOKEN_FAIL_NODE);
		memcpy(q->node, node, nl);
		q->node[nl] = '\0';
		q->has_node = 1;
	}
	/* Cheap read-only check here, so refused tokens never reach a worker. */
	memset(&rq, 0, sizeof(rq));
	rq.token = q->token;
	rq.token_len = q->token_len;
	rq.peer = q->peer;
	rq.node = q->has_node ? q->node : NULL;
	rq.now = q->now;
	rc = privsep_client_precheck(h->c.ps, &rq, &res, NULL);
	snprintf(q->id, sizeof(q->id), "%s", res.ti.id);
	if (rc == SLW_ERR_AUTH)
		return refuse(q, res.why);
	if (rc != 0) {
		count(&h->m.outcomes[TO_ERROR]);
		snprintf(q->note, sizeof(q->note), "token check failed: %s",
		    slw_strerror(rc));
		return answer_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "internal error");
	}
	if (q->ep == EP_ENROLL && q->too_big) {
		count(&h->m.outcomes[TO_DENIED]);
		snprintf(q->note, sizeof(q->note), "token %s not consumed: body "
		    "over %d bytes", q->id, BODY_CAP);
		return answer_error(q, MHD_HTTP_CONTENT_TOO_LARGE,
		    "request body over 65536 bytes");
	}
	rc = inflight_claim(h->inf, q->id);
	if (rc == SLW_ERR_BUSY) {
		/* someone is redeeming it right now: it will be used */
		count(&h->m.outcomes[TO_BUSY]);
		return refuse(q, TOKEN_FAIL_USED);
	}
	if (rc != 0)
		return answer_busy(q);
	/*
	 * Suspend before a worker can see the request: a resume that came
	 * first would be lost and the answer would wait for the idle timeout.
	 */
	q->stage = ST_WORKING;
	MHD_suspend_connection(q->conn);
	if (enqueue(h, q) != 0) {
		inflight_release(h->inf, q->id);
		q->resp = busy_response();
		q->status = MHD_HTTP_SERVICE_UNAVAILABLE;
		count(&h->m.outcomes[TO_BUSY]);
		snprintf(q->note, sizeof(q->note), "busy");
		q->stage = ST_DONE;
		MHD_resume_connection(q->conn);
	}
	return MHD_YES;
}

/* ---- /v1/artifacts/<sha256> (http_artifact.c) ---- */

static enum MHD_Result
serve_artifact(struct req *q)
{
	struct MHD_Response *r = NULL;
	unsigned int status = MHD_HTTP_INTERNAL_SERVER_ERROR;

	http_artifacts_answer(q->h->arts, q->h->c.ps, q->conn, q->url, &status,
	    &r, q->note, sizeof(q->note));
	return answer(q, status, r);
}

/* ---- the access handler ---- */

/*
 * What is decided from the request line and header fields alone, before a
 * byte of the body is read or a token looked at: the stop, the path, the
 * method, whether it may have a body and how large. 1 if q was answered
 * (a body that was on its way is then not read: the connection closes).
 */
static int
answer_early(struct req *q, const char *method, enum MHD_Result *ret)
{
	int get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
	int head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	int post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
	const char *cl, *te, *allow;
	struct MHD_Response *r;
	long long declared = -1;

	/* began after SIGTERM; those before are answered. In a handover
	 * the monitor is still there: answer it (with Connection: close). */
	if (q->late && !atomic_load(&q->h->handover)) {
		*ret = answer_error(q, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "shutting down");
		return 1;
	}
	/* sealed: no token is even read, and the monitor is not asked */
	if (q->h->c.sealed && (q->v1 || q->ep == EP_HEALTHZ)) {
		*ret = answer_error(q, MHD_HTTP_SERVICE_UNAVAILABLE, "sealed");
		return 1;
	}
	if (q->ep == EP_OTHER) {
		*ret = answer_error(q, MHD_HTTP_NOT_FOUND, "not found");
		return 1;
	}
	/* HEAD never redeems: it would consume a token and send nothing. */
	allow = q->ep == EP_ENROLL ? "POST" : q->ep == EP_BUNDLE ? "GET" :
	    "GET, HEAD";
	if ((q->ep == EP_ENROLL && !post) || (q->ep == EP_BUNDLE && !get) ||
	    (q->ep != EP_ENROLL && q->ep != EP_BUNDLE && !get && !head)) {
		r = json_error("method not allowed");
		if (r != NULL)
			MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
		*ret = answer(q, MHD_HTTP_METHOD_NOT_ALLOWED, r);
		return 1;
	}
	/* http_guard let through only digits (at most 2^40) or "chunked",
	 * and never both; a chunked body over BODY_CAP never gets here */
	cl = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	te = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_TRANSFER_ENCODING);
	if (cl != NULL)
		declared = strtoll(cl, NULL, 10);
	if (q->ep != EP_ENROLL && (te != NULL || declared > 0)) {
		snprintf(q->note, sizeof(q->note), "request body refused");
		*ret = answer_error(q, MHD_HTTP_CONTENT_TOO_LARGE,
		    "this endpoint takes no request body");
		return 1;
	}
	if (q->ep == EP_ENROLL && http_body_len_ok(declared, BODY_CAP) != 0) {
		snprintf(q->note, sizeof(q->note), "declared body too large");
		*ret = answer_error(q, MHD_HTTP_CONTENT_TOO_LARGE,
		    "request body over 65536 bytes");
		return 1;
	}
	return 0;
}

static enum MHD_Result
route(struct req *q)
{
	switch (q->ep) {
	case EP_CA_PEM: return serve_ca(q);
	case EP_HEALTHZ: return serve_health(q);
	case EP_METRICS: return serve_metrics(q);
	case EP_CRL: return serve_crl(q);
	case EP_ARTIFACT: return serve_artifact(q);
	default: return serve_token(q);
	}
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_size, void **con_cls)
{
	struct http_server *h = cls;
	struct req *q = *con_cls;
	const union MHD_ConnectionInfo *ci;
	enum MHD_Result ret;

	(void)version;
	if (q == NULL) {
		/* the request line and header fields are in (and passed
		 * http_guard's check); no byte of a body read yet */
		if ((q = calloc(1, sizeof(*q))) == NULL)
			return MHD_NO;
		q->h = h;
		q->conn = conn;
		q->url = url;
		q->ep = http_metrics_ep_of(url);
		q->v1 = strncmp(url, "/v1/", 4) == 0;
		if (q->ep == EP_CRL && http_crl_path(url, q->crl_ca,
		    sizeof(q->crl_ca)) != 0)
			q->ep = EP_OTHER;
		q->late = atomic_load(&h->stopping);
		clock_gettime(CLOCK_MONOTONIC, &q->t0);
		ci = MHD_get_connection_info(conn,
		    MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		if (ci != NULL && ci->socket_context != NULL) {
			struct conn *c = ci->socket_context;

			q->ce = c->ce;
			memcpy(q->peer, c->peer, sizeof(q->peer));
		}
		*con_cls = q;
		atomic_fetch_add(&h->active, 1);
		conntrack_head(h->ct, q->ce);
		if (answer_early(q, method, &ret)) {
			q->stage = ST_ANSWERED;
			return ret;
		}
		q->stage = ST_RECV;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		/* only POST /v1/enroll gets here (answer_early) */
		if (q->ep == EP_ENROLL && !q->too_big) {
			if (q->body.len + *upload_size > BODY_CAP) {
				q->too_big = 1;
				buf_free(&q->body);
			} else if (buf_append(&q->body, upload_data,
			    *upload_size) != 0)
				return MHD_NO;
		}
		*upload_size = 0;	/* consumed (or discarded) */
		return MHD_YES;
	}
	if (q->stage == ST_DONE) {
		struct MHD_Response *r = q->resp;

		q->resp = NULL;
		if (r == NULL && q->status == MHD_HTTP_UNAUTHORIZED)
			return answer_401(q);
		if (r == NULL)
			return MHD_NO;
		return answer(q, q->status, r);
	}
	if (q->stage != ST_RECV)
		return MHD_YES;
	conntrack_busy(h->ct, q->ce);
	return route(q);
}

/* Kinds of access-log lines a client can repeat at will (loglimit). */
static const char LL_MALFORMED[] = "malformed requests";
static const char LL_RATE[] = "429 answers";
static const char LL_ENDED[] = "requests whose connection ended first";
static const char LL_ERROR[] = "error answers";
static const char LL_ARTIFACT[] = "refused artifact requests";

/*
 * Every token request (but a 429) is logged: each is an attempt on a
 * token, and they are bounded by the failed-attempt limit. The rest is
 * what anyone can send again and again: a few lines of each kind per
 * LOG_WINDOW, then a count.
 */
static const char *
log_kind(const struct req *q, enum MHD_RequestTerminationCode toe)
{
	if (q->status == MHD_HTTP_TOO_MANY_REQUESTS)
		return LL_RATE;
	if (q->ep == EP_BUNDLE || q->ep == EP_ENROLL)
		return NULL;
	/* a download a node's certificate got (not a refusal): always */
	if (q->ep == EP_ARTIFACT && q->status < 400 &&
	    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		return NULL;
	if (q->ep == EP_ARTIFACT && q->status >= 400)
		return LL_ARTIFACT;	/* no certificate needed to cause one */
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		return LL_ENDED;
	return LL_ERROR;
}

static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_server *h = cls;
	struct req *q = *con_cls;
	const char *kind;

	(void)conn;
	if (q == NULL)
		return;
	*con_cls = NULL;
	http_metrics_request(&h->m, q->ep, q->status);
	/* downloads too (log_kind): each is a node's, bounded per node */
	if ((q->ep == EP_BUNDLE || q->ep == EP_ENROLL || q->ep == EP_ARTIFACT ||
	    q->status >= 400 || toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) &&
	    ((kind = log_kind(q, toe)) == NULL || loglimit_allow(h->ll, kind)))
		logf_(h, "%s %s %u %.1fms%s%s%s", q->peer[0] ? q->peer : "-",
		    http_metrics_ep_name(q->ep), q->status, ms_since(&q->t0),
		    q->note[0] ? " " : "", q->note,
		    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" :
		    " (connection ended before the answer was sent)");
	if (!atomic_load(&h->stopping))
		conntrack_idle(h->ct, q->ce, slw_now());
	req_free(q);
	atomic_fetch_sub(&h->active, 1);
}

/* http_guard answered a malformed request (on the connection's thread). */
static void
guard_refused(struct http_guard *g, unsigned int status, const char *msg)
{
	struct conn *c = (struct conn *)g;

	http_metrics_request(&c->h->m, EP_OTHER, status);
	if (loglimit_allow(c->h->ll, LL_MALFORMED))
		logf_(c->h, "%s - %u %s (answered before parsing)", c->peer,
		    status, msg);
}

/* Accept or not (before any byte is read): conntrack_admit. */
static enum MHD_Result
accept_policy(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct http_server *h = cls;

	(void)addrlen;
	switch (conntrack_admit(h->ct, addr)) {
	case CT_ADMIT:
		return MHD_YES;
	case CT_EVICTED:
		count(&h->m.conn_evicted);
		return MHD_YES;
	case CT_REFUSED_ADDR:
		count(&h->m.conn_refused[0]);
		return MHD_NO;
	default:
		count(&h->m.conn_refused[1]);
		return MHD_NO;
	}
}

static void
conn_started(struct http_server *h, struct MHD_Connection *conn,
    struct conn *c)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa = NULL;
	int fd = -1, one = 1;

	if ((ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_CONNECTION_FD)) != NULL) {
		fd = ci->connect_fd;
		/* answers are whole: do not hold a segment back */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (c == NULL)
		goto refuse;
	c->h = h;
	if ((ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS)) != NULL)
		sa = ci->client_addr;
	http_addr_text(sa, c->peer, sizeof(c->peer));
	if (fd < 0 || (c->ce = conntrack_add(h->ct, fd, sa, slw_now())) == NULL)
		goto refuse;
	http_head_init(&c->g.head, BODY_CAP);
	c->g.refused = guard_refused;
	/* every request is read through http_guard first */
	if ((ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_GNUTLS_SESSION)) == NULL ||
	    ci->tls_session == NULL)
		goto refuse;
	http_guard_attach(&c->g, ci->tls_session);
	return;
 refuse:
	/* no memory, or none to track it with: its event loop closes it */
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
}

static void
conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *h = cls;
	struct conn *c;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		c = calloc(1, sizeof(*c));
		*socket_context = c;
		atomic_fetch_add(&h->m.connections, 1);
		conn_started(h, conn, c);
	} else {
		if ((c = *socket_context) != NULL) {
			http_guard_detach(&c->g);
			conntrack_del(h->ct, c->ce);
			free(c);
		}
		*socket_context = NULL;
		atomic_fetch_sub(&h->m.connections, 1);
	}
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *h = cls;
	char line[400];
	size_t n;

	/* its messages are about connections a client can open at will */
	if (!loglimit_allow(h->ll, fmt))
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	logf_(h, "libmicrohttpd: %s", line);
}

/* ---- the sweeper: deadlines, log summaries, CA bundle refresh ---- */
/* (The monitor follows CA rotation for its signer on its own.) */

static void
log_held(void *cls, const char *label, unsigned long held,
    unsigned int window)
{
	struct http_server *h = cls;
	size_t n = strlen(label);

	while (n > 0 && (label[n - 1] == '\n' || label[n - 1] == '\r'))
		n--;
	logf_(h, "%lu more log line%s like \"%.*s\" left out in the last %u s",
	    held, held == 1 ? "" : "s", (int)(n > 120 ? 120 : n), label,
	    window);
}

/* One line for what happened to connections since the last such line. */
static void
log_connections(struct http_server *h)
{
	struct conn_counts now, d;

	now.refused[0] = atomic_load(&h->m.conn_refused[0]);
	now.refused[1] = atomic_load(&h->m.conn_refused[1]);
	now.evicted = atomic_load(&h->m.conn_evicted);
	now.deadline = atomic_load(&h->m.deadline_closed);
	d.refused[0] = now.refused[0] - h->logged.refused[0];
	d.refused[1] = now.refused[1] - h->logged.refused[1];
	d.evicted = now.evicted - h->logged.evicted;
	d.deadline = now.deadline - h->logged.deadline;
	if (d.refused[0] + d.refused[1] + d.evicted + d.deadline == 0)
		return;
	h->logged = now;
	logf_(h, "connections in the last %d s: %lu refused (%lu from "
	    "addresses holding %u, %lu with all %u in use), %lu evicted to "
	    "make room for other addresses, %lu cut at their deadline; %zu "
	    "open", LOG_WINDOW, d.refused[0] + d.refused[1], d.refused[0],
	    h->c.max_per_addr, d.refused[1], h->c.max_conns, d.evicted,
	    d.deadline, conntrack_count(h->ct));
}

static void *
sweeper_main(void *arg)
{
	struct http_server *h = arg;
	struct timespec ts;
	unsigned int tick = 0;
	size_t n;

	pthread_mutex_lock(&h->sw_mu);
	while (!h->sw_stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&h->sw_cv, &h->sw_mu, &ts);
		if (h->sw_stop)
			break;
		pthread_mutex_unlock(&h->sw_mu);
		if ((n = conntrack_sweep(h->ct, slw_now())) > 0)
			atomic_fetch_add(&h->m.deadline_closed, n);
		loglimit_flush(h->ll, slw_now(), log_held, h);
		if (++tick % LOG_WINDOW == 0)
			log_connections(h);
		if (tick % 10 == 0)
			(void)ca_refresh(h);
		pthread_mutex_lock(&h->sw_mu);
	}
	pthread_mutex_unlock(&h->sw_mu);
	return NULL;
}

/* ---- start and stop ---- */

static unsigned int
ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 && n < 1024 ? (unsigned int)n : 1;
}

static void
server_free(struct http_server *h)
{
	if (h == NULL)
		return;
	if (h->r401 != NULL)
		MHD_destroy_response(h->r401);
	if (h->ca_resp != NULL)
		MHD_destroy_response(h->ca_resp);
	buf_free(&h->ca_pem);
	ratelim_free(h->rl);
	inflight_free(h->inf);
	conntrack_free(h->ct);
	loglimit_free(h->ll);
	http_artifacts_free(h->arts);
	free(h->workers);
	pthread_mutex_destroy(&h->ca_mu);
	pthread_mutex_destroy(&h->q_mu);
	pthread_cond_destroy(&h->q_cv);
	pthread_mutex_destroy(&h->sw_mu);
	pthread_cond_destroy(&h->sw_cv);
	free(h);
}

static void
stop_threads(struct http_server *h)
{
	unsigned int i;

	pthread_mutex_lock(&h->q_mu);
	h->q_stop = 1;
	pthread_cond_broadcast(&h->q_cv);
	pthread_mutex_unlock(&h->q_mu);
	for (i = 0; i < h->n_workers; i++)
		pthread_join(h->workers[i], NULL);
	h->n_workers = 0;
	if (h->have_sweeper) {
		pthread_mutex_lock(&h->sw_mu);
		h->sw_stop = 1;
		pthread_cond_broadcast(&h->sw_cv);
		pthread_mutex_unlock(&h->sw_mu);
		pthread_join(h->sweeper, NULL);
		h->have_sweeper = 0;
	}
}

int
http_server_start(const struct http_config *c, struct http_server **out,
    struct slw_diag *d)
{
	struct MHD_OptionItem trust[2];
	struct http_server *h;
	unsigned int i;
	int r;

	*out = NULL;
	if ((c->ps == NULL && !c->sealed) || c->key_pem == NULL ||
	    c->cert_pem == NULL || c->listen_fd < 0)
		return SLW_ERR_INVALID;
	/* without it libmicrohttpd's own HTML errors would reach clients */
	if (!http_guard_live())
		return slw_diag(d, SLW_ERR_INTERNAL, "cannot check requests: "
		    "gnutls_record_recv is not slipway's (http_guard.h)");
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return SLW_ERR_NOMEM;
	h->c = *c;
	if (h->c.threads == 0)
		h->c.threads = ncpu();
	if (h->c.workers == 0)
		h->c.workers = 4 * ncpu();
	if (h->c.max_conns == 0)
		h->c.max_conns = 1024;
	if (h->c.max_per_addr == 0)
		h->c.max_per_addr = 64;
	if (h->c.idle_timeout == 0)
		h->c.idle_timeout = 10;
	if (h->c.request_timeout == 0)
		h->c.request_timeout = 30;
	if (h->c.max_pending == 0)
		h->c.max_pending = 1024;
	if (h->c.priorities == NULL)
		h->c.priorities = HTTP_TLS_PRIORITIES;
	pthread_mutex_init(&h->ca_mu, NULL);
	pthread_mutex_init(&h->q_mu, NULL);
	pthread_cond_init(&h->q_cv, NULL);
	pthread_mutex_init(&h->sw_mu, NULL);
	pthread_cond_init(&h->sw_cv, NULL);
	atomic_init(&h->active, 0);
	atomic_init(&h->stopping, 0);
	atomic_init(&h->handover, 0);
	http_metrics_init(&h->m, slw_now());
	h->m.serving_not_after = c->serving_not_after;
	if ((r = ratelim_new(h->c.fail_burst, h->c.fail_window, 16384,
	    &h->rl)) != 0 ||
	    (r = inflight_new(h->c.max_pending + h->c.workers + 16,
	    &h->inf)) != 0 ||
	    (r = conntrack_new(h->c.max_conns, h->c.max_per_addr,
	    h->c.request_timeout < HEAD_TIMEOUT ? h->c.request_timeout :
	    HEAD_TIMEOUT, h->c.request_timeout, &h->ct)) != 0 ||
	    (r = loglimit_new(LOG_PER_WINDOW, LOG_WINDOW, slw_now(),
	    &h->ll)) != 0 ||
	    (r = http_artifacts_new(h->c.artifact_per_node, h->c.max_conns,
	    &h->arts)) != 0)
		goto fail;
	if ((h->r401 = new_401()) == NULL) {
		r = SLW_ERR_NOMEM;
		goto fail;
	}
	if ((r = ca_refresh(h)) != 0) {
		r = slw_diag(d, r, "cannot read the trust bundle");
		goto fail;
	}
	if ((h->workers = calloc(h->c.workers, sizeof(pthread_t))) == NULL) {
		r = SLW_ERR_NOMEM;
		goto fail;
	}
	for (i = 0; i < h->c.workers; i++) {
		if (pthread_create(&h->workers[i], NULL, worker_main, h) != 0) {
			r = slw_diag(d, SLW_ERR_INTERNAL, "cannot start threads");
			goto fail_threads;
		}
		h->n_workers++;
	}
	if (pthread_create(&h->sweeper, NULL, sweeper_main, h) != 0) {
		r = slw_diag(d, SLW_ERR_INTERNAL, "cannot start threads");
		goto fail_threads;
	}
	h->have_sweeper = 1;
	{
		struct MHD_OptionItem *o = trust;

		if (c->trust_pem != NULL && c->trust_pem[0] != '\0') {
			o->option = MHD_OPTION_HTTPS_MEM_TRUST;
			o->value = 0;
			o->ptr_value = (void *)c->trust_pem;
			o++;
		}
		o->option = MHD_OPTION_END;
		o->value = 0;
		o->ptr_value = NULL;
	}
	h->d = MHD_start_daemon(MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
	    0, accept_policy, h, handler, h,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)c->listen_fd,
	    MHD_OPTION_HTTPS_MEM_KEY, c->key_pem,
	    MHD_OPTION_HTTPS_MEM_CERT, c->cert_pem,
	    MHD_OPTION_HTTPS_PRIORITIES, h->c.priorities,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)h->c.threads,
	    /* the limits are conntrack's (accept_policy); libmicrohttpd's
	     * own, with room for connections being shut down, is never
	     * reached, and its per-address one (which logs each refusal)
	     * is off */
	    MHD_OPTION_CONNECTION_LIMIT, 2 * (unsigned int)h->c.max_conns,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)h->c.idle_timeout,
	    /* holds any request head http_guard lets through */
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)POOL_SIZE,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, h,
	    MHD_OPTION_NOTIFY_CONNECTION, conn_notify, h,
	    MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
	    /* node certificates: requested (never required) at the TLS
	     * layer, so the bootstrap endpoints work without one */
	    MHD_OPTION_ARRAY, trust,
	    MHD_OPTION_END);
	if (h->d == NULL) {
		r = slw_diag(d, SLW_ERR_INTERNAL,
		    "cannot start the HTTPS server (TLS key, certificate or "
		    "priorities refused)");
		goto fail_threads;
	}
	*out = h;
	return 0;
 fail_threads:
	stop_threads(h);
 fail:
	server_free(h);
	return r;
}

struct http_metrics *
http_server_metrics(struct http_server *h)
{
	return &h->m;
}

static unsigned int
open_connections(struct http_server *h)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(h->d,
	    MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return i != NULL ? i->num_connections : 0;
}

void
http_server_handover(struct http_server *h, unsigned int grace)
{
	if (h == NULL)
		return;
	atomic_store(&h->handover, 1);
	http_server_stop(h, grace);
}

void
http_server_stop(struct http_server *h, unsigned int grace)
{
	struct timespec t0;
	MHD_socket lfd;

	if (h == NULL)
		return;
	atomic_store(&h->stopping, 1);
	lfd = MHD_quiesce_daemon(h->d);
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* A handover also waits for the connections it holds (in a TLS
	 * handshake, or a request not yet parsed): each gets its answer, with
	 * "Connection: close", or reaches its idle timeout. */
	while ((atomic_load(&h->active) > 0 ||
	    (atomic_load(&h->handover) && open_connections(h) > 0)) &&
	    ms_since(&t0) < grace * 1000.0) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	if (atomic_load(&h->active) > 0)
		logf_(h, "stopping with %d requests unanswered after %u s",
		    atomic_load(&h->active), grace);
	/* Workers finish what they hold; suspended connections are resumed. */
	stop_threads(h);
	MHD_stop_daemon(h->d);
	server_free(h);
}
