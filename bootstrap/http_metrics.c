// SPDX-License-Identifier: Apache-2.0
/*
 * http_metrics.c: counters of the HTTPS endpoint and the Prometheus text
 * exposition format (version 0.0.4). Labels come from fixed tables, never
 * from request data, so a client cannot create series or inject text.
 */
#include "http_metrics.h"
#include "ca.h"
#include "http.h"

#include <stdio.h>
#include <string.h>

static const unsigned int codes[] = HTTP_METRIC_CODES;

static const char *const ep_names[EP__COUNT] = {
	"/v1/ca.pem", "/v1/bundle", "/v1/enroll", "/healthz", "/metrics",
	"/v1/crl", "/v1/artifacts", "other",
};

static const char *const outcome_names[TO__COUNT] = {
	"redeemed", "refused", "rate_limited", "busy", "denied", "error",
};

void
http_metrics_init(struct http_metrics *m, time_t now)
{
	size_t i, j;

	for (i = 0; i < EP__COUNT; i++)
		for (j = 0; j < HTTP_N_CODES; j++)
			atomic_init(&m->requests[i][j], 0);
	for (i = 0; i < TO__COUNT; i++)
		atomic_init(&m->outcomes[i], 0);
	for (i = 0; i < TOKEN_FAIL__COUNT; i++)
		atomic_init(&m->refused[i], 0);
	atomic_init(&m->certs_issued[0], 0);
	atomic_init(&m->certs_issued[1], 0);
	atomic_init(&m->bundles, 0);
	atomic_init(&m->deadline_closed, 0);
	atomic_init(&m->conn_refused[0], 0);
	atomic_init(&m->conn_refused[1], 0);
	atomic_init(&m->conn_evicted, 0);
	atomic_init(&m->connections, 0);
	m->started = now;
	m->serving_not_after = 0;
}

enum http_ep
http_metrics_ep_of(const char *url)
{
	char ca[32];
	size_t i;

	for (i = 0; i < EP_CRL; i++)
		if (strcmp(url, ep_names[i]) == 0)
			return (enum http_ep)i;
	if (http_crl_path(url, ca, sizeof(ca)) == 0)
		return EP_CRL;
	/* every artifact under one label: never a label from request data */
	if (strncmp(url, "/v1/artifacts/", 14) == 0)
		return EP_ARTIFACT;
	return EP_OTHER;
}

const char *
http_metrics_ep_name(enum http_ep ep)
{
	return (unsigned)ep < EP__COUNT ? ep_names[ep] : "other";
}

void
http_metrics_request(struct http_metrics *m, enum http_ep ep,
    unsigned int status)
{
	size_t j;

	if ((unsigned)ep >= EP__COUNT)
		ep = EP_OTHER;
	for (j = 0; j < HTTP_N_CODES - 1; j++)
		if (codes[j] == status)
			break;
	atomic_fetch_add_explicit(&m->requests[ep][j], 1, memory_order_relaxed);
}

void
http_metrics_refused(struct http_metrics *m, enum token_fail why)
{
	if ((unsigned)why < TOKEN_FAIL__COUNT)
		atomic_fetch_add_explicit(&m->refused[why], 1,
		    memory_order_relaxed);
	atomic_fetch_add_explicit(&m->outcomes[TO_REFUSED], 1,
	    memory_order_relaxed);
}

struct ca_arg {
	struct buf *out;
	time_t now;
	int r;
};

static int
ca_one(void *arg, const struct ca_rec *rec)
{
	struct ca_arg *a = arg;

	a->r |= buf_appendf(a->out,
	    "slipway_ca_expiry_seconds{ca=\"%s\",generation=\"%u\",state=\"%s\"} %lld\n",
	    rec->name, rec->gen, ca_state_name(rec->state),
	    (long long)(rec->not_after - a->now));
	return 0;
}

static int
ca_txn(struct store_txn *t, void *arg)
{
	return ca_foreach(t, ca_one, arg);
}

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

int
http_metrics_render(struct http_metrics *m, struct store *s, time_t now,
    struct buf *out)
{
	size_t i, j;
	int r = 0;

