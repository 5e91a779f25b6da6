/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_metrics.h: the endpoint's counters and their Prometheus text form
 * (GET /metrics): requests by endpoint and status, token outcomes,
 * certificates and bundles issued, and, read from the store at scrape
 * time, seconds until each CA generation and the serving certificate
 * expire. Counters are lock-free; labels are a fixed set.
 */
#ifndef SLW_HTTP_METRICS_H
#define SLW_HTTP_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "store.h"
#include "token.h"

enum http_ep {
	EP_CA_PEM, EP_BUNDLE, EP_ENROLL, EP_HEALTHZ, EP_METRICS, EP_CRL,
	EP_ARTIFACT, EP_OTHER,
	EP__COUNT
};

/* Status codes the endpoint answers with; anything else counts as "other". */
#define HTTP_METRIC_CODES { 200, 206, 400, 401, 403, 404, 405, 413, 414, \
	416, 429, 431, 500, 501, 503, 505 }
#define HTTP_N_CODES 17		/* the above and "other" */

enum token_outcome {
	TO_REDEEMED, TO_REFUSED, TO_RATE_LIMITED, TO_BUSY, TO_DENIED, TO_ERROR,
	TO__COUNT
};

struct http_metrics {
	atomic_ulong requests[EP__COUNT][HTTP_N_CODES];
	atomic_ulong outcomes[TO__COUNT];
	atomic_ulong refused[TOKEN_FAIL__COUNT];	/* by reason */
	atomic_ulong certs_issued[2];		/* bundle, enroll */
	atomic_ulong bundles;
	atomic_ulong deadline_closed;
	atomic_ulong conn_refused[2];		/* per-address cap, all in use */
	atomic_ulong conn_evicted;
	atomic_long connections;
	time_t started;
	time_t serving_not_after;
};

void http_metrics_init(struct http_metrics *m, time_t now);
enum http_ep http_metrics_ep_of(const char *url);
const char *http_metrics_ep_name(enum http_ep ep);
void http_metrics_request(struct http_metrics *m, enum http_ep ep,
    unsigned int status);
void http_metrics_refused(struct http_metrics *m, enum token_fail why);
/*
 * Renders everything; s may be NULL (no CA gauges: the network child gets
 * them from the monitor, which renders them with http_metrics_ca_render).
 */
int http_metrics_render(struct http_metrics *m, struct store *s, time_t now,
    struct buf *out);
/* The CA expiry gauges alone, read from the store. */
int http_metrics_ca_render(struct store *s, time_t now, struct buf *out);
/*
 * The store's gauges and counters: slipway_store_write_errors_total{reason},
 * slipway_state_free_bytes, slipway_state_size_bytes,
 * slipway_state_disk_full, slipway_store_map_used_bytes and _size_bytes.
 */
int http_metrics_store_render(struct store *s, struct buf *out);

#endif
