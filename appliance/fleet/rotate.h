/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rotate.h: `slipway ca rotate run --ca NAME`, a CA rotation carried to
 * the running cluster as one operation of the fleet engine (op.h,
 * deliver.h):
 *
 *   begin       generation N+1, sealed, trusted, not signing
 *   trust-both  every node's trust becomes N + N+1: delivered, read back,
 *               the units that read it restarted in the rollout's order
 *   advance     N+1 signs (only now: the approver and the endpoint follow
 *               the store's CA epoch); refused while a node lacks N+1
 *   leaves      every leaf of that CA re-issued by N+1 and delivered
 *   finish      N retired; refused while a node still has N's leaves
 *   trust-new   every node's trust becomes N+1 alone, delivered
 *
 * The rotations are data (rotate.c: one row per CA); a CA whose trust is
 * also embedded in files that carry a key (kubeconfigs) names the
 * certificates its trust deliveries re-issue.
 */
#ifndef SLW_ROTATE_H
#define SLW_ROTATE_H

#include "op.h"

struct fleet_rotate_opts {
	struct fleet_op_opts op;
	const char *ca;			/* the --ca role */
	int plan_only;			/* --plan */
};

/* Runs (or resumes) the rotation of o->ca; with plan_only prints it. */
int fleet_rotate_run(struct store *s, const struct inventory *inv,
    const struct fleet_rotate_opts *o, struct slw_diag *d);

/* The CA roles `ca rotate run` knows, ", "-joined (for usage lines). */
const char *fleet_rotate_cas(void);

#endif
