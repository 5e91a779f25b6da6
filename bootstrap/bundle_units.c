// SPDX-License-Identifier: Apache-2.0
/*
 * bundle_units.c: the units of a node and the bundle files each reads at
 * start (from the flags and configs that the render_ files write), in
 * the rollout's order, and the files that carry each CA's trust. Keep it in
 * step with the renderers: unit_bundle checks that every file of every
 * bundle is read by some unit or is known to be read by none. Pure.
 */
#include "bundle_units.h"
#include "ca.h"

#include <string.h>

#define K8S_CERT "/etc/kubernetes/cert/"
#define K8S_DIR "/etc/kubernetes/"
#define UNIT_DIR "/etc/systemd/system/"
#define ALL (ROLE_ETCD | ROLE_MASTER | ROLE_WORKER)

/* etcd reads its trusted CA file only at start (etcd-io/etcd#11555), but
 * its certificate and key on every TLS handshake (TLSInfo's
 * GetCertificate) and its CRL file on every accepted connection
 * (crl_etcd_reload): a new pair or CRL needs no restart */
static const char *const f_etcd[] = {
	"/etc/etcd/cert/ca.pem", UNIT_DIR "etcd.service", NULL,
};
static const char *const l_etcd[] = {
	"/etc/etcd/cert/etcd.pem", "/etc/etcd/cert/etcd-key.pem",
	"/etc/etcd/cert/crl.der", NULL,
};
/* no unit reads them: etcdctl's pair (the node's own health checks) and
 * the node's artifact client pair (install.sh's curl) */
static const char *const f_unread[] = {
	"/etc/etcd/cert/etcd-client.pem", "/etc/etcd/cert/etcd-client-key.pem",
	"/etc/slipway/node.pem", "/etc/slipway/node-key.pem", NULL,
};
static const char *const f_apiserver[] = {
	K8S_CERT "ca.pem", K8S_CERT "kubernetes.pem",
	K8S_CERT "kubernetes-key.pem", K8S_CERT "etcd-ca.pem",
	K8S_CERT "apiserver-etcd-client.pem",
	K8S_CERT "apiserver-etcd-client-key.pem",
	K8S_CERT "apiserver-kubelet-client.pem",
	K8S_CERT "apiserver-kubelet-client-key.pem",
	K8S_CERT "sa.pub",
	K8S_CERT "sa.key", K8S_DIR "encryption-config.yaml",
	K8S_DIR "audit-policy.yaml", K8S_DIR "authentication-config.yaml",
	UNIT_DIR "kube-apiserver.service", NULL,
};
/* The front-proxy files are reloaded by a running apiserver:
 * --requestheader-client-ca-file by the dynamic CA bundle of
 * k8s.io/apiserver/pkg/server/dynamiccertificates (1.17), the proxy client
 * pair by the aggregator's dynamic certificate (kubernetes/kubernetes#92791,
 * 1.19). The serving and kubelet-client pairs are reloaded by the real
 * apiserver too, but the double does not reload the kubelet-client pair
 * yet: they stay restart files until it does. */
