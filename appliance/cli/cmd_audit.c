// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_audit.c: `slipway audit verify` and `slipway audit list`.
 */
#include "audit.h"
#include "cli.h"

#include <cjson/cJSON.h>
#include <stdio.h>

int
cmd_audit_verify(struct cli *c)
{
	struct store *s = NULL;
	struct slw_diag d;
	uint64_t n = 0;
	int r, ret;

	if (cli_opt_parse(c, NULL) != 0)
		return EXIT_USAGE;
	slw_diag_clear(&d);
	if (cli_open(c, 1, &s) != 0)
		return EXIT_FAIL;
	r = audit_verify(s, &n, &d);
	if (r != 0)
		ret = cli_fail_err(c, r, &d);
	else {
		printf("audit log verified: %llu records, chain intact\n",
		    (unsigned long long)n);
		ret = EXIT_OK;
	}
	store_close(s);
	return ret;
}

struct list_arg {
	int json;
	cJSON *arr;
};

static int
list_one(void *arg, const struct audit_entry *e)
{
	struct list_arg *a = arg;
	char tm[32];
	cJSON *o;

	cli_time(e->time, tm);
	if (!a->json) {
		printf("%6llu %s %-20s %-16s %s%s%s\n", (unsigned long long)e->seq,
		    tm, e->actor, e->action, e->object, e->detail[0] ? " -- " : "",
		    e->detail);
		return 0;
	}
	if ((o = cJSON_CreateObject()) == NULL)
		return SLW_ERR_NOMEM;
	cJSON_AddNumberToObject(o, "seq", (double)e->seq);
	cJSON_AddStringToObject(o, "time", tm);
	cJSON_AddStringToObject(o, "actor", e->actor);
	cJSON_AddStringToObject(o, "action", e->action);
	cJSON_AddStringToObject(o, "object", e->object);
	cJSON_AddStringToObject(o, "detail", e->detail);
	cJSON_AddItemToArray(a->arr, o);
	return 0;
}

static int
list_txn(struct store_txn *t, void *arg)
{
	return audit_foreach(t, list_one, arg);
}

int
cmd_audit_list(struct cli *c)
{
	struct list_arg a = { c->json, NULL };
	struct store *s = NULL;
	struct slw_diag d;
	char *txt;
	int r, ret = EXIT_FAIL;

	if (cli_opt_parse(c, NULL) != 0)
		return EXIT_USAGE;
	slw_diag_clear(&d);
	if (cli_open(c, 0, &s) != 0)
		return EXIT_FAIL;
	if (a.json && (a.arr = cJSON_CreateArray()) == NULL)
		goto out;
	if ((r = store_read(s, list_txn, &a, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if (a.json && (txt = cJSON_Print(a.arr)) != NULL) {
		printf("%s\n", txt);
		cJSON_free(txt);
	}
	ret = EXIT_OK;
 out:
	cJSON_Delete(a.arr);
	store_close(s);
	return ret;
}
