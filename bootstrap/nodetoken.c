// SPDX-License-Identifier: Apache-2.0
/*
 * nodetoken.c: per-node kubelet bootstrap tokens, sealed in DB_NODES under
 * "<node>/kubelet-token" with that record id as AAD. The token is a secret:
 * only its id may appear in logs and audit records.
 */
#include "nodetoken.h"
#include "audit.h"
#include "rand.h"
#include "rec.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/platform_util.h>

enum { T_ID = 1, T_SECRET, T_EXPIRES };

#define RENEW_MARGIN 3600

void
nodetoken_wipe(struct node_token *tok)
{
	if (tok != NULL)
		mbedtls_platform_zeroize(tok, sizeof(*tok));
}

void
nodetoken_format(const struct node_token *tok, char out[24])
{
	memcpy(out, tok->id, 6);
	out[6] = '.';
	memcpy(out + 7, tok->secret, 16);
	out[23] = '\0';
}

static int
rec_name(const char *node, char *key, size_t len)
{
	int n = snprintf(key, len, "%s/kubelet-token", node);

	return n < 0 || (size_t)n >= len ? SLW_ERR_INVALID : 0;
}

/* Uniform over [a-z0-9] by rejection sampling. */
static int
random_chars(char *out, size_t n)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	uint8_t b[64];
	size_t got = 0, i;
	int r;

	while (got < n) {
		if ((r = slw_random(b, sizeof(b))) != 0)
			return r;
		for (i = 0; i < sizeof(b) && got < n; i++)
			if (b[i] < 252)	/* 252 = 7 * 36 */
				out[got++] = alphabet[b[i] % 36];
	}
	mbedtls_platform_zeroize(b, sizeof(b));
	out[n] = '\0';
	return 0;
}

int
nodetoken_get(struct store_txn *t, const char *node, struct node_token *out)
{
	char key[128];
	struct buf pt = { 0 };
	uint64_t exp;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = rec_name(node, key, sizeof(key))) != 0)
		return r;
	if ((r = store_get_sealed(t, DB_NODES, key, strlen(key), key, &pt)) != 0)
		return r;
	if (rec_get_str(pt.data, pt.len, T_ID, out->id, sizeof(out->id)) != 0 ||
	    rec_get_str(pt.data, pt.len, T_SECRET, out->secret,
	    sizeof(out->secret)) != 0 ||
	    rec_get_u64(pt.data, pt.len, T_EXPIRES, &exp) != 0 ||
	    strlen(out->id) != 6 || strlen(out->secret) != 16)
		r = SLW_ERR_CORRUPT;
	else
		out->expires = (time_t)exp;
	buf_free(&pt);
	if (r != 0)
		nodetoken_wipe(out);
	return r;
}

int
nodetoken_get_or_create(struct store_txn *t, const char *node, time_t ttl,
    struct node_token *out)
{
	struct rec w = { 0 };
	char key[128], detail[128];
	int r;

	r = nodetoken_get(t, node, out);
	if (r == 0 && out->expires > slw_now() + RENEW_MARGIN)
		return 0;
	if (r != 0 && r != SLW_ERR_NOTFOUND)
		return r;
	if (ttl <= RENEW_MARGIN)
		return SLW_ERR_INVALID;
	if ((r = rec_name(node, key, sizeof(key))) != 0)
		return r;
	memset(out, 0, sizeof(*out));
	if ((r = random_chars(out->id, 6)) != 0 ||
	    (r = random_chars(out->secret, 16)) != 0)
		goto out;
	out->expires = slw_now() + ttl;
	rec_put_str(&w, T_ID, out->id);
	rec_put_str(&w, T_SECRET, out->secret);
	rec_put_u64(&w, T_EXPIRES, (uint64_t)out->expires);
	if ((r = w.err) != 0)
		goto out;
	if ((r = store_put_sealed(t, DB_NODES, key, strlen(key), key, w.b.data,
	    w.b.len)) != 0)
		goto out;
	snprintf(detail, sizeof(detail), "token id %s, valid %lld s", out->id,
	    (long long)ttl);
	r = audit_append(t, "slipway", "kubelet-token.create", node, detail);
 out:
	rec_free(&w);
	if (r != 0)
		nodetoken_wipe(out);
	return r;
}

struct tokid_arg {
	const char *node;
	char id[7];
};

static int
tokid_txn(struct store_txn *t, void *arg)
{
	struct tokid_arg *a = arg;
	struct node_token tok;
	int r;

	if ((r = nodetoken_get(t, a->node, &tok)) == 0)
		memcpy(a->id, tok.id, sizeof(a->id));
	nodetoken_wipe(&tok);
	return r;
}

int
nodetoken_lookup_id(struct store *s, const char *node, char id[7])
{
	struct tokid_arg a;
	int r;

	memset(&a, 0, sizeof(a));
	a.node = node;
	if ((r = store_read(s, tokid_txn, &a, NULL)) == 0)
		memcpy(id, a.id, sizeof(a.id));
	return r;
}

int
nodetoken_group(const char *node, char *out, size_t len)
{
	size_t i, pl = strlen(NODETOKEN_GROUP) + 1, n = strlen(node);

	if (n == 0 || pl + n + 1 > len)
		return SLW_ERR_TOOBIG;
	memcpy(out, NODETOKEN_GROUP ":", pl);
	for (i = 0; i < n; i++)
		out[pl + i] = node[i] == '.' ? ':' : node[i];
	out[pl + n] = '\0';
	return 0;
}
