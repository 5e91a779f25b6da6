// SPDX-License-Identifier: Apache-2.0
/*
 * inventory.c: cluster.yaml -> struct inventory. Parsing uses libyaml's
 * document loader; every key is checked against the schema, and validation
 * of the whole model follows. Must never accept an unknown key silently, and
 * must never leave a half-filled model to the caller.
 */
#include "inventory.h"
#include "buf.h"
#include "profile.h"
#include "release.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

struct yctx {
	yaml_document_t *doc;
	const char *file;
	struct slw_diag *d;
	size_t visits;
};

#define MAX_VISITS 2000000

static int
failn(struct yctx *c, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
failn(struct yctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n != NULL)
		return slw_diag(c->d, SLW_ERR_INVALID, "%s:%zu:%zu: %s", c->file,
		    n->start_mark.line + 1, n->start_mark.column + 1, msg);
	return slw_diag(c->d, SLW_ERR_INVALID, "%s: %s", c->file, msg);
}

static yaml_node_t *
node(struct yctx *c, int id)
{
	c->visits++;
	return yaml_document_get_node(c->doc, id);
}

static int
scalar(struct yctx *c, const yaml_node_t *n, const char *what, const char **out)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return failn(c, n, "%s must be a scalar", what);
	*out = (const char *)n->data.scalar.value;
	if (strlen(*out) != n->data.scalar.length)
		return failn(c, n, "%s contains a NUL byte", what);
	return 0;
}

static int
str_into(struct yctx *c, const yaml_node_t *n, const char *what, char *out,
    size_t len)
{
	const char *v = NULL;
	int r;

	if ((r = scalar(c, n, what, &v)) != 0)
		return r;
	if (strlen(v) >= len)
		return failn(c, n, "%s is too long (at most %zu characters)", what,
		    len - 1);
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

static int
u16_into(struct yctx *c, const yaml_node_t *n, const char *what,
    uint16_t *out)
{
	const char *v = NULL;
	char *end;
	unsigned long x;
	int r;

	if ((r = scalar(c, n, what, &v)) != 0)
		return r;
	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno || *v < '0' || *v > '9' || *end != '\0' || x == 0 ||
	    x > 65535)
		return failn(c, n, "%s must be a port number 1-65535, not '%.32s'",
		    what, v);
	*out = (uint16_t)x;
	return 0;
}

static int
ip_valid(const char *s)
{
	uint8_t b[16];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

static int
ip_into(struct yctx *c, const yaml_node_t *n, const char *what, char *out)
{
	int r;

	if ((r = str_into(c, n, what, out, INV_ADDR_MAX)) != 0)
		return r;
	if (!ip_valid(out))
		return failn(c, n, "%s: invalid IP address '%.64s'", what, out);
	return 0;
}

/* Iterates a mapping; calls fn(key, value) for each pair; rejects dup keys. */
typedef int (*pair_fn)(struct yctx *c, void *arg, const char *key,
    const yaml_node_t *kn, const yaml_node_t *vn);

static int
map_each(struct yctx *c, const yaml_node_t *m, const char *what, pair_fn fn,
    void *arg)
{
	yaml_node_pair_t *p, *q;
	const char *k, *k2;
	int r;

	if (m == NULL || m->type != YAML_MAPPING_NODE)
		return failn(c, m, "%s must be a mapping", what);
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	    p++) {
		const yaml_node_t *kn = node(c, p->key), *vn = node(c, p->value);

		if (c->visits > MAX_VISITS)
			return failn(c, m, "document too complex");
		if ((r = scalar(c, kn, "key", &k)) != 0)
			return r;
		for (q = m->data.mapping.pairs.start; q < p; q++) {
			const yaml_node_t *qn = node(c, q->key);

			if (qn->type == YAML_SCALAR_NODE) {
				k2 = (const char *)qn->data.scalar.value;
				if (strcmp(k, k2) == 0)
					return failn(c, kn,
					    "duplicate key '%.64s' in %s", k, what);
			}
		}
		if (vn == NULL)
			return failn(c, kn, "missing value");
		if ((r = fn(c, arg, k, kn, vn)) != 0)
			return r;
	}
	return 0;
}

static int
unknown(struct yctx *c, const yaml_node_t *kn, const char *key,
    const char *what)
{
	return failn(c, kn, "unknown key '%.64s' in %s", key, what);
}

/* --- sections ---------------------------------------------------------- */

struct vctx {
	struct inventory *inv;
	const yaml_node_t *where[32];	/* node per checked field, for errors */
	int short_ok;			/* certificates.allowShortLifetimes */
};

enum { W_SVC, W_CLU, W_DNS, W_VIP, W_NPR, W_VER, W_KT, W_BOOT, W_PROXY,
    W_ENC, W_SIGN, W_WARN, W_LEAF, W_LIFE, W_MAX };

static int
sec_cluster(struct yctx *c, void *arg, const char *k, const yaml_node_t *kn,
    const yaml_node_t *vn)
{
	struct vctx *v = arg;

	if (strcmp(k, "name") == 0)
		return str_into(c, vn, "cluster.name", v->inv->cluster_name,
		    sizeof(v->inv->cluster_name));
	if (strcmp(k, "kubernetesVersion") == 0) {
		v->where[W_VER] = vn;
		return str_into(c, vn, "cluster.kubernetesVersion",
		    v->inv->k8s_version, sizeof(v->inv->k8s_version));
	}
	return unknown(c, kn, k, "cluster");
}

static int
cidr_into(struct yctx *c, const yaml_node_t *n, const char *what,
    struct cidr *out)
{
	const char *s = NULL;
	int r;

