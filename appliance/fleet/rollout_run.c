// SPDX-License-Identifier: Apache-2.0
/*
 * rollout_run.c: executes the plan phase by phase on the fleet engine:
 * each node's pending steps over one SSH connection, at most --parallel
 * nodes at a time; then the phase's gate, measured by the appliance. Every
 * state change goes to the journal first, so a crash, a failed step or a
 * failed gate leaves a state from which the next run resumes at the step
 * that did not finish; finished steps are never run again. Must never let
 * a token or key reach a progress line, the journal or an error.
 */
#include "rollout_int.h"
#include "audit.h"
#include "rand.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_PARALLEL 10

/* progress lines of phase p */
#define PROGRESS(ro, p, ...) \
	fleet_progress(&(ro)->f, rollout_phase_name(p), __VA_ARGS__)

/* ---- step state ---- */

struct step_arg {
	enum rollout_phase p;
	const char *node, *step;
	struct journal_step *st;
};

static int
step_txn(struct store_txn *t, void *arg)
{
	struct step_arg *a = arg;

	return journal_step_put(t, rollout_phase_name(a->p), a->node, a->step,
	    a->st);
}

static int
step_save(struct rollout *ro, enum rollout_phase p, const char *node,
    const char *step, struct journal_step *st)
{
	struct step_arg a = { p, node, step, st };

	return store_submit(ro->s, step_txn, &a, NULL);
}

static int
stepget_txn(struct store_txn *t, void *arg)
{
	struct step_arg *a = arg;

	return journal_step_get(t, rollout_phase_name(a->p), a->node, a->step,
	    a->st);
}

static int
step_load(struct rollout *ro, enum rollout_phase p, const char *node,
    const char *step, struct journal_step *st)
{
	struct step_arg a = { p, node, step, st };

	return store_read(ro->s, stepget_txn, &a, NULL);
}

/* ---- one step ---- */

static int
run_bundle(struct rollout *ro, struct ssh_conn *c, const struct inv_node *n,
    const struct rollout_step_def *def, struct buf *out, struct slw_diag *d)
{
	struct buf line = { 0 }, tok = { 0 }, script = { 0 };
	int r;

	if ((r = rollout_oneliner(ro, n, &line, &tok, d)) != 0)
		return r;
	if ((r = buf_appendf(&script, "set -e\n%s\n",
	    (const char *)line.data)) == 0)
		r = fleet_remote_run(&ro->f, c, rollout_phase_name(def->phase), n,
		    def->name, (const char *)script.data,
		    (const char *)tok.data, def->timeout_s, out, d);
	if (r == FLEET_ERR_EXIT && out->data != NULL) {
		/* curl's own line says more than tar's complaint after it. */
		const char *cl = strstr((const char *)out->data, "curl: (");

		if (cl != NULL)
			slw_diag_set(d, r, "cannot fetch the bundle from the "
			    "endpoint (is 'slipway serve' running and reachable from "
			    "the node?): %.*s", (int)strcspn(cl, "\n"), cl);
	}
	buf_free(&script);
	buf_free(&line);
	buf_free(&tok);
	return r;
}

/*
 * Runs one step on a node (connecting if needed) and journals it. Returns
 * 0 if the step is done (now or before).
 */
static int
run_step(struct rollout *ro, const struct rollout_item *it,
    struct ssh_conn **c, struct slw_diag *d)
{
	const struct rollout_step_def *def = it->def;
	const struct inv_node *n = it->node;
	struct journal_step st;
	struct buf out = { 0 }, script = { 0 };
	int64_t t0;
	int r;

