// SPDX-License-Identifier: Apache-2.0
/*
 * rollout_status.c: the rollout's state per phase and node, read from the
 * journal: pending, running, done or failed, with the reason (the failed
 * step's, or the gate's for that node). A step left "running" by a run that
 * no longer holds the run lock was interrupted (crash, kill): it shows as
 * failed with that reason, and the next run does it again. Read-only.
 */
#include "rollout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

static const char *
gate_node_reason(const struct journal_gate *g, const char *node, char *out,
    size_t len)
{
	const char *p = g->nodes;
	size_t nl = strlen(node);

	out[0] = '\0';
	while (*p != '\0') {
		const char *e = strchr(p, '\n');
		size_t ll = e ? (size_t)(e - p) : strlen(p);

		if (ll > nl + 2 && strncmp(p, node, nl) == 0 && p[nl] == ':' &&
		    p[nl + 1] == ' ') {
			fleet_fmt(out, len, "gate: %.*s", (int)(ll - nl - 2),
			    p + nl + 2);
			return out;
		}
		if (e == NULL)
			break;
		p = e + 1;
	}
	return NULL;
}

static void
add_time(cJSON *o, const char *k, time_t t)
{
	char ts[32];
	struct tm tm;

	if (t == 0)
		return;
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddStringToObject(o, k, ts);
}

static cJSON *
step_json(const struct rollout_step_def *d, const struct journal_step *st,
    enum journal_state state, const char *reason)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "step", d->name);
	cJSON_AddStringToObject(o, "state", journal_state_name(state));
	if (st->run)
		cJSON_AddNumberToObject(o, "run", (double)st->run);
	cJSON_AddNumberToObject(o, "attempts", st->attempts);
	add_time(o, "started", st->started);
	add_time(o, "finished", st->finished);
	if (st->state == JS_DONE || st->state == JS_FAILED)
		cJSON_AddNumberToObject(o, "elapsed", st->elapsed);
	if (reason[0])
		cJSON_AddStringToObject(o, "reason", reason);
	if (st->warnings[0])
		cJSON_AddStringToObject(o, "warnings", st->warnings);
	return o;
}

/* A state folded over a node's steps: failed > running > pending > done. */
static void
fold(enum journal_state *acc, char *reason, size_t len, enum journal_state s,
    const char *step, const char *why)
{
	static const int rank[] = { 2, 3, 1, 4 };	/* pending running done failed */

	if (rank[s] > rank[*acc]) {
		*acc = s;
		if (s == JS_FAILED || s == JS_RUNNING)
			fleet_fmt(reason, len, "%s: %s", step, why);
	}
}

/* A plan item's place in the status: phase, node (n_nodes: the
 * appliance's own steps), then plan order. */
struct item_key {
	int phase;
	size_t node, i;
};

