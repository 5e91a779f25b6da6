/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_tls.h: the HTTPS endpoint's own identity and TLS policy.
 *
 * The serving key (ECDSA P-256) is made once and kept sealed in the store
 * (secret "serve-key"); its SHA-256 SPKI pin is what `token create` prints,
 * so it changes only when rotated on purpose (`slipway serve rotate-key`).
 * The certificate (secret "serve-cert", also in the certificate records)
 * comes from slipway's kubernetes CA through bootstrap/signing.h, for the
 * inventory's bootstrap address, its serverNames, 127.0.0.1 and localhost.
 * It is reused across restarts while it is valid for more than
 * HTTP_TLS_RENEW_DAYS, verifies against the kubernetes trust bundle and
 * against the CA's current generation (so a `ca rotate advance` renews it),
 * still covers every SAN the inventory asks for and matches the key;
 * otherwise a new certificate is issued for the same key. A running serve
 * asks again every minute and on SIGHUP (appliance/serve/monitor.c).
 */
#ifndef SLW_HTTP_TLS_H
#define SLW_HTTP_TLS_H

#include <time.h>

#include "buf.h"
#include "inventory.h"
#include "key.h"
#include "signing.h"
#include "store.h"

#define HTTP_TLS_KEY_SECRET "serve-key"
#define HTTP_TLS_CERT_SECRET "serve-cert"
/* owner of its certificate records: a new one supersedes the one before;
 * not a node name (inventory names cannot hold parentheses) */
#define HTTP_TLS_OWNER "(serve)"
#define HTTP_TLS_VALID_DAYS 365
#define HTTP_TLS_RENEW_DAYS 30
#define HTTP_TLS_PIN_MAX 64

/*
 * GnuTLS priorities: TLS 1.3 and 1.2 only; AES-GCM and ChaCha20-Poly1305
 * (AEAD) only; ECDHE key exchange only; no compression; the server's order.
 */
extern const char HTTP_TLS_PRIORITIES[];

struct http_tls {
	struct buf key_pem;	/* NUL-terminated PEM for libmicrohttpd */
	struct buf cert_pem;	/* the serving certificate, PEM */
	char pin[HTTP_TLS_PIN_MAX];	/* base64 SHA-256 of the SPKI */
	char serial_hex[65];
	time_t not_after;
	int issued;		/* this call issued a new certificate */
	int new_key;		/* this call made a new key */
};

#define HTTP_TLS_ROTATE_KEY 0x1u	/* make a new key (new pin) */

/*
 * Loads the serving identity, issuing what is missing or stale with sg
 * (records and audit in one write transaction). With sg == NULL nothing is
 * issued: SLW_ERR_NOTFOUND if a key or a usable certificate is missing.
 */
int http_tls_load(struct store *s, const struct inventory *inv,
    struct signing *sg, unsigned int flags, const char *actor,
    struct http_tls *out, struct slw_diag *d);
/*
 * A sealed serve's identity (docs/appliance.md): a new P-256 key and a
 * self-signed certificate (CN "slipway (sealed)", one day), made in memory
 * and never stored or recorded. No CA signs it and nothing trusts it: a
 * pinned one-liner refuses it, so no token reaches a sealed appliance.
 */
int http_tls_throwaway(time_t now, struct http_tls *out, struct slw_diag *d);
/* Only the pin of the stored key: SLW_ERR_NOTFOUND if there is none yet. */
int http_tls_pin_get(struct store *s, char pin[HTTP_TLS_PIN_MAX],
    struct slw_diag *d);
/* "sha256//" pin (curl's --pinnedpubkey) of a key: base64 of SHA-256(SPKI). */
int http_tls_pin(const struct key *k, char pin[HTTP_TLS_PIN_MAX]);
void http_tls_free(struct http_tls *t);

#endif
