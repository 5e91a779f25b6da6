/* SPDX-License-Identifier: Apache-2.0 */
/*
 * identity.h: who is who in a cluster: the subject, SANs, profile and
 * issuing CA of every certificate a cluster needs, from the inventory. Both
 * `cert seed-set` (the seed's files) and bundle rendering use these.
 */
#ifndef SLW_IDENTITY_H
#define SLW_IDENTITY_H

#include "cert.h"
#include "inventory.h"

enum ident {
	ID_ADMIN,		/* kubectl, O=system:masters (console only) */
	ID_ETCD_SEED,		/* the seed's one etcd cert for every member */
	ID_ETCD_MEMBER,		/* per member: server + peer, own IP */
	ID_ETCD_CLIENT,		/* etcdctl / health checks */
	ID_FLANNELD,		/* etcd client */
	ID_APISERVER,		/* serving: every SAN the seed lists */
	ID_APISERVER_ETCD_CLIENT,
	ID_APISERVER_KUBELET_CLIENT,
	ID_FRONT_PROXY_CLIENT,
	ID_CONTROLLER_MANAGER,
	ID_SCHEDULER,
	ID_KUBE_PROXY,
	ID_BOOTSTRAP_SERVER,	/* slipway's own HTTPS endpoint */
	ID_NODE_CLIENT,		/* a node fetching artifacts from slipway */
	ID__COUNT
};

struct identity {
	struct profile profile;		/* storage for t.profile */
	struct cert_template t;
	const char *ca_role;		/* CA_KUBERNETES, CA_ETCD, CA_FRONT_PROXY */
	const char *file;		/* seed file stem, e.g. "kubernetes" */
	const char *purpose;		/* recorded with the certificate */
};

/*
 * Fills id for one identity. node is required for the per-node identities
 * (ID_ETCD_MEMBER, and the per-node variants of the others when given).
 * seed_profile: use the seed's "kubernetes" profile (server+client) for
 * everything, as cfssl did; otherwise each identity gets only the usages
 * it needs.
 */
int identity_get(const struct inventory *inv, enum ident which,
    const struct inv_node *node, int seed_profile, struct identity *id,
    struct slw_diag *d);

/* Subject of a CA: the inventory's names with the given CN. */
void identity_ca_subject(const struct inventory *inv, const char *cn,
    struct dn *out);

#endif
