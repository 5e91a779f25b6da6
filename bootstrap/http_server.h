/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_server.h: slipway's HTTPS bootstrap endpoint (libmicrohttpd + GnuTLS).
 *
 *   GET  /v1/ca.pem   trust bundle of every CA, no auth
 *   GET  /v1/bundle   Authorization: Bearer TOKEN -> application/gzip tar of
 *                     the token's node bundle; the token is consumed
 *   POST /v1/enroll   Bearer TOKEN + PEM CSR (<= 64 KiB) -> PEM chain
 *   GET  /healthz     "ok" when the store answers
 *   GET  /metrics     Prometheus text
 *   GET  /v1/artifacts/<sha256>  a node's binary or image, with its node
 *                     client certificate (http_artifact.h)
 *
 * Errors are {"error": "..."} with 400/401/403/404/405/413/414/429/431/
 * 500/501/503/505, also for requests too malformed for libmicrohttpd
 * (http_guard.h answers those before it parses them). Every refused token
 * gets the same 401 response, byte for byte. A body is bounded before any
 * token is looked at: 413 on a request that takes none, or over 64 KiB.
 *
 * Connections: max_conns in all, max_per_addr per address; when all are
 * held, room is made by evicting from the address that holds the most
 * (http_limits.h); a TLS handshake and request head must arrive within
 * 10 s, the whole request within request_timeout.
 *
 * Threads: `threads` event loops (poll) parse requests and answer the
 * cheap endpoints and refused tokens themselves; redemptions are suspended
 * and handed to `workers` threads, then resumed to send the answer.
 *
 * The server holds no store, KEK or CA key: it runs in serve's network
 * child and asks the monitor (privsep_client.h) for every token check,
 * redemption (key generation, signing, the group commit happen there), the
 * trust bundle, the health check and the CA gauges.
 */
#ifndef SLW_HTTP_SERVER_H
#define SLW_HTTP_SERVER_H

#include <stddef.h>
#include <time.h>

#include "err.h"
#include "http_metrics.h"

struct privsep_client;

struct http_config {
	int listen_fd;			/* bound and listening; the server's */
	const char *key_pem;		/* NUL-terminated; outlive the server */
	const char *cert_pem;
	const char *priorities;		/* NULL: HTTP_TLS_PRIORITIES */
	/* CA bundle (PEM) of node client certificates: requested, never
	 * required, at the TLS layer; NULL: none asked for */
	const char *trust_pem;
	unsigned int artifact_per_node;	/* downloads at once; 0: 4 */
	unsigned int threads;		/* event loops; 0: online CPUs */
	unsigned int workers;		/* redemption threads; 0: 4 x CPUs */
	unsigned int max_conns;		/* 0: 1024 */
	unsigned int max_per_addr;	/* 0: 64 */
	unsigned int idle_timeout;	/* seconds without traffic; 0: 10 */
	unsigned int request_timeout;	/* seconds for a whole request; 0: 30 */
	unsigned int fail_burst;	/* failed token attempts per address... */
	unsigned int fail_window;	/* ...per this many seconds; 0 burst: off */
	unsigned int max_pending;	/* queued redemptions; 0: 1024 */
	struct privsep_client *ps;	/* the monitor; outlives the server */
	/*
	 * The monitor has no KEK yet: all of /v1/ and /healthz are 503
	 * {"error":"sealed"}, answered here without asking the monitor.
	 */
	int sealed;
	time_t serving_not_after;
	/* One line, no newline; called from any thread; never a secret. */
	void (*log)(void *cls, const char *line);
	void *log_cls;
};

struct http_server;

int http_server_start(const struct http_config *c, struct http_server **out,
    struct slw_diag *d);
/*
 * Stops accepting, answers what is in flight (new requests on open
 * connections get 503 and "Connection: close"), waits at most grace
 * seconds for that, then stops and frees everything.
 */
void http_server_stop(struct http_server *h, unsigned int grace);
/*
 * The same stop, when another server takes over the listening socket:
 * requests that arrive on connections it already holds are answered too
 * (not 503), each with "Connection: close", so clients move over.
 */
void http_server_handover(struct http_server *h, unsigned int grace);
struct http_metrics *http_server_metrics(struct http_server *h);

#endif
