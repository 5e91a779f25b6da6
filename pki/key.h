/* SPDX-License-Identifier: Apache-2.0 */
/*
 * key.h: private and public keys (ECDSA P-256/P-384, RSA 2048/3072/4096),
 * PEM and DER in and out. A struct key may hold only a public key.
 */
#ifndef SLW_KEY_H
#define SLW_KEY_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/pk.h>

#include "buf.h"
#include "err.h"

enum key_type {
	KEY_NONE = 0,
	KEY_EC_P256,
	KEY_EC_P384,
	KEY_RSA_2048,
	KEY_RSA_3072,
	KEY_RSA_4096,
};

#define KEY_MAX_INPUT (64 * 1024)

struct key {
	mbedtls_pk_context pk;
	enum key_type type;
	int has_private;
};

/* "ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096". */
int key_type_parse(const char *s, enum key_type *out);
const char *key_type_name(enum key_type t);
/* Algorithm and size as openssl prints them, e.g. "ECDSA P-256". */
const char *key_type_desc(enum key_type t);
/* The type of an mbedTLS key, KEY_NONE if slipway does not support it. */
enum key_type key_type_of(const mbedtls_pk_context *pk);

int key_generate(enum key_type t, struct key **out);
/* Private key, PEM (SEC1, PKCS#1 or PKCS#8) or DER. */
int key_parse(const uint8_t *buf, size_t len, struct key **out,
    struct slw_diag *d);
/* Public key (SubjectPublicKeyInfo), PEM or DER. */
int key_parse_public(const uint8_t *buf, size_t len, struct key **out,
    struct slw_diag *d);
/* A public-only copy of pk (from a CSR or a certificate). */
int key_from_public(const mbedtls_pk_context *pk, struct key **out);

/* Private key: PEM "EC PRIVATE KEY" / "RSA PRIVATE KEY", or DER. */
int key_write_pem(const struct key *k, struct buf *out);
int key_write_der(const struct key *k, struct buf *out);
int key_write_public_pem(const struct key *k, struct buf *out);
int key_write_public_der(const struct key *k, struct buf *out);
int key_write_pk_public_der(const mbedtls_pk_context *pk, struct buf *out);

/* SHA-256 of the DER SubjectPublicKeyInfo (curl's --pinnedpubkey). */
int key_spki_sha256(const struct key *k, uint8_t out[32]);

/* Wipes and frees; accepts NULL. */
void key_free(struct key *k);


#endif
