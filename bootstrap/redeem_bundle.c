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
#include "artifact.h"
#include "bundle.h"
#include "http_tls.h"
#include "keyset.h"
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
	struct buf ca_key;
};

/* A master's keys as the store has them now (read for every bundle, so
 * a key rotation reaches the next bundle without a restart of serve). */
struct keys_arg {
	struct keyset_keys sa, enc;
};

static int
keys_txn(struct store_txn *t, void *arg)
{
	struct keys_arg *a = arg;
	int r;

	if ((r = keyset_load(t, KEYSET_SA, &a->sa)) != 0 ||
	    (r = keyset_load(t, KEYSET_ENC, &a->enc)) != 0)
		return slw_diag(store_txn_diag(t), r, "cannot unseal the "
		    "cluster's service-account or encryption key");
	return 0;
}

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
arts_txn(struct store_txn *t, void *arg)
{
	return artifact_list(t, arg);
}

static int
render(void *cls, struct signing *sg, const struct inv_node *node,
    uint64_t scope, time_t now, void **state, struct buf *targz,
    struct redeem_issued *iss, struct slw_diag *d)
{
	struct redeem_bundle_src *src = cls;
	struct bundle_input in;
	struct keys_arg ka;
	struct bundle *b = NULL;
	struct artifact_list arts = { NULL, 0 };
	struct buf crl = { 0 };
	char ktok[24], pin[HTTP_TLS_PIN_MAX] = "", url[160];
	size_t i;
	int r;

	*state = NULL;
	memset(iss, 0, sizeof(*iss));
	memset(&ka, 0, sizeof(ka));
	/* what install.sh fetches: the artifacts and the endpoint's pin now */
	if ((r = store_read(src->s, arts_txn, &arts, d)) != 0 ||
	    ((r = http_tls_pin_get(src->s, pin, d)) != 0 &&
	    r != SLW_ERR_NOTFOUND))
		goto out;
	slw_diag_clear(d);
	inventory_bootstrap_url(src->inv, url, sizeof(url));
	if ((r = kubelet_token(src, node->name, ktok, d)) != 0)
		goto out;
	if ((node->roles & ROLE_MASTER) &&
	    (r = store_read(src->s, keys_txn, &ka, d)) != 0)
		goto out;
	/* an etcd member gets the etcd CA's CRL as it is now */
	if ((node->roles & ROLE_ETCD) && (r = signing_crl_der(src->s, CA_ETCD,
	    now, REDEEM_ACTOR, &crl, d)) != 0)
		goto out;
	memset(&in, 0, sizeof(in));
	in.inv = src->inv;
	in.node = node;
	in.sg = sg;
	in.kubelet_token = ktok;
	if (node->roles & ROLE_MASTER)
		bundle_input_keys(&in, &ka.sa, &ka.enc);
	in.seed_ca_key = (node->roles & ROLE_MASTER) && src->ca_key.len ?
	    &src->ca_key : NULL;
	in.etcd_crl = crl.len ? &crl : NULL;
	in.arts = &arts;
	in.endpoint_url = url;
	in.endpoint_pin = pin[0] != '\0' ? pin : NULL;
	in.now = now;
	in.scope = scope;
	in.threads = 1;	/* the endpoint renders many nodes at once itself */
	r = bundle_render(&in, &b, d);
	mbedtls_platform_zeroize(ktok, sizeof(ktok));
	keyset_keys_free(&ka.sa);
	keyset_keys_free(&ka.enc);
	buf_free(&crl);
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
	mbedtls_platform_zeroize(ktok, sizeof(ktok));
	keyset_keys_free(&ka.sa);
	keyset_keys_free(&ka.enc);
	buf_free(&crl);
	bundle_free(b);
	artifact_list_free(&arts);
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

static int
manifest(void *cls, void *state, struct buf *out)
{
	(void)cls;
	return bundle_manifest(state, out);
}

static void
release(void *cls, void *state)
{
	(void)cls;
	bundle_free(state);
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
	(void)d;
	if (seed_ca_key != NULL && seed_ca_key->len > 0 &&
	    (r = buf_set(&src->ca_key, seed_ca_key->data,
	    seed_ca_key->len)) != 0) {
		free(src);
		return r;
	}
	ops->render = render;
	ops->record = record;
	ops->manifest = manifest;
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
	buf_free(&src->ca_key);
	free(src);
	memset(ops, 0, sizeof(*ops));
}
