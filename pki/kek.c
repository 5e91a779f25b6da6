// SPDX-License-Identifier: Apache-2.0
/*
 * kek.c: the key-encryption key: made from randomness or set from an
 * unwrapped key, kept in a 0600 file as hex, loaded, derived from,
 * wiped. Never printed or logged.
 */
#include "seal.h"
#include "diskspace.h"
#include "rand.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

#define KEK_MAGIC "SLIPWAY-KEK-1 "

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