	if ((r = scalar(c, n, what, &s)) != 0)
		return r;
	if (cidr_parse(s, out) != 0)
		return failn(c, n, "%s: invalid CIDR '%.64s'", what, s);
	return 0;
}

static int
sec_network(struct yctx *c, void *arg, const char *k, const yaml_node_t *kn,
    const yaml_node_t *vn)
{
	struct vctx *v = arg;
	struct inventory *inv = v->inv;
	const char *s = NULL;
	unsigned lo, hi;
	char tail;
	int r;

	if (strcmp(k, "serviceCIDR") == 0) {
		v->where[W_SVC] = vn;
		return cidr_into(c, vn, "network.serviceCIDR", &inv->service_cidr);
	}
	if (strcmp(k, "clusterCIDR") == 0) {
		v->where[W_CLU] = vn;
		return cidr_into(c, vn, "network.clusterCIDR", &inv->cluster_cidr);
	}
	if (strcmp(k, "nodePortRange") == 0) {
		v->where[W_NPR] = vn;
		if ((r = scalar(c, vn, "network.nodePortRange", &s)) != 0)
			return r;
		if (sscanf(s, "%u-%u%c", &lo, &hi, &tail) != 2 || lo == 0 ||
		    hi > 65535 || lo >= hi)
			return failn(c, vn,
			    "network.nodePortRange must be LOW-HIGH within 1-65535, not '%.32s'",
			    s);
		inv->nodeport_lo = (uint16_t)lo;
		inv->nodeport_hi = (uint16_t)hi;
		return 0;
	}
	if (strcmp(k, "dnsServiceIP") == 0) {
		v->where[W_DNS] = vn;
		return ip_into(c, vn, "network.dnsServiceIP", inv->dns_ip);
	}
	if (strcmp(k, "dnsDomain") == 0) {
		if ((r = str_into(c, vn, "network.dnsDomain", inv->dns_domain,
		    sizeof(inv->dns_domain))) != 0)
			return r;
		{
			char tmp[254];

			snprintf(tmp, sizeof(tmp), "%s", inv->dns_domain);
			if (tmp[0] && tmp[strlen(tmp) - 1] == '.')
				tmp[strlen(tmp) - 1] = '\0';
			if (!san_dns_name_valid(tmp) || tmp[0] == '*')
				return failn(c, vn, "network.dnsDomain: invalid domain '%.64s'",
				    inv->dns_domain);
		}
		return 0;
	}
	if (strcmp(k, "proxyMode") == 0) {
		v->where[W_PROXY] = vn;
		return str_into(c, vn, "network.proxyMode", inv->proxy_mode,
		    sizeof(inv->proxy_mode));
	}
	if (strcmp(k, "flannelEtcdPrefix") == 0) {
		if ((r = str_into(c, vn, "network.flannelEtcdPrefix",
		    inv->flannel_prefix, sizeof(inv->flannel_prefix))) != 0)
			return r;
		if (inv->flannel_prefix[0] != '/')
			return failn(c, vn, "network.flannelEtcdPrefix must start with /");
		return 0;
	}
	return unknown(c, kn, k, "network");
}

