// SPDX-License-Identifier: Apache-2.0
/*
 * status_ops.c: the fleet operations section of `slipway status`: every
 * operation that is not finished (a CA rotation or a renewal that stopped:
 * which step, why, and that running the same command resumes it), read
 * from the journal. Read-only.
 */
#include "journal.h"
#include "status.h"

#include <stdio.h>
#include <string.h>

struct ops_arg {
	cJSON *arr;
	size_t done;
};

static int
one(void *arg, const struct journal_op *op)
{
	struct ops_arg *a = arg;
	cJSON *o;

	if (op->state == JS_DONE) {
		a->done++;
		return 0;
	}
	if ((o = cJSON_CreateObject()) == NULL)
		return SLW_ERR_NOMEM;
	cJSON_AddStringToObject(o, "operation", op->name);
	cJSON_AddStringToObject(o, "kind", op->kind);
	cJSON_AddStringToObject(o, "state", op->state == JS_RUNNING ?
	    "running or interrupted" : journal_state_name(op->state));
	cJSON_AddNumberToObject(o, "lastRun", (double)op->last_run);
	if (op->reason[0] != '\0')
		cJSON_AddStringToObject(o, "reason", op->reason);
	cJSON_AddItemToArray(a->arr, o);
	return 0;
}

int
status_ops_add(struct store_txn *t, const struct inventory *inv, cJSON *root)
{
	struct ops_arg a;
	cJSON *sec;
	int r;

	(void)inv;
	memset(&a, 0, sizeof(a));
	if ((sec = cJSON_AddObjectToObject(root, "operations")) == NULL ||
	    (a.arr = cJSON_AddArrayToObject(sec, "unfinished")) == NULL)
		return SLW_ERR_NOMEM;
	if ((r = journal_op_foreach(t, one, &a)) != 0)
		return r;
	cJSON_AddNumberToObject(sec, "finished", (double)a.done);
	return 0;
}

void
status_ops_print(const cJSON *root)
{
	const cJSON *sec = cJSON_GetObjectItemCaseSensitive(root, "operations");
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(sec, "unfinished");
	const cJSON *it;

	if (cJSON_GetArraySize(arr) == 0)
		return;
	printf("\nfleet operations not finished (run the same command again to "
	    "resume):\n");
	cJSON_ArrayForEach(it, arr) {
		const cJSON *rs = cJSON_GetObjectItemCaseSensitive(it, "reason");

		printf("  %-24s %-22s %s\n", cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(it, "operation")),
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it,
		    "state")), rs != NULL ? cJSON_GetStringValue(rs) : "");
	}
}
