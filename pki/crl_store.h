/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crl_store.h: the revocation state of each CA generation in the store, and
 * its signed CRL, cached. In DB_META:
 *
 *   "crl/<ca>/<gen>"                 the last signed CRL: its number, dates,
 *                                    DER, and whether a revocation came since
 *   "crl-entry/<ca>/<gen>/" serial   one revoked certificate: when, why, and
 *                                    its not-after (for dropping it later)
 *
 * The CRL Number only grows, per CA generation. A CRL is re-signed only when
 * it must be (crl_store_due): never signed, a revocation since, or less than
 * half of its CRL_LIFETIME_SECS left. An entry stays on the CRL until the
 * certificate has been expired for a whole CRL lifetime (so it was on a
 * regularly scheduled CRL issued after its expiry, RFC 5280 5.1.2.6).
 */
#ifndef SLW_CRL_STORE_H
#define SLW_CRL_STORE_H

#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "ca.h"
#include "certdb.h"
#include "crl.h"
#include "store.h"

struct crl_state {
	uint64_t number;
	time_t this_update;
	time_t next_update;
	int stale;		/* a revocation since it was signed */
	size_t n_entries;
	struct buf der;
};

/* Adds a revoked certificate (rec->status CERT_REVOKED) to its CA
 * generation's revocation list and marks the CRL stale. */
int crl_store_add(struct store_txn *t, const struct cert_rec *rec);
/* The cached CRL of a generation (gen 0: the current one);
 * SLW_ERR_NOTFOUND if it was never signed. */
int crl_store_get(struct store_txn *t, const char *ca, uint32_t gen,
    struct crl_state *st);
void crl_store_state_free(struct crl_state *st);
/* 1 if the generation's CRL must be signed at now, else 0; < 0 on error. */
int crl_store_due(struct store_txn *t, const char *ca, uint32_t gen,
    time_t now);
/*
 * Signs the generation's CRL with s (that generation's signer) if it is
 * due or force is set: next number, thisUpdate now, nextUpdate now +
 * CRL_LIFETIME_SECS; stores it and appends a "crl.sign" audit record.
 * *resigned (may be NULL) says whether it signed.
 */
int crl_store_refresh(struct store_txn *t, const struct signer *s,
    const char *ca, uint32_t gen, time_t now, int force, const char *actor,
    int *resigned);
/*
 * Refreshes every due CRL of every trusted (not retired) generation of every
 * CA, unsealing each generation's key from the store (needs the KEK).
 * *n_signed (may be NULL) counts the CRLs signed.
 */
int crl_store_refresh_all(struct store_txn *t, time_t now, const char *actor,
    size_t *n_signed);
/* 1 if any CRL of a trusted generation is due at now. */
int crl_store_any_due(struct store_txn *t, time_t now);
/*
 * PEM of the cached CRLs of every trusted generation of the CA that serves
 * role (current generation first); SLW_ERR_NOTFOUND for an unknown CA or
 * when a trusted generation has no CRL yet.
 */
int crl_store_pem(struct store_txn *t, const char *role, struct buf *pem);

#endif
