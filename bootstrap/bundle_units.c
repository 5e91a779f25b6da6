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

static const char *const f_etcd[] = {
	"/etc/etcd/cert/", UNIT_DIR "etcd.service", NULL,
};
static const char *const f_apiserver[] = {
	K8S_CERT "ca.pem", K8S_CERT "kubernetes.pem",
	K8S_CERT "kubernetes-key.pem", K8S_CERT "etcd-ca.pem",
	K8S_CERT "apiserver-etcd-client.pem",
	K8S_CERT "apiserver-etcd-client-key.pem",
	K8S_CERT "apiserver-kubelet-client.pem",
	K8S_CERT "apiserver-kubelet-client-key.pem",
	K8S_CERT "front-proxy-ca.pem", K8S_CERT "front-proxy-client.pem",
	K8S_CERT "front-proxy-client-key.pem", K8S_CERT "sa.pub",
	K8S_CERT "sa.key", K8S_DIR "encryption-config.yaml",
	K8S_DIR "audit-policy.yaml", UNIT_DIR "kube-apiserver.service", NULL,
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
	{ "etcd", ROLE_ETCD, TIER_ETCD, 0, f_etcd },
	{ "kube-apiserver", ROLE_MASTER, TIER_MASTER, 0, f_apiserver },
	{ "kube-controller-manager", ROLE_MASTER, TIER_MASTER, 0,
	  f_controller_manager },
	{ "kube-scheduler", ROLE_MASTER, TIER_MASTER, 0, f_scheduler },
	{ "haproxy", ROLE_MASTER, TIER_MASTER, 1, f_haproxy },
	{ "keepalived", ROLE_MASTER, TIER_MASTER, 1, f_keepalived },
	{ "flanneld", ALL, TIER_WORKER, 0, f_flanneld },
	{ "containerd", ALL, TIER_WORKER, 0, f_containerd },
	{ "kubelet", ALL, TIER_WORKER, 0, f_kubelet },
	{ "kube-proxy", ALL, TIER_WORKER, 0, f_kube_proxy },
};
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

int
bundle_unit_reads(const struct bundle_unit *u, const char *path)
{
	const char *const *f;

	for (f = u->files; *f != NULL; f++) {
		size_t n = strlen(*f);

		if ((*f)[n - 1] == '/' ? strncmp(path, *f, n) == 0 :
		    strcmp(path, *f) == 0)
			return 1;
	}
	return 0;
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
