// SPDX-License-Identifier: Apache-2.0
/*
 * bundle_render.c: renders one node's bundle: checks the input, issues the
 * node's certificates (fresh keys, signed through signing.h, never a CA
 * key), then lets each part add its files. Records nothing: the caller
 * does (bundle_record) in its own transaction. Keys exist only in the
 * bundle and are wiped with it.
 */
#include "bundle.h"
#include "render.h"
#include "issue.h"
#include "keyset.h"
#include "rand.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct plan {
	enum ident which;
	unsigned int roles;	/* nodes with any of these roles get it */
	const char *dir;
	const char *stem;
	const char *owner;
	const char *purpose;
	int files;
	int share;		/* 1: the key of the job before (same node,
				 * same purpose: TLS client authentication) */
};

/*
 * Every certificate a node may get, in a fixed order. Every node has three
 * client identities run by root on the node itself, flanneld (to etcd),
 * kube-proxy (to the apiserver) and install.sh's curl (to slipway's
 * artifacts): they get one node key pair, certified by the CA each needs
 * (a key generation is ~40% of the cost of a certificate with mbedTLS
 * P-256, and these are most of the cost of a large cluster). Every other
 * certificate has its own key.
 */
static const struct plan plans[] = {
	{ ID_FLANNELD, ROLE_ETCD | ROLE_MASTER | ROLE_WORKER, FLANNEL_CERT,
	  "flanneld", "root", "flanneld", 1, 0 },
	{ ID_KUBE_PROXY, ROLE_ETCD | ROLE_MASTER | ROLE_WORKER, K8S_CERT,
	  "kube-proxy", "root", "kube-proxy", 0, 1 },
	/* curl's client certificate for GET /v1/artifacts (install.sh) */
	{ ID_NODE_CLIENT, ROLE_ETCD | ROLE_MASTER | ROLE_WORKER, SLIPWAY_DIR,
	  "node", "root", "slipway-node", 1, 1 },
	{ ID_ETCD_MEMBER, ROLE_ETCD, ETCD_CERT, "etcd", K8S_USER,
	  "etcd-member", 1, 0 },
	{ ID_ETCD_CLIENT, ROLE_ETCD, ETCD_CERT, "etcd-client", "root",
	  "etcd-client", 1, 0 },
	{ ID_APISERVER, ROLE_MASTER, K8S_CERT, "kubernetes", K8S_USER,
	  "kube-apiserver", 1, 0 },
	{ ID_APISERVER_ETCD_CLIENT, ROLE_MASTER, K8S_CERT,
	  "apiserver-etcd-client", K8S_USER, "apiserver-etcd-client", 1, 0 },
	{ ID_APISERVER_KUBELET_CLIENT, ROLE_MASTER, K8S_CERT,
	  "apiserver-kubelet-client", K8S_USER, "apiserver-kubelet-client",
	  1, 0 },
	{ ID_FRONT_PROXY_CLIENT, ROLE_MASTER, K8S_CERT, "front-proxy-client",
	  K8S_USER, "front-proxy-client", 1, 0 },
	{ ID_CONTROLLER_MANAGER, ROLE_MASTER, K8S_CERT,
	  "kube-controller-manager", K8S_USER, "kube-controller-manager",
	  1, 0 },
	{ ID_SCHEDULER, ROLE_MASTER, K8S_CERT, "kube-scheduler", K8S_USER,
	  "kube-scheduler", 1, 0 },
};
#define N_PLANS (sizeof(plans) / sizeof(plans[0]))

uint64_t
bundle_scope_of_purpose(const char *purpose)
{
	size_t i;

	for (i = 0; purpose != NULL && i < N_PLANS; i++)
		if (strcmp(plans[i].purpose, purpose) == 0)
			return BUNDLE_SCOPE_ID(plans[i].which);
	return 0;
}

static void
rctx_free(struct rctx *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_jobs; i++) {
		key_free(c->jobs[i].key);
		signing_result_free(&c->jobs[i].res);
		buf_free(&c->jobs[i].cert_pem);
		buf_free(&c->jobs[i].key_pem);
	}
	buf_free(&c->ca_kube);
	buf_free(&c->ca_etcd);
	buf_free(&c->ca_fp);
	buf_free(&c->etcd_servers);
	bundle_free(c->b);
	free(c);
}