static int
sec_apiserver(struct yctx *c, void *arg, const char *k, const yaml_node_t *kn,
    const yaml_node_t *vn)
{
	struct vctx *v = arg;
	struct inventory *inv = v->inv;
	int r;

	if (strcmp(k, "vip") == 0) {
		v->where[W_VIP] = vn;
		return ip_into(c, vn, "apiserver.vip", inv->vip);
	}
	if (strcmp(k, "vipPort") == 0)
		return u16_into(c, vn, "apiserver.vipPort", &inv->vip_port);
	if (strcmp(k, "securePort") == 0)
		return u16_into(c, vn, "apiserver.securePort", &inv->apiserver_port);
	if (strcmp(k, "vipInterface") == 0) {
		if ((r = str_into(c, vn, "apiserver.vipInterface",
		    inv->vip_interface, sizeof(inv->vip_interface))) != 0)
			return r;
		if (strspn(inv->vip_interface,
		    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
		    != strlen(inv->vip_interface) || inv->vip_interface[0] == '\0')
			return failn(c, vn, "apiserver.vipInterface: invalid interface name");
		return 0;
	}
	return unknown(c, kn, k, "apiserver");
}

static int
sec_etcd(struct yctx *c, void *arg, const char *k, const yaml_node_t *kn,
    const yaml_node_t *vn)
{
	struct vctx *v = arg;

	if (strcmp(k, "clientPort") == 0)
		return u16_into(c, vn, "etcd.clientPort", &v->inv->etcd_client_port);
	if (strcmp(k, "peerPort") == 0)
		return u16_into(c, vn, "etcd.peerPort", &v->inv->etcd_peer_port);
	return unknown(c, kn, k, "etcd");
}

static int
sec_subject(struct yctx *c, void *arg, const char *k, const yaml_node_t *kn,
    const yaml_node_t *vn)
{
	struct dn *dn = arg;

	if (strcmp(k, "C") == 0)
		return str_into(c, vn, "certificates.subject.C", dn->c,
		    sizeof(dn->c));
	if (strcmp(k, "ST") == 0)
		return str_into(c, vn, "certificates.subject.ST", dn->st,
		    sizeof(dn->st));
	if (strcmp(k, "L") == 0)
		return str_into(c, vn, "certificates.subject.L", dn->l,
		    sizeof(dn->l));
	if (strcmp(k, "OU") == 0)
		return str_into(c, vn, "certificates.subject.OU", dn->ou,
		    sizeof(dn->ou));
	if (strcmp(k, "O") == 0) {
		dn->n_o = 1;
		return str_into(c, vn, "certificates.subject.O", dn->o[0],
		    sizeof(dn->o[0]));
	}
	return unknown(c, kn, k, "certificates.subject");
}

static int
hours_into(struct yctx *c, const yaml_node_t *n, const char *what,
    uint32_t *out)
{
	const char *s = NULL;
	int r;

	if ((r = scalar(c, n, what, &s)) != 0)
		return r;
	if (duration_parse_hours(s, out) != 0)
		return failn(c, n, "%s: invalid duration '%.32s' (like 87600h)",
		    what, s);
	return 0;
}

static int
sec_certs(struct yctx *c, void *arg, const char *k, const yaml_node_t *kn,
    const yaml_node_t *vn)
{
	struct vctx *v = arg;
	struct inventory *inv = v->inv;
	const char *s = NULL;
	int r;

	if (strcmp(k, "subject") == 0) {
		memset(&inv->subject, 0, sizeof(inv->subject));
		if ((r = map_each(c, vn, "certificates.subject", sec_subject,
		    &inv->subject)) != 0)
			return r;
		inv->subject.cn[0] = 'x';	/* validated without CN */
		r = dn_validate(&inv->subject, NULL);
		inv->subject.cn[0] = '\0';
		if (r != 0)
			return failn(c, vn, "certificates.subject is invalid "
			    "(C must be two letters, no control characters)");
		return 0;
	}
	if (strcmp(k, "keyType") == 0) {
		v->where[W_KT] = vn;
		if ((r = scalar(c, vn, "certificates.keyType", &s)) != 0)
			return r;
		if (key_type_parse(s, &inv->key_type) != 0)
			return failn(c, vn, "certificates.keyType must be one of "
			    "ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096");
		return 0;
	}
	if (strcmp(k, "caValidity") == 0)
		return hours_into(c, vn, "certificates.caValidity", &inv->ca_hours);
	if (strcmp(k, "validity") == 0) {
		v->where[W_LEAF] = vn;
		return hours_into(c, vn, "certificates.validity", &inv->leaf_hours);
	}
	if (strcmp(k, "expiryWarning") == 0) {
		uint64_t secs;

		v->where[W_WARN] = vn;
		if ((r = scalar(c, vn, "certificates.expiryWarning", &s)) != 0)
			return r;
		if (duration_parse_seconds(s, &secs) != 0 || secs < 3600 ||
		    secs > 10ull * 366 * 86400)
			return failn(c, vn, "certificates.expiryWarning: invalid "
			    "duration '%.32s' (1h to 10 years, like 720h)", s);
		inv->expiry_warn_seconds = secs;
		return 0;
	}
	if (strcmp(k, "renewAt") == 0) {
		if ((r = scalar(c, vn, "certificates.renewAt", &s)) != 0)
			return r;
		if (inventory_fraction_parse(s, &inv->renew_num,
		    &inv->renew_den) != 0)
			return failn(c, vn, "certificates.renewAt: '%.32s' is not "
			    "a fraction of the lifetime between 0 and 1 (like 2/3 "
			    "or 75%%)", s);
		return 0;
	}
	if (strcmp(k, "leafLifetime") == 0) {
		uint64_t secs = 0;

		if ((r = scalar(c, vn, "certificates.leafLifetime", &s)) != 0)
			return r;
		if (duration_parse_seconds(s, &secs) != 0 || secs == 0 ||
		    secs > 87600ULL * 3600)
			return failn(c, vn, "certificates.leafLifetime: invalid "
			    "duration '%.32s' (like 10m or 720h)", s);
		inv->leaf_seconds = (uint32_t)secs;
		v->where[W_LIFE] = vn;
		return 0;
	}
	if (strcmp(k, "allowShortLifetimes") == 0) {
		if ((r = scalar(c, vn, "certificates.allowShortLifetimes", &s)) != 0)
			return r;
		if (strcmp(s, "true") != 0 && strcmp(s, "false") != 0)
			return failn(c, vn, "certificates.allowShortLifetimes must be "
			    "true or false");
		v->short_ok = strcmp(s, "true") == 0;
		return 0;
	}
	if (strcmp(k, "layout") == 0) {
		if ((r = scalar(c, vn, "certificates.layout", &s)) != 0)
			return r;
		if (strcmp(s, "single") == 0)
			inv->single_ca = 1;
		else if (strcmp(s, "separate") == 0)
			inv->single_ca = 0;
		else
			return failn(c, vn,
			    "certificates.layout must be 'separate' or 'single'");
		return 0;
	}
	return unknown(c, kn, k, "certificates");
}

static int
sec_security(struct yctx *c, void *arg, const char *k, const yaml_node_t *kn,
    const yaml_node_t *vn)
{
	struct vctx *v = arg;
	struct inventory *inv = v->inv;
	const char *s = NULL;
	uint64_t secs;
	int r;

	if (strcmp(k, "encryptionProvider") == 0) {
		v->where[W_ENC] = vn;
		return str_into(c, vn, "security.encryptionProvider",
		    inv->encryption_provider, sizeof(inv->encryption_provider));
	}
	if (strcmp(k, "signingMode") == 0) {
		v->where[W_SIGN] = vn;
		if ((r = scalar(c, vn, "security.signingMode", &s)) != 0)
			return r;
		if (strcmp(s, "appliance") == 0)
			inv->signing_mode = SIGNING_APPLIANCE;
		else if (strcmp(s, "controller-manager") == 0)
			inv->signing_mode = SIGNING_CONTROLLER_MANAGER;
		else
			return failn(c, vn, "security.signingMode must be "
			    "'appliance' or 'controller-manager'");
		return 0;
	}
	if (strcmp(k, "kubeletCertificateMaxAge") == 0) {
		if ((r = scalar(c, vn, "security.kubeletCertificateMaxAge", &s)) != 0)
			return r;
		if (duration_parse_seconds(s, &secs) != 0 || secs < 600 ||
		    secs > 10ull * 366 * 86400)
			return failn(c, vn, "security.kubeletCertificateMaxAge: "
			    "invalid duration (10m to 10 years, like 8760h)");
		inv->csr_max_seconds = (uint32_t)secs;
		return 0;
	}
	if (strcmp(k, "serviceAccountTokenMaxAge") == 0) {
		if ((r = scalar(c, vn, "security.serviceAccountTokenMaxAge",
		    &s)) != 0)
			return r;
		/* the apiserver's own bounds for the flag it becomes */
		if (duration_parse_seconds(s, &secs) != 0 || secs < 3600 ||
		    secs > UINT32_MAX)
			return failn(c, vn, "security.serviceAccountTokenMaxAge: "
			    "invalid duration (1h to 2^32 seconds, like 24h)");
		inv->sa_token_max_seconds = (uint32_t)secs;
		return 0;
	}
	return unknown(c, kn, k, "security");
}

static int
sec_bootstrap(struct yctx *c, void *arg, const char *k, const yaml_node_t *kn,
    const yaml_node_t *vn)
{
	struct vctx *v = arg;
	struct inventory *inv = v->inv;
	const yaml_node_item_t *it;
	const char *s = NULL;
	int r;

	if (strcmp(k, "address") == 0) {
		v->where[W_BOOT] = vn;
		return ip_into(c, vn, "bootstrap.address", inv->bootstrap_address);
	}
	if (strcmp(k, "port") == 0)
		return u16_into(c, vn, "bootstrap.port", &inv->bootstrap_port);
	if (strcmp(k, "tokenTTL") == 0) {
		if ((r = scalar(c, vn, "bootstrap.tokenTTL", &s)) != 0)
			return r;
		if (duration_parse_seconds(s, &inv->token_ttl) != 0 ||
		    inv->token_ttl > 7 * 86400)
			return failn(c, vn, "bootstrap.tokenTTL: invalid duration "
			    "'%.32s' (1s to 7d, like 15m)", s);
		return 0;
	}
	if (strcmp(k, "serverNames") == 0) {
		if (vn->type != YAML_SEQUENCE_NODE)
			return failn(c, vn, "bootstrap.serverNames must be a list");
		for (it = vn->data.sequence.items.start;
		    it < vn->data.sequence.items.top; it++) {
			const yaml_node_t *en = node(c, *it);

			if (inv->n_server_names >= INV_MAX_SERVER_NAMES)
				return failn(c, en, "too many bootstrap.serverNames");
			if ((r = str_into(c, en, "bootstrap.serverNames entry",
			    inv->server_names[inv->n_server_names], 254)) != 0)
				return r;
			if (!san_dns_name_valid(inv->server_names[inv->n_server_names]))
				return failn(c, en, "invalid DNS name in bootstrap.serverNames");
			inv->n_server_names++;
		}
		return 0;
	}
	return unknown(c, kn, k, "bootstrap");
}

struct nctx {
	struct vctx *v;
	struct inv_node *n;
	int have_name, have_ip, have_roles;
};

static int
sec_ssh(struct yctx *c, void *arg, const char *k, const yaml_node_t *kn,
    const yaml_node_t *vn)
{
	struct inv_node *n = arg;
	int r;

	if (strcmp(k, "user") == 0) {
		if ((r = str_into(c, vn, "ssh.user", n->ssh_user,
		    sizeof(n->ssh_user))) != 0)
			return r;
		if (n->ssh_user[0] == '\0' || n->ssh_user[0] == '-' ||
		    strspn(n->ssh_user, "abcdefghijklmnopqrstuvwxyz0123456789_-.")
		    != strlen(n->ssh_user))
			return failn(c, vn, "ssh.user: invalid user name");
		return 0;
	}
	if (strcmp(k, "port") == 0)
		return u16_into(c, vn, "ssh.port", &n->ssh_port);
	if (strcmp(k, "hostKey") == 0) {
		if ((r = str_into(c, vn, "ssh.hostKey", n->ssh_host_key,
		    sizeof(n->ssh_host_key))) != 0)
			return r;
		if (strncmp(n->ssh_host_key, "ssh-", 4) != 0 &&
		    strncmp(n->ssh_host_key, "ecdsa-", 6) != 0)
			return failn(c, vn, "ssh.hostKey must be an OpenSSH public key "
			    "line like 'ssh-ed25519 AAAA...'");
		return 0;
	}
	return unknown(c, kn, k, "ssh");
}

static int
node_name_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-' ||
	    s[n - 1] == '.' || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')
		    || s[i] == '-' || s[i] == '.'))
			return 0;
	return 1;
}

