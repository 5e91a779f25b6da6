// SPDX-License-Identifier: Apache-2.0
/*
 * key.c: key generation and key encoding with mbedTLS. Private key bytes
 * are wiped from every temporary buffer; nothing here logs or prints.
 */
#include "key.h"
#include "pem.h"
#include "rand.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>

static const struct {
	enum key_type t;
	const char *name;
	const char *desc;
} key_names[] = {
	{ KEY_EC_P256, "ecdsa-p256", "ECDSA P-256" },
	{ KEY_EC_P384, "ecdsa-p384", "ECDSA P-384" },
	{ KEY_RSA_2048, "rsa-2048", "RSA 2048" },
	{ KEY_RSA_3072, "rsa-3072", "RSA 3072" },
	{ KEY_RSA_4096, "rsa-4096", "RSA 4096" },
};

int
key_type_parse(const char *s, enum key_type *out)
{
	size_t i;

	for (i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++)
		if (s != NULL && strcmp(s, key_names[i].name) == 0) {
			*out = key_names[i].t;
			return 0;
		}
	return SLW_ERR_INVALID;
}

const char *
key_type_name(enum key_type t)
{
	size_t i;

	for (i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++)
		if (key_names[i].t == t)
			return key_names[i].name;
	return "none";
}

const char *
key_type_desc(enum key_type t)
{
	size_t i;

	for (i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++)
		if (key_names[i].t == t)
			return key_names[i].desc;
	return "unsupported";
}

enum key_type
key_type_of(const mbedtls_pk_context *pk)
{
	switch (mbedtls_pk_get_type(pk)) {
	case MBEDTLS_PK_ECKEY:
	case MBEDTLS_PK_ECDSA:
		switch (mbedtls_ecp_keypair_get_group_id(mbedtls_pk_ec(*pk))) {
		case MBEDTLS_ECP_DP_SECP256R1: return KEY_EC_P256;
		case MBEDTLS_ECP_DP_SECP384R1: return KEY_EC_P384;
		default: return KEY_NONE;
		}
	case MBEDTLS_PK_RSA:
		switch (mbedtls_pk_get_bitlen(pk)) {
		case 2048: return KEY_RSA_2048;
		case 3072: return KEY_RSA_3072;
		case 4096: return KEY_RSA_4096;
		default: return KEY_NONE;
		}
	default:
		return KEY_NONE;
	}
}

static struct key *
key_new(void)
{
	struct key *k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	mbedtls_pk_init(&k->pk);
	return k;
}

void
key_free(struct key *k)
{
	if (k == NULL)
		return;
	mbedtls_pk_free(&k->pk);
	mbedtls_platform_zeroize(k, sizeof(*k));
	free(k);
}

int
key_generate(enum key_type t, struct key **out)
{
	struct key *k = NULL;
	int r = SLW_ERR_INTERNAL, bits = 0;
	mbedtls_ecp_group_id grp = MBEDTLS_ECP_DP_NONE;

	*out = NULL;
	switch (t) {
	case KEY_EC_P256: grp = MBEDTLS_ECP_DP_SECP256R1; break;
	case KEY_EC_P384: grp = MBEDTLS_ECP_DP_SECP384R1; break;
	case KEY_RSA_2048: bits = 2048; break;
	case KEY_RSA_3072: bits = 3072; break;
	case KEY_RSA_4096: bits = 4096; break;
	default: return SLW_ERR_INVALID;
	}
	if ((r = slw_crypto_init()) != 0)
		return r;
	if ((k = key_new()) == NULL)
		return SLW_ERR_NOMEM;
	r = SLW_ERR_CRYPTO;
	if (bits == 0) {
		if (mbedtls_pk_setup(&k->pk,
		    mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0)
			goto out;
		if (mbedtls_ecp_gen_key(grp, mbedtls_pk_ec(k->pk), slw_rng,
		    NULL) != 0)
			goto out;
	} else {
		if (mbedtls_pk_setup(&k->pk,
		    mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)) != 0)
			goto out;
		if (mbedtls_rsa_gen_key(mbedtls_pk_rsa(k->pk), slw_rng, NULL,
		    (unsigned int)bits, 65537) != 0)
			goto out;
	}
	k->type = t;
	k->has_private = 1;
	*out = k;
	k = NULL;
	r = 0;
 out:
	key_free(k);
	return r;
}

/* mbedTLS wants PEM NUL-terminated with the NUL counted in the length. */
static int
with_nul(const uint8_t *buf, size_t len, struct buf *tmp, int *is_pem)
{
	*is_pem = pem_sniff(buf, len);
	if (!*is_pem)
		return 0;
	if (memchr(buf, '\0', len) != NULL)
		return SLW_ERR_PARSE;
	return buf_set(tmp, buf, len);
}

static int
finish_parse(struct key *k, struct slw_diag *d)
{
	k->type = key_type_of(&k->pk);
	if (k->type == KEY_NONE)
		return slw_diag(d, SLW_ERR_UNSUPPORTED,
		    "unsupported key type or size (need ECDSA P-256/P-384 or RSA 2048/3072/4096)");
	return 0;
}

