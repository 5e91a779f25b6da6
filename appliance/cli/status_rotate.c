// SPDX-License-Identifier: Apache-2.0
/*
 * status_rotate.c: the CA rotation section of `slipway status`: every CA
 * whose rotation is not idle, with its phase and what is left to do.
 */
#include "ca_rotate.h"
#include "status.h"

#include <stdio.h>
#include <string.h>

struct names {
	char v[16][CA_NAME_MAX];
	size_t n;
};

static int
collect(void *arg, const struct ca_rec *c)
{
	struct names *n = arg;
	size_t i;

	for (i = 0; i < n->n; i++)
		if (strcmp(n->v[i], c->name) == 0)
			return 0;
	if (n->n < 16)
		snprintf(n->v[n->n++], CA_NAME_MAX, "%s", c->name);
	return 0;
}

int
status_rotate_add(struct store_txn *t, const struct inventory *inv, cJSON *root)
{
	struct names names;
	struct rotate_status st;
	cJSON *arr;
	size_t i;
	int r;

	(void)inv;
	memset(&names, 0, sizeof(names));
	if ((r = ca_foreach(t, collect, &names)) != 0)
		return r;
	if ((arr = cJSON_AddArrayToObject(root, "rotations")) == NULL)
		return SLW_ERR_NOMEM;
	for (i = 0; i < names.n; i++) {
		cJSON *o;

		if (ca_rotate_status(t, names.v[i], &st) != 0 ||
		    st.phase == ROTATE_IDLE)
			continue;
		if ((o = cJSON_CreateObject()) == NULL)
			return SLW_ERR_NOMEM;
		cJSON_AddStringToObject(o, "ca", st.name);
		cJSON_AddStringToObject(o, "phase",
		    ca_rotate_phase_name(st.phase));
		cJSON_AddNumberToObject(o, "activeGeneration", st.active_gen);
		cJSON_AddNumberToObject(o, "pendingGeneration", st.pending_gen);
		cJSON_AddNumberToObject(o, "previousGeneration", st.previous_gen);
		cJSON_AddNumberToObject(o, "previousValid",
		    (double)st.previous_valid);
		cJSON_AddItemToArray(arr, o);
	}
	return 0;
}

void
status_rotate_print(const cJSON *root)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "rotations");
	const cJSON *it;

	if (cJSON_GetArraySize(arr) == 0)
		return;
	printf("\nCA rotations in progress:\n");
	cJSON_ArrayForEach(it, arr) {
		const cJSON *ca = cJSON_GetObjectItemCaseSensitive(it, "ca");
		const cJSON *ph = cJSON_GetObjectItemCaseSensitive(it, "phase");
		const cJSON *pv = cJSON_GetObjectItemCaseSensitive(it,
		    "previousValid");

		printf("  %-12s %-9s %s\n", cJSON_GetStringValue(ca),
		    cJSON_GetStringValue(ph),
		    strcmp(cJSON_GetStringValue(ph), "pending") == 0 ?
		    "distribute the trust bundle, then 'ca rotate advance'" :
		    pv != NULL && pv->valuedouble > 0 ?
		    "re-issue leaves of the previous generation, then 'ca rotate finish'" :
		    "'ca rotate finish'");
	}
}