static int
sec_node(struct yctx *c, void *arg, const char *k, const yaml_node_t *kn,
    const yaml_node_t *vn)
{
	struct nctx *nc = arg;
	struct inv_node *n = nc->n;
	const yaml_node_item_t *it;
	const char *s = NULL;
	int r;

	if (strcmp(k, "name") == 0) {
		nc->have_name = 1;
		if ((r = str_into(c, vn, "node name", n->name,
		    sizeof(n->name))) != 0)
			return r;
		if (!node_name_valid(n->name))
			return failn(c, vn, "invalid node name '%.64s' (lower-case "
			    "letters, digits, '-' and '.', at most 63)", n->name);
		return 0;
	}
	if (strcmp(k, "ip") == 0) {
		nc->have_ip = 1;
		return ip_into(c, vn, "node ip", n->ip);
	}
	if (strcmp(k, "roles") == 0) {
		nc->have_roles = 1;
		if (vn->type != YAML_SEQUENCE_NODE)
			return failn(c, vn, "roles must be a list of etcd, master, worker");
		for (it = vn->data.sequence.items.start;
		    it < vn->data.sequence.items.top; it++) {
			const yaml_node_t *en = node(c, *it);
			unsigned int bit;

			if ((r = scalar(c, en, "role", &s)) != 0)
				return r;
			if (strcmp(s, "etcd") == 0)
				bit = ROLE_ETCD;
			else if (strcmp(s, "master") == 0)
				bit = ROLE_MASTER;
			else if (strcmp(s, "worker") == 0)
				bit = ROLE_WORKER;
			else
				return failn(c, en, "unknown role '%.32s' (etcd, master, "
				    "worker)", s);
			if (n->roles & bit)
				return failn(c, en, "role '%s' listed twice", s);
			n->roles |= bit;
		}
		if (n->roles == 0)
			return failn(c, vn, "a node needs at least one role");
		return 0;
	}
	if (strcmp(k, "extraNames") == 0) {
		if (vn->type != YAML_SEQUENCE_NODE)
			return failn(c, vn, "extraNames must be a list");
		for (it = vn->data.sequence.items.start;
		    it < vn->data.sequence.items.top; it++) {
			const yaml_node_t *en = node(c, *it);

			if (n->n_extra >= INV_MAX_EXTRA)
				return failn(c, en, "at most %d extraNames", INV_MAX_EXTRA);
			if ((r = str_into(c, en, "extraNames entry",
			    n->extra_names[n->n_extra], 254)) != 0)
				return r;
			if (!san_dns_name_valid(n->extra_names[n->n_extra]) ||
			    n->extra_names[n->n_extra][0] == '*')
				return failn(c, en, "invalid DNS name '%.64s'",
				    n->extra_names[n->n_extra]);
			n->n_extra++;
		}
		return 0;
	}
	if (strcmp(k, "ssh") == 0)
		return map_each(c, vn, "ssh", sec_ssh, n);
	if (strcmp(k, "etcdClientPort") == 0)
		return u16_into(c, vn, "etcdClientPort", &n->etcd_client_port);
	if (strcmp(k, "etcdPeerPort") == 0)
		return u16_into(c, vn, "etcdPeerPort", &n->etcd_peer_port);
	return unknown(c, kn, k, "node");
}

