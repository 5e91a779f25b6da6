// SPDX-License-Identifier: Apache-2.0
/*
 * chain.c: path validation with mbedTLS against a bundle of trusted CAs,
 * plus the extended-key-usage check for the requested purpose.
 */
#include "chain.h"
#include "key.h"
#include "pem.h"

#include <string.h>

#include <mbedtls/oid.h>

int
chain_trust_parse(const uint8_t *buf, size_t len, mbedtls_x509_crt *trust,
    struct slw_diag *d)
{
	struct buf tmp = { 0 };
	int r;

	if (buf == NULL || len == 0)
		return slw_diag(d, SLW_ERR_INVALID, "empty trust bundle");
	if (!pem_sniff(buf, len))
		return mbedtls_x509_crt_parse_der(trust, buf, len) == 0 ? 0 :
		    slw_diag(d, SLW_ERR_PARSE, "malformed certificate");
	if ((r = buf_set(&tmp, buf, len)) != 0)
		return r;
	/* Returns > 0 when some certificates were skipped: refuse those. */
	r = mbedtls_x509_crt_parse(trust, tmp.data, tmp.len + 1);
	buf_free(&tmp);
	if (r != 0)
		return slw_diag(d, SLW_ERR_PARSE,
		    "malformed certificate in trust bundle");
	return 0;
}

int
chain_verify(const uint8_t *leaf, size_t len, mbedtls_x509_crt *trust,
    enum purpose p, struct slw_diag *d)
{
	mbedtls_x509_crt crt;
	uint32_t flags = 0;
	char info[256];
	int r;

	mbedtls_x509_crt_init(&crt);
	if ((r = chain_trust_parse(leaf, len, &crt, d)) != 0)
		goto out;
	if (mbedtls_x509_crt_verify(&crt, trust, NULL, NULL, &flags, NULL,
	    NULL) != 0) {
		info[0] = '\0';
		mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
		info[strcspn(info, "\n")] = '\0';
		r = slw_diag(d, SLW_ERR_VERIFY, "certificate does not verify: %s",
		    info[0] ? info : "unknown reason");
		goto out;
	}
	if (p == PURPOSE_SERVER &&
	    mbedtls_x509_crt_check_extended_key_usage(&crt,
	    MBEDTLS_OID_SERVER_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH))
	    != 0) {
		r = slw_diag(d, SLW_ERR_VERIFY, "certificate is not for server auth");
		goto out;
	}
	if (p == PURPOSE_CLIENT &&
	    mbedtls_x509_crt_check_extended_key_usage(&crt,
	    MBEDTLS_OID_CLIENT_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH))
	    != 0) {
		r = slw_diag(d, SLW_ERR_VERIFY, "certificate is not for client auth");
		goto out;
	}
	r = 0;
 out:
	mbedtls_x509_crt_free(&crt);
	return r;
}