/* Parses a private (want_private) or public key, PEM or DER. */
static int
parse_key(const uint8_t *buf, size_t len, int want_private, struct key **out,
    struct slw_diag *d)
{
	const char *what = want_private ? "private key" : "public key";
	struct buf tmp = { 0 };
	struct key *k = NULL;
	const uint8_t *in;
	size_t inlen;
	int r, pem, mr;

	*out = NULL;
	if (buf == NULL || len == 0)
		return slw_diag(d, SLW_ERR_INVALID, "empty %s", what);
	if (len > KEY_MAX_INPUT)
		return slw_diag(d, SLW_ERR_TOOBIG, "%s larger than %d bytes",
		    what, KEY_MAX_INPUT);
	if ((r = slw_crypto_init()) != 0)
		return r;
	if ((r = with_nul(buf, len, &tmp, &pem)) != 0) {
		slw_diag(d, r, "malformed PEM %s", what);
		goto out;
	}
	if ((k = key_new()) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	in = pem ? tmp.data : buf;
	inlen = pem ? tmp.len + 1 : len;
	mr = want_private ?
	    mbedtls_pk_parse_key(&k->pk, in, inlen, NULL, 0, slw_rng, NULL) :
	    mbedtls_pk_parse_public_key(&k->pk, in, inlen);
	if (mr != 0) {
		r = slw_diag(d, SLW_ERR_PARSE, "malformed %s %s",
		    pem ? "PEM" : "DER", what);
		goto out;
	}
	if ((r = finish_parse(k, d)) != 0)
		goto out;
	k->has_private = want_private;
	*out = k;
	k = NULL;
	r = 0;
 out:
	buf_free(&tmp);
	key_free(k);
	return r;
}

int
key_parse(const uint8_t *buf, size_t len, struct key **out, struct slw_diag *d)
{
	return parse_key(buf, len, 1, out, d);
}

int
key_parse_public(const uint8_t *buf, size_t len, struct key **out,
    struct slw_diag *d)
{
	return parse_key(buf, len, 0, out, d);
}

int
key_write_pk_public_der(const mbedtls_pk_context *pk, struct buf *out)
{
	unsigned char tmp[2048];
	int n;

	n = mbedtls_pk_write_pubkey_der((mbedtls_pk_context *)pk, tmp,
	    sizeof(tmp));
	if (n <= 0)
		return SLW_ERR_CRYPTO;
	return buf_set(out, tmp + sizeof(tmp) - n, (size_t)n);
}

int
key_from_public(const mbedtls_pk_context *pk, struct key **out)
{
	struct buf der = { 0 };
	int r;

	*out = NULL;
	if ((r = key_write_pk_public_der(pk, &der)) != 0)
		return r;
	r = key_parse_public(der.data, der.len, out, NULL);
	buf_free(&der);
	return r;
}

int
key_write_der(const struct key *k, struct buf *out)
{
	unsigned char tmp[4096];
	int n, r;

	if (!k->has_private)
		return SLW_ERR_INVALID;
	n = mbedtls_pk_write_key_der((mbedtls_pk_context *)&k->pk, tmp,
	    sizeof(tmp));
	if (n <= 0) {
		r = SLW_ERR_CRYPTO;
		goto out;
	}
	r = buf_set(out, tmp + sizeof(tmp) - n, (size_t)n);
 out:
	mbedtls_platform_zeroize(tmp, sizeof(tmp));
	return r;
}

int
key_write_pem(const struct key *k, struct buf *out)
{
	unsigned char tmp[8192];
	int r;

	if (!k->has_private)
		return SLW_ERR_INVALID;
	if (mbedtls_pk_write_key_pem((mbedtls_pk_context *)&k->pk, tmp,
	    sizeof(tmp)) != 0) {
		r = SLW_ERR_CRYPTO;
		goto out;
	}
	r = buf_set(out, tmp, strlen((char *)tmp));
 out:
	mbedtls_platform_zeroize(tmp, sizeof(tmp));
	return r;
}

int
key_write_public_der(const struct key *k, struct buf *out)
{
	return key_write_pk_public_der(&k->pk, out);
}

int
key_write_public_pem(const struct key *k, struct buf *out)
{
	unsigned char tmp[4096];

	if (mbedtls_pk_write_pubkey_pem((mbedtls_pk_context *)&k->pk, tmp,
	    sizeof(tmp)) != 0)
		return SLW_ERR_CRYPTO;
	return buf_set(out, tmp, strlen((char *)tmp));
}

int
key_spki_sha256(const struct key *k, uint8_t out[32])
{
	struct buf der = { 0 };
	int r;

	if ((r = key_write_public_der(k, &der)) != 0)
		return r;
	r = mbedtls_sha256(der.data, der.len, out, 0) == 0 ? 0 : SLW_ERR_CRYPTO;
	buf_free(&der);
	return r;
}