	r |= buf_appendf(out,
	    "# HELP slipway_http_requests_total HTTP requests by endpoint and status.\n"
	    "# TYPE slipway_http_requests_total counter\n");
	for (i = 0; i < EP__COUNT; i++)
		for (j = 0; j < HTTP_N_CODES; j++) {
			unsigned long v = LOAD(m->requests[i][j]);
			char code[8];

			if (v == 0 && !(j == 0 && i != EP_OTHER))
				continue;
			if (j < HTTP_N_CODES - 1)
				snprintf(code, sizeof(code), "%u", codes[j]);
			else
				snprintf(code, sizeof(code), "other");
			r |= buf_appendf(out,
			    "slipway_http_requests_total{endpoint=\"%s\",code=\"%s\"} %lu\n",
			    ep_names[i], code, v);
		}
	r |= buf_appendf(out,
	    "# HELP slipway_token_attempts_total Requests that presented a token, by outcome.\n"
	    "# TYPE slipway_token_attempts_total counter\n");
	for (i = 0; i < TO__COUNT; i++)
		r |= buf_appendf(out,
		    "slipway_token_attempts_total{outcome=\"%s\"} %lu\n",
		    outcome_names[i], LOAD(m->outcomes[i]));
	r |= buf_appendf(out,
	    "# HELP slipway_token_refused_total Refused tokens by reason (never told to clients).\n"
	    "# TYPE slipway_token_refused_total counter\n");
	for (i = 1; i < TOKEN_FAIL__COUNT; i++)
		r |= buf_appendf(out,
		    "slipway_token_refused_total{reason=\"%s\"} %lu\n",
		    token_fail_name((enum token_fail)i), LOAD(m->refused[i]));
	r |= buf_appendf(out,
	    "# HELP slipway_certificates_issued_total Certificates issued by the endpoint.\n"
	    "# TYPE slipway_certificates_issued_total counter\n"
	    "slipway_certificates_issued_total{endpoint=\"bundle\"} %lu\n"
	    "slipway_certificates_issued_total{endpoint=\"enroll\"} %lu\n"
	    "# HELP slipway_bundles_issued_total Node bundles handed out.\n"
	    "# TYPE slipway_bundles_issued_total counter\n"
	    "slipway_bundles_issued_total %lu\n"
	    "# HELP slipway_http_deadline_closed_total Connections closed for not sending a whole request in time.\n"
	    "# TYPE slipway_http_deadline_closed_total counter\n"
	    "slipway_http_deadline_closed_total %lu\n"
	    "# HELP slipway_http_connections_refused_total Connections closed at accept, by reason.\n"
	    "# TYPE slipway_http_connections_refused_total counter\n"
	    "slipway_http_connections_refused_total{reason=\"per-address\"} %lu\n"
	    "slipway_http_connections_refused_total{reason=\"full\"} %lu\n"
	    "# HELP slipway_http_connections_evicted_total Connections shut down to make room for another address's.\n"
	    "# TYPE slipway_http_connections_evicted_total counter\n"
	    "slipway_http_connections_evicted_total %lu\n"
	    "# HELP slipway_http_connections Open connections.\n"
	    "# TYPE slipway_http_connections gauge\n"
	    "slipway_http_connections %ld\n"
	    "# HELP slipway_start_time_seconds Start time of the endpoint.\n"
	    "# TYPE slipway_start_time_seconds gauge\n"
	    "slipway_start_time_seconds %lld\n",
	    LOAD(m->certs_issued[0]), LOAD(m->certs_issued[1]), LOAD(m->bundles),
	    LOAD(m->deadline_closed), LOAD(m->conn_refused[0]),
	    LOAD(m->conn_refused[1]), LOAD(m->conn_evicted),
	    LOAD(m->connections),
	    (long long)m->started);
	if (m->serving_not_after != 0)
		r |= buf_appendf(out,
		    "# HELP slipway_serving_cert_expiry_seconds Seconds until the endpoint's certificate expires.\n"
		    "# TYPE slipway_serving_cert_expiry_seconds gauge\n"
		    "slipway_serving_cert_expiry_seconds %lld\n",
		    (long long)(m->serving_not_after - now));
	if (r == 0 && s != NULL && (r = http_metrics_ca_render(s, now,
	    out)) == 0)
		return http_metrics_store_render(s, out);
	return r != 0 ? SLW_ERR_NOMEM : 0;
}

int
http_metrics_ca_render(struct store *s, time_t now, struct buf *out)
{
	struct ca_arg a;
	int r;

	if (buf_appendf(out,
	    "# HELP slipway_ca_expiry_seconds Seconds until each CA generation expires.\n"
	    "# TYPE slipway_ca_expiry_seconds gauge\n") != 0)
		return SLW_ERR_NOMEM;
	a.out = out;
	a.now = now;
	a.r = 0;
	if ((r = store_read(s, ca_txn, &a, NULL)) != 0)
		return r;
	return a.r != 0 ? SLW_ERR_NOMEM : 0;
}

int
http_metrics_store_render(struct store *s, struct buf *out)
{
	struct store_space sp;
	int r, i;

	if ((r = store_space(s, &sp)) != 0)
		return r;
	r = buf_appendf(out,
	    "# HELP slipway_store_write_errors_total Store writes that failed or were refused, by reason.\n"
	    "# TYPE slipway_store_write_errors_total counter\n");
	for (i = 0; i < STORE_WERR__COUNT; i++)
		r |= buf_appendf(out,
		    "slipway_store_write_errors_total{reason=\"%s\"} %llu\n",
		    store_werr_name((enum store_werr)i),
		    (unsigned long long)sp.write_errors[i]);
	r |= buf_appendf(out,
	    "# HELP slipway_state_free_bytes Free bytes on the state's filesystem (for an unprivileged writer).\n"
	    "# TYPE slipway_state_free_bytes gauge\n"
	    "slipway_state_free_bytes %llu\n"
	    "# HELP slipway_state_size_bytes Size of the state's filesystem.\n"
	    "# TYPE slipway_state_size_bytes gauge\n"
	    "slipway_state_size_bytes %llu\n"
	    "# HELP slipway_state_disk_full 1 while writes are refused for a full disk.\n"
	    "# TYPE slipway_state_disk_full gauge\n"
	    "slipway_state_disk_full %d\n"
	    "# HELP slipway_store_map_used_bytes Bytes of the store's map in use.\n"
	    "# TYPE slipway_store_map_used_bytes gauge\n"
	    "slipway_store_map_used_bytes %zu\n"
	    "# HELP slipway_store_map_size_bytes The store's map size (its cap).\n"
	    "# TYPE slipway_store_map_size_bytes gauge\n"
	    "slipway_store_map_size_bytes %zu\n",
	    (unsigned long long)sp.avail, (unsigned long long)sp.total,
	    sp.full, sp.used, sp.mapsize);
	return r != 0 ? SLW_ERR_NOMEM : 0;
}
