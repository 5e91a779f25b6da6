/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube_session.h: a Kubernetes API client authenticated as slipway itself:
 * a short-lived client certificate (CN=slipway, O=system:masters) issued
 * through signing.h for a key that exists only in memory, recorded in the
 * store like every other certificate, and the kubernetes trust bundle as
 * the CA for the API server.
 */
#ifndef SLW_KUBE_SESSION_H
#define SLW_KUBE_SESSION_H

#include <time.h>

#include "inventory.h"
#include "key.h"
#include "kube.h"
#include "store.h"

#define KUBE_SESSION_CN "slipway"
#define KUBE_SESSION_GROUP "system:masters"
#define KUBE_SESSION_HOURS 24u
#define KUBE_SESSION_PURPOSE "kube-api-client"

/*
 * Connects to apiserver (NULL: the inventory's "https://VIP:PORT"). actor
 * names who asked, for the audit log. *not_after (may be NULL) gets the
 * end of the client certificate, so a daemon knows when to reconnect.
 * The store must be open with its KEK.
 */
int kube_session_open(struct store *s, const struct inventory *inv,
    const char *apiserver, const char *actor, struct kube **out,
    time_t *not_after, struct slw_diag *d);

/*
 * The two halves of kube_session_open, for a key held by another process
 * (the CSR approver): kube_session_issue, where the CA is, certifies pub
 * (only its public key is used; the subject is always slipway's), records
 * the certificate, and gives its PEM, the kubernetes trust bundle and its
 * end; kube_session_connect, where the key is, makes the client.
 */
struct signing;
int kube_session_issue(struct signing *sg, struct store *s,
    const struct key *pub, const char *actor, struct buf *cert_pem,
    struct buf *trust_pem, time_t *not_after, struct slw_diag *d);
int kube_session_connect(const char *url, const struct buf *trust_pem,
    const struct buf *cert_pem, const struct buf *key_pem, struct kube **out,
    struct slw_diag *d);

#endif