	if ((r = step_load(ro, def->phase, n->name, def->name, &st)) != 0)
		return slw_diag(d, r, "%s: cannot read the journal", n->name);
	if (st.state == JS_DONE) {
		PROGRESS(ro, def->phase, n->name, def->name,
		    "done earlier (run %llu)", (unsigned long long)st.run);
		return 0;
	}
	st.state = JS_RUNNING;
	st.run = ro->run.id;
	st.attempts++;
	st.started = slw_now();
	st.finished = 0;
	st.exit_status = -1;
	st.reason[0] = st.warnings[0] = '\0';
	if ((r = step_save(ro, def->phase, n->name, def->name, &st)) != 0)
		return slw_diag(d, r, "%s: cannot write the journal", n->name);
	t0 = fleet_now_ms();
	PROGRESS(ro, def->phase, n->name, def->name, "running");
	if (*c == NULL)
		r = fleet_remote_connect(&ro->f, n, c, d);
	if (r == 0) {
		if (def->kind == STEP_BUNDLE)
			r = run_bundle(ro, *c, n, def, &out, d);
		else if ((r = def->script(ro->inv, n, slw_now(), &script)) == 0)
			r = fleet_remote_run(&ro->f, *c,
			    rollout_phase_name(def->phase), n, def->name,
			    (const char *)script.data, NULL, def->timeout_s, &out, d);
		if (r != 0 && r != FLEET_ERR_EXIT) {
			/* A broken or timed-out session is not reused. */
			ssh_close(*c);
			*c = NULL;
		}
	}
	st.elapsed = (double)(fleet_now_ms() - t0) / 1000.0;
	st.finished = slw_now();
	st.state = r == 0 ? JS_DONE : JS_FAILED;
	if (r != 0)
		fleet_fmt(st.reason, sizeof(st.reason), "%s", slw_diag_str(d, r));
	st.exit_status = r == 0 ? 0 : st.exit_status;
	if (out.data != NULL)
		fleet_remote_warnings(out.data, out.len, st.warnings,
		    sizeof(st.warnings));
	if (step_save(ro, def->phase, n->name, def->name, &st) != 0 && r == 0)
		r = slw_diag(d, SLW_ERR_STORE, "%s: cannot write the journal",
		    n->name);
	if (r == 0)
		PROGRESS(ro, def->phase, n->name, def->name,
		    "done (%.1fs)%s%s", st.elapsed, st.warnings[0] ? "; warnings: " :
		    "", st.warnings);
	else
		PROGRESS(ro, def->phase, n->name, def->name,
		    "FAILED (%.1fs): %s", st.elapsed, st.reason);
	buf_free(&out);
	buf_free(&script);
	return r;
}

static int
run_action(struct rollout *ro, const struct rollout_step_def *def,
    struct slw_diag *d)
{
	struct journal_step st;
	struct slw_diag ad;
	int64_t t0;
	int r;

	if ((r = step_load(ro, def->phase, FLEET_APPLIANCE, def->name, &st))
	    != 0)
		return r;
	if (st.state == JS_DONE) {
		PROGRESS(ro, def->phase, "appliance", def->name,
		    "done earlier (run %llu)", (unsigned long long)st.run);
		return 0;
	}
	st.state = JS_RUNNING;
	st.run = ro->run.id;
	st.attempts++;
	st.started = slw_now();
	st.reason[0] = '\0';
	if ((r = step_save(ro, def->phase, FLEET_APPLIANCE, def->name, &st))
	    != 0)
		return r;
	PROGRESS(ro, def->phase, "appliance", def->name, "running");
	t0 = fleet_now_ms();
	slw_diag_clear(&ad);
	r = def->action(ro, &ad);
	st.elapsed = (double)(fleet_now_ms() - t0) / 1000.0;
	st.finished = slw_now();
	st.state = r == 0 ? JS_DONE : JS_FAILED;
	st.exit_status = r == 0 ? 0 : 1;
	fleet_fmt(st.reason, sizeof(st.reason), "%s", r == 0 ? "" :
	    slw_diag_str(&ad, r));
	fleet_record_action(&ro->f, rollout_phase_name(def->phase), def->name,
	    def->what,
	    ad.msg[0] ? ad.msg : (r == 0 ? "ok" : slw_diag_str(&ad, r)),
	    r == 0, st.elapsed);
	step_save(ro, def->phase, FLEET_APPLIANCE, def->name, &st);
	if (r == 0)
		PROGRESS(ro, def->phase, "appliance", def->name,
		    "done (%.1fs): %s", st.elapsed, ad.msg);
	else {
		PROGRESS(ro, def->phase, "appliance", def->name,
		    "FAILED (%.1fs): %s", st.elapsed, st.reason);
		slw_diag(d, r, "%s: %s", def->name, st.reason);
	}
	return r;
}

