/* SPDX-License-Identifier: Apache-2.0 */
/*
 * recover.h: `slipway recover`, a cluster whose certificates already
 * expired (the appliance's clock is the reference) brought back by the
 * fleet engine: every node fetches a freshly rendered whole bundle (every
 * leaf re-issued, a fresh kubelet bootstrap token) over its SSH session,
 * then the units restart tier by tier in the rollout's order, each tier's
 * nodes at once since nothing can be kept available any more: etcd members
 * together, then every etcd member healthy; masters, then /readyz through
 * the VIP; workers, then each Node Ready. Journaled and resumed like a
 * rotation (operation "recover-<time>"). Refuses a cluster where nothing
 * in use has expired, and changes nothing then.
 */
#ifndef SLW_RECOVER_H
#define SLW_RECOVER_H

#include "op.h"

struct fleet_recover_opts {
	struct fleet_op_opts op;
	int plan_only;			/* --plan */
};

/* Runs (or resumes) the recovery; with plan_only prints it. */
int fleet_recover_run(struct store *s, const struct inventory *inv,
    const struct fleet_recover_opts *o, struct slw_diag *d);

#endif
