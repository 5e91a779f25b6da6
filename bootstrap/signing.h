/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signing.h: the narrow signing interface: a signing request in, a
 * certificate out. Renderers, the HTTPS endpoint and the CSR approver only
 * ever see this, never a CA key, so the in-process implementation here can
 * be replaced by a privilege-separated signer process without touching
 * them.
 */
#ifndef SLW_SIGNING_H
#define SLW_SIGNING_H

#include <stdint.h>
#include <time.h>

#include "ca.h"
#include "cert.h"
#include "key.h"
#include "store.h"

struct signing_request {
	const char *ca_role;		/* CA_KUBERNETES, CA_ETCD, CA_FRONT_PROXY */
	const struct cert_template *t;	/* subject, SANs, profile, validity */
	const struct key *subject;	/* only its public key is used */
	time_t now;
};

struct signing_result {
	uint8_t serial[SERIAL_LEN];
	struct buf der;			/* the certificate */
	char ca_name[CA_NAME_MAX];	/* issuing CA and generation */
	uint32_t ca_gen;
	char profile[PROFILE_NAME_MAX];
};

struct signing;

/* In-process signer: loads (and unseals) the current CA generations. */
int signing_local_new(struct store *s, struct signing **out,
    struct slw_diag *d);
void signing_free(struct signing *sg);
/*
 * Reloads the signers and trust bundles if a CA rotation step happened
 * since they were loaded (the store's CA epoch changed). Cheap when nothing
 * changed (one read transaction). *reloaded (may be NULL) tells which.
 * Not thread-safe against concurrent signing_sign on the same object:
 * callers serialise (e.g. one refresh per request under their own lock, or
 * a fresh object swapped in).
 */
int signing_refresh(struct signing *sg, struct store *s, int *reloaded,
    struct slw_diag *d);

int signing_sign(struct signing *sg, const struct signing_request *req,
    struct signing_result *out, struct slw_diag *d);
/* Trust bundle (PEM) of a CA role: every trusted generation. */
int signing_trust_pem(struct signing *sg, const char *role, struct buf *pem);
void signing_result_free(struct signing_result *r);

/*
 * Re-signs every CRL that is due (crl_store.h: after a revocation, or past
 * half of its lifetime) for every trusted CA generation, in one write
 * transaction, with the generations' own keys unsealed for the signing
 * only; a read transaction alone when nothing is due. *n_signed (may be
 * NULL) counts them. For the monitor and the console, which hold the KEK.
 */
int signing_crl_refresh(struct store *s, time_t now, const char *actor,
    size_t *n_signed, struct slw_diag *d);
/*
 * The PEM CRLs of the CA serving role (crl_store_pem: every trusted
 * generation, the signing one first), re-signing first what is due.
 * SLW_ERR_NOTFOUND for an unknown CA.
 */
int signing_crl_pem(struct store *s, const char *role, time_t now,
    const char *actor, struct buf *pem, struct slw_diag *d);
/* The DER CRL of the current (signing) generation of that CA, as etcd
 * reads it (--client-crl-file: one CRL), re-signed first if due. */
int signing_crl_der(struct store *s, const char *role, time_t now,
    const char *actor, struct buf *der, struct slw_diag *d);

/* Records a signed certificate (certificate record + audit entry). */
int signing_result_record(struct store_txn *t, const struct signing_result *r,
    const char *node, const char *purpose, const char *actor);

#endif
