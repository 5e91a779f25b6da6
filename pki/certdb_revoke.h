/* SPDX-License-Identifier: Apache-2.0 */
/*
 * certdb_revoke.h: revoking certificates slipway issued, by serial or every
 * certificate of a node. Each revocation changes the certificate record
 * (status, reason, time), adds it to its CA generation's revocation list
 * (crl_store.h, the CRL turns stale) and appends a "cert.revoke" audit
 * record, all in the caller's one write transaction. Revocation is final.
 *
 * Refused, with one line in the transaction's diag and nothing changed:
 * an unknown serial (SLW_ERR_NOTFOUND), a CA certificate (SLW_ERR_DENIED:
 * a CA generation is retired by rotation), a certificate already revoked
 * (SLW_ERR_EXISTS), a node without any certificate left to revoke
 * (SLW_ERR_NOTFOUND).
 */
#ifndef SLW_CERTDB_REVOKE_H
#define SLW_CERTDB_REVOKE_H

#include <stddef.h>
#include <time.h>

#include "certdb.h"
#include "store.h"

/* rec (may be NULL) gets the revoked record, without its DER. */
int certdb_revoke(struct store_txn *t, const uint8_t serial[SERIAL_LEN],
    int reason, time_t now, const char *actor, struct cert_rec *rec);
/*
 * Revokes every certificate of node that is not revoked yet and has not
 * been expired for a CRL lifetime: current and superseded ones alike (a
 * superseded certificate still verifies until it expires). cb (may be
 * NULL) sees each revoked record.
 */
int certdb_revoke_node(struct store_txn *t, const char *node, int reason,
    time_t now, const char *actor,
    int (*cb)(void *arg, const struct cert_rec *rec), void *arg,
    size_t *count);

#endif
