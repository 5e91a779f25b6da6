// SPDX-License-Identifier: Apache-2.0
/*
 * inventory_diff.c: the difference between two validated inventories, node
 * by node, and the refusal of every change the fleet cannot carry out
 * (cluster-wide settings, a node's roles). Pure; must never accept a
 * changed cluster-wide setting silently.
 */
#include "inventory_diff.h"
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Cluster-wide settings: baked into every node's certificates and
 * configuration, so they never change after init. */
#define SAME_STR(field, yaml) \
	do { if (strcmp(old->field, new->field) != 0) \
		return refuse(d, yaml, old->field, new->field); } while (0)
#define SAME_NUM(field, yaml) \
	do { if (old->field != new->field) { \
		char a_[24], b_[24]; \
		snprintf(a_, sizeof(a_), "%llu", \
		    (unsigned long long)old->field); \
		snprintf(b_, sizeof(b_), "%llu", \
		    (unsigned long long)new->field); \
		return refuse(d, yaml, a_, b_); } } while (0)

static int
refuse(struct slw_diag *d, const char *what, const char *a, const char *b)
{
	return slw_diag(d, SLW_ERR_INVALID, "%s is cluster-wide and cannot "
	    "change after init ('%.64s' -> '%.64s'); inventory apply adds, "
	    "removes and re-addresses nodes only", what, a, b);
}

static int
cluster_same(const struct inventory *old, const struct inventory *new,
    struct slw_diag *d)
{
	size_t i;

	SAME_STR(cluster_name, "cluster.name");
	SAME_STR(k8s_version, "cluster.kubernetesVersion");
	SAME_STR(service_cidr.text, "network.serviceCIDR");
	SAME_STR(cluster_cidr.text, "network.clusterCIDR");
	SAME_NUM(nodeport_lo, "network.nodePortRange");
	SAME_NUM(nodeport_hi, "network.nodePortRange");
	SAME_STR(dns_ip, "network.dnsServiceIP");
	SAME_STR(dns_domain, "network.dnsDomain");
	SAME_STR(proxy_mode, "network.proxyMode");
	SAME_STR(flannel_prefix, "network.flannelEtcdPrefix");
	SAME_STR(vip, "apiserver.vip");
	SAME_NUM(vip_port, "apiserver.vipPort");
	SAME_STR(vip_interface, "apiserver.vipInterface");
	SAME_NUM(apiserver_port, "apiserver.securePort");
	SAME_NUM(etcd_client_port, "etcd.clientPort");
	SAME_NUM(etcd_peer_port, "etcd.peerPort");
	SAME_STR(subject.c, "certificates.subject");
	SAME_STR(subject.st, "certificates.subject");
	SAME_STR(subject.l, "certificates.subject");
	SAME_STR(subject.ou, "certificates.subject");
	SAME_NUM(subject.n_o, "certificates.subject");
	for (i = 0; i < old->subject.n_o; i++)
		SAME_STR(subject.o[i], "certificates.subject");
	if (old->key_type != new->key_type)
		return refuse(d, "certificates.keyType", key_type_name(old->key_type),
		    key_type_name(new->key_type));
	SAME_NUM(single_ca, "certificates.layout");
	SAME_STR(encryption_provider, "security.encryptionProvider");
	SAME_NUM(signing_mode, "security.signingMode");
	SAME_NUM(sa_token_max_seconds, "security.serviceAccountTokenMaxAge");
	SAME_NUM(csr_max_seconds, "security.kubeletCertificateMaxAge");
	SAME_STR(bootstrap_address, "bootstrap.address");
	SAME_NUM(bootstrap_port, "bootstrap.port");
	SAME_NUM(n_server_names, "bootstrap.serverNames");
	for (i = 0; i < old->n_server_names; i++)
		SAME_STR(server_names[i], "bootstrap.serverNames");
	SAME_NUM(n_versions, "versions");
	for (i = 0; i < old->n_versions; i++) {
		SAME_STR(versions[i].component, "versions");
		SAME_STR(versions[i].version, "versions");
	}
	return 0;
}

/* Settings that only shape what is issued from now on. */
static void
settings_changed(const struct inventory *old, const struct inventory *new,
    char *out, size_t len)
{
	struct { int changed; const char *name; } s[] = {
		{ old->ca_hours != new->ca_hours, "certificates.caValidity" },
		{ old->leaf_hours != new->leaf_hours, "certificates.validity" },
		{ old->leaf_seconds != new->leaf_seconds,
		  "certificates.leafLifetime" },
		{ old->expiry_warn_seconds != new->expiry_warn_seconds,
		  "certificates.expiryWarning" },
		{ old->renew_num != new->renew_num ||
		  old->renew_den != new->renew_den, "certificates.renewAt" },
		{ old->token_ttl != new->token_ttl, "bootstrap.tokenTTL" },
	};
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		int w;

		if (!s[i].changed)
			continue;
		w = snprintf(out + o, len - o, "%s%s", o ? ", " : "", s[i].name);
		if (w < 0 || (size_t)w >= len - o)
			break;
		o += (size_t)w;
	}
}

static int
names_same(const struct inv_node *a, const struct inv_node *b)
{
	size_t i;

	if (a->n_extra != b->n_extra)
		return 0;
	for (i = 0; i < a->n_extra; i++)
		if (strcmp(a->extra_names[i], b->extra_names[i]) != 0)
			return 0;
	return 1;
}

