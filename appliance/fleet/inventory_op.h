/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inventory_op.h: `inventory apply`: a change of the inventory carried out
 * as one operation of the fleet engine (op.h), named after the new
 * inventory's hash so that the same command resumes it. Supported: adding
 * workers (the new inventory stored, serve takes it up, the cluster
 * objects, the node's prepare and workers steps, the Nodes Ready gate) and
 * changes of how a node is reached; everything else is refused with the
 * reason before anything changes.
 */
#ifndef SLW_INVENTORY_OP_H
#define SLW_INVENTORY_OP_H

#include "op.h"

#define INV_OP_KIND "inventory"

struct fleet_inventory_opts {
	struct fleet_op_opts op;
	int plan_only;
};

/* yaml/len: the new inventory as read from file (for FILE:LINE:COL). */
int fleet_inventory_apply(struct store *s, const uint8_t *yaml, size_t len,
    const char *file, const struct fleet_inventory_opts *o,
    struct slw_diag *d);

#endif
