// SPDX-License-Identifier: Apache-2.0
/*
 * status.c: the table of status sections (status_<module>.c each).
 */
#include "status.h"

struct section {
	int (*add)(struct store_txn *t, const struct inventory *inv, cJSON *root);
	void (*print)(const cJSON *root);
};

static const struct section sections[] = {
	{ status_expiry_add, status_expiry_print },
	{ status_tokens_add, status_tokens_print },
	{ status_rollout_add, status_rollout_print },
	{ status_rotate_add, status_rotate_print },
	{ status_inventory_add, status_inventory_print },
	{ status_ops_add, status_ops_print },
	{ status_store_add, status_store_print },
	{ status_artifacts_add, status_artifacts_print },
};

int
status_sections(struct store_txn *t, const struct inventory *inv, cJSON *root)
{
	size_t i;
	int r;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if ((r = sections[i].add(t, inv, root)) != 0)
			return r;
	return 0;
}

void
status_print_sections(const cJSON *root)
{
	size_t i;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		sections[i].print(root);
}