/* "abcdef.0123456789abcdef": [a-z0-9]{6}.[a-z0-9]{16} */
static int
token_ok(const char *s)
{
	static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";

	return s != NULL && strlen(s) == 23 && s[6] == '.' &&
	    strspn(s, al) == 6 && strspn(s + 7, al) == 16;
}

static int
check_input(const struct bundle_input *in, struct slw_diag *d)
{
	const struct inventory *inv = in->inv;
	const struct inv_node *n = in->node, *found;
	char domain[254];

	if (inv == NULL || n == NULL || in->sg == NULL)
		return slw_diag(d, SLW_ERR_INVALID, "bundle: missing inventory, "
		    "node or signer");
	/* one of the inventory's own nodes (O(1)), or a copy of one */
	if ((uintptr_t)n >= (uintptr_t)inv->nodes &&
	    (uintptr_t)n < (uintptr_t)(inv->nodes + inv->n_nodes))
		found = n;
	else
		found = inventory_node(inv, n->name);
	if (found == NULL || strcmp(found->ip, n->ip) != 0 ||
	    found->roles != n->roles)
		return slw_diag(d, SLW_ERR_NOTFOUND, "node '%.64s' is not in the "
		    "inventory", n->name);
	inventory_domain(inv, domain, sizeof(domain));
	/* everything interpolated unquoted into units, YAML and sh */
	if (!tmpl_safe(n->name) || !tmpl_safe(n->ip) ||
	    !tmpl_safe(inv->cluster_name) || !tmpl_safe(inv->vip) ||
	    !tmpl_safe(inv->vip_interface) || !tmpl_safe(inv->flannel_prefix) ||
	    !tmpl_safe(domain) || !tmpl_safe(inv->dns_ip) ||
	    !tmpl_safe(inv->proxy_mode) || !tmpl_safe(inv->service_cidr.text) ||
	    !tmpl_safe(inv->cluster_cidr.text))
		return slw_diag(d, SLW_ERR_INVALID, "node '%.64s': a name or "
		    "address in the inventory has characters slipway will not "
		    "write into a unit file", n->name);
	if (!token_ok(in->kubelet_token))
		return slw_diag(d, SLW_ERR_INVALID, "node '%.64s': the kubelet "
		    "bootstrap token is missing or malformed", n->name);
	if (n->roles & ROLE_MASTER) {
		if (in->sa_key == NULL || in->sa_key->len == 0)
			return slw_diag(d, SLW_ERR_INVALID, "master '%.64s' needs "
			    "the service-account key", n->name);
		if (in->enc_key == NULL || in->enc_key->len != 32 ||
		    (in->enc_key2 != NULL && in->enc_key2->len != 32))
			return slw_diag(d, SLW_ERR_INVALID, "master '%.64s' needs "
			    "the 32-byte encryption key", n->name);
		if (in->enc_key2 != NULL && in->enc_gen == in->enc_gen2)
			return slw_diag(d, SLW_ERR_INVALID, "two encryption keys "
			    "of one generation");
		if (inv->signing_mode == SIGNING_CONTROLLER_MANAGER &&
		    (in->seed_ca_key == NULL || in->seed_ca_key->len == 0))
			return slw_diag(d, SLW_ERR_INVALID, "signingMode "
			    "controller-manager: master '%.64s' needs the "
			    "kubernetes CA key", n->name);
	}
	if ((n->roles & ROLE_ETCD) && (in->etcd_crl == NULL ||
	    in->etcd_crl->len == 0))
		return slw_diag(d, SLW_ERR_INVALID, "etcd member '%.64s' needs "
		    "the etcd CA's CRL", n->name);
	/* in the default mode a CA key must never reach a bundle */
	if (in->seed_ca_key != NULL &&
	    inv->signing_mode != SIGNING_CONTROLLER_MANAGER)
		return slw_diag(d, SLW_ERR_INVALID, "a CA key was passed to the "
		    "renderer but signingMode is appliance");
	return 0;
}

/* Phase 1: a fresh key for every job that does not share one. */
static int
keygen_one(void *arg, size_t i)
{
	struct rctx *c = arg;
	struct bjob *j = &c->jobs[i];

	if (j->share_with != NULL)
		return 0;
	if ((j->r = key_generate(c->inv->key_type, &j->key)) != 0)
		slw_diag(&j->d, j->r, "key generation failed");
	return j->r;
}