static int
parse_nodes(struct yctx *c, struct vctx *v, const yaml_node_t *vn)
{
	struct inventory *inv = v->inv;
	const yaml_node_item_t *it;
	size_t count;
	int r;

	if (vn->type != YAML_SEQUENCE_NODE)
		return failn(c, vn, "nodes must be a list");
	count = (size_t)(vn->data.sequence.items.top -
	    vn->data.sequence.items.start);
	if (count == 0)
		return failn(c, vn, "nodes is empty");
	if (count > INV_MAX_NODES)
		return failn(c, vn, "more than %d nodes", INV_MAX_NODES);
	if ((inv->nodes = calloc(count, sizeof(*inv->nodes))) == NULL)
		return SLW_ERR_NOMEM;
	for (it = vn->data.sequence.items.start;
	    it < vn->data.sequence.items.top; it++) {
		const yaml_node_t *en = node(c, *it);
		struct nctx nc = { v, &inv->nodes[inv->n_nodes], 0, 0, 0 };

		nc.n->line = (int)en->start_mark.line + 1;
		snprintf(nc.n->ssh_user, sizeof(nc.n->ssh_user), "root");
		nc.n->ssh_port = 22;
		if ((r = map_each(c, en, "node", sec_node, &nc)) != 0)
			return r;
		if (!nc.have_name || !nc.have_ip || !nc.have_roles)
			return failn(c, en, "a node needs name, ip and roles");
		inv->n_nodes++;
	}
	return 0;
}

/* versions: { etcd: 3.6.8, ... }: what the cluster runs (release.h) */
static int
sec_versions(struct yctx *c, void *arg, const char *k, const yaml_node_t *kn,
    const yaml_node_t *vn)
{
	struct vctx *v = arg;
	struct inventory *inv = v->inv;
	struct inv_version *e;
	enum rel_component rc;
	int r;

	if (release_component_parse(k, &rc) != 0 || rc == RC_KUBERNETES)
		return failn(c, kn, "unknown component '%.32s' in versions "
		    "(etcd, containerd, runc, cni, flannel, flannelCni, pause; "
		    "Kubernetes is cluster.kubernetesVersion)", k);
	if (inv->n_versions == INV_MAX_VERSIONS)
		return failn(c, kn, "too many versions");
	e = &inv->versions[inv->n_versions];
	snprintf(e->component, sizeof(e->component), "%s", k);
	if ((r = str_into(c, vn, "versions", e->version,
	    sizeof(e->version))) != 0)
		return r;
	if (!release_version_ok(e->version))
		return failn(c, vn, "versions.%s: '%.32s' is not a version", k,
		    e->version);
	inv->n_versions++;
	return 0;
}

