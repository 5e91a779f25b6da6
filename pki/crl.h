/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crl.h: X.509 v2 certificate revocation lists (RFC 5280 section 5),
 * written by slipway (mbedTLS 3.6 only parses CRLs) and read back.
 *
 * A CRL slipway writes: version v2; issuer = the CA certificate's subject,
 * byte for byte; thisUpdate; nextUpdate; the revoked certificates (serial,
 * revocationDate, and a reasonCode entry extension unless the reason is
 * unspecified, as RFC 5280 5.3.1 asks); crlExtensions: CRL Number and
 * Authority Key Identifier (both non-critical, 5.2.1 and 5.2.3); signed by
 * the CA's key with the same digest cert_sign uses.
 *
 * Reasons (RFC 5280 5.3.1 CRLReason): unspecified, keyCompromise,
 * cACompromise, affiliationChanged, superseded, cessationOfOperation,
 * privilegeWithdrawn, aACompromise. Not accepted: certificateHold (a hold
 * is undone with removeFromCRL; a slipway revocation is final) and
 * removeFromCRL (only meaningful in delta CRLs, which slipway does not
 * issue).
 */
#ifndef SLW_CRL_H
#define SLW_CRL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "cert.h"
#include "err.h"

#define CRL_LIFETIME_SECS (7 * 86400)	/* nextUpdate - thisUpdate */
#define CRL_MAX_ENTRIES 2000000u
#define CRL_MAX_DER ((size_t)128 << 20)	/* what crl_info_der accepts */

enum crl_reason {
	CRL_REASON_UNSPECIFIED = 0,
	CRL_REASON_KEY_COMPROMISE = 1,
	CRL_REASON_CA_COMPROMISE = 2,
	CRL_REASON_AFFILIATION_CHANGED = 3,
	CRL_REASON_SUPERSEDED = 4,
	CRL_REASON_CESSATION_OF_OPERATION = 5,
	CRL_REASON_PRIVILEGE_WITHDRAWN = 9,
	CRL_REASON_AA_COMPROMISE = 10,
};

struct crl_entry {
	uint8_t serial[SERIAL_LEN];
	time_t revoked_at;
	int reason;		/* enum crl_reason */
};

/* RFC 5280 name ("keyCompromise") to code; SLW_ERR_INVALID otherwise. */
int crl_reason_parse(const char *name, int *reason);
/* Code to RFC 5280 name; NULL for a code slipway does not write. */
const char *crl_reason_name(int reason);
/* "unspecified, keyCompromise, ..." (for usage messages). */
const char *crl_reason_list(void);

/*
 * Writes and signs a CRL of n entries with CA ca. number is the CRL Number
 * (callers keep it monotonic). The CA certificate must allow cRLSign if it
 * has a key usage extension.
 */
int crl_write(const struct signer *ca, const struct crl_entry *e, size_t n,
    uint64_t number, time_t this_update, time_t next_update, struct buf *der,
    struct slw_diag *d);

struct crl_info {
	uint64_t number;
	time_t this_update;
	time_t next_update;	/* 0 if absent */
	size_t n_entries;
	uint8_t aki[64];	/* keyIdentifier of the AKI extension */
	size_t aki_len;
};

/*
 * Parses a DER CRL (untrusted input: (buf, len), capped at CRL_MAX_DER, no
 * I/O) with mbedTLS's parser, then reads what mbedTLS leaves raw: the CRL
 * Number, the AKI and each entry's reason code. cb (may be NULL) sees each
 * entry; a serial longer than SERIAL_LEN is SLW_ERR_PARSE here, since
 * slipway never issued one. Signatures are not checked (crl_verify does).
 */
int crl_info_der(const uint8_t *der, size_t len, struct crl_info *info,
    int (*cb)(void *arg, const struct crl_entry *e), void *arg);
/* Checks the CRL's issuer name and signature against the CA certificate. */
int crl_verify(const uint8_t *der, size_t len, const uint8_t *ca_der,
    size_t ca_len);
/* Appends the CRL as PEM "X509 CRL". */
int crl_pem_append(struct buf *out, const uint8_t *der, size_t len);

#endif
