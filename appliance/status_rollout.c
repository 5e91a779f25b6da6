// SPDX-License-Identifier: Apache-2.0
/*
 * status_rollout.c: the rollout section of `slipway status` (empty for now).
 */
#include "status.h"

int
status_rollout_add(struct store_txn *t, const struct inventory *inv, cJSON *root)
{
	(void)t;
	(void)inv;
	(void)root;
	return 0;
}

void
status_rollout_print(const cJSON *root)
{
	(void)root;
}
