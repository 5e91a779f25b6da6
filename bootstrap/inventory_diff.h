/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inventory_diff.h: what changes between the stored inventory and a new
 * one, node by node (added, removed, re-addressed), and whether the change
 * is one the fleet can carry out at all: cluster-wide settings (CIDRs, VIP,
 * cluster name, ports, ...) and a node's roles never change after init.
 * Pure: no I/O, no store.
 */
#ifndef SLW_INVENTORY_DIFF_H
#define SLW_INVENTORY_DIFF_H

#include "inventory.h"

enum inv_change_kind {
	INV_ADD = 0,		/* a node the stored inventory does not have */
	INV_REMOVE,		/* a node the new inventory no longer has */
	INV_READDRESS,		/* its ip or extra names changed */
	INV_SSH,		/* only how slipway reaches it (user, port, pin) */
};

struct inv_change {
	enum inv_change_kind kind;
	/* the node in the old inventory (NULL for INV_ADD) and in the new
	 * one (NULL for INV_REMOVE); pointers into the two inventories */
	const struct inv_node *from, *to;
};

struct inv_diff {
	struct inv_change *changes;	/* removals, re-addressings, additions */
	size_t n;
	size_t unchanged;		/* nodes in both, the same */
	/* settings other than nodes that changed and are harmless: they
	 * apply to what is issued from now on ("certificates.validity", ...),
	 * ", "-joined */
	char settings[256];
};

/*
 * Compares old (stored) with new. 0 and *out (possibly with n == 0: no
 * change); SLW_ERR_INVALID with one line in d when the change cannot be
 * carried out: a cluster-wide setting changed, a node's roles changed.
 */
int inventory_diff(const struct inventory *old, const struct inventory *new,
    struct inv_diff **out, struct slw_diag *d);
void inventory_diff_free(struct inv_diff *df);

const char *inventory_change_name(enum inv_change_kind k);
/* The fleet steps a change implies, one line (static text). */
const char *inventory_change_steps(const struct inv_change *c);

#endif
