// SPDX-License-Identifier: Apache-2.0
/*
 * redeem_bundle.c: the endpoint's bundle source: renders a node's bundle
 * with bootstrap/bundle.h (keys made here, in memory only), packs it as
 * tar.gz, and records its certificates inside the consuming transaction.
 * Must never store a node key, and never see a CA key except the one the
 * inventory's controller-manager signing mode puts in master bundles
 * (handed in by the caller, like the other cluster secrets).
 */
#include "http_redeem.h"
#include "bundle.h"
#include "nodetoken.h"
#include "rand.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>

/* A node's kubelet bootstrap token lives a day, as kubeadm's does. */
#define KUBELET_TOKEN_TTL (24 * 3600)
#define KUBELET_TOKEN_MARGIN 3600

struct redeem_bundle_src {
	struct store *s;
	const struct inventory *inv;
	struct buf sa, enc, ca_key;
};

struct ktok_arg {
	const char *node;
	struct node_token tok;
	int fresh;
};

static int
ktok_read(struct store_txn *t, void *arg)
{
	struct ktok_arg *a = arg;
	int r = nodetoken_get(t, a->node, &a->tok);

	if (r == SLW_ERR_NOTFOUND)
		return 0;
	if (r == 0 && a->tok.expires > slw_now() + KUBELET_TOKEN_MARGIN)
		a->fresh = 1;
	return r;
}

static int
ktok_make(struct store_txn *t, void *arg)
{
	struct ktok_arg *a = arg;

	return nodetoken_get_or_create(t, a->node, KUBELET_TOKEN_TTL, &a->tok);
}

/* The node's kubelet token: read it; make it (group-committed) if stale. */
static int
kubelet_token(struct redeem_bundle_src *src, const char *node, char out[24],
    struct slw_diag *d)
{
	struct ktok_arg a;
	int r;

	memset(&a, 0, sizeof(a));
	a.node = node;
	if ((r = store_read(src->s, ktok_read, &a, d)) == 0 && !a.fresh)
		r = store_submit(src->s, ktok_make, &a, d);
	if (r == 0)
		nodetoken_format(&a.tok, out);
	nodetoken_wipe(&a.tok);
	return r;
}

static int
render(void *cls, struct signing *sg, const struct inv_node *node, time_t now,
    void **state, struct buf *targz, struct redeem_issued *iss,
    struct slw_diag *d)
{
	struct redeem_bundle_src *src = cls;
	struct bundle_input in;
	struct bundle *b = NULL;
	char ktok[24];
	size_t i;
	int r;

	*state = NULL;
	memset(iss, 0, sizeof(*iss));
	if ((r = kubelet_token(src, node->name, ktok, d)) != 0)
		return r;
	memset(&in, 0, sizeof(in));
	in.inv = src->inv;
	in.node = node;
	in.sg = sg;
	in.kubelet_token = ktok;
	in.sa_key = (node->roles & ROLE_MASTER) && src->sa.len ? &src->sa : NULL;
	in.enc_key = (node->roles & ROLE_MASTER) && src->enc.len ? &src->enc :
	    NULL;
	in.seed_ca_key = (node->roles & ROLE_MASTER) && src->ca_key.len ?
	    &src->ca_key : NULL;
	in.now = now;
	in.threads = 1;	/* the endpoint renders many nodes at once itself */
	r = bundle_render(&in, &b, d);
	mbedtls_platform_zeroize(ktok, sizeof(ktok));
	if (r != 0)
		goto out;
	if (b->n_certs > REDEEM_MAX_CERTS) {
		r = slw_diag(d, SLW_ERR_LIMIT, "bundle has %zu certificates",
		    b->n_certs);
		goto out;
	}
	for (i = 0; i < b->n_certs; i++) {
		memcpy(iss->serial[i], b->certs[i].r.serial, SERIAL_LEN);
		snprintf(iss->purpose[i], sizeof(iss->purpose[i]), "%s",
		    b->certs[i].purpose);
	}
	iss->n = b->n_certs;
	if ((r = bundle_write_targz(b, targz, d)) != 0)
		goto out;
	*state = b;
	b = NULL;
 out:
	bundle_free(b);
	if (r != 0)
		memset(iss, 0, sizeof(*iss));
	return r;
}

static int
record(void *cls, void *state, struct store_txn *t, const char *actor)
{
	(void)cls;
	return bundle_record(t, state, actor);
}

static void
release(void *cls, void *state)
{
	(void)cls;
	bundle_free(state);
}

static int
secrets_txn(struct store_txn *t, void *arg)
{
	struct redeem_bundle_src *src = arg;
	int r;

	if (inventory_count_role(src->inv, ROLE_MASTER) == 0)
		return 0;
	if ((r = store_secret_get(t, "service-account-key", &src->sa)) != 0 ||
	    (r = store_secret_get(t, "encryption-key", &src->enc)) != 0)
		return slw_diag(store_txn_diag(t), r, "cannot unseal the "
		    "cluster's service-account or encryption key");
	return 0;
}

int
redeem_bundle_src_new(struct store *s, const struct inventory *inv,
    const struct buf *seed_ca_key, struct redeem_bundle_ops *ops,
    struct slw_diag *d)
{
	struct redeem_bundle_src *src;
	int r;

	memset(ops, 0, sizeof(*ops));
	if ((src = calloc(1, sizeof(*src))) == NULL)
		return SLW_ERR_NOMEM;
	src->s = s;
	src->inv = inv;
	if ((r = store_read(s, secrets_txn, src, d)) != 0 ||
	    (seed_ca_key != NULL && seed_ca_key->len > 0 &&
	    (r = buf_set(&src->ca_key, seed_ca_key->data,
	    seed_ca_key->len)) != 0)) {
		buf_free(&src->sa);
		buf_free(&src->enc);
		buf_free(&src->ca_key);
		free(src);
		return r;
	}
	ops->render = render;
	ops->record = record;
	ops->release = release;
	ops->cls = src;
	return 0;
}

void
redeem_bundle_src_free(struct redeem_bundle_ops *ops)
{
	struct redeem_bundle_src *src;

	if (ops == NULL || (src = ops->cls) == NULL)
		return;
	buf_free(&src->sa);
	buf_free(&src->enc);
	buf_free(&src->ca_key);
	free(src);
	memset(ops, 0, sizeof(*ops));
}
