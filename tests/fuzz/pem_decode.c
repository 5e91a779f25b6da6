// SPDX-License-Identifier: Apache-2.0
/*
 * pem_decode.c: fuzz target for the PEM decoder and the strict and lenient
 * CSR entry points (which verify signatures) on arbitrary bytes.
 */
#include <stdint.h>
#include <stdlib.h>

#include "chain.h"
#include "csr.h"
#include "pem.h"
#include "rand.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char label[PEM_LABEL_MAX];
	struct buf der = { 0 };
	struct csr *c = NULL;
	mbedtls_x509_crt trust;
	size_t used = 0;

	slw_crypto_init();
	if (pem_next(data, size, label, &der, &used, NULL) == 0 &&
	    (used > size || der.data == NULL))
		abort();
	buf_free(&der);
	if (csr_parse_pem_strict(data, size, &c, NULL) == 0)
		csr_free(c);
	c = NULL;
	if (csr_parse(data, size, &c, NULL) == 0)
		csr_free(c);
	mbedtls_x509_crt_init(&trust);
	(void)chain_trust_parse(data, size, &trust, NULL);
	mbedtls_x509_crt_free(&trust);
	return 0;
}