/* Phase 2: sign (keys are only read here, so jobs may share one). */
static int
sign_one(void *arg, size_t i)
{
	struct rctx *c = arg;
	struct bjob *j = &c->jobs[i];
	const struct key *k = j->share_with ? j->share_with->key : j->key;
	struct signing_request req;

	memset(&req, 0, sizeof(req));
	req.ca_role = j->id.ca_role;
	req.t = &j->id.t;
	req.subject = k;
	req.now = c->now;
	if ((j->r = signing_sign(c->in->sg, &req, &j->res, &j->d)) != 0)
		return j->r;
	if ((j->r = cert_pem_append(&j->cert_pem, j->res.der.data,
	    j->res.der.len)) != 0 ||
	    (j->r = key_write_pem(k, &j->key_pem)) != 0)
		return j->r;
	return 0;
}

static int
issue_all(struct rctx *c)
{
	size_t i;
	int r = 0;

	if (c->in->threads == 1) {
		for (i = 0; i < c->n_jobs && r == 0; i++)
			r = keygen_one(c, i);
		for (i = 0; i < c->n_jobs && r == 0; i++)
			r = sign_one(c, i);
	} else if ((r = par_for(c->n_jobs, c->in->threads, keygen_one, c)) ==
	    0)
		r = par_for(c->n_jobs, c->in->threads, sign_one, c);
	/* the keys live on only in the PEM texts of the bundle */
	for (i = 0; i < c->n_jobs; i++) {
		key_free(c->jobs[i].key);
		c->jobs[i].key = NULL;
	}
	return r;
}

static int
plan_jobs(struct rctx *c)
{
	size_t i;
	int r;

	for (i = 0; i < N_PLANS; i++) {
		const struct plan *p = &plans[i];
		struct bjob *j;

		if (!(c->n->roles & p->roles))
			continue;
		if (c->partial && !(c->in->scope & BUNDLE_SCOPE_ID(p->which)))
			continue;
		if (c->n_jobs == BUNDLE_MAX_JOBS)
			return SLW_ERR_INTERNAL;
		j = &c->jobs[c->n_jobs++];
		j->which = p->which;
		j->dir = p->dir;
		j->stem = p->stem;
		j->owner = p->owner;
		j->purpose = p->purpose;
		j->files = p->files;
		/* the key of the job before, if that one is issued too */
		if (p->share && i > 0 && c->n_jobs >= 2 &&
		    c->jobs[c->n_jobs - 2].which == plans[i - 1].which) {
			j->share_with = &c->jobs[c->n_jobs - 2];
			/* the job that made the key, if that one shares too */
			while (j->share_with->share_with != NULL)
				j->share_with = j->share_with->share_with;
		} else if (p->share && !c->partial)
			return SLW_ERR_INTERNAL;
		if ((r = identity_get(c->inv, p->which, c->n, 0, &j->id,
		    c->d)) != 0)
			return r;
	}
	return 0;
}

static int
etcd_servers(struct rctx *c)
{
	char host[INV_ADDR_MAX + 2];
	size_t i;
	int r, first = 1;

	for (i = 0; i < c->inv->n_nodes; i++) {
		const struct inv_node *e = &c->inv->nodes[i];

		if (!(e->roles & ROLE_ETCD))
			continue;
		tmpl_host(e->ip, host, sizeof(host));
		if ((r = buf_appendf(&c->etcd_servers, "%shttps://%s:%u",
		    first ? "" : ",", host, e->etcd_client_port)) != 0)
			return r;
		first = 0;
	}
	return first ? SLW_ERR_INVALID : 0;
}

static int
cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct bundle_file *)a)->path,
	    ((const struct bundle_file *)b)->path);
}

void
bundle_input_keys(struct bundle_input *in, const struct keyset_keys *sa,
    const struct keyset_keys *enc)
{
	in->sa_key = sa != NULL && sa->n > 0 ? &sa->key[0] : NULL;
	in->sa_key2 = sa != NULL && sa->n > 1 ? &sa->key[1] : NULL;
	in->enc_key = enc != NULL && enc->n > 0 ? &enc->key[0] : NULL;
	in->enc_key2 = enc != NULL && enc->n > 1 ? &enc->key[1] : NULL;
	in->enc_gen = enc != NULL && enc->n > 0 ? enc->gen[0] : 0;
	in->enc_gen2 = enc != NULL && enc->n > 1 ? enc->gen[1] : 0;
}

int
bundle_render_keys(const struct bundle_input *in, struct bundle **out,
    struct slw_diag *d)
{
	struct rctx *c = NULL;
	int r;

