// SPDX-License-Identifier: Apache-2.0
/*
 * inventory_yaml.c: fuzz target for the cluster.yaml parser and validator.
 * Any input must give an inventory or one error, never a crash or a leak.
 */
#include <stdint.h>
#include <stdlib.h>

#include "inventory.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inventory *inv = NULL;
	struct slw_diag d;

	slw_diag_clear(&d);
	if (inventory_parse(data, size, "fuzz.yaml", &inv, &d) == 0) {
		if (inv == NULL || inv->n_nodes == 0)
			abort();
		inventory_free(inv);
	} else if (inv != NULL || d.msg[0] == '\0')
		abort();	/* a failure always says why and returns nothing */
	return 0;
}