static int
sec_top(struct yctx *c, void *arg, const char *k, const yaml_node_t *kn,
    const yaml_node_t *vn)
{
	struct vctx *v = arg;
	const char *s = NULL;
	int r;

	if (strcmp(k, "apiVersion") == 0) {
		if ((r = scalar(c, vn, "apiVersion", &s)) != 0)
			return r;
		return strcmp(s, "slipway/v1") == 0 ? 0 :
		    failn(c, vn, "apiVersion must be slipway/v1");
	}
	if (strcmp(k, "kind") == 0) {
		if ((r = scalar(c, vn, "kind", &s)) != 0)
			return r;
		return strcmp(s, "Cluster") == 0 ? 0 :
		    failn(c, vn, "kind must be Cluster");
	}
	if (strcmp(k, "cluster") == 0)
		return map_each(c, vn, "cluster", sec_cluster, v);
	if (strcmp(k, "network") == 0)
		return map_each(c, vn, "network", sec_network, v);
	if (strcmp(k, "apiserver") == 0)
		return map_each(c, vn, "apiserver", sec_apiserver, v);
	if (strcmp(k, "etcd") == 0)
		return map_each(c, vn, "etcd", sec_etcd, v);
	if (strcmp(k, "certificates") == 0)
		return map_each(c, vn, "certificates", sec_certs, v);
	if (strcmp(k, "security") == 0)
		return map_each(c, vn, "security", sec_security, v);
	if (strcmp(k, "bootstrap") == 0)
		return map_each(c, vn, "bootstrap", sec_bootstrap, v);
	if (strcmp(k, "versions") == 0)
		return map_each(c, vn, "versions", sec_versions, v);
	if (strcmp(k, "nodes") == 0) {
		if (v->inv->nodes != NULL)
			return failn(c, kn, "duplicate key 'nodes'");
		return parse_nodes(c, v, vn);
	}
	return unknown(c, kn, k, "the top level");
}

/* --- defaults and validation -------------------------------------- */

static void
set_defaults(struct inventory *inv)
{
	snprintf(inv->cluster_name, sizeof(inv->cluster_name), "kubernetes");
	snprintf(inv->k8s_version, sizeof(inv->k8s_version), "v1.36.0");
	cidr_parse("10.254.0.0/16", &inv->service_cidr);
	cidr_parse("172.30.0.0/16", &inv->cluster_cidr);
	inv->nodeport_lo = 8400;
	inv->nodeport_hi = 9000;
	snprintf(inv->dns_ip, sizeof(inv->dns_ip), "10.254.0.2");
	snprintf(inv->dns_domain, sizeof(inv->dns_domain), "cluster.local.");
	snprintf(inv->proxy_mode, sizeof(inv->proxy_mode), "iptables");
	snprintf(inv->flannel_prefix, sizeof(inv->flannel_prefix),
	    "/kubernetes/network");
	inv->vip_port = 8443;
	snprintf(inv->vip_interface, sizeof(inv->vip_interface), "eth0");
	inv->apiserver_port = 6443;
	inv->etcd_client_port = 2379;
	inv->etcd_peer_port = 2380;
	snprintf(inv->subject.c, sizeof(inv->subject.c), "CN");
	snprintf(inv->subject.st, sizeof(inv->subject.st), "BeiJing");
	snprintf(inv->subject.l, sizeof(inv->subject.l), "BeiJing");
	snprintf(inv->subject.o[0], sizeof(inv->subject.o[0]), "k8s");
	inv->subject.n_o = 1;
	snprintf(inv->subject.ou, sizeof(inv->subject.ou), "4Paradigm");
	inv->key_type = KEY_EC_P256;
	inv->ca_hours = PROFILE_SEED_HOURS;
	inv->leaf_hours = PROFILE_SEED_HOURS;
	inv->expiry_warn_seconds = 30ull * 86400;
	inv->renew_num = 2;
	inv->renew_den = 3;
	snprintf(inv->encryption_provider, sizeof(inv->encryption_provider),
	    "secretbox");
	inv->signing_mode = SIGNING_APPLIANCE;
	inv->csr_max_seconds = 8760u * 3600u;
	inv->sa_token_max_seconds = 24u * 3600u;
	inv->bootstrap_port = 8443;
	inv->token_ttl = 15 * 60;
}

static int
first_host(const struct cidr *c, char *out, size_t len)
{
	uint8_t a[16];
	int i;

	memcpy(a, c->addr, 16);
	for (i = c->family == AF_INET ? 3 : 15; i >= 0; i--)
		if (++a[i] != 0)
			break;
	return inet_ntop(c->family, a, out, (socklen_t)len) ? 0 : SLW_ERR_INVALID;
}