/* A node in both: 0 and which change, 1 for none, < 0 refused (in d). */
static int
node_change(const struct inv_node *a, const struct inv_node *b,
    enum inv_change_kind *k, struct slw_diag *d)
{
	char ra[32], rb[32];

	if (a->roles != b->roles)
		return slw_diag(d, SLW_ERR_INVALID, "node %s: roles cannot change "
		    "(%s -> %s); remove the node and add it again under another "
		    "name", a->name, inventory_role_names(a->roles, ra, sizeof(ra)),
		    inventory_role_names(b->roles, rb, sizeof(rb)));
	if (a->etcd_client_port != b->etcd_client_port ||
	    a->etcd_peer_port != b->etcd_peer_port)
		return slw_diag(d, SLW_ERR_INVALID, "node %s: its etcd ports "
		    "cannot change", a->name);
	if (strcmp(a->ip, b->ip) != 0 || !names_same(a, b)) {
		*k = INV_READDRESS;
		return 0;
	}
	if (strcmp(a->ssh_user, b->ssh_user) != 0 ||
	    a->ssh_port != b->ssh_port ||
	    strcmp(a->ssh_host_key, b->ssh_host_key) != 0) {
		*k = INV_SSH;
		return 0;
	}
	return 1;
}

static int
push(struct buf *b, enum inv_change_kind k, const struct inv_node *from,
    const struct inv_node *to)
{
	struct inv_change c;

	memset(&c, 0, sizeof(c));
	c.kind = k;
	c.from = from;
	c.to = to;
	return buf_append(b, &c, sizeof(c));
}

int
inventory_diff(const struct inventory *old, const struct inventory *new,
    struct inv_diff **out, struct slw_diag *d)
{
	struct inv_diff *df = NULL;
	struct buf b = { 0 };
	enum inv_change_kind k = INV_READDRESS;	/* set by node_change */
	size_t i;
	int r;

	*out = NULL;
	if ((r = cluster_same(old, new, d)) != 0)
		return r;
	if ((df = calloc(1, sizeof(*df))) == NULL)
		return SLW_ERR_NOMEM;
	settings_changed(old, new, df->settings, sizeof(df->settings));
	/* removals first (in the old order), then changes, then additions */
	for (i = 0; i < old->n_nodes; i++)
		if (inventory_node(new, old->nodes[i].name) == NULL &&
		    (r = push(&b, INV_REMOVE, &old->nodes[i], NULL)) != 0)
			goto out;
	for (i = 0; i < new->n_nodes; i++) {
		const struct inv_node *a = inventory_node(old, new->nodes[i].name);

		if (a == NULL)
			continue;
		if ((r = node_change(a, &new->nodes[i], &k, d)) < 0)
			goto out;
		if (r == 1) {
			df->unchanged++;
			r = 0;
			continue;
		}
		if ((r = push(&b, k, a, &new->nodes[i])) != 0)
			goto out;
	}
	for (i = 0; i < new->n_nodes; i++)
		if (inventory_node(old, new->nodes[i].name) == NULL &&
		    (r = push(&b, INV_ADD, NULL, &new->nodes[i])) != 0)
			goto out;
	df->n = b.len / sizeof(struct inv_change);
	if (df->n > 0) {
		if ((df->changes = malloc(b.len)) == NULL) {
			r = SLW_ERR_NOMEM;
			goto out;
		}
		memcpy(df->changes, b.data, b.len);
	}
	*out = df;
	df = NULL;
	r = 0;
 out:
	buf_free(&b);
	inventory_diff_free(df);
	return r;
}

void
inventory_diff_free(struct inv_diff *df)
{
	if (df == NULL)
		return;
	free(df->changes);
	free(df);
}

const char *
inventory_change_name(enum inv_change_kind k)
{
	switch (k) {
	case INV_ADD:
		return "add";
	case INV_REMOVE:
		return "remove";
	case INV_READDRESS:
		return "re-address";
	case INV_SSH:
		return "ssh";
	}
	return "?";
}

const char *
inventory_change_steps(const struct inv_change *c)
{
	const struct inv_node *n = c->to != NULL ? c->to : c->from;

	switch (c->kind) {
	case INV_ADD:
		if (n->roles & (ROLE_ETCD | ROLE_MASTER))
			return "etcd member add as a learner, start, promote when "
			    "caught up; haproxy backends on every master one at a "
			    "time; apiserver certificates re-issued where their "
			    "SANs change";
		return "token, bundle, the node's prepare and workers steps, "
		    "gate: its Node Ready";
	case INV_REMOVE:
		if (n->roles & (ROLE_ETCD | ROLE_MASTER))
			return "quorum check, etcd member remove, then as a worker: "
			    "drain, delete the Node, stop its units, revoke its "
			    "certificates and tokens, delete its bootstrap Secret";
		return "cordon and drain, delete the Node, stop its units over "
		    "SSH when reachable, revoke its certificates and tokens, "
		    "delete its bootstrap-token Secret";
	case INV_READDRESS:
		return "re-issue every certificate that carries its address, "
		    "deliver, gated restarts";
	case INV_SSH:
		return "recorded only (how slipway reaches the node)";
	}
	return "";
}