static const char *const l_apiserver[] = {
	K8S_CERT "front-proxy-ca.pem", K8S_CERT "front-proxy-client.pem",
	K8S_CERT "front-proxy-client-key.pem", NULL,
};
static const char *const f_controller_manager[] = {
	K8S_CERT "ca.pem", K8S_CERT "kube-controller-manager.pem",
	K8S_CERT "kube-controller-manager-key.pem", K8S_CERT "sa.key",
	K8S_CERT "cluster-signing-ca.pem", K8S_CERT "ca-key.pem",
	K8S_DIR "kube-controller-manager.kubeconfig",
	UNIT_DIR "kube-controller-manager.service", NULL,
};
static const char *const f_scheduler[] = {
	K8S_CERT "ca.pem", K8S_CERT "kube-scheduler.pem",
	K8S_CERT "kube-scheduler-key.pem", K8S_DIR "kube-scheduler.kubeconfig",
	K8S_DIR "kube-scheduler.config.yaml", UNIT_DIR "kube-scheduler.service",
	NULL,
};
static const char *const f_haproxy[] = { "/etc/haproxy/haproxy.cfg", NULL };
static const char *const f_keepalived[] = {
	"/etc/keepalived/keepalived.conf", NULL,
};
static const char *const f_flanneld[] = {
	"/etc/flanneld/", UNIT_DIR "flanneld.service", NULL,
};
static const char *const f_containerd[] = {
	"/etc/containerd/config.toml", UNIT_DIR "containerd.service", NULL,
};
static const char *const f_kubelet[] = {
	K8S_CERT "ca.pem", K8S_DIR "kubelet-bootstrap.kubeconfig",
	K8S_DIR "kubelet.config.json", UNIT_DIR "kubelet.service", NULL,
};
static const char *const f_kube_proxy[] = {
	K8S_DIR "kube-proxy.kubeconfig", K8S_DIR "kube-proxy.config.yaml",
	UNIT_DIR "kube-proxy.service", NULL,
};

const struct bundle_unit bundle_units[] = {
	{ "etcd", ROLE_ETCD, TIER_ETCD, 0, f_etcd, l_etcd },
	{ "kube-apiserver", ROLE_MASTER, TIER_MASTER, 0, f_apiserver,
	  l_apiserver },
	{ "kube-controller-manager", ROLE_MASTER, TIER_MASTER, 0,
	  f_controller_manager, NULL },
	{ "kube-scheduler", ROLE_MASTER, TIER_MASTER, 0, f_scheduler, NULL },
	{ "haproxy", ROLE_MASTER, TIER_MASTER, 1, f_haproxy, NULL },
	{ "keepalived", ROLE_MASTER, TIER_MASTER, 1, f_keepalived, NULL },
	{ "flanneld", ALL, TIER_WORKER, 0, f_flanneld, NULL },
	{ "containerd", ALL, TIER_WORKER, 0, f_containerd, NULL },
	{ "kubelet", ALL, TIER_WORKER, 0, f_kubelet, NULL },
	{ "kube-proxy", ALL, TIER_WORKER, 0, f_kube_proxy, NULL },
};

const char *const *const bundle_unread = f_unread;
const size_t bundle_units_n = sizeof(bundle_units) / sizeof(bundle_units[0]);

const struct bundle_unit *
bundle_unit_find(const char *unit)
{
	size_t i;

	for (i = 0; unit != NULL && i < bundle_units_n; i++)
		if (strcmp(bundle_units[i].unit, unit) == 0)
			return &bundle_units[i];
	return NULL;
}

static int
listed(const char *const *f, const char *path)
{
	for (; f != NULL && *f != NULL; f++) {
		size_t n = strlen(*f);

		if ((*f)[n - 1] == '/' ? strncmp(path, *f, n) == 0 :
		    strcmp(path, *f) == 0)
			return 1;
	}
	return 0;
}

int
bundle_unit_reads(const struct bundle_unit *u, const char *path)
{
	return listed(u->files, path) || listed(u->live, path);
}

const char *const *
bundle_trust_files(const char *ca_role, unsigned int roles, const char **out,
    size_t max)
{
	size_t n = 0;

#define ADD(p) do { if (n + 1 < max) out[n++] = (p); } while (0)
	if (max == 0)
		return NULL;
	if (strcmp(ca_role, CA_ETCD) == 0) {
		if (roles & ROLE_ETCD)
			ADD("/etc/etcd/cert/ca.pem");
		if (roles & ROLE_MASTER)
			ADD(K8S_CERT "etcd-ca.pem");
		ADD("/etc/flanneld/cert/etcd-ca.pem");
	} else if (strcmp(ca_role, CA_KUBERNETES) == 0)
		ADD(K8S_CERT "ca.pem");
	else if (strcmp(ca_role, CA_FRONT_PROXY) == 0 && (roles & ROLE_MASTER))
		ADD(K8S_CERT "front-proxy-ca.pem");
#undef ADD
	out[n] = NULL;
	return out;
}
