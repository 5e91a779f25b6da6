/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crl_deliver.h: a revocation carried to the running cluster: the etcd
 * CA's current CRL delivered to every etcd member by the fleet engine
 * (deliver.h: a bundle that re-issues nothing, fetched with a one-time
 * token, installed by atomic rename, read back). etcd reads its CRL file
 * at every accepted connection, so no member is restarted for it: the
 * restart steps find etcd's start-time files unchanged. One operation per
 * CRL number ("crl-etcd-7"); resumed by `cert revoke --deliver`.
 */
#ifndef SLW_CRL_DELIVER_H
#define SLW_CRL_DELIVER_H

#include "op.h"

struct fleet_crl_opts {
	struct fleet_op_opts op;
	int plan_only;			/* --plan */
};

/*
 * Delivers the etcd CA's current CRL to every etcd member (or resumes
 * the delivery of that CRL); with plan_only prints the steps. name gets
 * the operation's name ("crl-etcd-7") as soon as it is known.
 */
int fleet_crl_deliver(struct store *s, const struct inventory *inv,
    const struct fleet_crl_opts *o, char name[JOURNAL_OP_MAX],
    struct slw_diag *d);

/*
 * *yes = 1 if this appliance rolled the cluster out (a rollout operation
 * is on record): only then do the etcd members have a CRL file to
 * replace.
 */
int fleet_crl_rolled_out(struct store *s, int *yes, struct slw_diag *d);

#endif
