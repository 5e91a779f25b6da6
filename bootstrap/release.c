// SPDX-License-Identifier: Apache-2.0
/*
 * release.c: the components a node runs (release.h): which version of
 * each a kubernetesVersion implies, the binaries and where they come from
 * upstream. Pure data and functions of it; never guesses a version it has
 * no source for (the table names the source of every row).
 */
#include "release.h"

#include <stdio.h>
#include <string.h>

#define ALL (ROLE_ETCD | ROLE_MASTER | ROLE_WORKER)
#define K8S_BIN "/opt/k8s/bin"
#define CNI_BIN "/opt/cni/bin"

static const char *const comp_names[RC__COUNT] = {
	[RC_KUBERNETES] = "kubernetes", [RC_ETCD] = "etcd",
	[RC_CONTAINERD] = "containerd", [RC_RUNC] = "runc",
	[RC_CNI] = "cni", [RC_FLANNEL] = "flannel",
	[RC_FLANNEL_CNI] = "flannelCni", [RC_PAUSE] = "pause",
};

/*
 * What each Kubernetes minor implies. Sources, read on 2026-11 with the
 * search tool (kubernetes/kubernetes and containerd/containerd):
 *
 *  - etcd: v1.35: kubeadm's constants of v1.35.8 pin "3.6.6-0" (CHANGELOG-
 *    1.35.md lists "Updated etcd to v3.6.5" (#134251) for v1.35.0 and the
 *    rc's "Update etcd to v3.6.6" (#135271)); v1.36: CHANGELOG-1.36.md,
 *    "Updated etcd client library to v3.6.8" (#137225), and kubeadm's
 *    SupportedEtcdVersion 36: "3.6.8-0". v1.37: no etcd change found in
 *    the v1.37 notes read, so v1.36's.
 *  - CNI plugins: CHANGELOG-1.35.md, "Updated CNI plugins to v1.8.0"
 *    (#133837); no later bump found in the v1.36 and v1.37 notes read.
 *  - pause: kubeadm's PauseVersion of v1.35.8, "3.10.1"; no bump found
 *    in the v1.36/v1.37 notes read.
 *  - containerd: containerd's RELEASES.md "Kubernetes Support" table:
 *    1.35 -> 2.2.0+, 2.1.5+, 1.7.28+; 1.36 -> 2.3.0+, 2.2.0+; v1.35 was the
 *    last Kubernetes to support containerd 1.x (its release blog). 2.2.1
 *    fits both rows; v1.37's row (2.3.0+) was not in the table read.
 *  - runc: the 1.3 line that containerd 2.2 is tested with; 1.4.1 with
 *    containerd 2.3.
 *  - flannel v0.26.7 and its CNI plugin v1.6.2-flannel1: not tied to a
 *    Kubernetes release; the flag set slipway renders is v0.26's
 *    (docs/bundles.md).
 *
 * Any of them can be overridden per cluster (cluster.yaml `versions:`).
 */
static const struct {
	unsigned int minor;
	const char *v[RC__COUNT];	/* RC_KUBERNETES: from the inventory */
} table[] = {
	{ 35, { NULL, "3.6.6", "2.2.1", "1.3.4", "1.8.0", "0.26.7",
	    "1.6.2-flannel1", "3.10.1" } },
	{ 36, { NULL, "3.6.8", "2.2.1", "1.3.4", "1.8.0", "0.26.7",
	    "1.6.2-flannel1", "3.10.1" } },
	{ 37, { NULL, "3.6.8", "2.3.0", "1.4.1", "1.8.0", "0.26.7",
	    "1.6.2-flannel1", "3.10.1" } },
};

/*
 * member: the file's name inside the upstream release file (any
 * directory); version_args: how it tells its version ("" for CNI plugins,
 * which print "CNI <name> plugin vX" when run without CNI_COMMAND).
 */
