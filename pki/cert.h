/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cert.h: issuing X.509 certificates from a profile and reading back the
 * fields slipway keeps about them.
 */
#ifndef SLW_CERT_H
#define SLW_CERT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <mbedtls/x509_crt.h>

#include "buf.h"
#include "err.h"
#include "key.h"
#include "name.h"
#include "profile.h"

#define SERIAL_LEN 16	/* 128 random bits */
#define CERT_MAX_DER (64 * 1024)
/* cfssl's default backdate: certificates start 5 minutes in the past. */
#define CERT_BACKDATE_SECS 300

/* A CA that can sign: its certificate and its private key (signer.c). */
struct signer {
	mbedtls_x509_crt crt;
	struct key *key;
	time_t not_after;
};

/* Takes ownership of key (also on failure). Checks the key matches. */
int signer_new(const uint8_t *der, size_t len, struct key *key,
    struct signer **out, struct slw_diag *d);
void signer_free(struct signer *s);

struct cert_template {
	const struct profile *profile;
	struct dn subject;
	struct san sans[SAN_MAX];
	size_t n_sans;
	uint32_t hours;		/* 0: the profile's */
	uint32_t seconds;	/* if set: valid this long from now (short
				 * leaves, tests), instead of hours */
};

int cert_template_add_san(struct cert_template *t, const char *s,
    struct slw_diag *d);

/*
 * Signs a certificate for subject's public key. ca == NULL makes a
 * self-signed certificate (subject must hold its private key). The
 * certificate starts CERT_BACKDATE_SECS before now and never outlives ca.
 * Keys of EC subjects never get keyEncipherment (RFC 5480 section 3).
 */
int cert_sign(const struct cert_template *t, const struct key *subject,
    const struct signer *ca, const uint8_t serial[SERIAL_LEN], time_t now,
    struct buf *der, struct slw_diag *d);

/* The digest slipway signs with for a key: SHA-384 for P-384, else SHA-256. */
mbedtls_md_type_t cert_md(const struct key *signing);

struct cert_info {
	uint8_t serial[32];
	size_t serial_len;
	char serial_hex[65];
	char subject[512];
	time_t not_before;
	time_t not_after;
	int is_ca;
};

int cert_info_der(const uint8_t *der, size_t len, struct cert_info *out);
/* Appends the certificate as PEM "CERTIFICATE". */
int cert_pem_append(struct buf *out, const uint8_t *der, size_t len);
time_t cert_time_to_epoch(const mbedtls_x509_time *t);
/* Lower-case hex of p into out (2 * len + 1 bytes; hex.c). */
void hex_encode(const uint8_t *p, size_t len, char *out);

#endif
