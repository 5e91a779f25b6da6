// SPDX-License-Identifier: Apache-2.0
/*
 * status_store.c: the store section of `slipway status`: the generation
 * and its rollback anchor, the map's use, the state filesystem's free
 * space, and "disk full on STATE: N bytes free" while writes are refused
 * (docs/operations.md). Reads only.
 */
#include "status.h"

#include <stdio.h>
#include <string.h>

int
status_store_add(struct store_txn *t, const struct inventory *inv,
    cJSON *root)
{
	struct store *s = store_txn_store(t);
	struct store_gen_anchor_info ai;
	struct anchor_state st;
	struct store_space sp;
	struct slw_diag d;
	cJSON *o;
	int r;

	(void)inv;
	if ((o = cJSON_AddObjectToObject(root, "store")) == NULL)
		return SLW_ERR_NOMEM;
	if ((r = store_space(s, &sp)) != 0)
		return r;
	cJSON_AddNumberToObject(o, "mapUsedBytes", (double)sp.used);
	cJSON_AddNumberToObject(o, "mapSizeBytes", (double)sp.mapsize);
	cJSON_AddNumberToObject(o, "freeBytes", (double)sp.avail);
	cJSON_AddNumberToObject(o, "sizeBytes", (double)sp.total);
	cJSON_AddBoolToObject(o, "diskFull", sp.full);
	slw_diag_clear(&d);
	if (store_writable(s, &d) != 0 && d.msg[0] != '\0')
		cJSON_AddStringToObject(o, "problem", d.msg);
	/* the generation and its anchor need the KEK: without it, absent */
	if (store_kek(s) != NULL && store_gen_get(t, &st) == 0 &&
	    store_gen_anchor_info(s, &ai, NULL) == 0) {
		cJSON_AddNumberToObject(o, "generation", (double)st.generation);
		cJSON_AddNumberToObject(o, "anchored",
		    (double)ai.file.generation);
		cJSON_AddStringToObject(o, "anchor", ai.path);
	}
	return 0;
}

static double
num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

void
status_store_print(const cJSON *root)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "store");
	const cJSON *p, *a;

	if (o == NULL)
		return;
	printf("\nstore: map %.2f MiB used of %.0f MiB; disk %.0f bytes free of "
	    "%.0f\n", num(o, "mapUsedBytes") / 1048576,
	    num(o, "mapSizeBytes") / 1048576, num(o, "freeBytes"),
	    num(o, "sizeBytes"));
	if ((a = cJSON_GetObjectItemCaseSensitive(o, "anchor")) != NULL &&
	    cJSON_IsString(a))
		printf("  generation %.0f, anchored at %.0f in %s\n",
		    num(o, "generation"), num(o, "anchored"), a->valuestring);
	if ((p = cJSON_GetObjectItemCaseSensitive(o, "problem")) != NULL &&
	    cJSON_IsString(p))
		printf("  %s: writes are refused (issuance, tokens) until there is "
		    "space\n", p->valuestring);
}
