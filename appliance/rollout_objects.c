// SPDX-License-Identifier: Apache-2.0
/*
 * rollout_objects.c: the masters phase's last step: the cluster objects
 * slipway owns (per-node bootstrap-token Secrets, RBAC), applied through the
 * API by the Kubernetes API client of the CSR approver work. Until that
 * client is in the tree this step fails with a clear message.
 */
#include "rollout_int.h"

int
rollout_action_cluster_objects(struct rollout *ro, struct slw_diag *d)
{
	(void)ro;
	return slw_diag(d, SLW_ERR_UNSUPPORTED, "applying cluster objects "
	    "needs the Kubernetes API client, which this build does not have yet");
}