const struct rel_binary release_binaries[] = {
	{ "kube-apiserver", RC_KUBERNETES, REL_BINARY, K8S_BIN, ROLE_MASTER,
	  "kube-apiserver", "--version" },
	{ "kube-controller-manager", RC_KUBERNETES, REL_BINARY, K8S_BIN,
	  ROLE_MASTER, "kube-controller-manager", "--version" },
	{ "kube-scheduler", RC_KUBERNETES, REL_BINARY, K8S_BIN, ROLE_MASTER,
	  "kube-scheduler", "--version" },
	/* known (importable) but not delivered: no node runs it */
	{ "kubectl", RC_KUBERNETES, REL_BINARY, K8S_BIN, 0, "kubectl",
	  "version --client" },
	{ "kubelet", RC_KUBERNETES, REL_BINARY, K8S_BIN, ALL, "kubelet",
	  "--version" },
	{ "kube-proxy", RC_KUBERNETES, REL_BINARY, K8S_BIN, ALL, "kube-proxy",
	  "--version" },
	{ "etcd", RC_ETCD, REL_BINARY, K8S_BIN, ROLE_ETCD, "etcd",
	  "--version" },
	{ "etcdctl", RC_ETCD, REL_BINARY, K8S_BIN, ROLE_ETCD, "etcdctl",
	  "version" },
	{ "flanneld", RC_FLANNEL, REL_BINARY, K8S_BIN, ALL, "flanneld",
	  "--version" },
	{ "containerd", RC_CONTAINERD, REL_BINARY, K8S_BIN, ALL, "containerd",
	  "--version" },
	{ "containerd-shim-runc-v2", RC_CONTAINERD, REL_BINARY, K8S_BIN, ALL,
	  "containerd-shim-runc-v2", "-v" },
	{ "ctr", RC_CONTAINERD, REL_BINARY, K8S_BIN, ALL, "ctr", "--version" },
	{ "runc", RC_RUNC, REL_BINARY, K8S_BIN, ALL, "runc.amd64",
	  "--version" },
	{ "bridge", RC_CNI, REL_BINARY, CNI_BIN, ALL, "bridge", "" },
	{ "host-local", RC_CNI, REL_BINARY, CNI_BIN, ALL, "host-local", "" },
	{ "loopback", RC_CNI, REL_BINARY, CNI_BIN, ALL, "loopback", "" },
	{ "portmap", RC_CNI, REL_BINARY, CNI_BIN, ALL, "portmap", "" },
	{ "flannel", RC_FLANNEL_CNI, REL_BINARY, CNI_BIN, ALL, "flannel-amd64",
	  "" },
	{ "pause", RC_PAUSE, REL_IMAGE, NULL, ALL, NULL, NULL },
};
const size_t release_binaries_n =
    sizeof(release_binaries) / sizeof(release_binaries[0]);

const char *
release_component_name(enum rel_component c)
{
	return (unsigned int)c < RC__COUNT ? comp_names[c] : "?";
}

int
release_component_parse(const char *s, enum rel_component *out)
{
	int i;

	for (i = 0; s != NULL && i < RC__COUNT; i++)
		if (strcmp(s, comp_names[i]) == 0) {
			*out = (enum rel_component)i;
			return 0;
		}
	return SLW_ERR_INVALID;
}

int
release_version_ok(const char *s)
{
	size_t n, i;

	if (s == NULL || (n = strlen(s)) == 0 || n >= REL_VERSION_MAX)
		return 0;
	i = s[0] == 'v' ? 1 : 0;
	if (s[i] < '0' || s[i] > '9')
		return 0;
	for (; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    strchr(".+~_-", s[i]) != NULL))
			return 0;
	return 1;
}

int
release_version_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL || a[0] == '\0' || b[0] == '\0')
		return 0;
	if (a[0] == 'v')
		a++;
	if (b[0] == 'v')
		b++;
	return strcmp(a, b) == 0;
}

int
release_versions(const struct inventory *inv, struct rel_versions *out,
    struct slw_diag *d)
{
	unsigned int minor = 0;
	size_t i;
	int c;

	memset(out, 0, sizeof(*out));
	if (sscanf(inv->k8s_version, "v1.%u.", &minor) != 1)
		return slw_diag(d, SLW_ERR_INVALID, "kubernetesVersion '%s' is "
		    "not v1.MINOR.PATCH", inv->k8s_version);
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].minor == minor)
			break;
	if (i == sizeof(table) / sizeof(table[0]))
		return slw_diag(d, SLW_ERR_UNSUPPORTED, "no component versions "
		    "for Kubernetes v1.%u (v1.35 to v1.37)", minor);
	snprintf(out->v[RC_KUBERNETES], REL_VERSION_MAX, "%s",
	    inv->k8s_version);
	for (c = 1; c < RC__COUNT; c++)
		snprintf(out->v[c], REL_VERSION_MAX, "%s", table[i].v[c]);
	for (i = 0; i < inv->n_versions; i++) {
		enum rel_component rc;

		if (release_component_parse(inv->versions[i].component, &rc)
		    != 0 || rc == RC_KUBERNETES)
			return slw_diag(d, SLW_ERR_INVALID, "versions: unknown "
			    "component '%s'", inv->versions[i].component);
		snprintf(out->v[rc], REL_VERSION_MAX, "%s",
		    inv->versions[i].version);
	}
	return 0;
}

