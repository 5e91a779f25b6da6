/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics_listener.h: `slipway serve --metrics-listen`'s endpoint, run by
 * the network child beside the HTTPS endpoint: plain HTTP, one route,
 *
 *   GET /metrics   every series (Prometheus text format 0.0.4): the
 *                  endpoint's counters (http_metrics.h) and the monitor's
 *                  (PS_METRICS_ALL: per-node certificate expiry, CA
 *                  expiry, revocations, CSR decisions, the fleet's last
 *                  run, the store)
 *
 * anything else 404 or 405 {"error": ...}. Per-node series name the
 * inventory, which is why they are here and not on the bootstrap port;
 * the listener binds to loopback by default (docs/operations.md says why
 * it is plain HTTP). At most METRICS_LISTENER_CONNS connections, each
 * closed after METRICS_LISTENER_TIMEOUT idle seconds.
 */
#ifndef SLW_METRICS_LISTENER_H
#define SLW_METRICS_LISTENER_H

#include "err.h"
#include "http_metrics.h"

#define METRICS_LISTENER_CONNS 16
#define METRICS_LISTENER_TIMEOUT 10	/* seconds */

struct privsep_client;
struct metrics_listener;

struct metrics_listener_config {
	int listen_fd;			/* bound, listening; the listener's */
	struct http_metrics *m;		/* the endpoint's counters */
	struct privsep_client *ps;	/* the monitor; NULL while sealed */
	void (*log)(void *cls, const char *line);
	void *log_cls;
};

int metrics_listener_start(const struct metrics_listener_config *c,
    struct metrics_listener **out, struct slw_diag *d);
/* Stops accepting, ends the connections, frees; accepts NULL. */
void metrics_listener_stop(struct metrics_listener *l);

#endif
