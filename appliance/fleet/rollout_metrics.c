// SPDX-License-Identifier: Apache-2.0
/*
 * rollout_metrics.c: the fleet's last run as Prometheus series for serve's
 * metrics listener (read from the journal through rollout_status_json at
 * scrape time): slipway_fleet_last_run_id, slipway_fleet_last_run_state
 * {state} and slipway_fleet_phase_state{phase,state}, each state set
 * one-hot; and every operation of the engine that did not finish
 * (slipway_fleet_operation_unfinished{kind,state}: a renewal or rotation
 * that stopped, e.g. at a failed gate). Reads only; labels from fixed sets
 * or checked names.
 */
#include "rollout.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

/* One series per state, 1 for the one it is in (the usual "state set"). */
static int
one_hot(struct buf *out, const char *name, const char *labels,
    const char *const *states, const char *cur)
{
	int r = 0;

	for (; *states != NULL; states++)
		r |= buf_appendf(out, "%s{%s%sstate=\"%s\"} %d\n", name, labels,
		    labels[0] ? "," : "", *states, strcmp(*states, cur) == 0);
	return r;
}

struct fleet_arg {
	const struct inventory *inv;
	const char *state;
	cJSON *root;
	struct buf *ops;
	int r;
};

static int
op_one(void *arg, const struct journal_op *op)
{
	struct fleet_arg *a = arg;

	if (op->state == JS_DONE ||
	    strspn(op->kind, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
	    strlen(op->kind))
		return 0;
	a->r |= buf_appendf(a->ops, "slipway_fleet_operation_unfinished{kind="
	    "\"%.40s\",state=\"%s\"} 1\n", op->kind, op->state == JS_FAILED ?
	    "failed" : "running");
	return 0;
}

static int
fleet_txn(struct store_txn *t, void *arg)
{
	struct fleet_arg *a = arg;
	int r;

	if ((r = rollout_status_json(t, a->inv, a->state, a->root)) != 0)
		return r;
	a->r |= buf_appendf(a->ops, "# HELP slipway_fleet_operation_unfinished "
	    "Operations of the fleet engine that did not finish (a renewal or "
	    "rotation that stopped; the same command resumes it).\n"
	    "# TYPE slipway_fleet_operation_unfinished gauge\n");
	return journal_op_foreach(t, op_one, a);
}

int
rollout_metrics_render(struct store *s, const struct inventory *inv,
    const char *state, struct buf *out)
{
	static const char *const run_states[] = { "running", "done", "failed",
	    "interrupted", NULL };
	static const char *const phase_states[] = { "pending", "running",
	    "done", "failed", NULL };
	struct buf ops = { 0 };
	struct fleet_arg a = { inv, state, NULL, &ops, 0 };
	const cJSON *ro, *run, *ph;
	int r;

	if ((a.root = cJSON_CreateObject()) == NULL)
		return SLW_ERR_NOMEM;
	if ((r = store_read(s, fleet_txn, &a, NULL)) != 0)
		goto out;
	ro = cJSON_GetObjectItemCaseSensitive(a.root, "rollout");
	run = cJSON_GetObjectItemCaseSensitive(ro, "run");
	r = buf_appendf(out,
	    "# HELP slipway_fleet_last_run_id The fleet engine's last run (0: "
	    "none yet).\n"
	    "# TYPE slipway_fleet_last_run_id gauge\n"
	    "slipway_fleet_last_run_id %.0f\n"
	    "# HELP slipway_fleet_last_run_state The state of the fleet "
	    "engine's last run (interrupted: its process is gone).\n"
	    "# TYPE slipway_fleet_last_run_state gauge\n",
	    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(run, "id")) >
	    0 ? cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(run,
	    "id")) : 0.0);
	r |= one_hot(out, "slipway_fleet_last_run_state", "", run_states,
	    run != NULL ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	    run, "state")) : "");
	r |= buf_appendf(out,
	    "# HELP slipway_fleet_phase_state Each phase of the fleet's "
	    "rollout, as the journal has it.\n"
	    "# TYPE slipway_fleet_phase_state gauge\n");
	cJSON_ArrayForEach(ph, cJSON_GetObjectItemCaseSensitive(ro, "phases")) {
		const char *name = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(ph, "phase"));
		const char *st = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(ph, "state"));
		char labels[64];

		if (name == NULL || st == NULL ||
		    strspn(name, "abcdefghijklmnopqrstuvwxyz-") != strlen(name))
			continue;
		snprintf(labels, sizeof(labels), "phase=\"%.32s\"", name);
		r |= one_hot(out, "slipway_fleet_phase_state", labels,
		    phase_states, st);
	}
	if (ops.len > 0)
		r |= buf_append(out, ops.data, ops.len);
	r = r != 0 || a.r != 0 ? SLW_ERR_NOMEM : 0;
 out:
	buf_free(&ops);
	cJSON_Delete(a.root);
	return r;
}

