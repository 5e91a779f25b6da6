// SPDX-License-Identifier: Apache-2.0
/*
 * status_inventory.c: the inventory section of `slipway status`: how many
 * nodes the stored inventory has and its hash, the inventory change that
 * is not finished (inventory apply: run it again), and the last one
 * applied. A thin reader over the journal's operations; changes nothing.
 */
#include "cluster.h"
#include "inventory_op.h"
#include "status.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

struct last {
	struct journal_op op;
	int have;
};

static int
last_cb(void *arg, const struct journal_op *jo)
{
	struct last *l = arg;

	if (strcmp(jo->kind, INV_OP_KIND) != 0 || jo->state != JS_DONE)
		return 0;
	if (!l->have || jo->finished >= l->op.finished) {
		l->op = *jo;
		l->have = 1;
	}
	return 0;
}

static void
when(time_t t, char out[32])
{
	struct tm tm;

	if (t <= 0 || gmtime_r(&t, &tm) == NULL)
		snprintf(out, 32, "-");
	else
		strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static cJSON *
op_json(const struct journal_op *jo)
{
	cJSON *o = cJSON_CreateObject(), *p;
	char t[32];

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "operation", jo->name);
	cJSON_AddStringToObject(o, "state", journal_state_name(jo->state));
	when(jo->created, t);
	cJSON_AddStringToObject(o, "created", t);
	when(jo->finished, t);
	cJSON_AddStringToObject(o, "finished", t);
	cJSON_AddStringToObject(o, "reason", jo->reason);
	if (jo->params[0] != '\0' && (p = cJSON_Parse(jo->params)) != NULL)
		cJSON_AddItemToObject(o, "params", p);
	return o;
}

int
status_inventory_add(struct store_txn *t, const struct inventory *inv,
    cJSON *root)
{
	struct journal_op cur;
	struct last l;
	char name[JOURNAL_OP_MAX], hex[65];
	const uint8_t *v;
	size_t vl;
	cJSON *o;
	int r;

	if ((o = cJSON_AddObjectToObject(root, "inventory")) == NULL)
		return SLW_ERR_NOMEM;
	cJSON_AddNumberToObject(o, "nodes", (double)inv->n_nodes);
	if (store_get_ref(t, DB_META, CLUSTER_META_KEY,
	    strlen(CLUSTER_META_KEY), &v, &vl) == 0) {
		cluster_yaml_hash(v, vl, hex);
		cJSON_AddStringToObject(o, "hash", hex);
	}
	r = journal_op_current(t, INV_OP_KIND, name, sizeof(name));
	if (r == 0 && journal_op_get(t, name, &cur) == 0)
		cJSON_AddItemToObject(o, "pending", op_json(&cur));
	else if (r != 0 && r != SLW_ERR_NOTFOUND)
		return r;
	memset(&l, 0, sizeof(l));
	if ((r = journal_op_foreach(t, last_cb, &l)) != 0)
		return r;
	if (l.have)
		cJSON_AddItemToObject(o, "lastApplied", op_json(&l.op));
	return 0;
}

static const char *
str(const cJSON *o, const char *k)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o,
	    k));

	return s != NULL ? s : "";
}

static const char *
added(const cJSON *o)
{
	return str(cJSON_GetObjectItemCaseSensitive(o, "params"), "added");
}

void
status_inventory_print(const cJSON *root)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "inventory");
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "pending");
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "lastApplied");
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "nodes");

	if (o == NULL)
		return;
	printf("\nInventory: %d nodes (%.12s)\n", n != NULL ? n->valueint : 0,
	    str(o, "hash"));
	if (p != NULL)
		printf("  pending change: %s, %s since %s%s%s%s%s; run 'slipway "
		    "inventory apply' with that file again\n", str(p, "operation"),
		    str(p, "state"), str(p, "created"), added(p)[0] ? ", adds " :
		    "", added(p), str(p, "reason")[0] ? ": " : "",
		    str(p, "reason"));
	if (l != NULL)
		printf("  last applied: %s at %s%s%s\n", str(l, "operation"),
		    str(l, "finished"), added(l)[0] ? ", added " : "", added(l));
}
