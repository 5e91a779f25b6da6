/* SPDX-License-Identifier: Apache-2.0 */
/*
 * render.h: what the bundle renderers share (not a public interface):
 * the render context, the node's issued certificates, and the helpers in
 * render.c (adding templates and key pairs to a bundle, unit headers).
 * One render_<part>.c per part of a node: etcd, master, HA, node
 * components, install.sh; bundle_render.c calls them, they never call it.
 */
#ifndef SLW_RENDER_H
#define SLW_RENDER_H

#include "bundle.h"
#include "identity.h"
#include "tmpl.h"

/* Where things live on a node (the seed's layout). */
#define K8S_BIN "/opt/k8s/bin"
#define K8S_DIR "/etc/kubernetes"
#define K8S_CERT "/etc/kubernetes/cert"
#define ETCD_CERT "/etc/etcd/cert"
/* DER, one CRL: etcd 3.6 reads only DER (x509.ParseRevocationList), and
 * 3.4/3.5 only the first CRL of a PEM file */
#define ETCD_CRL ETCD_CERT "/crl.der"
#define FLANNEL_DIR "/etc/flanneld"
#define FLANNEL_CERT "/etc/flanneld/cert"
#define UNIT_DIR "/etc/systemd/system"
#define SLIPWAY_DIR "/etc/slipway"
#define K8S_USER "k8s"
/*
 * kube-apiserver --shutdown-delay-duration, seconds: longer than haproxy
 * needs to see /readyz fail (render_ha.c: a check every second, down
 * after two failures), so no new connection reaches a stopping apiserver.
 */
#define RENDER_SHUTDOWN_DELAY 5

/* One certificate of the node: a fresh key, signed through signing.h. */
struct bjob {
	enum ident which;
	const char *dir;	/* K8S_CERT, ETCD_CERT, FLANNEL_CERT */
	const char *stem;	/* file stem: "<stem>.pem", "<stem>-key.pem" */
	const char *owner;	/* of the key file */
	const char *purpose;	/* recorded with the certificate */
	int files;		/* write <stem>.pem / -key.pem (else only
				 * embedded in a kubeconfig) */
	struct identity id;
	const struct bjob *share_with;	/* sign this job's key instead */
	struct key *key;
	struct signing_result res;
	struct buf cert_pem;	/* certificate */
	struct buf key_pem;	/* private key (secret) */
	struct slw_diag d;
	int r;
};

#define BUNDLE_MAX_JOBS 16

struct rctx {
	const struct bundle_input *in;
	const struct inventory *inv;
	const struct inv_node *n;
	struct bundle *b;
	struct slw_diag *d;
	time_t now;
	char url[160];		/* the apiserver through the VIP */
	char domain[254];	/* cluster.local */
	struct buf ca_kube;	/* trust bundles (PEM) */
	struct buf ca_etcd;
	struct buf ca_fp;
	struct buf etcd_servers;	/* "https://ip:port,..." */
	struct bjob jobs[BUNDLE_MAX_JOBS];
	size_t n_jobs;
	int partial;		/* a fleet delivery (bundle_input.scope): the
				 * certificates outside the scope are not
				 * issued and their files are left out */
};

/* ---- helpers (render.c) ---- */

/* The job of one identity (NULL if this node has none, or if a partial
 * bundle does not re-issue it). */
const struct bjob *render_job(const struct rctx *c, enum ident which);
/*
 * The job of an identity the node must have: 0 and *out (NULL when a
 * partial bundle leaves it out: skip its files), or SLW_ERR_INTERNAL.
 */
int render_job_need(const struct rctx *c, enum ident which,
    const struct bjob **out);
/* Takes the builder's text (freed on every path) into a new file. */
int render_add_tmpl(struct bundle *b, const char *path, unsigned int mode,
    const char *owner, int secret, struct tmpl *t);
/* <dir>/<stem>.pem (0644) and <dir>/<stem>-key.pem (0600, secret). */
int render_add_pair(struct bundle *b, const struct bjob *j);
/*
 * 1 if install.sh can fetch from the appliance: artifacts, the endpoint's
 * URL and pin are given, and safe to write into a script.
 */
int render_fetch_ok(const struct rctx *c);
/* 36 of the inventory's kubernetesVersion v1.36.x (0 if it does not parse). */
unsigned int render_k8s_minor(const struct rctx *c);
/* Unit header shared by every rendered unit. */
void render_unit_head(struct tmpl *t, const char *desc, const char *doc);
/*
 * flannel's network configuration (JSON: Network = clusterCIDR, SubnetLen
 * 24, Backend vxlan); every bundle carries it as
 * /etc/flanneld/net-conf.json (the rollout writes the same to etcd).
 */
int render_flannel_network(const struct inventory *inv, struct buf *out);

/* The parts, in render order. Each adds its files; none records. */
int render_node(struct rctx *c);
int render_etcd(struct rctx *c);
int render_master(struct rctx *c);
/* Only sa.key, sa.pub and encryption-config.yaml (bundle_render_keys). */
int render_master_keys(struct rctx *c);
int render_ha(struct rctx *c);
int render_install(struct rctx *c);

#endif
