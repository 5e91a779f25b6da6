/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube_cluster.h: the cluster objects slipway owns, applied idempotently:
 *   - per node, the bootstrap-token Secret kube-system/bootstrap-token-<id>
 *     (type bootstrap.kubernetes.io/token, usage-bootstrap-authentication,
 *     auth-extra-groups system:bootstrappers:NODE, expiration) carrying
 *     exactly the node's token from the store (nodetoken.h); Secrets of
 *     tokens slipway no longer holds are deleted;
 *   - ClusterRoleBinding kubelet-bootstrap: system:node-bootstrapper to the
 *     group system:bootstrappers (the seed's), so kubelets may create CSRs;
 *   - ClusterRole system:kubernetes-to-kubelet and ClusterRoleBinding
 *     system:kubernetes to the user kubernetes (the seed's
 *     apiserver-to-kubelet.yaml);
 *   - and nothing that auto-approves CSRs: bindings of the nodeclient /
 *     selfnodeclient / selfnodeserver approval roles (the seed's
 *     csr-crb.yaml, kubeadm's autoapprove bindings) are deleted, because
 *     slipway's policy decides instead.
 * Every object created, changed or deleted is in the audit log.
 */
#ifndef SLW_KUBE_CLUSTER_H
#define SLW_KUBE_CLUSTER_H

#include "inventory.h"
#include "kube.h"
#include "store.h"

/* Lifetime of a node's kubelet bootstrap token when slipway makes one. */
#define KUBE_BOOTSTRAP_TOKEN_TTL (24 * 3600)

#define KUBE_CLUSTER_TOKENS_ONLY 0x1u	/* only the bootstrap-token Secrets */
#define KUBE_CLUSTER_NO_NEW_TOKENS 0x2u	/* use the tokens in the store as
					 * they are; never make or renew one */

struct kube_cluster_counts {
	unsigned int created, updated, unchanged, deleted;
};

/*
 * Applies the objects above. report (may be NULL) gets one line per object
 * ("secret kube-system/bootstrap-token-abc123 (node test1): created"); the
 * lines name token ids, never token secrets. Needs the store's KEK.
 */
int kube_cluster_apply(struct kube *k, struct store *s,
    const struct inventory *inv, unsigned int flags, const char *actor,
    void (*report)(void *arg, const char *line), void *arg,
    struct kube_cluster_counts *counts, struct slw_diag *d);

/*
 * Where kube_cluster_apply_src gets the nodes' tokens and writes its audit
 * records: the store (kube_cluster_apply), or the monitor over the CSR
 * approver's channel (a process without the store).
 */
struct node_token;
struct kube_cluster_src {
	/* The node's token into out (create: make or renew one, else
	 * SLW_ERR_NOTFOUND if it has none). */
	int (*token)(void *arg, const char *node, int create,
	    struct node_token *out, struct slw_diag *d);
	/* One "kube.apply" record: object, detail ("created", ...). */
	int (*audit)(void *arg, const char *actor, const char *object,
	    const char *detail, struct slw_diag *d);
	void *arg;
};
int kube_cluster_apply_src(struct kube *k, const struct kube_cluster_src *src,
    const struct inventory *inv, unsigned int flags, const char *actor,
    void (*report)(void *arg, const char *line), void *arg,
    struct kube_cluster_counts *counts, struct slw_diag *d);

#endif
