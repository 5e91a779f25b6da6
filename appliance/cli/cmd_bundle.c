// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_bundle.c: `slipway bundle render --node NAME --out DIR`: exactly what
 * the node would receive from the endpoint, as a directory (final paths and
 * modes under DIR). Gets or makes the node's kubelet bootstrap token,
 * renders, records every certificate with an audit entry in one write
 * transaction, then moves the finished directory into place. An unknown
 * node or any failure leaves no DIR behind. Never prints a key or a token.
 */
#define _XOPEN_SOURCE 700	/* nftw */
#include "artifact.h"
#include "audit.h"
#include "bundle.h"
#include "ca.h"
#include "cli.h"
#include "cluster.h"
#include "http_tls.h"
#include "keyset.h"
#include "nodetoken.h"
#include "rand.h"
#include "signing.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The lifetime of a node's kubelet bootstrap token made by `bundle render`
 * (the seed's `kubeadm token create` default: one day). */
#define BUNDLE_KUBELET_TOKEN_TTL (24 * 3600)

#include <mbedtls/platform_util.h>

struct secrets_arg {
	const struct inventory *inv;
	const struct inv_node *node;
	struct keyset_keys sa, enc;
	struct buf ca_key;
};

static int
secrets_txn(struct store_txn *t, void *arg)
{
	struct secrets_arg *a = arg;
	struct signer *sg = NULL;
	char name[CA_NAME_MAX];
	uint32_t gen;
	int r;

	if (!(a->node->roles & ROLE_MASTER))
		return 0;
	if ((r = keyset_load(t, KEYSET_SA, &a->sa)) != 0 ||
	    (r = keyset_load(t, KEYSET_ENC, &a->enc)) != 0)
		return slw_diag(store_txn_diag(t), r, "cannot unseal the "
		    "cluster's service-account or encryption key");
	if (a->inv->signing_mode != SIGNING_CONTROLLER_MANAGER)
		return 0;
	/* the seed's way, chosen in the inventory: the CA key on masters */
	if ((r = ca_signer(t, CA_KUBERNETES, 0, &sg, &gen, name)) != 0)
		return slw_diag(store_txn_diag(t), r, "cannot unseal the "
		    "kubernetes CA key");
	r = key_write_pem(sg->key, &a->ca_key);
	signer_free(sg);
	return r;
}

struct token_arg {
	const char *node;
	char token[24];
};

static int
token_txn(struct store_txn *t, void *arg)
{
	struct token_arg *a = arg;
	struct node_token tok;
	int r;

	if ((r = nodetoken_get_or_create(t, a->node, BUNDLE_KUBELET_TOKEN_TTL,
	    &tok)) != 0)
		return slw_diag(store_txn_diag(t), r, "cannot make the node's "
		    "kubelet bootstrap token");
	nodetoken_format(&tok, a->token);
	nodetoken_wipe(&tok);
	return 0;
}

struct record_arg {
	const struct bundle *b;
	const char *actor;
};

static int
record_txn(struct store_txn *t, void *arg)
{
	struct record_arg *a = arg;
	char detail[128];
	int r;

	if ((r = bundle_record(t, a->b, a->actor)) != 0)
		return r;
	snprintf(detail, sizeof(detail), "%zu files, %zu certificates",
	    a->b->n_files, a->b->n_certs);
	return audit_append(t, a->actor, "bundle.render", a->b->node, detail);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* DIR must not exist, or be an empty directory; its parent must exist. */
static int
out_ok(struct cli *c, const char *out, char *parent, size_t plen)
{
	struct stat st;
	struct dirent *e;
	DIR *dir;
	char *slash;

	if (stat(out, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return cli_fail(c, "%s exists and is not a directory", out);
		if ((dir = opendir(out)) == NULL)
			return cli_fail(c, "cannot read %s: %s", out,
			    strerror(errno));
		while ((e = readdir(dir)) != NULL)
			if (strcmp(e->d_name, ".") != 0 &&
			    strcmp(e->d_name, "..") != 0)
				break;
		closedir(dir);
		if (e != NULL)
			return cli_fail(c, "%s is not empty; not overwriting", out);
	}
	snprintf(parent, plen, "%s", out);
	while (strlen(parent) > 1 && parent[strlen(parent) - 1] == '/')
		parent[strlen(parent) - 1] = '\0';
	if ((slash = strrchr(parent, '/')) == NULL)
		snprintf(parent, plen, ".");
	else if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode))
		return cli_fail(c, "directory %s does not exist", parent);
	return 0;
}

static int
arts_txn(struct store_txn *t, void *arg)
{
	return artifact_list(t, arg);
}

int
cmd_bundle_render(struct cli *c)
{
	struct artifact_list arts = { NULL, 0 };
	char pin[HTTP_TLS_PIN_MAX] = "", url[160];
	struct secrets_arg sec;
	struct token_arg tok;
	struct record_arg rec;
	struct bundle_input in;
	struct buf crl = { 0 };
	struct inventory *inv = NULL;
	struct signing *sg = NULL;
	struct bundle *b = NULL;
	struct store *s = NULL;
	struct slw_diag d;
	const struct inv_node *node;
	const char *name = NULL, *out = NULL;
	char parent[PATH_MAX], tmp[PATH_MAX + 32];
	const struct cli_opt opts[] = {
		OPT_STR("node", &name),
		OPT_STR("out", &out),
		OPT_END,
	};
	int r, ret = EXIT_FAIL, have_tmp = 0;

	memset(&sec, 0, sizeof(sec));
	memset(&tok, 0, sizeof(tok));
	slw_diag_clear(&d);
	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if (name == NULL || out == NULL || out[0] == '\0')
		return cli_usage(c, "--node NAME and --out DIR are required");
	if (out_ok(c, out, parent, sizeof(parent)) != 0)
		return EXIT_FAIL;
	if (cli_open(c, 1, &s) != 0)
		goto out;
	if ((r = cluster_load(s, &inv, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if ((node = inventory_node(inv, name)) == NULL) {
		ret = cli_fail(c, "unknown node '%.64s': not in the stored "
		    "inventory", name);
		goto out;
	}
	sec.inv = inv;
	sec.node = node;
	if ((r = store_read(s, secrets_txn, &sec, &d)) != 0 ||
	    (r = signing_local_new(s, &sg, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	tok.node = node->name;
	if ((r = store_write(s, token_txn, &tok, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	/* an etcd member gets the etcd CA's CRL as it is now */
	if ((node->roles & ROLE_ETCD) && (r = signing_crl_der(s, CA_ETCD,
	    slw_now(), cli_actor(), &crl, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	/* what the endpoint would put into install.sh: the artifacts, the pin */
	if ((r = store_read(s, arts_txn, &arts, &d)) != 0 ||
	    ((r = http_tls_pin_get(s, pin, &d)) != 0 && r != SLW_ERR_NOTFOUND)) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	slw_diag_clear(&d);
	inventory_bootstrap_url(inv, url, sizeof(url));
	memset(&in, 0, sizeof(in));
	in.inv = inv;
	in.node = node;
	in.sg = sg;
	in.kubelet_token = tok.token;
	bundle_input_keys(&in, &sec.sa, &sec.enc);
	in.seed_ca_key = sec.ca_key.len ? &sec.ca_key : NULL;
	in.etcd_crl = crl.len ? &crl : NULL;
	in.arts = &arts;
	in.endpoint_url = url;
	in.endpoint_pin = pin[0] != '\0' ? pin : NULL;
	in.now = slw_now();
	if ((r = bundle_render(&in, &b, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	/* write beside DIR first, so a failure leaves no partial DIR */
	snprintf(tmp, sizeof(tmp), "%s/.slipway-bundle-XXXXXX", parent);
	if (mkdtemp(tmp) == NULL) {
		ret = cli_fail(c, "cannot create a directory in %s: %s", parent,
		    strerror(errno));
		goto out;
	}
	have_tmp = 1;
	if ((r = bundle_write_dir(b, tmp, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	rec.b = b;
	rec.actor = cli_actor();
	if ((r = store_write(s, record_txn, &rec, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	/* rename(2) replaces an empty directory */
	if (rename(tmp, out) != 0) {
		ret = cli_fail(c, "cannot move the bundle to %s: %s (its "
		    "certificates are recorded)", out, strerror(errno));
		goto out;
	}
	have_tmp = 0;
	printf("node %s: %zu files, %zu certificates in %s\n", b->node,
	    b->n_files, b->n_certs, out);
	ret = EXIT_OK;
 out:
	if (have_tmp)
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	mbedtls_platform_zeroize(&tok, sizeof(tok));
	keyset_keys_free(&sec.sa);
	keyset_keys_free(&sec.enc);
	buf_free(&sec.ca_key);
	buf_free(&crl);
	bundle_free(b);
	artifact_list_free(&arts);
	signing_free(sg);
	inventory_free(inv);
	store_close(s);
	return ret;
}
