/* SPDX-License-Identifier: Apache-2.0 */
/*
 * https.h: the appliance's one HTTPS client. Every request slipway makes
 * goes through it: the Kubernetes API (kube.c: requests, lists, watches),
 * and the fleet's gates and actions (etcd /health, member list and kv,
 * flannel's config, apiserver /readyz and Nodes through the VIP).
 *
 * What it guarantees, for every transfer:
 *   - https only; TLS 1.2 or newer; the peer verified against the client's
 *     own CA bundle only (no system store, no CA path) and its name checked;
 *     never a proxy from the environment, never a redirect followed;
 *   - a connect timeout and a whole-transfer timeout; a stop flag (another
 *     thread's) aborts a transfer within about a second;
 *   - every response body capped (the request's max) before anyone parses
 *     it; bodies land in a struct buf, which wipes what it leaves behind;
 *   - the client key lives only in memory: an anonymous memfd (RAM, this
 *     process only, close-on-exec) that libcurl opens by its /proc/self/fd
 *     path, because GnuTLS-flavour libcurl reads keys only from files. It
 *     is truncated and closed when the client is freed.
 *   - nothing it puts into a diag holds a request body, a response body,
 *     a key or a token: only the method, the URL and libcurl's reason.
 *
 * Errors (every function): 0 on success, else a negative SLW_ERR_*; with a
 * non-NULL d, one line saying what failed. HTTP statuses are not errors
 * here: a request that got an answer returns 0 with the status; callers
 * map statuses (kube_status_err does so for the API).
 *
 * Threads: a struct https may be shared: https_do serialises on the
 * client's request handle (which keeps its connections open for reuse);
 * each https_stream has a handle of its own, so its idle callback may call
 * https_do on the same client.
 */
#ifndef SLW_HTTPS_H
#define SLW_HTTPS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define HTTPS_MAX_BODY (8u << 20)		/* default response cap */
#define HTTPS_CONNECT_TIMEOUT_MS 5000		/* default connect timeout */
#define HTTPS_REQUEST_TIMEOUT_MS 30000		/* default transfer timeout */
#define HTTPS_URL_MAX 2048

struct https;

struct https_config {
	const struct buf *ca_pem;	/* required: the only trust anchors */
	const struct buf *cert_pem;	/* client certificate (chain); NULL: none */
	const struct buf *key_pem;	/* its key (secret); with cert_pem only */
	const char *user_agent;		/* NULL: "slipway" */
	long connect_timeout_ms;	/* 0: HTTPS_CONNECT_TIMEOUT_MS */
};

/*
 * libcurl's process-wide set-up. https_new does it too (once), but a
 * program that starts threads before its first client calls this first.
 * SLW_ERR_INTERNAL if libcurl cannot start.
 */
int https_global_init(void);

/*
 * A client with the config's identity. The PEM buffers are copied (into
 * memfds): the caller keeps and wipes its own. *out is the caller's, freed
 * with https_free. SLW_ERR_INVALID without a CA bundle, or with a key but
 * no certificate (or the reverse); SLW_ERR_IO if a memfd cannot be made;
 * SLW_ERR_UNSUPPORTED without /proc/self/fd; SLW_ERR_NOMEM.
 */
int https_new(const struct https_config *c, struct https **out,
    struct slw_diag *d);
/* Closes connections, drops the key's pages, frees. Accepts NULL. */
void https_free(struct https *h);
/*
 * A flag another thread may set to abort transfers in progress (and make
 * new ones fail at once). The pointer must outlive the client; NULL: none.
 */
void https_set_stop(struct https *h, const atomic_int *stop);

struct https_request {
	const char *method;	/* "GET", "POST", "PUT", "DELETE", "PATCH" */
	const char *url;	/* "https://host[:port]/path?query" */
	const void *body;	/* NULL: none; borrowed for the call only */
	size_t body_len;
	const char *content_type;	/* of body; NULL: "application/json" */
	const char *accept;	/* NULL: "application/json" */
	long timeout_ms;	/* the whole transfer; 0: HTTPS_REQUEST_TIMEOUT_MS */
	size_t max;		/* response body cap; 0: HTTPS_MAX_BODY */
};

/*
 * One request. 0 when an answer came, whatever its status: *status gets
 * it and resp the body (replaced; NUL-terminated after len; at most
 * rq->max bytes). Else resp is empty and *status 0:
 *   SLW_ERR_INVALID  not https, a URL over HTTPS_URL_MAX or with a space
 *                    or control character, no method;
 *   SLW_ERR_TOOBIG   the body went over rq->max (the transfer was cut);
 *   SLW_ERR_VERIFY   the server's certificate does not verify with the
 *                    client's trust bundle (a new connection needs a
 *                    bundle made after the server's certificate);
 *   SLW_ERR_IO       no answer: connect, TLS, timeout, a broken
 *                    connection, or the stop flag;
 *   SLW_ERR_NOMEM.
 * No reference to rq->body is kept after the call (it may be a secret).
 */
int https_do(struct https *h, const struct https_request *rq, long *status,
    struct buf *resp, struct slw_diag *d);

/* data's return value that pauses the transfer (see https_stream). */
#define HTTPS_PAUSE ((size_t)-1)

struct https_stream_ops {
	/*
	 * Body bytes of a 2xx answer as they arrive, from inside libcurl:
	 * must not call the client. Returns n (taken), HTTPS_PAUSE (not
	 * taken: the same bytes come again after the next idle), or anything
	 * else to abort the transfer (SLW_ERR_IO from https_stream; keep
	 * your own reason).
	 */
	size_t (*data)(void *arg, const uint8_t *p, size_t n);
	/*
	 * Called between transfers, outside libcurl, at least once a second
	 * and after every batch of data: may use the client (https_do). A
	 * non-zero return ends the stream with that value. May be NULL.
	 */
	int (*idle)(void *arg);
};

/*
 * A streamed request (a watch): the body of a 2xx answer goes to
 * ops->data as it comes; the body of any other answer to errbody
 * (replaced, capped at rq->max). Returns 0 when the server ended the
 * answer (*status holds its status), idle's non-zero value, or the errors
 * of https_do (SLW_ERR_IO also when data aborted or the stop flag was
 * set). *status is 0 if no answer came.
 */
int https_stream(struct https *h, const struct https_request *rq,
    const struct https_stream_ops *ops, void *arg, long *status,
    struct buf *errbody, struct slw_diag *d);

#endif
