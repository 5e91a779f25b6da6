/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deliver.h: delivery, the one path by which anything reaches a running
 * node: the node fetches a freshly rendered bundle with a one-time token
 * (never a pushed key) and installs what changed (atomic renames); the
 * appliance reads back the hashes of the installed files, compares them
 * with what was rendered, and records which trust the node has; then the
 * units whose files changed since they started are restarted in the
 * rollout's order (etcd members one at a time, masters one at a time,
 * workers a few at a time), each followed by its gate. A delivery is a
 * block of steps in an operation's plan (op.h): killed anywhere, the same
 * command resumes it and a unit is restarted only while its files are
 * newer than its start. Never journals or prints a token or a key.
 */
#ifndef SLW_DELIVER_H
#define SLW_DELIVER_H

#include "op.h"

struct fleet_delivery {
	char stage[JOURNAL_PHASE_MAX];	/* journal stage, e.g. "trust-both" */
	/* bundle.h: BUNDLE_SCOPE_PARTIAL | BUNDLE_SCOPE_ID(...) of the
	 * certificates it re-issues */
	uint64_t scope;
	const char *what;		/* one line for --plan (static) */
	/* the CA role whose trust every node must hold afterwards, exactly
	 * the store's trust of that CA (read back); NULL: not checked */
	const char *trust_role;
	/* the CA whose leaves it re-issues: recorded per node (NULL none) */
	const char *leaf_role;
	/*
	 * Recovery (recover.h): the cluster is already down, so no gate can
	 * pass before a restart. Each tier's units restart on all its nodes
	 * at once (etcd members together: quorum is lost anyway), without the
	 * gate before or leadership moves, and one gate after the tier must
	 * pass before the next tier starts.
	 */
	int together;
	/*
	 * What some units need besides their files (NULL, or an array ended
	 * by a NULL unit): a script run on the node right before the unit's
	 * restart (no secret in it: it is journaled), and whether the unit
	 * restarts even if none of its files changed. E.g. the kubelet, which
	 * keeps its own kubeconfig and certificates out of the bundle.
	 */
	const struct fleet_unit_hook *hooks;
};

struct fleet_unit_hook {
	const char *unit;		/* bundle_units.h name, NULL ends */
	const char *before;		/* sh script, or NULL */
	int always;			/* restart even if its files are fresh */
	const char *why;		/* for progress lines and --plan */
};

/*
 * Appends a delivery's steps to op's plan for every node of the inventory
 * (or only node, if not NULL): per node `deliver` (fetch, install, read
 * back; nodes in parallel); then per tier `restart:UNIT` (only if its
 * files changed after it started) and the tier's gate, one etcd member
 * and one master at a time (dv->together: every node of a tier at once,
 * then the tier's gate once). dv must live as long as the plan. *group is
 * the plan's group counter (op.h), advanced.
 */
int fleet_deliver_plan(struct fleet_op *op, const struct fleet_delivery *dv,
    const struct inv_node *only, unsigned int *group);

/*
 * The certificates of the bundles signed by CA ca_name (the name CA roles
 * resolve to): the scope of a delivery that re-issues them.
 */
int fleet_deliver_scope_of_ca(struct store *s, const struct inventory *inv,
    const char *ca_name, uint64_t *scope, struct slw_diag *d);

/*
 * Forgets the appliance's own client certificates and signer (id.c), so
 * the next gate gets new ones from the CAs as they are now (after a
 * rotation step).
 */
void fleet_id_reset(struct fleet *f);

/*
 * Checks that every node holds a CA's trust of generation gen (and, if
 * leaf_gen is not 0, that its leaves of that CA are of leaf_gen), as the
 * last verified delivery recorded. 0 if so; else SLW_ERR_DENIED and d
 * names the first node that lacks it. A cluster no delivery ever reached
 * (no node has any record: not rolled out from this appliance) has
 * nothing to check.
 */
int fleet_deliver_check(struct store_txn *t, const struct inventory *inv,
    const char *ca_role, uint32_t gen, uint32_t leaf_gen,
    struct slw_diag *d);

/*
 * The paths whose sha256sum the rollout's bundle step prints after the
 * install ("P1 P2 ..."), and what it makes of that output: for each CA
 * role whose trust files on node all hold the store's trust now, the
 * node's trust is recorded (as a delivery would). Nothing recorded for a
 * file that differs; never fails the step for it.
 */
int fleet_deliver_trust_paths(const struct inv_node *n, struct buf *out);
int fleet_deliver_note_trust(struct store *s, const struct inv_node *n,
    const struct buf *sums, struct slw_diag *d);

#endif