/* ---- a phase: nodes in parallel ---- */

/* The node steps of a phase, and its failures. */
struct pool {
	struct rollout *ro;
	enum rollout_phase p;
	pthread_mutex_t mu;
	size_t n_failed;
	char failed[JOURNAL_REASON_MAX];	/* first failure */
	char failed_nodes[256];
};

/* One node's steps of the phase, in order (fleet_parallel's callback). */
static void
node_steps(void *arg, const struct inv_node *n)
{
	struct pool *pl = arg;
	struct rollout *ro = pl->ro;
	struct ssh_conn *c = NULL;
	struct slw_diag d;
	size_t i;
	int r = 0;

	for (i = 0; i < ro->plan.n && r == 0; i++) {
		const struct rollout_item *it = &ro->plan.items[i];

		if (it->node != n || it->def->phase != pl->p)
			continue;
		slw_diag_clear(&d);
		if ((r = run_step(ro, it, &c, &d)) != 0) {
			pthread_mutex_lock(&pl->mu);
			if (pl->n_failed++ == 0)
				fleet_fmt(pl->failed, sizeof(pl->failed), "%s: %s: %s",
				    n->name, it->def->name, slw_diag_str(&d, r));
			{
				size_t used = strlen(pl->failed_nodes);

				fleet_fmt(pl->failed_nodes + used,
				    sizeof(pl->failed_nodes) - used, "%s%s",
				    used ? "," : "", n->name);
			}
			pthread_mutex_unlock(&pl->mu);
		}
	}
	ssh_close(c);
}

static int
phase_pending(struct rollout *ro, enum rollout_phase p, size_t *pending)
{
	struct journal_step st;
	size_t i;
	int r;

	*pending = 0;
	for (i = 0; i < ro->plan.n; i++) {
		const struct rollout_item *it = &ro->plan.items[i];

		if (it->def->phase != p)
			continue;
		if ((r = step_load(ro, p, it->node ? it->node->name :
		    FLEET_APPLIANCE, it->def->name, &st)) != 0)
			return r;
		if (st.state != JS_DONE)
			(*pending)++;
	}
	return 0;
}

struct gate_arg {
	enum rollout_phase p;
	const struct journal_gate *g;
};

static int
gate_txn(struct store_txn *t, void *arg)
{
	struct gate_arg *a = arg;

	return journal_gate_put(t, rollout_phase_name(a->p), a->g);
}

static int
run_node_steps(struct rollout *ro, enum rollout_phase p, struct pool *pl)
{
	const struct inv_node **nodes;
	size_t i, n = 0;

	memset(pl, 0, sizeof(*pl));
	pl->ro = ro;
	pl->p = p;
	if ((nodes = calloc(ro->inv->n_nodes + 1, sizeof(*nodes))) == NULL)
		return SLW_ERR_NOMEM;
	for (i = 0; i < ro->inv->n_nodes; i++)
		if (rollout_phase_includes(p, &ro->inv->nodes[i]))
			nodes[n++] = &ro->inv->nodes[i];
	pthread_mutex_init(&pl->mu, NULL);
	fleet_parallel(nodes, n, ro->o->parallel > 0 ? ro->o->parallel :
	    DEFAULT_PARALLEL, node_steps, pl);
	pthread_mutex_destroy(&pl->mu);
	free(nodes);
	return 0;
}

/*
 * One phase: appliance steps before the gate, node steps, the gate, then
 * appliance steps after it. Returns 0 if the phase is complete.
 */
