/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bundle_units.h: which running unit reads which file of a node's bundle,
 * and in which order the units of a node restart: the rollout's (etcd
 * members, then masters, then workers). The fleet engine restarts a unit
 * only when one of its files changed after it started, and the trust
 * files say which CA's trust a node has installed. Pure tables.
 */
#ifndef SLW_BUNDLE_UNITS_H
#define SLW_BUNDLE_UNITS_H

#include <stddef.h>

#include "inventory.h"

/* The rollout's order: restarts of one tier finish before the next. */
enum bundle_tier {
	TIER_ETCD = 0,		/* one member at a time; the etcd gate */
	TIER_MASTER,		/* one master at a time; /readyz through the VIP */
	TIER_WORKER,		/* some nodes at a time; the node's Ready */
	TIER__COUNT
};

struct bundle_unit {
	const char *unit;		/* "etcd" (etcd.service) */
	unsigned int roles;		/* nodes that run it */
	enum bundle_tier tier;
	int reload;			/* reload-or-restart (haproxy, keepalived) */
	/* the files it reads when it starts (a path ending in '/': every file
	 * below it); NULL-terminated */
	const char *const *files;
	/* files it reads again by itself while it runs (no restart needed),
	 * or NULL */
	const char *const *live;
};

extern const struct bundle_unit bundle_units[];
extern const size_t bundle_units_n;
/* bundle files no unit reads (etcdctl's client pair, the node's artifact
 * client pair), NULL-terminated */
extern const char *const *const bundle_unread;

/* The unit of a name, NULL if none. */
const struct bundle_unit *bundle_unit_find(const char *unit);
/* 1 if unit u reads the file at path (at start, or while it runs). */
int bundle_unit_reads(const struct bundle_unit *u, const char *path);

/*
 * The files of a node that hold a CA role's trust bundle (the PEM of
 * every trusted generation, exactly as ca_trust_pem gives it): what the
 * engine reads back to know which generations a node trusts.
 * NULL-terminated; kubeconfigs, which embed the kubernetes trust, are not
 * listed.
 */
const char *const *bundle_trust_files(const char *ca_role,
    unsigned int roles, const char **out, size_t max);

#endif