static int
strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
validate(struct yctx *c, struct vctx *v)
{
	struct inventory *inv = v->inv;
	const yaml_node_t **w = v->where;
	size_t i, j;
	unsigned minor;
	char tail;

	if (inv->leaf_seconds != 0 && inv->leaf_seconds < INV_LEAF_MIN &&
	    !v->short_ok)
		return failn(c, w[W_LIFE], "certificates.leafLifetime must be at "
		    "least 5m (shorter only for tests, with "
		    "certificates.allowShortLifetimes: true)");
	if (sscanf(inv->k8s_version, "v1.%u.%*u%c", &minor, &tail) < 1 ||
	    strncmp(inv->k8s_version, "v1.", 3) != 0 || minor < 35 ||
	    minor > 37)
		return failn(c, w[W_VER], "cluster.kubernetesVersion '%s' is not "
		    "supported (v1.35.x to v1.37.x)", inv->k8s_version);
	/* ipvs is deprecated since v1.35 (KEP-5495) but still a valid mode */
	if (strcmp(inv->proxy_mode, "ipvs") != 0 &&
	    strcmp(inv->proxy_mode, "iptables") != 0 &&
	    strcmp(inv->proxy_mode, "nftables") != 0)
		return failn(c, w[W_PROXY], "network.proxyMode must be iptables, "
		    "nftables or ipvs");
	if (strcmp(inv->encryption_provider, "secretbox") != 0 &&
	    strcmp(inv->encryption_provider, "aescbc") != 0)
		return failn(c, w[W_ENC], "security.encryptionProvider must be "
		    "secretbox or aescbc");
	if (inv->expiry_warn_seconds >= (uint64_t)inv->leaf_hours * 3600)
		return failn(c, w[W_WARN] ? w[W_WARN] : w[W_LEAF],
		    "certificates.expiryWarning (%lluh) must be shorter than "
		    "certificates.validity (%uh), or every certificate warns "
		    "from the day it is issued",
		    (unsigned long long)(inv->expiry_warn_seconds / 3600),
		    inv->leaf_hours);
	if (cidr_overlap(&inv->service_cidr, &inv->cluster_cidr))
		return failn(c, w[W_CLU] ? w[W_CLU] : w[W_SVC],
		    "network.clusterCIDR %s overlaps network.serviceCIDR %s",
		    inv->cluster_cidr.text, inv->service_cidr.text);
	if (!cidr_contains(&inv->service_cidr, inv->dns_ip))
		return failn(c, w[W_DNS] ? w[W_DNS] : w[W_SVC],
		    "network.dnsServiceIP %s is outside network.serviceCIDR %s",
		    inv->dns_ip, inv->service_cidr.text);
	if (first_host(&inv->service_cidr, inv->service_ip,
	    sizeof(inv->service_ip)) != 0)
		return failn(c, w[W_SVC], "serviceCIDR has no hosts");
	if (strcmp(inv->dns_ip, inv->service_ip) == 0)
		return failn(c, w[W_DNS], "network.dnsServiceIP %s is the "
		    "kubernetes service IP", inv->dns_ip);
	if (inv->vip[0] != '\0') {
		if (cidr_contains(&inv->service_cidr, inv->vip))
			return failn(c, w[W_VIP], "apiserver.vip %s is inside "
			    "network.serviceCIDR %s", inv->vip,
			    inv->service_cidr.text);
		if (cidr_contains(&inv->cluster_cidr, inv->vip))
			return failn(c, w[W_VIP], "apiserver.vip %s is inside "
			    "network.clusterCIDR %s", inv->vip,
			    inv->cluster_cidr.text);
	}
	for (i = 0; i < inv->n_nodes; i++) {
		const struct inv_node *n = &inv->nodes[i];
		const yaml_node_t fake = { .start_mark = { 0, (size_t)n->line - 1,
		    2 } };

		if (cidr_contains(&inv->service_cidr, n->ip) ||
		    cidr_contains(&inv->cluster_cidr, n->ip))
			return failn(c, &fake, "node %s: ip %s is inside the service "
			    "or cluster CIDR", n->name, n->ip);
		if (inv->vip[0] != '\0' && strcmp(n->ip, inv->vip) == 0)
			return failn(c, &fake, "node %s: ip %s is the apiserver VIP",
			    n->name, n->ip);
	}
	/* duplicates: O(n log n) would be nicer; n <= 20000 and this is once */
	if (inv->n_nodes > 0) {
		char **names = calloc(inv->n_nodes, sizeof(char *));
		char **ips = calloc(inv->n_nodes, sizeof(char *));
		int r = 0;

		if (names == NULL || ips == NULL) {
			free(names);
			free(ips);
			return SLW_ERR_NOMEM;
		}
		for (i = 0; i < inv->n_nodes; i++) {
			names[i] = inv->nodes[i].name;
			ips[i] = inv->nodes[i].ip;
		}
		qsort(names, inv->n_nodes, sizeof(char *), strcmp_ptr);
		qsort(ips, inv->n_nodes, sizeof(char *), strcmp_ptr);
		for (i = 1; i < inv->n_nodes && r == 0; i++) {
			if (strcmp(names[i], names[i - 1]) == 0 ||
			    strcmp(ips[i], ips[i - 1]) == 0) {
				int dupname = strcmp(names[i], names[i - 1]) == 0;
				const char *what = dupname ? names[i] : ips[i];

				for (j = inv->n_nodes; j-- > 0;) {
					const struct inv_node *n = &inv->nodes[j];

					if (strcmp(dupname ? n->name : n->ip, what) == 0) {
						const yaml_node_t fake = { .start_mark =
						    { 0, (size_t)n->line - 1, 2 } };

						r = failn(c, &fake, "duplicate node %s '%s'",
						    dupname ? "name" : "ip", what);
						break;
					}
				}
			}
		}
		free(names);
		free(ips);
		if (r != 0)
			return r;
	}
	if (inventory_count_role(inv, ROLE_ETCD) == 0)
		return failn(c, NULL, "no node has the etcd role");
	if (inventory_count_role(inv, ROLE_MASTER) == 0)
		return failn(c, NULL, "no node has the master role");
	if (inventory_count_role(inv, ROLE_MASTER) > 1 && inv->vip[0] == '\0')
		return failn(c, NULL, "several masters need apiserver.vip");
	if (inv->vip[0] == '\0')
		snprintf(inv->vip, sizeof(inv->vip), "%s",
		    inventory_first(inv, ROLE_MASTER)->ip);
	if (inv->bootstrap_address[0] == '\0')
		snprintf(inv->bootstrap_address, sizeof(inv->bootstrap_address),
		    "127.0.0.1");
	for (i = 0; i < inv->n_nodes; i++) {
		struct inv_node *n = &inv->nodes[i];

		if (n->etcd_client_port == 0)
			n->etcd_client_port = inv->etcd_client_port;
		if (n->etcd_peer_port == 0)
			n->etcd_peer_port = inv->etcd_peer_port;
	}
	return 0;
}