static int
item_key_cmp(const void *pa, const void *pb)
{
	const struct item_key *a = pa, *b = pb;

	if (a->phase != b->phase)
		return a->phase < b->phase ? -1 : 1;
	if (a->node != b->node)
		return a->node < b->node ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

int
rollout_status_json(struct store_txn *t, const struct inventory *inv,
    const char *state, void *rootp)
{
	struct item_key *keys = NULL;
	size_t cur = 0;
	cJSON *root = rootp, *ro, *phases, *ph, *nodes, *no, *steps, *gj, *rj;
	struct rollout_plan plan;
	struct journal_run run;
	struct journal_gate g;
	struct journal_step st;
	int live, p, r;
	size_t i, k;
	if ((ro = cJSON_AddObjectToObject(root, "rollout")) == NULL)
		return SLW_ERR_NOMEM;
	r = journal_run_get(t, ROLLOUT_OP, &run);
	if (r != 0 && r != SLW_ERR_NOTFOUND)
		return r;
	/* a run is live while its process holds the operation lock */
	live = 0;
	if (r == 0 && state != NULL) {
		long holder = 0;

		live = journal_lock_holder(state, &holder, NULL, 0) &&
		    holder == run.pid;
	}
	if (r == 0) {
		const char *rs = journal_state_name(run.state);

		if (run.state == JS_RUNNING && !live)
			rs = "interrupted";
		rj = cJSON_AddObjectToObject(ro, "run");
		cJSON_AddNumberToObject(rj, "id", (double)run.id);
		cJSON_AddStringToObject(rj, "state", rs);
		cJSON_AddNumberToObject(rj, "pid", (double)run.pid);
		add_time(rj, "started", run.started);
		add_time(rj, "finished", run.finished);
		cJSON_AddNumberToObject(rj, "parallel", run.parallel);
		if (run.phase[0])
			cJSON_AddStringToObject(rj, "phase", run.phase);
		if (run.reason[0])
			cJSON_AddStringToObject(rj, "reason", run.reason);
	}
	if ((r = rollout_plan_build(inv, &plan)) != 0)
		return r;
	/* each node's items of a phase in one pass, not a scan per node */
	if ((keys = calloc(plan.n + 1, sizeof(*keys))) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < plan.n; i++) {
		keys[i].phase = (int)plan.items[i].def->phase;
		keys[i].node = plan.items[i].node != NULL ?
		    (size_t)(plan.items[i].node - inv->nodes) : inv->n_nodes;
		keys[i].i = i;
	}
	qsort(keys, plan.n, sizeof(*keys), item_key_cmp);
	phases = cJSON_AddArrayToObject(ro, "phases");
	for (p = 0; p < PH__COUNT; p++) {
		enum journal_state pstate = JS_DONE;
		char preason[JOURNAL_REASON_MAX + 64] = "";

		if ((r = journal_gate_get(t, ROLLOUT_OP,
		    rollout_phase_name((enum rollout_phase)p), &g)) != 0)
			goto out;
		ph = cJSON_CreateObject();
		cJSON_AddItemToArray(phases, ph);
		cJSON_AddStringToObject(ph, "phase",
		    rollout_phase_name((enum rollout_phase)p));
		nodes = cJSON_AddArrayToObject(ph, "nodes");
		/* Nodes, then the appliance's own steps ("-"). */
		for (k = 0; k <= inv->n_nodes; k++) {
			const struct inv_node *n = k < inv->n_nodes ?
			    &inv->nodes[k] : NULL;
			const char *name = n ? n->name : FLEET_APPLIANCE;
			enum journal_state ns = JS_DONE;
			char nreason[JOURNAL_REASON_MAX + 64] = "", gr[600];
			int any = 0, nwarn = 0;

			for (; cur < plan.n && (keys[cur].phase < p ||
			    (keys[cur].phase == p && keys[cur].node < k)); cur++)
				;
			for (; cur < plan.n && keys[cur].phase == p &&
			    keys[cur].node == k; cur++) {
				const struct rollout_item *it =
				    &plan.items[keys[cur].i];
				enum journal_state s;
				char why[JOURNAL_REASON_MAX + 64];

				if (!any) {
					no = cJSON_CreateObject();
					cJSON_AddItemToArray(nodes, no);
					cJSON_AddStringToObject(no, "node",
					    n ? name : "appliance");
					steps = cJSON_AddArrayToObject(no, "steps");
					any = 1;
				}
				if ((r = journal_step_get(t, ROLLOUT_OP,
				    rollout_phase_name((enum rollout_phase)p), name,
				    it->def->name, &st)) != 0)
					goto out;
				s = st.state;
				fleet_fmt(why, sizeof(why), "%s", st.reason);
				if (s == JS_RUNNING && !live) {
					s = JS_FAILED;
					fleet_fmt(why, sizeof(why), "interrupted: run %llu "
					    "ended before this step finished",
					    (unsigned long long)st.run);
				} else if (s == JS_RUNNING)
					fleet_fmt(why, sizeof(why), "running (run %llu)",
					    (unsigned long long)st.run);
				cJSON_AddItemToArray(steps, step_json(it->def, &st, s,
				    why));
				fold(&ns, nreason, sizeof(nreason), s, it->def->name,
				    why);
				if (st.warnings[0] != '\0')
					nwarn++;
			}
			if (!any)
				continue;
			/* Steps done, but the gate names this node. */
			if (ns == JS_DONE && g.state == JS_FAILED && n != NULL &&
			    gate_node_reason(&g, name, gr, sizeof(gr)) != NULL) {
				ns = JS_FAILED;
				fleet_fmt(nreason, sizeof(nreason), "%s", gr);
			}
			cJSON_AddStringToObject(no, "state", journal_state_name(ns));
			if (nreason[0])
				cJSON_AddStringToObject(no, "reason", nreason);
			if (nwarn > 0)
				cJSON_AddNumberToObject(no, "warnings", nwarn);
			fold(&pstate, preason, sizeof(preason), ns, name, nreason);
		}
		gj = cJSON_AddObjectToObject(ph, "gate");
		cJSON_AddStringToObject(gj, "state", g.state == JS_DONE ? "passed" :
		    g.state == JS_FAILED ? "failed" : "pending");
		if (g.reason[0])
			cJSON_AddStringToObject(gj, "reason", g.reason);
		if (g.nodes[0])
			cJSON_AddStringToObject(gj, "nodes", g.nodes);
		add_time(gj, "checked", g.checked);
		if (g.run)
			cJSON_AddNumberToObject(gj, "run", (double)g.run);
		/* The phase is done when every node is and its gate passed. */
		if (pstate == JS_DONE && g.state == JS_FAILED) {
			pstate = JS_FAILED;
			fleet_fmt(preason, sizeof(preason), "gate: %s", g.reason);
		} else if (pstate == JS_DONE && g.state != JS_DONE) {
			pstate = JS_PENDING;
			fleet_fmt(preason, sizeof(preason), "waiting for its gate");
		}
		cJSON_AddStringToObject(ph, "state", journal_state_name(pstate));
		if (preason[0] && pstate != JS_DONE)
			cJSON_AddStringToObject(ph, "reason", preason);
	}
	r = 0;
 out:
	free(keys);
	rollout_plan_free(&plan);
	return r;
}

static const char *
js(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

void
rollout_status_print(const void *rootp, int verbose)
{
	const cJSON *ro = cJSON_GetObjectItemCaseSensitive(rootp, "rollout");
	const cJSON *run = cJSON_GetObjectItemCaseSensitive(ro, "run");
	const cJSON *ph, *no, *st, *g;

	if (ro == NULL)
		return;
	if (run != NULL)
		printf("last run: %.0f, %s, started %s%s%s%s%s\n",
		    cJSON_GetObjectItemCaseSensitive(run, "id")->valuedouble,
		    js(run, "state"), js(run, "started"),
		    js(run, "finished")[0] ? ", finished " : "", js(run, "finished"),
		    js(run, "reason")[0] ? "\n  " : "", js(run, "reason"));
	else
		printf("no rollout has run yet\n");
	printf("%-8s %-10s %-8s %s\n", "PHASE", "NODE", "STATE", "REASON");
	cJSON_ArrayForEach(ph, cJSON_GetObjectItemCaseSensitive(ro, "phases")) {
		cJSON_ArrayForEach(no, cJSON_GetObjectItemCaseSensitive(ph,
		    "nodes")) {
			const cJSON *w = cJSON_GetObjectItemCaseSensitive(no,
			    "warnings");

			if (js(no, "reason")[0] == '\0' && cJSON_IsNumber(w))
				printf("%-8s %-10s %-8s %d step%s with warnings%s\n",
				    js(ph, "phase"), js(no, "node"), js(no, "state"),
				    w->valueint, w->valueint > 1 ? "s" : "",
				    verbose ? "" : " (--verbose)");
			else
				printf("%-8s %-10s %-8s %s\n", js(ph, "phase"),
				    js(no, "node"), js(no, "state"), js(no, "reason"));
			if (!verbose)
				continue;
			cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(no,
			    "steps"))
				printf("%-8s %-10s   %-24s %-8s %s%s%s\n", "", "",
				    js(st, "step"), js(st, "state"), js(st, "reason"),
				    js(st, "warnings")[0] ? " warnings: " : "",
				    js(st, "warnings"));
		}
		g = cJSON_GetObjectItemCaseSensitive(ph, "gate");
		printf("%-8s %-10s %-8s %s\n", js(ph, "phase"), "(gate)",
		    js(g, "state"), js(g, "reason"));
	}
}
