// SPDX-License-Identifier: Apache-2.0
/*
 * signer.c: a CA certificate with its key, checked to belong together,
 * ready to sign (cert.c). Wipes the key when freed; never prints it.
 */
#include "cert.h"
#include "rand.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>

void
signer_free(struct signer *s)
{
	if (s == NULL)
		return;
	mbedtls_x509_crt_free(&s->crt);
	key_free(s->key);
	free(s);
}

int
signer_new(const uint8_t *der, size_t len, struct key *key,
    struct signer **out, struct slw_diag *d)
{
	struct signer *s = NULL;
	int r = SLW_ERR_INTERNAL;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		key_free(key);
		return SLW_ERR_NOMEM;
	}
	mbedtls_x509_crt_init(&s->crt);
	s->key = key;
	if (key == NULL || !key->has_private) {
		r = slw_diag(d, SLW_ERR_INVALID, "signer needs a private key");
		goto out;
	}
	if (mbedtls_x509_crt_parse_der(&s->crt, der, len) != 0) {
		r = slw_diag(d, SLW_ERR_PARSE, "malformed CA certificate");
		goto out;
	}
	if (mbedtls_x509_crt_get_ca_istrue(&s->crt) != 1) {
		r = slw_diag(d, SLW_ERR_INVALID, "certificate is not a CA");
		goto out;
	}
	if (mbedtls_pk_check_pair(&s->crt.pk, &key->pk, slw_rng, NULL) != 0) {
		r = slw_diag(d, SLW_ERR_VERIFY,
		    "CA private key does not match its certificate");
		goto out;
	}
	s->not_after = cert_time_to_epoch(&s->crt.valid_to);
	*out = s;
	s = NULL;
	r = 0;
 out:
	signer_free(s);
	return r;
}
