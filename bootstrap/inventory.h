/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inventory.h: the cluster model, read from cluster.yaml with libyaml and
 * validated as a whole. A bad inventory gives one error naming the file,
 * line and column; nothing else happens.
 */
#ifndef SLW_INVENTORY_H
#define SLW_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "key.h"
#include "name.h"

#define INV_NAME_MAX 64
#define INV_ADDR_MAX 64
#define INV_MAX_NODES 20000
#define INV_MAX_EXTRA 8
#define INV_MAX_SERVER_NAMES 8
#define INV_MAX_BYTES (16u << 20)
#define INV_MAX_VERSIONS 8		/* entries of `versions:` */

#define ROLE_ETCD 0x1u
#define ROLE_MASTER 0x2u
#define ROLE_WORKER 0x4u

enum signing_mode {
	SIGNING_APPLIANCE = 0,		/* slipway signs kubelet CSRs */
	SIGNING_CONTROLLER_MANAGER,	/* the seed's: CA key on masters */
};

struct cidr {
	uint8_t addr[16];
	int family;		/* AF_INET or AF_INET6 */
	unsigned int prefix;
	char text[INV_ADDR_MAX];
};

struct inv_node {
	char name[INV_NAME_MAX];
	char ip[INV_ADDR_MAX];
	unsigned int roles;
	char extra_names[INV_MAX_EXTRA][254];
	size_t n_extra;
	char ssh_user[32];
	uint16_t ssh_port;
	char ssh_host_key[1024];	/* "ssh-ed25519 AAAA...", "" if unpinned */
	uint16_t etcd_client_port;	/* per-node overrides (tests on one host) */
	uint16_t etcd_peer_port;
	int line;
};

/* One entry of `versions:` (release.h): a component and its version. */
struct inv_version {
	char component[16];		/* "etcd", "containerd", ... */
	char version[32];		/* "3.6.8" */
};

struct inventory {
	char cluster_name[INV_NAME_MAX];
	char k8s_version[16];		/* "v1.36.0" */
	/* versions other than kubernetesVersion implies (release.c) */
	struct inv_version versions[INV_MAX_VERSIONS];
	size_t n_versions;

	struct cidr service_cidr;
	struct cidr cluster_cidr;
	uint16_t nodeport_lo, nodeport_hi;
	char dns_ip[INV_ADDR_MAX];
	char dns_domain[254];		/* as given, e.g. "cluster.local." */
	char proxy_mode[16];		/* "iptables", "nftables" or "ipvs" */
	char flannel_prefix[128];
	char service_ip[INV_ADDR_MAX];	/* derived: first host of serviceCIDR */

	char vip[INV_ADDR_MAX];
	uint16_t vip_port;
	char vip_interface[16];
	uint16_t apiserver_port;
	uint16_t etcd_client_port, etcd_peer_port;

	struct dn subject;		/* C/ST/L/O/OU for every certificate */
	enum key_type key_type;
	uint32_t ca_hours;
	uint32_t leaf_hours;
	/* certificates.leafLifetime: the bundles' leaves in seconds (0: the
	 * validity above); at least INV_LEAF_MIN unless
	 * certificates.allowShortLifetimes (tests only) */
	uint32_t leaf_seconds;
	int single_ca;
	/*
	 * certificates.expiryWarning: `slipway status` exits 1 when a
	 * certificate or CA generation in use ends within this many seconds
	 * (default 30 days). certificates.renewAt: a leaf is due for renewal
	 * once this fraction of its lifetime has passed (default 2/3).
	 */
	uint64_t expiry_warn_seconds;
	uint32_t renew_num, renew_den;

	char encryption_provider[16];	/* "secretbox" or "aescbc" */
	enum signing_mode signing_mode;
	uint32_t csr_max_seconds;	/* cap on kubelet certificate lifetime */
	/* the longest a service-account token lives (the apiserver's
	 * --service-account-max-token-expiration): the old public key of a
	 * rotation is dropped only this long after the new one signs */
	uint32_t sa_token_max_seconds;

	char bootstrap_address[INV_ADDR_MAX];
	uint16_t bootstrap_port;
	uint64_t token_ttl;		/* seconds */
	char server_names[INV_MAX_SERVER_NAMES][254];
	size_t n_server_names;

	struct inv_node *nodes;
	size_t n_nodes;
};

int inventory_parse(const uint8_t *buf, size_t len, const char *filename,
    struct inventory **out, struct slw_diag *d);
int inventory_load(const char *path, struct inventory **out,
    struct slw_diag *d);
void inventory_free(struct inventory *inv);

const struct inv_node *inventory_node(const struct inventory *inv,
    const char *name);
size_t inventory_count_role(const struct inventory *inv, unsigned int role);
/* The first master (keepalived MASTER). NULL if none. */
const struct inv_node *inventory_first(const struct inventory *inv,
    unsigned int role);
/* dns_domain without a trailing dot ("cluster.local"). */
void inventory_domain(const struct inventory *inv, char *out, size_t len);
/* "https://VIP:PORT", the apiserver through the load balancer. */
void inventory_apiserver_url(const struct inventory *inv, char *out,
    size_t len);
/* "https://ADDR:PORT", slipway's own endpoint (bootstrap.address). */
void inventory_bootstrap_url(const struct inventory *inv, char *out,
    size_t len);
/* Address ranges (cidr.c): host bits must be zero. */
int cidr_parse(const char *s, struct cidr *out);
int cidr_contains(const struct cidr *c, const char *ip);
int cidr_overlap(const struct cidr *a, const struct cidr *b);
/* "2/3" or "75%": a fraction strictly between 0 and 1 (renewAt). */
int inventory_fraction_parse(const char *s, uint32_t *num, uint32_t *den);
/* "etcd,master,worker" */
const char *inventory_role_names(unsigned int roles, char *out, size_t len);

#define INV_LEAF_MIN 300		/* 5 minutes */

#endif
