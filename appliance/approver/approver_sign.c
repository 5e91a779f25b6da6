// SPDX-License-Identifier: Apache-2.0
/*
 * approver_sign.c: turns an approved kubelet CSR into a certificate through
 * the narrow signing interface (signing.h), and builds the PEM chain for
 * status.certificate. The template comes from the policy's decision, never
 * from the CSR's own extensions. Must never see a CA key.
 */
#include "approver.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/x509_crt.h>

#include "ca.h"
#include "cert.h"
#include "profile.h"

const char *
approver_sign_purpose(enum approver_kind kind)
{
	return kind == APPROVER_KIND_SERVING ? "kubelet-serving" :
	    "kubelet-client";
}

/* The leaf followed by the CA (of the trust bundle) that issued it. */
static int
chain_pem(struct signing *sg, const uint8_t *der, size_t len,
    struct buf *chain, struct slw_diag *d)
{
	mbedtls_x509_crt leaf, trust, one;
	const mbedtls_x509_crt *c;
	struct buf pem = { 0 };
	uint32_t flags;
	int r, found = 0;

	mbedtls_x509_crt_init(&leaf);
	mbedtls_x509_crt_init(&trust);
	if ((r = cert_pem_append(chain, der, len)) != 0)
		goto out;
	if ((r = signing_trust_pem(sg, CA_KUBERNETES, &pem)) != 0)
		goto out;
	r = SLW_ERR_CRYPTO;
	if (mbedtls_x509_crt_parse_der(&leaf, der, len) != 0 ||
	    mbedtls_x509_crt_parse(&trust, pem.data, pem.len + 1) < 0)
		goto out;
	for (c = &trust; c != NULL && c->raw.p != NULL && !found; c = c->next) {
		mbedtls_x509_crt_init(&one);
		if (mbedtls_x509_crt_parse_der(&one, c->raw.p, c->raw.len) == 0 &&
		    mbedtls_x509_crt_verify(&leaf, &one, NULL, NULL, &flags,
		    NULL, NULL) == 0) {
			found = 1;
			if ((r = cert_pem_append(chain, c->raw.p, c->raw.len)) !=
			    0) {
				mbedtls_x509_crt_free(&one);
				goto out;
			}
		}
		mbedtls_x509_crt_free(&one);
	}
	if (!found) {
		r = slw_diag(d, SLW_ERR_VERIFY, "the certificate does not "
		    "verify against the kubernetes trust bundle");
		goto out;
	}
	r = 0;
 out:
	mbedtls_x509_crt_free(&leaf);
	mbedtls_x509_crt_free(&trust);
	buf_free(&pem);
	return r;
}

int
approver_sign(struct signing *sg, const struct approver_decision *dec,
    time_t now, struct signing_result *res, struct buf *chain,
    struct slw_diag *d)
{
	struct profile prof;
	struct cert_template t;
	struct signing_request req;
	struct cert_info info;
	uint32_t hours, shift;
	size_t i;
	int r;

	memset(res, 0, sizeof(*res));
	if (dec == NULL || dec->verdict != APPROVER_APPROVE ||
	    dec->csr == NULL || dec->validity < APPROVER_MIN_SECONDS)
		return SLW_ERR_INVALID;
	memset(&prof, 0, sizeof(prof));
	memset(&t, 0, sizeof(t));
	snprintf(prof.name, sizeof(prof.name), "%s",
	    approver_sign_purpose(dec->kind));
	prof.ku = MBEDTLS_X509_KU_DIGITAL_SIGNATURE;
	if (dec->key_encipherment)	/* dropped for EC keys by cert_sign */
		prof.ku |= MBEDTLS_X509_KU_KEY_ENCIPHERMENT;
	prof.eku = dec->kind == APPROVER_KIND_SERVING ? EKU_SERVER_AUTH :
	    EKU_CLIENT_AUTH;
	/*
	 * cert_template counts whole hours from now - CERT_BACKDATE_SECS.
	 * For a validity that is not a whole number of hours, round the hours
	 * up and start the certificate that much earlier, so that notAfter is
	 * exactly now - backdate + validity and never later than allowed.
	 */
	hours = (dec->validity + 3599) / 3600;
	shift = hours * 3600 - dec->validity;
	prof.hours = hours;
	t.profile = &prof;
	t.hours = hours;
	t.subject = dec->csr->subject;
	if (dec->kind == APPROVER_KIND_SERVING) {
		for (i = 0; i < dec->csr->n_sans && i < SAN_MAX; i++)
			t.sans[i] = dec->csr->sans[i];
		t.n_sans = i;
	}
	memset(&req, 0, sizeof(req));
	req.ca_role = CA_KUBERNETES;
	req.t = &t;
	req.subject = dec->csr->key;
	req.now = now - (time_t)shift;
	if ((r = signing_sign(sg, &req, res, d)) != 0)
		return r;
	if ((r = cert_info_der(res->der.data, res->der.len, &info)) != 0 ||
	    info.not_after <= now) {
		signing_result_free(res);
		return slw_diag(d, r ? r : SLW_ERR_EXPIRED, "the kubernetes CA "
		    "expires before the certificate would start");
	}
	if (chain != NULL && (r = chain_pem(sg, res->der.data, res->der.len,
	    chain, d)) != 0) {
		signing_result_free(res);
		buf_free(chain);
		return r;
	}
	return 0;
}

int
approver_sign_chain(struct signing *sg, const uint8_t *der, size_t len,
    struct buf *chain, struct slw_diag *d)
{
	return chain_pem(sg, der, len, chain, d);
}
