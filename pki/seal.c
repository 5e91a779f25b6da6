// SPDX-License-Identifier: Apache-2.0
/*
 * seal.c: AES-256-GCM sealing with a random 96-bit nonce per blob:
 * "SLW1" || nonce || ciphertext || tag. Never returns plaintext that did
 * not authenticate; wipes every temporary copy of key material.
 */
#include "seal.h"
#include "diskspace.h"
#include "rand.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/gcm.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

#define KEK_MAGIC "SLIPWAY-KEK-1 "
#define SEAL_MAGIC "SLW1"

static int
derive(struct kek *k)
{
	static const char label[] = "slipway audit chain v1";
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

	if (md == NULL || mbedtls_md_hmac(md, k->key, KEK_LEN,
	    (const unsigned char *)label, sizeof(label) - 1, k->audit_key) != 0)
		return SLW_ERR_CRYPTO;
	return 0;
}

int
kek_derive(const struct kek *k, const char *label, uint8_t out[32])
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

	if (md == NULL || mbedtls_md_hmac(md, k->key, KEK_LEN,
	    (const unsigned char *)label, strlen(label), out) != 0)
		return SLW_ERR_CRYPTO;
	return 0;
}

void
kek_wipe(struct kek *k)
{
	if (k != NULL)
		mbedtls_platform_zeroize(k, sizeof(*k));
}

int
kek_generate(struct kek *k)
{
	int r;

	if ((r = slw_random(k->key, KEK_LEN)) != 0)
		return r;
	return derive(k);
}

int
kek_set(struct kek *k, const uint8_t key[KEK_LEN])
{
	int r;

	memmove(k->key, key, KEK_LEN);
	if ((r = derive(k)) != 0)
		kek_wipe(k);
	return r;
}

static int
unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
kek_load(const char *path, struct kek *k, struct slw_diag *d)
{
	struct buf b = { 0 };
	struct stat st;
	size_t i, ml = sizeof(KEK_MAGIC) - 1;
	int r;

	if (stat(path, &st) != 0)
		return slw_diag(d, SLW_ERR_NOKEK,
		    "key-encryption key %s: %s", path, strerror(errno));
	if (st.st_mode & 077)
		return slw_diag(d, SLW_ERR_PERM,
		    "key-encryption key %s is accessible to group or others (mode %04o); it must be 0600",
		    path, (unsigned)(st.st_mode & 07777));
	if ((r = buf_read_file(&b, path, 4096)) != 0)
		return slw_diag(d, SLW_ERR_NOKEK,
		    "key-encryption key %s cannot be read", path);
	r = slw_diag(d, SLW_ERR_NOKEK, "%s is not a slipway key-encryption key",
	    path);
	if (b.len < ml + 2 * KEK_LEN || memcmp(b.data, KEK_MAGIC, ml) != 0)
		goto out;
	if (b.len != ml + 2 * KEK_LEN && !(b.len == ml + 2 * KEK_LEN + 1 &&
	    b.data[b.len - 1] == '\n'))
		goto out;
	for (i = 0; i < KEK_LEN; i++) {
		int hi = unhex((char)b.data[ml + 2 * i]);
		int lo = unhex((char)b.data[ml + 2 * i + 1]);

		if (hi < 0 || lo < 0)
			goto out;
		k->key[i] = (uint8_t)(hi << 4 | lo);
	}
	slw_diag_clear(d);
	r = derive(k);
 out:
	if (r != 0)
		kek_wipe(k);
	buf_free(&b);
	return r;
}

int
kek_save(const char *path, const struct kek *k, struct slw_diag *d)
{
	static const char hx[] = "0123456789abcdef";
	char text[sizeof(KEK_MAGIC) + 2 * KEK_LEN + 1];
	size_t ml = sizeof(KEK_MAGIC) - 1, i;
	int r;

	memcpy(text, KEK_MAGIC, ml);
	for (i = 0; i < KEK_LEN; i++) {
		text[ml + 2 * i] = hx[k->key[i] >> 4];
		text[ml + 2 * i + 1] = hx[k->key[i] & 15];
	}
	text[ml + 2 * KEK_LEN] = '\n';
	r = buf_write_file(path, text, ml + 2 * KEK_LEN + 1, 0600, 1);
	mbedtls_platform_zeroize(text, sizeof(text));
	if (r == SLW_ERR_EXISTS)
		return slw_diag(d, r, "key-encryption key %s already exists",
		    path);
	if (r == SLW_ERR_NOSPACE) {
		char dir[4096];
		const char *sl = strrchr(path, '/');

		uint64_t avail, total;

		snprintf(dir, sizeof(dir), "%.*s", sl == NULL ? 1 :
		    sl == path ? 1 : (int)(sl - path), sl == NULL ? "." : path);
		(void)diskspace_get(dir, &avail, &total);
		return diskspace_full_diag(d, dir, avail);
	}
	if (r != 0)
		return slw_diag(d, r, "cannot write key-encryption key %s", path);
	return 0;
}

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
unseal(const struct kek *k, const char *aad, const uint8_t *blob, size_t len,
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