int
inventory_parse(const uint8_t *buf, size_t len, const char *filename,
    struct inventory **out, struct slw_diag *d)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct inventory *inv = NULL;
	struct yctx c = { &doc, filename ? filename : "cluster.yaml", d, 0 };
	struct vctx v;
	yaml_node_t *root;
	int r = SLW_ERR_INVALID, have_doc = 0;

	*out = NULL;
	if (len > INV_MAX_BYTES)
		return slw_diag(d, SLW_ERR_TOOBIG, "%s: larger than %u bytes",
		    c.file, INV_MAX_BYTES);
	if (!yaml_parser_initialize(&parser))
		return SLW_ERR_NOMEM;
	yaml_parser_set_input_string(&parser, buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		r = slw_diag(d, SLW_ERR_PARSE, "%s:%zu:%zu: %s", c.file,
		    parser.problem_mark.line + 1, parser.problem_mark.column + 1,
		    parser.problem ? parser.problem : "YAML syntax error");
		goto out;
	}
	have_doc = 1;
	if ((root = yaml_document_get_root_node(&doc)) == NULL) {
		r = slw_diag(d, SLW_ERR_INVALID, "%s: empty document", c.file);
		goto out;
	}
	if ((inv = calloc(1, sizeof(*inv))) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	set_defaults(inv);
	memset(&v, 0, sizeof(v));
	v.inv = inv;
	if ((r = map_each(&c, root, "the top level", sec_top, &v)) != 0)
		goto out;
	if (inv->nodes == NULL) {
		r = failn(&c, root, "no nodes");
		goto out;
	}
	if ((r = validate(&c, &v)) != 0)
		goto out;
	*out = inv;
	inv = NULL;
	r = 0;
 out:
	inventory_free(inv);
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return r;
}

int
inventory_load(const char *path, struct inventory **out, struct slw_diag *d)
{
	struct buf b = { 0 };
	int r;

	*out = NULL;
	if ((r = buf_read_file(&b, path, INV_MAX_BYTES)) != 0)
		return slw_diag(d, r, "cannot read %s: %s", path, slw_strerror(r));
	r = inventory_parse(b.data, b.len, path, out, d);
	buf_free(&b);
	return r;
}

void
inventory_free(struct inventory *inv)
{
	if (inv == NULL)
		return;
	free(inv->nodes);
	free(inv);
}

const struct inv_node *
inventory_node(const struct inventory *inv, const char *name)
{
	size_t i;

	for (i = 0; i < inv->n_nodes; i++)
		if (strcmp(inv->nodes[i].name, name) == 0)
			return &inv->nodes[i];
	return NULL;
}

size_t
inventory_count_role(const struct inventory *inv, unsigned int role)
{
	size_t i, n = 0;

	for (i = 0; i < inv->n_nodes; i++)
		if (inv->nodes[i].roles & role)
			n++;
	return n;
}

const struct inv_node *
inventory_first(const struct inventory *inv, unsigned int role)
{
	size_t i;

	for (i = 0; i < inv->n_nodes; i++)
		if (inv->nodes[i].roles & role)
			return &inv->nodes[i];
	return NULL;
}

void
inventory_domain(const struct inventory *inv, char *out, size_t len)
{
	size_t n;

	snprintf(out, len, "%s", inv->dns_domain);
	n = strlen(out);
	if (n > 0 && out[n - 1] == '.')
		out[n - 1] = '\0';
}

void
inventory_apiserver_url(const struct inventory *inv, char *out, size_t len)
{
	if (strchr(inv->vip, ':') != NULL)
		snprintf(out, len, "https://[%s]:%u", inv->vip, inv->vip_port);
	else
		snprintf(out, len, "https://%s:%u", inv->vip, inv->vip_port);
}

void
inventory_bootstrap_url(const struct inventory *inv, char *out, size_t len)
{
	int v6 = strchr(inv->bootstrap_address, ':') != NULL;

	snprintf(out, len, "https://%s%s%s:%u", v6 ? "[" : "",
	    inv->bootstrap_address, v6 ? "]" : "", inv->bootstrap_port);
}

const char *
inventory_role_names(unsigned int roles, char *out, size_t len)
{
	snprintf(out, len, "%s%s%s%s%s",
	    roles & ROLE_ETCD ? "etcd" : "",
	    (roles & ROLE_ETCD) && (roles & (ROLE_MASTER | ROLE_WORKER)) ? "," : "",
	    roles & ROLE_MASTER ? "master" : "",
	    (roles & ROLE_MASTER) && (roles & ROLE_WORKER) ? "," : "",
	    roles & ROLE_WORKER ? "worker" : "");
	return out;
}

int
inventory_fraction_parse(const char *s, uint32_t *num, uint32_t *den)
{
	unsigned long a, b;
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return SLW_ERR_INVALID;
	errno = 0;
	a = strtoul(s, &end, 10);
	if (errno != 0 || a > 1000000)
		return SLW_ERR_INVALID;
	if (strcmp(end, "%") == 0)
		b = 100;
	else if (*end == '/' && end[1] >= '0' && end[1] <= '9') {
		b = strtoul(end + 1, &end, 10);
		if (errno != 0 || *end != '\0' || b > 1000000)
			return SLW_ERR_INVALID;
	} else
		return SLW_ERR_INVALID;
	if (a == 0 || b == 0 || a >= b)
		return SLW_ERR_INVALID;
	*num = (uint32_t)a;
	*den = (uint32_t)b;
	return 0;
}
