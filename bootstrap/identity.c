// SPDX-License-Identifier: Apache-2.0
/*
 * identity.c: certificate templates for the cluster's identities. Pure
 * functions of the inventory; they choose names, never keys.
 */
#include "identity.h"
#include "ca.h"

#include <stdio.h>
#include <string.h>

void
identity_ca_subject(const struct inventory *inv, const char *cn,
    struct dn *out)
{
	*out = inv->subject;
	snprintf(out->cn, sizeof(out->cn), "%s", cn);
}

static int
add(struct identity *id, const char *s, struct slw_diag *d)
{
	return cert_template_add_san(&id->t, s, d);
}

static int
add_role_ips(struct identity *id, const struct inventory *inv,
    unsigned int role, struct slw_diag *d)
{
	size_t i;
	int r;

	for (i = 0; i < inv->n_nodes; i++)
		if ((inv->nodes[i].roles & role) &&
		    (r = add(id, inv->nodes[i].ip, d)) != 0)
			return r;
	return 0;
}

/* kubernetes, kubernetes.default, ...svc, ...svc.<l1>, ...svc.<l1.l2> ... */
static int
add_service_names(struct identity *id, const struct inventory *inv,
    struct slw_diag *d)
{
	char domain[254], name[300];
	const char *p;
	int r;

	if ((r = add(id, "DNS:kubernetes", d)) != 0 ||
	    (r = add(id, "DNS:kubernetes.default", d)) != 0 ||
	    (r = add(id, "DNS:kubernetes.default.svc", d)) != 0)
		return r;
	inventory_domain(inv, domain, sizeof(domain));
	for (p = domain; p != NULL; p = strchr(p + 1, '.')) {
		size_t n = (size_t)(p - domain);

		if (p != domain)
			snprintf(name, sizeof(name), "DNS:kubernetes.default.svc.%.*s",
			    (int)n, domain);
		else
			continue;
		if ((r = add(id, name, d)) != 0)
			return r;
	}
	snprintf(name, sizeof(name), "DNS:kubernetes.default.svc.%s", domain);
	return add(id, name, d);
}

int
identity_get(const struct inventory *inv, enum ident which,
    const struct inv_node *node, int seed_profile, struct identity *id,
    struct slw_diag *d)
{
	const char *prof = "client", *cn = NULL, *o = NULL;
	char node_cn[INV_NAME_MAX + 16];
	int r = 0;

	memset(id, 0, sizeof(*id));
	id->ca_role = CA_KUBERNETES;
	switch (which) {
	case ID_ADMIN:
		cn = "admin"; o = "system:masters"; id->file = "admin";
		break;
	case ID_ETCD_SEED:
		cn = "etcd"; prof = "peer"; id->file = "etcd";
		id->ca_role = CA_ETCD;
		break;
	case ID_ETCD_MEMBER:
		if (node == NULL || !(node->roles & ROLE_ETCD))
			return slw_diag(d, SLW_ERR_INVALID, "not an etcd member");
		cn = node->name; prof = "peer"; id->file = "etcd";
		id->ca_role = CA_ETCD;
		break;
	case ID_ETCD_CLIENT:
		cn = "etcd-client"; id->file = "etcd-client";
		id->ca_role = CA_ETCD;
		break;
	case ID_FLANNELD:
		cn = "flanneld"; id->file = "flanneld";
		id->ca_role = CA_ETCD;
		break;
	case ID_APISERVER:
		cn = "kubernetes"; prof = "server"; id->file = "kubernetes";
		break;
	case ID_APISERVER_ETCD_CLIENT:
		cn = "kube-apiserver-etcd-client"; id->file = "apiserver-etcd-client";
		id->ca_role = CA_ETCD;
		break;
	case ID_APISERVER_KUBELET_CLIENT:
		/* the seed binds system:kubernetes-to-kubelet to user kubernetes */
		cn = "kubernetes"; id->file = "apiserver-kubelet-client";
		break;
	case ID_FRONT_PROXY_CLIENT:
		cn = "front-proxy-client"; id->file = "front-proxy-client";
		id->ca_role = CA_FRONT_PROXY;
		break;
	case ID_CONTROLLER_MANAGER:
		cn = "system:kube-controller-manager";
		o = "system:kube-controller-manager"; prof = "peer";
		id->file = "kube-controller-manager";
		break;
	case ID_SCHEDULER:
		cn = "system:kube-scheduler"; o = "system:kube-scheduler";
		prof = "peer"; id->file = "kube-scheduler";
		break;
	case ID_KUBE_PROXY:
		cn = "system:kube-proxy"; id->file = "kube-proxy";
		break;
	case ID_BOOTSTRAP_SERVER:
		cn = "slipway"; prof = "server"; id->file = "slipway-serve";
		break;
	case ID_NODE_CLIENT:
		/*
		 * GET /v1/artifacts with mTLS (docs/artifacts.md). No group:
		 * the API server (which trusts this CA) would see a user that
		 * no role is bound to.
		 */
		if (node == NULL)
			return slw_diag(d, SLW_ERR_INVALID, "a node certificate "
			    "needs its node");
		snprintf(node_cn, sizeof(node_cn), "slipway-node:%s", node->name);
		cn = node_cn; id->file = "node";
		break;
	default:
		return SLW_ERR_INVALID;
	}
	id->purpose = which == ID_NODE_CLIENT ? "slipway-node" : id->file;
	if (seed_profile)
		prof = "kubernetes";
	if (profile_builtin(prof, &id->profile) != 0)
		return SLW_ERR_INTERNAL;
	id->profile.hours = inv->leaf_hours;
	id->t.profile = &id->profile;
	id->t.seconds = inv->leaf_seconds;
	id->t.subject = inv->subject;
	snprintf(id->t.subject.cn, sizeof(id->t.subject.cn), "%s", cn);
	if (o != NULL) {
		snprintf(id->t.subject.o[0], sizeof(id->t.subject.o[0]), "%s", o);
		id->t.subject.n_o = 1;
	}
	if (which == ID_NODE_CLIENT)
		id->t.subject.n_o = 0;	/* no group for the API server */

	switch (which) {
	case ID_ETCD_SEED:
		if ((r = add(id, "127.0.0.1", d)) == 0)
			r = add_role_ips(id, inv, ROLE_ETCD, d);
		break;
	case ID_ETCD_MEMBER:
		if ((r = add(id, node->ip, d)) == 0)
			r = add(id, "127.0.0.1", d);
		break;
	case ID_APISERVER:
		if ((r = add(id, "127.0.0.1", d)) == 0 &&
		    (r = add_role_ips(id, inv, ROLE_MASTER, d)) == 0 &&
		    (r = add(id, inv->vip, d)) == 0 &&
		    (r = add(id, inv->service_ip, d)) == 0)
			r = add_service_names(id, inv, d);
		break;
	case ID_CONTROLLER_MANAGER:
	case ID_SCHEDULER:
		if ((r = add(id, "127.0.0.1", d)) != 0)
			break;
		if (node != NULL)
			r = add(id, node->ip, d);
		else
			r = add_role_ips(id, inv, ROLE_MASTER, d);
		break;
	case ID_BOOTSTRAP_SERVER:
		if ((r = add(id, inv->bootstrap_address, d)) == 0 &&
		    (r = add(id, "127.0.0.1", d)) == 0)
			r = add(id, "DNS:localhost", d);
		for (size_t i = 0; r == 0 && i < inv->n_server_names; i++) {
			char s[260];

			snprintf(s, sizeof(s), "DNS:%s", inv->server_names[i]);
			r = add(id, s, d);
		}
		break;
	default:
		break;
	}
	return r;
}
