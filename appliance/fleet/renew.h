/* SPDX-License-Identifier: Apache-2.0 */
/*
 * renew.h: `slipway cert renew`, the re-issue of node certificates that
 * are due, delivered by the fleet engine (deliver.h) one node at a time,
 * each node's units restarted behind their gates. What is due comes from
 * the expiry view (expiry.h): past certificates.renewAt of its lifetime
 * (with a per-node jitter), ending within --within, or every one (--all).
 * Kubelet certificates rotate by themselves and are not touched. The same
 * command run again resumes an unfinished renewal with its first plan.
 */
#ifndef SLW_RENEW_H
#define SLW_RENEW_H

#include "op.h"

struct fleet_renew_opts {
	struct fleet_op_opts op;
	const char *node;		/* only this node; NULL: every node */
	uint64_t within_s;		/* ending within this (0: renewAt) */
	int all;			/* every certificate in use */
	int plan_only;			/* --plan */
};

/*
 * Renews what is due. 0 also when nothing is due (*renewed 0); d says
 * what was (or would be) renewed.
 */
int fleet_renew_run(struct store *s, const struct inventory *inv,
    const struct fleet_renew_opts *o, size_t *renewed, struct slw_diag *d);

/*
 * Whether any node certificate is due now (serve's look, one read
 * transaction); *next gets when the next one will be (0: none).
 */
int fleet_renew_due(struct store *s, const struct inventory *inv, time_t now,
    int *due, time_t *next, struct slw_diag *d);

#endif
