// SPDX-License-Identifier: Apache-2.0
/*
 * rollout_objects.c: the masters phase's last step: the cluster objects
 * slipway owns (per-node bootstrap-token Secrets, the bootstrapper and
 * apiserver-to-kubelet RBAC, nothing that auto-approves CSRs), applied
 * through the API behind the VIP by the Kubernetes API client
 * (kube_cluster.h). Report lines name token ids only, never secrets.
 */
#include "rollout_int.h"
#include "kube_cluster.h"
#include "kube_session.h"

#include <string.h>

struct report_arg {
	struct rollout *ro;
};

static void
report(void *arg, const char *line)
{
	struct report_arg *a = arg;

	rollout_progress(a->ro, PH_MASTERS, "appliance", "cluster-objects",
	    "%s", line);
}

int
rollout_action_cluster_objects(struct rollout *ro, struct slw_diag *d)
{
	struct kube *k = NULL;
	struct kube_cluster_counts n;
	struct report_arg ra = { ro };
	int r;

	memset(&n, 0, sizeof(n));
	if ((r = kube_session_open(ro->s, ro->inv, NULL, ro->o->actor, &k, NULL,
	    d)) != 0)
		return r;
	r = kube_cluster_apply(k, ro->s, ro->inv, 0, ro->o->actor, report, &ra,
	    &n, d);
	kube_free(k);
	if (r == 0)
		slw_diag_set(d, 0, "%u created, %u updated, %u unchanged, "
		    "%u deleted", n.created, n.updated, n.unchanged, n.deleted);
	return r;
}