const struct rel_binary *
release_binary_find(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < release_binaries_n; i++)
		if (strcmp(release_binaries[i].name, name) == 0 ||
		    (release_binaries[i].member != NULL &&
		    strcmp(release_binaries[i].member, name) == 0))
			return &release_binaries[i];
	return NULL;
}

/* The version without a leading 'v' (upstream file names add their own). */
static const char *
bare(const char *v)
{
	return v[0] == 'v' ? v + 1 : v;
}

int
release_file(enum rel_component c, const char *version, struct rel_file *out)
{
	const char *v;

	memset(out, 0, sizeof(*out));
	out->comp = c;
	if (version == NULL || version[0] == '\0')
		return SLW_ERR_NOTFOUND;
	v = bare(version);
	out->archive = 1;
	switch (c) {
	case RC_KUBERNETES:
		snprintf(out->name, sizeof(out->name),
		    "kubernetes-server-linux-amd64.tar.gz");
		snprintf(out->checksums, sizeof(out->checksums),
		    "kubernetes-server-linux-amd64.tar.gz.sha512");
		break;
	case RC_ETCD:
		snprintf(out->name, sizeof(out->name),
		    "etcd-v%s-linux-amd64.tar.gz", v);
		snprintf(out->checksums, sizeof(out->checksums), "SHA256SUMS");
		break;
	case RC_CONTAINERD:
		snprintf(out->name, sizeof(out->name),
		    "containerd-%s-linux-amd64.tar.gz", v);
		snprintf(out->checksums, sizeof(out->checksums), "%s.sha256sum",
		    out->name);
		break;
	case RC_RUNC:
		snprintf(out->name, sizeof(out->name), "runc.amd64");
		snprintf(out->checksums, sizeof(out->checksums), "runc.sha256sum");
		out->archive = 0;
		break;
	case RC_CNI:
		snprintf(out->name, sizeof(out->name),
		    "cni-plugins-linux-amd64-v%s.tgz", v);
		snprintf(out->checksums, sizeof(out->checksums), "%s.sha256",
		    out->name);
		break;
	case RC_FLANNEL:
		snprintf(out->name, sizeof(out->name),
		    "flannel-v%s-linux-amd64.tar.gz", v);
		break;
	case RC_FLANNEL_CNI:
		snprintf(out->name, sizeof(out->name),
		    "cni-plugin-flannel-linux-amd64-v%s.tgz", v);
		break;
	case RC_PAUSE:
		snprintf(out->name, sizeof(out->name), "pause-%s.tar", v);
		out->archive = 0;
		break;
	default:
		return SLW_ERR_NOTFOUND;
	}
	return 0;
}

/* name == prefix VERSION suffix: VERSION into out. */
static int
between(const char *name, const char *prefix, const char *suffix,
    char out[REL_VERSION_MAX])
{
	size_t n = strlen(name), p = strlen(prefix), s = strlen(suffix);

	if (n <= p + s || strncmp(name, prefix, p) != 0 ||
	    strcmp(name + n - s, suffix) != 0 || n - p - s >= REL_VERSION_MAX)
		return 0;
	memcpy(out, name + p, n - p - s);
	out[n - p - s] = '\0';
	return release_version_ok(out);
}

int
release_file_parse(const char *name, enum rel_component *c,
    char version[REL_VERSION_MAX])
{
	const char *b = strrchr(name, '/');

	b = b != NULL ? b + 1 : name;
	version[0] = '\0';
	if (strcmp(b, "kubernetes-server-linux-amd64.tar.gz") == 0 ||
	    strcmp(b, "kubernetes-node-linux-amd64.tar.gz") == 0) {
		*c = RC_KUBERNETES;
		return 0;
	}
	if (strcmp(b, "runc.amd64") == 0) {
		*c = RC_RUNC;
		return 0;
	}
	if (between(b, "etcd-v", "-linux-amd64.tar.gz", version))
		*c = RC_ETCD;
	else if (between(b, "containerd-static-", "-linux-amd64.tar.gz",
	    version) || between(b, "containerd-", "-linux-amd64.tar.gz",
	    version))
		*c = RC_CONTAINERD;
	else if (between(b, "cni-plugins-linux-amd64-v", ".tgz", version))
		*c = RC_CNI;
	else if (between(b, "flannel-v", "-linux-amd64.tar.gz", version))
		*c = RC_FLANNEL;
	else if (between(b, "cni-plugin-flannel-linux-amd64-v", ".tgz",
	    version))
		*c = RC_FLANNEL_CNI;
	else {
		version[0] = '\0';
		return SLW_ERR_NOTFOUND;
	}
	return 0;
}
