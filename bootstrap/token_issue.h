/* SPDX-License-Identifier: Apache-2.0 */
/*
 * token_issue.h: a bootstrap token for a node, as an operator or the
 * fleet engine asks for one, and the one curl line that carries it.
 *
 * token_issue() makes a token (token.h) for a node of the inventory and
 * records it (hash only, audited) in a write transaction of its own; it
 * also reads the endpoint's key pin, making the serving key and certificate
 * first if there are none yet (http_tls.h). token_oneliner() formats the
 * line of DESIGN.md that a node runs with nothing but curl:
 *
 *   curl -fsS --pinnedpubkey 'sha256//PIN' -k \
 *     -H 'Authorization: Bearer TOKEN' https://ADDR:PORT/v1/bundle \
 *     | tar -xz -C / && /etc/slipway/install.sh
 *
 * (one line). `slipway token create` prints it; the rollout hands it to the
 * node over SSH. Both hold the token: callers wipe them (token_issue_wipe,
 * buf_free) and never log them.
 */
#ifndef SLW_TOKEN_ISSUE_H
#define SLW_TOKEN_ISSUE_H

#include <stdint.h>

#include "buf.h"
#include "http_tls.h"
#include "inventory.h"
#include "store.h"
#include "token.h"

/* "https://[ADDR]:PORT/v1/bundle" */
#define TOKEN_URL_MAX (INV_ADDR_MAX + 32)

/* What token_issue made. tok.token is the secret: wipe the whole struct. */
struct token_issued {
	struct token_new tok;		/* the token and its public record */
	char pin[HTTP_TLS_PIN_MAX];	/* base64 SHA-256 of the endpoint's SPKI */
	char url[TOKEN_URL_MAX];	/* the bundle URL of the endpoint */
	int serve_issued;		/* this call issued the serving certificate */
	char serve_serial_hex[65];	/* its serial, if serve_issued */
};

/*
 * Creates and records a one-time token for node (a node of inv): bound to
 * source ("" or NULL: any address; else an address or CIDR), valid for ttl
 * seconds (0: the inventory's tokenTTL, brought into [TOKEN_TTL_MIN,
 * TOKEN_TTL_MAX]; else it must lie in that range), created by actor (audit
 * record "token.create"). If the endpoint has no serving key yet, it is
 * made now with the local signer (which needs the store's KEK).
 * Errors: SLW_ERR_NOTFOUND (no such node), SLW_ERR_INVALID (ttl, source),
 * store and signing errors; d gets one line without any secret. On error
 * *out is wiped and nothing about the token was stored. Thread-safe for
 * distinct out (one store write transaction per call).
 */
int token_issue(struct store *s, const struct inventory *inv,
    const char *node, uint64_t ttl, const char *source, const char *actor,
    struct token_issued *out, struct slw_diag *d);
/*
 * The same for a fleet delivery: a bundle redeemed with the token holds
 * only what scope says (token.h, bundle.h: BUNDLE_SCOPE_*).
 */
int token_issue_scope(struct store *s, const struct inventory *inv,
    const char *node, uint64_t ttl, const char *source, const char *actor,
    uint64_t scope, struct token_issued *out, struct slw_diag *d);
void token_issue_wipe(struct token_issued *ti);

/*
 * The one-liner for a token (token_oneliner.c): pin and token as made by
 * token_issue, url its bundle URL. out is replaced (buf_free'd first) and
 * holds the line without a newline; SLW_ERR_INVALID if pin, token or url
 * hold a character that would break out of the line's quoting.
 */
int token_oneliner(const char *pin, const char *token, const char *url,
    struct buf *out);

#endif
