/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rhttp.h: the appliance's own HTTPS requests with a client identity
 * (libcurl), for the fleet's gates and appliance actions: etcd /health,
 * member list and kv, apiserver /readyz and Nodes. The key stays in a
 * memfd (rhttp.c); never logs a request's credentials.
 */
#ifndef SLW_RHTTP_H
#define SLW_RHTTP_H

#include "buf.h"
#include "err.h"

struct rhttp_id;

/* Process-wide start-up (curl_global_init); call once before any thread. */
int rhttp_global_init(void);
/* A client identity: CA to verify the server, certificate and key. */
int rhttp_id_new(const struct buf *ca, const struct buf *cert,
    const struct buf *key, struct rhttp_id **out);
void rhttp_id_free(struct rhttp_id *id);
/*
 * One request (body: JSON, or NULL); *status gets the HTTP status and resp
 * the body (at most 8 MiB). Fails only when no answer came.
 */
int rhttp_do(const struct rhttp_id *id, const char *method, const char *url,
    const char *body, int timeout_ms, long *status, struct buf *resp,
    struct slw_diag *d);

#endif
