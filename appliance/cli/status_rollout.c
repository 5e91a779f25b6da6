// SPDX-License-Identifier: Apache-2.0
/*
 * status_rollout.c: the rollout section of `slipway status`: the last run
 * and each phase's state, from the journal. Read-only.
 */
#include "rollout.h"
#include "status.h"

#include <stdio.h>

int
status_rollout_add(struct store_txn *t, const struct inventory *inv, cJSON *root)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "state");

	return rollout_status_json(t, inv, cJSON_IsString(st) ?
	    st->valuestring : NULL, root);
}

void
status_rollout_print(const cJSON *root)
{
	const cJSON *ro = cJSON_GetObjectItemCaseSensitive(root, "rollout");
	const cJSON *run = cJSON_GetObjectItemCaseSensitive(ro, "run"), *ph, *v;

	if (ro == NULL)
		return;
	printf("\nrollout:");
	if (run == NULL) {
		printf(" not run yet\n");
		return;
	}
	v = cJSON_GetObjectItemCaseSensitive(run, "state");
	printf(" last run %.0f %s\n",
	    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(run, "id")),
	    cJSON_IsString(v) ? v->valuestring : "");
	cJSON_ArrayForEach(ph, cJSON_GetObjectItemCaseSensitive(ro, "phases")) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(ph, "phase");
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(ph, "state");
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(ph, "reason");

		printf("  %-8s %-8s %s\n", cJSON_IsString(n) ? n->valuestring : "",
		    cJSON_IsString(s) ? s->valuestring : "",
		    cJSON_IsString(r) ? r->valuestring : "");
	}
}
