/* SPDX-License-Identifier: Apache-2.0 */
/*
 * expiry_metrics.h: the expiry view as Prometheus series, for the metrics
 * listener only (they name nodes):
 *
 *   slipway_cert_expiry_seconds{ca,node,purpose}  each certificate in use
 *   slipway_ca_expiry_seconds{ca,generation,state}
 *   slipway_certs_revoked_total, slipway_certs_in_use,
 *   slipway_certs_expiring, slipway_certs_expired,
 *   slipway_cert_renewals_due, slipway_cert_expiry_warning_seconds
 *
 * node is the owner as recorded: a node name, "(serve)", "(admin:NAME)"
 * for an operator's kubeconfig, "-" for the console's own.
 */
#ifndef SLW_EXPIRY_METRICS_H
#define SLW_EXPIRY_METRICS_H

#include <time.h>

#include "buf.h"
#include "expiry.h"
#include "store.h"

/* Appends the series of a finished view. */
int expiry_metrics_render(const struct expiry_view *v, struct buf *out);
/* The same, read from the store (the stored inventory's window). */
int expiry_metrics_store(struct store *s, time_t now, struct buf *out);

#endif
