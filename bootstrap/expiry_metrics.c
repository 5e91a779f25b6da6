// SPDX-License-Identifier: Apache-2.0
/*
 * expiry_metrics.c: the expiry view (expiry.h) in the Prometheus text
 * format (0.0.4) for the metrics listener: seconds until each certificate
 * in use and each CA generation expires, how many warn, are due or were
 * revoked. Per-node series name the inventory, so they are served only on
 * the metrics listener, never on the bootstrap port. Label values are
 * escaped (backslash, quote, newline); reads only.
 */
#include "expiry_metrics.h"
#include "cluster.h"

#include <stdio.h>
#include <string.h>

/* A label value: \ " and newline escaped, as the text format requires. */
static int
label(struct buf *out, const char *v)
{
	char esc[2 * 128 + 1];
	size_t i, n = 0;

	for (i = 0; v[i] != '\0' && n + 2 < sizeof(esc); i++) {
		if (v[i] == '\\' || v[i] == '"') {
			esc[n++] = '\\';
			esc[n++] = v[i];
		} else if (v[i] == '\n') {
			esc[n++] = '\\';
			esc[n++] = 'n';
		} else
			esc[n++] = v[i];
	}
	esc[n] = '\0';
	return buf_append(out, esc, n);
}

static int
cert_series(struct buf *out, const struct expiry_view *v,
    const struct expiry_cert *c)
{
	int r = 0;

	r |= buf_appendf(out, "slipway_cert_expiry_seconds{ca=\"");
	r |= label(out, c->ca);
	r |= buf_appendf(out, "\",node=\"");
	r |= label(out, c->owner[0] != '\0' ? c->owner : "-");
	r |= buf_appendf(out, "\",purpose=\"");
	r |= label(out, c->purpose);
	r |= buf_appendf(out, "\"} %lld\n",
	    (long long)c->not_after - (long long)v->pol.now);
	return r;
}

int
expiry_metrics_render(const struct expiry_view *v, struct buf *out)
{
	size_t i;
	int r = 0;

	r |= buf_appendf(out,
	    "# HELP slipway_cert_expiry_seconds Seconds until each certificate "
	    "in use expires (negative: expired), by CA, owning node and "
	    "purpose.\n"
	    "# TYPE slipway_cert_expiry_seconds gauge\n");
	for (i = 0; i < v->n && r == 0; i++)
		if (v->certs[i].flags & EXP_IN_USE)
			r |= cert_series(out, v, &v->certs[i]);
	r |= buf_appendf(out,
	    "# HELP slipway_ca_expiry_seconds Seconds until each CA generation "
	    "expires.\n"
	    "# TYPE slipway_ca_expiry_seconds gauge\n");
	for (i = 0; i < v->n_ca && r == 0; i++) {
		const struct expiry_ca *a = &v->cas[i];

		r |= buf_appendf(out, "slipway_ca_expiry_seconds{ca=\"");
		r |= label(out, a->name);
		r |= buf_appendf(out, "\",generation=\"%u\",state=\"%s\"} %lld\n",
		    a->gen, ca_state_name(a->state),
		    (long long)a->not_after - (long long)v->pol.now);
	}
	r |= buf_appendf(out,
	    "# HELP slipway_certs_revoked_total Certificates revoked "
	    "(slipway cert revoke), ever.\n"
	    "# TYPE slipway_certs_revoked_total counter\n"
	    "slipway_certs_revoked_total %zu\n"
	    "# HELP slipway_certs_in_use Certificates in use: the newest valid "
	    "one of each owner and purpose.\n"
	    "# TYPE slipway_certs_in_use gauge\n"
	    "slipway_certs_in_use %zu\n"
	    "# HELP slipway_certs_expiring Certificates and CA generations in "
	    "use that end within the warning window (slipway status exits 1).\n"
	    "# TYPE slipway_certs_expiring gauge\n"
	    "slipway_certs_expiring %zu\n"
	    "# HELP slipway_certs_expired Certificates in use whose notAfter "
	    "has passed.\n"
	    "# TYPE slipway_certs_expired gauge\n"
	    "slipway_certs_expired %zu\n"
	    "# HELP slipway_cert_renewals_due Certificates in use past their "
	    "renewal time (certificates.renewAt of their lifetime).\n"
	    "# TYPE slipway_cert_renewals_due gauge\n"
	    "slipway_cert_renewals_due %zu\n"
	    "# HELP slipway_cert_expiry_warning_seconds The warning window "
	    "(certificates.expiryWarning).\n"
	    "# TYPE slipway_cert_expiry_warning_seconds gauge\n"
	    "slipway_cert_expiry_warning_seconds %llu\n",
	    v->revoked, v->in_use, v->warn + v->ca_warn, v->expired, v->due,
	    (unsigned long long)v->pol.warn_seconds);
	return r != 0 ? SLW_ERR_NOMEM : 0;
}

struct load_arg {
	time_t now;
	struct expiry_view *v;
	struct inventory *inv;
};

static int
load_txn(struct store_txn *t, void *arg)
{
	struct load_arg *a = arg;
	int r;

	if ((r = cluster_load_txn(t, &a->inv)) != 0)
		return r;
	return expiry_view_load(t, a->inv, a->now, &a->v);
}

int
expiry_metrics_store(struct store *s, time_t now, struct buf *out)
{
	struct load_arg a = { now, NULL, NULL };
	int r;

	if ((r = store_read(s, load_txn, &a, NULL)) == 0)
		r = expiry_metrics_render(a.v, out);
	expiry_view_free(a.v);
	inventory_free(a.inv);
	return r;
}
