// SPDX-License-Identifier: Apache-2.0
/*
 * status_artifacts.c: the artifacts section of `slipway status`: how many
 * artifacts are stored and which binaries and images the inventory's
 * nodes need that the store still lacks (artifact_need). Reads only.
 */
#include "artifact.h"
#include "status.h"

#include <stdio.h>
#include <string.h>

int
status_artifacts_add(struct store_txn *t, const struct inventory *inv,
    cJSON *root)
{
	struct artifact_list l = { NULL, 0 };
	struct artifact_needs n = { NULL, 0, 0 };
	cJSON *o, *miss, *e;
	uint64_t bytes = 0;
	size_t i;
	int r;

	if ((r = artifact_list(t, &l)) != 0)
		return r;
	if ((r = artifact_need(inv, 0, &l, &n, NULL)) != 0)
		goto out;
	r = SLW_ERR_NOMEM;
	if ((o = cJSON_AddObjectToObject(root, "artifacts")) == NULL ||
	    (miss = cJSON_AddArrayToObject(o, "missing")) == NULL)
		goto out;
	for (i = 0; i < l.n; i++)
		bytes += l.a[i].size;
	cJSON_AddNumberToObject(o, "stored", (double)l.n);
	cJSON_AddNumberToObject(o, "bytes", (double)bytes);
	cJSON_AddNumberToObject(o, "needed", (double)n.n);
	for (i = 0; i < n.n; i++) {
		if (n.e[i].have != NULL)
			continue;
		if ((e = cJSON_CreateObject()) == NULL)
			goto out;
		cJSON_AddStringToObject(e, "name", n.e[i].bin->name);
		cJSON_AddStringToObject(e, "component",
		    release_component_name(n.e[i].bin->comp));
		cJSON_AddStringToObject(e, "version", n.e[i].version);
		cJSON_AddStringToObject(e, "file", n.e[i].file.name);
		cJSON_AddItemToArray(miss, e);
	}
	r = 0;
 out:
	artifact_need_free(&n);
	artifact_list_free(&l);
	return r;
}

static const char *
str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static double
num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

void
status_artifacts_print(const cJSON *root)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "artifacts");
	const cJSON *miss, *e;
	int n;

	if (o == NULL)
		return;
	miss = cJSON_GetObjectItemCaseSensitive(o, "missing");
	n = cJSON_GetArraySize(miss);
	printf("\nartifacts: %.0f stored (%.1f MiB); the nodes need %.0f, ",
	    num(o, "stored"), num(o, "bytes") / (1024.0 * 1024.0),
	    num(o, "needed"));
	if (n == 0) {
		printf("all stored\n");
		return;
	}
	printf("%d missing (slipway artifact manifest):\n", n);
	cJSON_ArrayForEach(e, miss)
		printf("  %-24s %-16s from %s\n", str(e, "name"), str(e, "version"),
		    str(e, "file"));
}