	*out = NULL;
	if (in == NULL || in->inv == NULL || in->node == NULL ||
	    in->sa_key == NULL || in->enc_key == NULL ||
	    in->enc_key->len != 32 ||
	    (in->enc_key2 != NULL && (in->enc_key2->len != 32 ||
	    in->enc_gen == in->enc_gen2)))
		return slw_diag(d, SLW_ERR_INVALID, "the keys of a master are "
		    "incomplete");
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->b = calloc(1, sizeof(*c->b))) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	c->in = in;
	c->inv = in->inv;
	c->n = in->node;
	c->d = d;
	snprintf(c->b->node, sizeof(c->b->node), "%s", c->n->name);
	c->b->roles = c->n->roles;
	if ((r = render_master_keys(c)) != 0)
		goto out;
	*out = c->b;
	c->b = NULL;
 out:
	if (c != NULL)
		bundle_free(c->b);
	free(c);
	return r;
}

int
bundle_render(const struct bundle_input *in, struct bundle **out,
    struct slw_diag *d)
{
	struct rctx *c = NULL;
	struct bundle *b;
	size_t i;
	int r;

	*out = NULL;
	if (in == NULL)
		return SLW_ERR_INVALID;
	if ((r = check_input(in, d)) != 0)
		return r;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->b = calloc(1, sizeof(*c->b))) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	c->in = in;
	c->partial = (in->scope & BUNDLE_SCOPE_PARTIAL) != 0;
	c->inv = in->inv;
	c->n = in->node;
	c->d = d;
	c->now = in->now ? in->now : slw_now();
	b = c->b;
	snprintf(b->node, sizeof(b->node), "%s", c->n->name);
	b->roles = c->n->roles;
	b->created = c->now;
	inventory_apiserver_url(c->inv, c->url, sizeof(c->url));
	inventory_domain(c->inv, c->domain, sizeof(c->domain));
	if ((r = signing_trust_pem(in->sg, CA_KUBERNETES, &c->ca_kube)) != 0 ||
	    (r = signing_trust_pem(in->sg, CA_ETCD, &c->ca_etcd)) != 0 ||
	    (r = signing_trust_pem(in->sg, CA_FRONT_PROXY, &c->ca_fp)) != 0) {
		r = slw_diag(d, r, "cannot read the CA trust bundles");
		goto out;
	}
	if ((r = etcd_servers(c)) != 0) {
		r = slw_diag(d, r, "the inventory has no etcd member");
		goto out;
	}
	if ((r = plan_jobs(c)) != 0)
		goto out;
	if ((r = issue_all(c)) != 0) {
		for (i = 0; i < c->n_jobs; i++)
			if (c->jobs[i].r != 0 && c->jobs[i].d.msg[0] != '\0') {
				slw_diag(d, c->jobs[i].r, "node '%.64s': %s: %s",
				    c->n->name, c->jobs[i].purpose,
				    c->jobs[i].d.msg);
				break;
			}
		r = slw_diag(d, r, "node '%.64s': cannot issue its certificates",
		    c->n->name);
		goto out;
	}
	if ((r = render_node(c)) != 0 ||
	    ((c->n->roles & ROLE_ETCD) && (r = render_etcd(c)) != 0) ||
	    ((c->n->roles & ROLE_MASTER) && (r = render_master(c)) != 0) ||
	    ((c->n->roles & ROLE_MASTER) && (r = render_ha(c)) != 0) ||
	    (qsort(b->files, b->n_files, sizeof(*b->files), cmp_file), 0) ||
	    (r = render_install(c)) != 0) {
		r = slw_diag(d, r, "node '%.64s': cannot render its files",
		    c->n->name);
		goto out;
	}
	/* hand the certificates to the bundle for bundle_record */
	if ((b->certs = calloc(c->n_jobs ? c->n_jobs : 1,
	    sizeof(*b->certs))) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	b->cap_certs = c->n_jobs;
	for (i = 0; i < c->n_jobs; i++) {
		struct bundle_cert *bc = &b->certs[b->n_certs++];

		bc->r = c->jobs[i].res;
		memset(&c->jobs[i].res, 0, sizeof(c->jobs[i].res));
		snprintf(bc->purpose, sizeof(bc->purpose), "%s",
		    c->jobs[i].purpose);
	}
	qsort(b->files, b->n_files, sizeof(*b->files), cmp_file);
	*out = b;
	c->b = NULL;
	r = 0;
 out:
	rctx_free(c);
	return r;
}
