// SPDX-License-Identifier: Apache-2.0
/*
 * seal.c: AES-256-GCM sealing with a random 96-bit nonce per blob:
 * "SLW1" || nonce || ciphertext || tag. Never returns plaintext that did
 * not authenticate; wipes every temporary copy of key material.
 */
#include "seal.h"
#include "rand.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/gcm.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

#define SEAL_MAGIC "SLW1"

int
seal(const struct kek *k, const char *aad, const uint8_t *pt, size_t len,
    struct buf *out)
{
	mbedtls_gcm_context g;
	uint8_t *blob = NULL;
	size_t blen;
	int r = SLW_ERR_CRYPTO;

	if (len > SIZE_MAX - SEAL_OVERHEAD)
		return SLW_ERR_TOOBIG;
	blen = SEAL_OVERHEAD + len;
	mbedtls_gcm_init(&g);
	/* +1: struct buf keeps a NUL after len (buf_free wipes it too) */
	if ((blob = malloc(blen + 1)) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	memcpy(blob, SEAL_MAGIC, 4);
	if ((r = slw_random(blob + 4, 12)) != 0)
		goto out;
	r = SLW_ERR_CRYPTO;
	if (mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, k->key, 256) != 0)
		goto out;
	if (mbedtls_gcm_crypt_and_tag(&g, MBEDTLS_GCM_ENCRYPT, len, blob + 4,
	    12, (const unsigned char *)aad, strlen(aad), pt, blob + 16,
	    16, blob + 16 + len) != 0)
		goto out;
	blob[blen] = '\0';
	buf_free(out);
	out->data = blob;
	out->len = blen;
	blob = NULL;
	r = 0;
 out:
	mbedtls_gcm_free(&g);
	free(blob);
	return r;
}

int
seal_open(const struct kek *k, const char *aad, const uint8_t *blob, size_t len,
    struct buf *pt)
{
	mbedtls_gcm_context g;
	uint8_t *p = NULL;
	size_t plen;
	int r = SLW_ERR_CORRUPT;

	if (len < SEAL_OVERHEAD || memcmp(blob, SEAL_MAGIC, 4) != 0)
		return SLW_ERR_CORRUPT;
	plen = len - SEAL_OVERHEAD;
	mbedtls_gcm_init(&g);
	if ((p = malloc(plen + 1)) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	if (mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, k->key, 256) != 0) {
		r = SLW_ERR_CRYPTO;
		goto out;
	}
	if (mbedtls_gcm_auth_decrypt(&g, plen, blob + 4, 12,
	    (const unsigned char *)aad, strlen(aad), blob + 16 + plen, 16,
	    blob + 16, p) != 0)
		goto out;	/* wrong key, wrong record id or altered bytes */
	p[plen] = '\0';
	buf_free(pt);
	pt->data = p;
	pt->len = plen;
	p = NULL;
	r = 0;
 out:
	mbedtls_gcm_free(&g);
	if (p != NULL) {
		mbedtls_platform_zeroize(p, plen + 1);
		free(p);
	}
	return r;
}
