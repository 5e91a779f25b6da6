// SPDX-License-Identifier: Apache-2.0
/*
 * token_issue.c: a one-time bootstrap token for a node of the inventory,
 * made and recorded (hash only, audited) exactly as `slipway token create`
 * and the rollout both need it, with the endpoint's pin and URL for its
 * one-liner. Must never print, log or put the token in a diag.
 */
#include "token_issue.h"
#include "rand.h"
#include "signing.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/platform_util.h>

void
token_issue_wipe(struct token_issued *ti)
{
	if (ti != NULL)
		mbedtls_platform_zeroize(ti, sizeof(*ti));
}

/* The endpoint's pin; makes the serving key and certificate if none yet. */
static int
endpoint_pin(struct store *s, const struct inventory *inv, const char *actor,
    struct token_issued *out, struct slw_diag *d)
{
	struct signing *sg = NULL;
	struct http_tls tls;
	int r;

	r = http_tls_pin_get(s, out->pin, d);
	if (r != SLW_ERR_NOTFOUND)
		return r;
	slw_diag_clear(d);
	if ((r = signing_local_new(s, &sg, d)) != 0)
		return r;
	r = http_tls_load(s, inv, sg, 0, actor, &tls, d);
	signing_free(sg);
	if (r != 0)
		return r;
	snprintf(out->pin, sizeof(out->pin), "%s", tls.pin);
	out->serve_issued = tls.issued;
	snprintf(out->serve_serial_hex, sizeof(out->serve_serial_hex), "%s",
	    tls.serial_hex);
	http_tls_free(&tls);
	return 0;
}

static int
put_txn(struct store_txn *t, void *arg)
{
	return token_put(t, arg);
}

int
token_issue(struct store *s, const struct inventory *inv, const char *node,
    uint64_t ttl, const char *source, const char *actor,
    struct token_issued *out, struct slw_diag *d)
{
	return token_issue_scope(s, inv, node, ttl, source, actor, 0, out, d);
}

int
token_issue_scope(struct store *s, const struct inventory *inv,
    const char *node, uint64_t ttl, const char *source, const char *actor,
    uint64_t scope, struct token_issued *out, struct slw_diag *d)
{
	int v6, r;

	memset(out, 0, sizeof(*out));
	if (node == NULL || inventory_node(inv, node) == NULL)
		return slw_diag(d, SLW_ERR_NOTFOUND, "no node '%.64s' in cluster "
		    "%s", node != NULL ? node : "", inv->cluster_name);
	if (ttl == 0) {
		ttl = inv->token_ttl;
		if (ttl < TOKEN_TTL_MIN)
			ttl = TOKEN_TTL_MIN;
		if (ttl > TOKEN_TTL_MAX)
			ttl = TOKEN_TTL_MAX;
	} else if (ttl < TOKEN_TTL_MIN || ttl > TOKEN_TTL_MAX)
		return slw_diag(d, SLW_ERR_INVALID, "token lifetime must be "
		    "between %d s and %d days", TOKEN_TTL_MIN,
		    TOKEN_TTL_MAX / 86400);
	if ((r = endpoint_pin(s, inv, actor, out, d)) != 0)
		goto out;
	if ((r = token_make(node, (time_t)ttl, source, actor, slw_now(),
	    &out->tok, d)) != 0)
		goto out;
	out->tok.info.scope = scope;
	if ((r = store_write(s, put_txn, &out->tok, d)) != 0)
		goto out;
	v6 = strchr(inv->bootstrap_address, ':') != NULL;
	snprintf(out->url, sizeof(out->url), "https://%s%s%s:%u/v1/bundle",
	    v6 ? "[" : "", inv->bootstrap_address, v6 ? "]" : "",
	    inv->bootstrap_port);
 out:
	if (r != 0)
		token_issue_wipe(out);
	return r;
}