static int
run_phase(struct rollout *ro, enum rollout_phase p, struct slw_diag *d)
{
	struct pool pl;
	struct journal_gate g;
	struct gate_arg ga;
	size_t i, pending = 0;
	int64_t t0 = fleet_now_ms();
	int r;

	ro->f.phase = rollout_phase_name(p);
	if ((r = phase_pending(ro, p, &pending)) != 0)
		return slw_diag(d, r, "cannot read the journal");
	PROGRESS(ro, p, "", "phase", pending ? "start: %zu steps to do" :
	    "every step done earlier; checking the gate again", pending);
	for (i = 0; i < ro->plan.n; i++) {
		const struct rollout_item *it = &ro->plan.items[i];

		if (it->def->phase == p && it->def->kind == STEP_APPLIANCE &&
		    !it->def->after_gate && (r = run_action(ro, it->def, d)) != 0)
			goto failed_steps;
	}
	if ((r = run_node_steps(ro, p, &pl)) != 0)
		return r;
	if (pl.n_failed > 0) {
		if (pl.n_failed > 1)
			slw_diag_set(d, SLW_ERR_DENIED, "%zu nodes failed (%s), first "
			    "%s", pl.n_failed, pl.failed_nodes, pl.failed);
		else
			slw_diag_set(d, SLW_ERR_DENIED, "%s", pl.failed);
		goto failed_steps;
	}
	PROGRESS(ro, p, "", "gate", "checking");
	if ((r = rollout_gate(ro, p, &g, d)) == 0)
		PROGRESS(ro, p, "", "gate", "passed (%.1fs): %s",
		    g.elapsed, g.reason);
	else
		PROGRESS(ro, p, "", "gate", "FAILED (%.1fs): %s",
		    g.elapsed, slw_diag_str(d, r));
	ga.p = p;
	ga.g = &g;
	if (store_submit(ro->s, gate_txn, &ga, NULL) != 0 && r == 0)
		r = slw_diag(d, SLW_ERR_STORE, "cannot write the journal");
	if (r != 0)
		return r;
	for (i = 0; i < ro->plan.n; i++) {
		const struct rollout_item *it = &ro->plan.items[i];
		struct slw_diag ad;

		slw_diag_clear(&ad);
		if (it->def->phase == p && it->def->kind == STEP_APPLIANCE &&
		    it->def->after_gate && (r = run_action(ro, it->def, &ad)) != 0)
			return slw_diag(d, r, "stopped in the %s phase after its gate "
			    "passed, nothing after it was started: %s",
			    rollout_phase_name(p), slw_diag_str(&ad, r));
	}
	PROGRESS(ro, p, "", "phase", "done (%.1fs)",
	    (double)(fleet_now_ms() - t0) / 1000.0);
	return 0;
 failed_steps:
	/* The gate is not passed while a step of the phase failed. */
	memset(&g, 0, sizeof(g));
	g.state = JS_FAILED;
	g.run = ro->run.id;
	g.checked = slw_now();
	fleet_fmt(g.reason, sizeof(g.reason), "not checked: %s",
	    slw_diag_str(d, SLW_ERR_DENIED));
	ga.p = p;
	ga.g = &g;
	store_submit(ro->s, gate_txn, &ga, NULL);
	return SLW_ERR_DENIED;
}

/* ---- the run ---- */

struct runrec_arg {
	struct journal_run *run;
	int begin;
	const char *actor;
};

static int
runrec_txn(struct store_txn *t, void *arg)
{
	struct runrec_arg *a = arg;
	struct journal_run prev;
	char obj[32], detail[AUDIT_DETAIL_MAX];
	int r;

	if (a->begin) {
		if ((r = journal_run_get(t, &prev)) != 0 && r != SLW_ERR_NOTFOUND)
			return r;
		a->run->id = (r == 0 ? prev.id : 0) + 1;
	}
	if ((r = journal_run_put(t, a->run)) != 0)
		return r;
	fleet_fmt(obj, sizeof(obj), "run %llu", (unsigned long long)a->run->id);
	if (a->begin)
		fleet_fmt(detail, sizeof(detail), "started: %s, parallel %d",
		    a->run->phase[0] ? a->run->phase : "every phase",
		    a->run->parallel);
	else
		fleet_fmt(detail, sizeof(detail), "%s%s%s",
		    a->run->state == JS_DONE ? "complete" : "stopped",
		    a->run->reason[0] ? ": " : "", a->run->reason);
	return audit_append(t, a->actor, "rollout.run", obj, detail);
}

