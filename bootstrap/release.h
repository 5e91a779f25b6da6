/* SPDX-License-Identifier: Apache-2.0 */
/*
 * release.h: what a node runs, by upstream release: the components
 * (Kubernetes, etcd, containerd, runc, the CNI plugins, flannel and its
 * CNI plugin, the pause image), the version of each that a
 * kubernetesVersion implies (release.c holds the table and its sources),
 * the inventory's overrides (cluster.yaml `versions:`), and for every
 * binary: its component, where it goes on a node, which roles need it, the
 * member of the upstream release file it comes from, and how to ask it
 * for its version. Pure data and functions of it: no I/O.
 */
#ifndef SLW_RELEASE_H
#define SLW_RELEASE_H

#include <stddef.h>

#include "err.h"
#include "inventory.h"

enum rel_component {
	RC_KUBERNETES = 0,	/* kube-apiserver, ..., kubelet, kube-proxy */
	RC_ETCD,
	RC_CONTAINERD,		/* containerd, its runc shim, ctr */
	RC_RUNC,
	RC_CNI,			/* containernetworking/plugins */
	RC_FLANNEL,		/* flanneld */
	RC_FLANNEL_CNI,		/* flannel-io/cni-plugin */
	RC_PAUSE,		/* the sandbox image */
	RC__COUNT
};

#define REL_VERSION_MAX 32

/* The version of every component, "" where none is known. */
struct rel_versions {
	char v[RC__COUNT][REL_VERSION_MAX];
};

/* "kubernetes", "etcd", ..., as cluster.yaml's `versions:` names them. */
const char *release_component_name(enum rel_component c);
int release_component_parse(const char *s, enum rel_component *out);
/*
 * A version as an inventory or an operator may write it: 1-31 bytes of
 * [0-9A-Za-z.+~_-], starting with a digit or 'v' and a digit.
 */
int release_version_ok(const char *s);
/* 1 if a and b name the same version ("v1.36.0" and "1.36.0" do). */
int release_version_eq(const char *a, const char *b);

/*
 * What kubernetesVersion (v1.35.x to v1.37.x) implies for every
 * component, then the inventory's `versions:` on top.
 */
int release_versions(const struct inventory *inv, struct rel_versions *out,
    struct slw_diag *d);

/* ---- binaries ---- */

enum rel_kind { REL_BINARY = 0, REL_IMAGE };

struct rel_binary {
	const char *name;		/* "kubelet", "bridge", "pause" */
	enum rel_component comp;
	enum rel_kind kind;
	const char *dir;		/* on the node: /opt/k8s/bin, /opt/cni/bin */
	unsigned int roles;		/* ROLE_* of the nodes that need it */
	const char *member;		/* path in the release file; %s: version */
	const char *version_args;	/* "--version", "version", "" (CNI) */
};

/* Every binary and image, in a fixed order. */
extern const struct rel_binary release_binaries[];
extern const size_t release_binaries_n;

/* By name ("runc.amd64" and "flannel-amd64" name runc and flannel). */
const struct rel_binary *release_binary_find(const char *name);

/* ---- upstream release files ---- */

struct rel_file {
	enum rel_component comp;
	char name[128];			/* "etcd-v3.6.8-linux-amd64.tar.gz" */
	char checksums[144];		/* where its digest is published */
	int archive;			/* a tar.gz to take binaries from */
};

/*
 * The file upstream publishes for a component at a version (linux/amd64),
 * as an operator downloads it; the pause image is a tarball the operator
 * saves (docs/artifacts.md). 0, or SLW_ERR_NOTFOUND without a version.
 */
int release_file(enum rel_component c, const char *version,
    struct rel_file *out);
/*
 * The other way round: which component and version a release file name
 * is (kubernetes-server-linux-amd64.tar.gz has no version in its name:
 * *version is "" then). SLW_ERR_NOTFOUND for a name slipway does not know.
 */
int release_file_parse(const char *name, enum rel_component *c,
    char version[REL_VERSION_MAX]);

#endif
