/* SPDX-License-Identifier: Apache-2.0 */
/*
 * csr.h: PKCS#10 certificate signing requests: parse, verify the
 * self-signature, extract subject, SANs, key usage and key; and write a
 * plain one for a key of ours.
 */
#ifndef SLW_CSR_H
#define SLW_CSR_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/x509_csr.h>

#include "buf.h"
#include "err.h"
#include "key.h"
#include "name.h"

#define CSR_MAX_LEN (64 * 1024)

struct csr {
	mbedtls_x509_csr x;
	struct dn subject;
	struct san sans[SAN_MAX];
	size_t n_sans;
	struct key *key;	/* public key only */
	unsigned int key_usage;	/* requested keyUsage extension, 0 if none */
};

/*
 * Parses a CSR given as DER or as PEM (any label mbedTLS knows), verifies
 * its signature and extracts its fields. Every rejection has a reason in d.
 */
int csr_parse(const uint8_t *buf, size_t len, struct csr **out,
    struct slw_diag *d);
/*
 * As Kubernetes reads spec.request: the first PEM block must be labelled
 * exactly "CERTIFICATE REQUEST"; bare DER and other labels are refused.
 */
int csr_parse_pem_strict(const uint8_t *buf, size_t len, struct csr **out,
    struct slw_diag *d);
void csr_free(struct csr *c);
/*
 * A PKCS#10 request for subject, no extensions, signed by k with SHA-256,
 * as DER appended to out (a process proving that it holds k, e.g. the CSR
 * approver asking the monitor for its API client certificate).
 */
int csr_write_der(const struct key *k, const struct dn *subject,
    struct buf *out);

#endif