int
rollout_run(struct store *s, const struct inventory *inv,
    const struct rollout_opts *o, struct slw_diag *d)
{
	struct rollout ro;
	struct runrec_arg ra;
	enum rollout_phase first = PH_PREPARE, last = PH__COUNT - 1, p;
	int lockfd = -1, created = 0, r;

	memset(&ro, 0, sizeof(ro));
	ro.s = s;
	ro.inv = inv;
	ro.o = o;
	if ((r = fleet_init(&ro.f, s, inv, &o->fleet)) != 0)
		goto out;
	if ((r = journal_lock_take(o->state, &lockfd, d)) != 0)
		goto out;
	if ((r = rollout_plan_build(inv, &ro.plan)) != 0)
		goto out;
	if ((r = fleet_keys(&ro.f, &created, d)) != 0)
		goto out;
	if (created && !o->fleet.quiet)
		printf("created the appliance's ssh key; authorize it on every "
		    "node (slipway ssh pubkey)\n");
	if (o->have_phase)
		first = last = o->phase;
	ro.run.pid = (long)getpid();
	ro.run.started = slw_now();
	ro.run.state = JS_RUNNING;
	ro.run.parallel = o->parallel > 0 ? o->parallel : DEFAULT_PARALLEL;
	fleet_fmt(ro.run.phase, sizeof(ro.run.phase), "%s", o->have_phase ?
	    rollout_phase_name(o->phase) : "");
	ra.run = &ro.run;
	ra.begin = 1;
	ra.actor = o->fleet.actor;
	if ((r = store_write(s, runrec_txn, &ra, d)) != 0)
		goto out;
	ro.f.run = ro.run.id;	/* what the engine records belongs to it */
	if (!o->fleet.quiet) {
		printf("rollout run %llu: %zu nodes, parallel %d%s%s\n",
		    (unsigned long long)ro.run.id, inv->n_nodes, ro.run.parallel,
		    o->have_phase ? ", phase " : "", ro.run.phase);
		fflush(stdout);
	}
	/* With --phase, every earlier phase must be complete. */
	for (p = PH_PREPARE; p < first; p++) {
		size_t pending;

		if ((r = phase_pending(&ro, p, &pending)) != 0)
			goto fin;
		if (pending > 0) {
			r = slw_diag(d, SLW_ERR_INVALID, "phase %s has %zu steps not "
			    "done; run it first (slipway rollout run --phase %s)",
			    rollout_phase_name(p), pending, rollout_phase_name(p));
			goto fin;
		}
	}
	for (p = first; p <= last; p++) {
		struct slw_diag pd;

		slw_diag_clear(&pd);
		if ((r = run_phase(&ro, p, &pd)) != 0) {
			if (strncmp(pd.msg, "stopped ", 8) == 0)
				slw_diag(d, r, "%s", pd.msg);
			else
				slw_diag(d, r, "stopped at the %s gate, nothing after it "
				    "was started: %s", rollout_phase_name(p),
				    slw_diag_str(&pd, r));
			goto fin;
		}
	}
	r = 0;
 fin:
	ro.run.finished = slw_now();
	ro.run.state = r == 0 ? JS_DONE : JS_FAILED;
	fleet_fmt(ro.run.reason, sizeof(ro.run.reason), "%s", r == 0 ? "" :
	    slw_diag_str(d, r));
	ra.begin = 0;
	if (store_write(s, runrec_txn, &ra, NULL) != 0 && r == 0)
		r = slw_diag(d, SLW_ERR_STORE, "cannot write the journal");
	if (!o->fleet.quiet) {
		printf("rollout run %llu: %s in %.1fs\n",
		    (unsigned long long)ro.run.id, r == 0 ? "complete" : "stopped",
		    (double)(fleet_now_ms() - ro.f.t0) / 1000.0);
		fflush(stdout);
	}
 out:
	fleet_fini(&ro.f);
	rollout_plan_free(&ro.plan);
	if (lockfd >= 0)
		close(lockfd);
	return r;
}
