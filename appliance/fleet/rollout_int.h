/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rollout_int.h: what the rollout's files share inside the module: the run
 * in progress (on its fleet engine run), the gate that closes a phase, a
 * fresh token one-liner for a node's bundle, and the appliance's steps.
 */
#ifndef SLW_ROLLOUT_INT_H
#define SLW_ROLLOUT_INT_H

#include "fleet.h"
#include "op.h"
#include "rollout.h"

struct rollout {
	struct fleet_op op;		/* the engine's operation: journal, run */
	struct fleet *f;		/* &op.f: keys, pins, progress */
	struct store *s;
	const struct inventory *inv;
	const struct rollout_opts *o;
	struct rollout_plan plan;
};

/* Checks a phase's gate, polling until it passes or its time is up. */
int rollout_gate(struct rollout *ro, enum rollout_phase p,
    struct journal_gate *g, struct slw_diag *d);

/*
 * A fresh one-time token for node: the curl one-liner of `slipway token
 * create` in line, the bare token in token (for redaction). Both secret:
 * wipe with buf_free.
 */
int rollout_oneliner(struct rollout *ro, const struct inv_node *n,
    struct buf *line, struct buf *token, struct slw_diag *d);

/* One node's steps of every phase it is in, added to ro->op.plan (a
 * group per phase); ro->plan must be built over ro->inv. */
int rollout_node_items(struct rollout *ro, const struct inv_node *n,
    unsigned int *group);

/* The appliance's steps of the masters phase (rollout_action.c). */
int rollout_action_flannel_config(struct rollout *ro, struct slw_diag *d);
int rollout_action_cluster_objects(struct rollout *ro, struct slw_diag *d);

#endif
