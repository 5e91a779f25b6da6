// SPDX-License-Identifier: Apache-2.0
/*
 * rollout_run.c: the rollout as an operation of the fleet engine (op.h):
 * per phase, the appliance's steps before the gate, every node's steps
 * (over one SSH connection each, at most --parallel nodes at a time), the
 * gate measured by the appliance, and the appliance's steps after it. The
 * engine journals every step first, so a crash, a failed step or a failed
 * gate leaves a state from which the next run resumes at the step that did
 * not finish; finished steps are never run again, gates are checked again.
 * Must never let a token or key reach a progress line, the journal or an
 * error.
 */
#include "rollout_int.h"
#include "deliver.h"
#include "rand.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the steps, as the engine calls them ---- */

static int
item_bundle(struct fleet_op *op, const struct op_item *it,
    struct ssh_conn **c, struct buf *out, struct slw_diag *d)
{
	struct rollout *ro = op->ctx;
	const struct rollout_step_def *def = it->arg;
	struct buf line = { 0 }, tok = { 0 }, script = { 0 };
	int r;

	if ((r = rollout_oneliner(ro, it->node, &line, &tok, d)) != 0)
		return r;
	/* and the trust it installed, read back (deliver.h) */
	if ((r = buf_appendf(&script, "set -e\n%s\ncd / && sha256sum --",
	    (const char *)line.data)) == 0 &&
	    (r = fleet_deliver_trust_paths(it->node, &script)) == 0 &&
	    (r = buf_appendf(&script, "\n")) == 0)
		r = fleet_remote_run(ro->f, *c, it->stage, it->node, def->name,
		    (const char *)script.data, (const char *)tok.data,
		    def->timeout_s, out, d);
	if (r == 0 && out->data != NULL) {
		struct slw_diag nd;

		slw_diag_clear(&nd);
		(void)fleet_deliver_note_trust(ro->s, it->node, out, &nd);
	}
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

static int
item_remote(struct fleet_op *op, const struct op_item *it,
    struct ssh_conn **c, struct buf *out, struct slw_diag *d)
{
	struct rollout *ro = op->ctx;
	const struct rollout_step_def *def = it->arg;
	struct buf script = { 0 };
	int r;

	if ((r = def->script(ro->inv, it->node, slw_now(), &script)) == 0)
		r = fleet_remote_run(ro->f, *c, it->stage, it->node, def->name,
		    (const char *)script.data, NULL, def->timeout_s, out, d);
	buf_free(&script);
	return r;
}

static int
item_action(struct fleet_op *op, const struct op_item *it,
    struct ssh_conn **c, struct buf *out, struct slw_diag *d)
{
	struct rollout *ro = op->ctx;
	const struct rollout_step_def *def = it->arg;
	struct slw_diag ad;
	int64_t t0 = fleet_now_ms();
	int r;

	(void)c;
	(void)out;
	slw_diag_clear(&ad);
	r = def->action(ro, &ad);
	fleet_record_action(ro->f, it->stage, def->name, def->what,
	    ad.msg[0] ? ad.msg : (r == 0 ? "ok" : slw_diag_str(&ad, r)),
	    r == 0, (double)(fleet_now_ms() - t0) / 1000.0);
	if (r != 0)
		return slw_diag(d, r, "%s", slw_diag_str(&ad, r));
	slw_diag_set(d, 0, "%s", ad.msg);
	return 0;
}

struct gate_arg {
	const char *phase;
	const struct journal_gate *g;
};

static int
gate_txn(struct store_txn *t, void *arg)
{
	struct gate_arg *a = arg;

	return journal_gate_put(t, ROLLOUT_OP, a->phase, a->g);
}

static int
gate_save(struct rollout *ro, const char *phase, const struct journal_gate *g)
{
	struct gate_arg a = { phase, g };

	return store_submit(ro->s, gate_txn, &a, NULL);
}

static int
item_gate(struct fleet_op *op, const struct op_item *it,
    struct ssh_conn **c, struct buf *out, struct slw_diag *d)
{
	struct rollout *ro = op->ctx;
	struct journal_gate g;
	int r;

	(void)c;
	(void)out;
	r = rollout_gate(ro, (enum rollout_phase)it->u, &g, d);
	if (gate_save(ro, it->stage, &g) != 0 && r == 0)
		r = slw_diag(d, SLW_ERR_STORE, "cannot write the journal");
	if (r == 0)
		slw_diag_set(d, 0, "passed: %s", g.reason);
	return r;
}

/* ---- the plan, as the engine's items ---- */

static int
add(struct rollout *ro, const struct rollout_step_def *def,
    const struct inv_node *n, unsigned int group, unsigned int flags,
    op_fn *fn, uintptr_t u)
{
	struct op_item it;

	memset(&it, 0, sizeof(it));
	fleet_fmt(it.stage, sizeof(it.stage), "%s",
	    rollout_phase_name(def != NULL ? def->phase : (enum rollout_phase)u));
	it.node = n;
	fleet_fmt(it.step, sizeof(it.step), "%s", def != NULL ? def->name :
	    "gate");
	it.what = def != NULL ? def->what : "the phase's gate";
	it.timeout_s = def != NULL ? def->timeout_s : 0;
	it.group = group;
	it.flags = flags;
	it.fn = fn;
	it.arg = def;
	it.u = u;
	return op_plan_add(&ro->op.plan, &it);
}

static int
build(struct rollout *ro)
{
	unsigned int g = 0;
	size_t i;
	int p, r;

	for (p = 0; p < PH__COUNT; p++) {
		/* the appliance's steps before the gate */
		g++;
		for (i = 0; i < ro->plan.n; i++) {
			const struct rollout_item *ri = &ro->plan.items[i];

			if ((int)ri->def->phase == p && ri->node == NULL &&
			    !ri->def->after_gate && (r = add(ro, ri->def, NULL, g, 0,
			    item_action, 0)) != 0)
				return r;
		}
		/* every node's steps */
		g++;
		for (i = 0; i < ro->plan.n; i++) {
			const struct rollout_item *ri = &ro->plan.items[i];

			if ((int)ri->def->phase != p || ri->node == NULL)
				continue;
			if ((r = add(ro, ri->def, ri->node, g, OPI_SSH,
			    ri->def->kind == STEP_BUNDLE ? item_bundle : item_remote,
			    0)) != 0)
				return r;
		}
		/* the gate, measured again on every run */
		g++;
		if ((r = add(ro, NULL, NULL, g, OPI_REPEAT, item_gate,
		    (uintptr_t)p)) != 0)
			return r;
		/* the appliance's steps after it */
		g++;
		for (i = 0; i < ro->plan.n; i++) {
			const struct rollout_item *ri = &ro->plan.items[i];

			if ((int)ri->def->phase == p && ri->node == NULL &&
			    ri->def->after_gate && (r = add(ro, ri->def, NULL, g, 0,
			    item_action, 0)) != 0)
				return r;
		}
	}
	return 0;
}

/*
 * One node's steps of every phase it takes part in, a group per phase, as
 * an operation other than the rollout runs them (inventory apply adding a
 * node): ro->plan is the rollout's plan over ro->inv.
 */
int
rollout_node_items(struct rollout *ro, const struct inv_node *n,
    unsigned int *group)
{
	size_t i;
	int p, r;

	for (p = 0; p < PH__COUNT; p++) {
		int any = 0;

		for (i = 0; i < ro->plan.n; i++) {
			const struct rollout_item *ri = &ro->plan.items[i];

			if ((int)ri->def->phase != p || ri->node != n)
				continue;
			if (!any++)
				(*group)++;
			if ((r = add(ro, ri->def, n, *group, OPI_SSH,
			    ri->def->kind == STEP_BUNDLE ? item_bundle : item_remote,
			    0)) != 0)
				return r;
		}
	}
	return 0;
}

/* The gate is not passed while a step of its phase failed. */
static void
gate_not_checked(struct rollout *ro, const char *phase, const char *why)
{
	struct journal_gate g;

	memset(&g, 0, sizeof(g));
	g.state = JS_FAILED;
	g.run = ro->op.run.id;
	g.checked = slw_now();
	fleet_fmt(g.reason, sizeof(g.reason), "not checked: %s", why);
	(void)gate_save(ro, phase, &g);
}

/* ---- the run ---- */

int
rollout_run(struct store *s, const struct inventory *inv,
    const struct rollout_opts *o, struct slw_diag *d)
{
	struct rollout ro;
	struct fleet_op_opts oo;
	struct slw_diag rd;
	enum rollout_phase p;
	int r;

	memset(&ro, 0, sizeof(ro));
	memset(&oo, 0, sizeof(oo));
	oo.fleet = o->fleet;
	oo.state = o->state;
	oo.parallel = o->parallel;
	oo.gate_timeout_s = o->gate_timeout_s;
	oo.command = "slipway rollout run";
	oo.audit_action = "rollout.run";
	oo.only_stage = o->have_phase ? rollout_phase_name(o->phase) : NULL;
	if ((r = fleet_op_init(&ro.op, s, inv, &oo, ROLLOUT_OP, ROLLOUT_OP)) != 0)
		goto out;
	ro.op.ctx = &ro;
	ro.f = &ro.op.f;
	ro.s = s;
	ro.inv = inv;
	ro.o = o;
	if ((r = rollout_plan_build(inv, &ro.plan)) != 0 || (r = build(&ro)) != 0)
		goto out;
	/* With --phase, every earlier phase must be complete. */
	for (p = PH_PREPARE; o->have_phase && p < o->phase; p++) {
		size_t pending;

		if ((r = fleet_op_pending(&ro.op, rollout_phase_name(p),
		    &pending)) != 0)
			goto out;
		if (pending > 0) {
			r = slw_diag(d, SLW_ERR_INVALID, "phase %s has %zu steps not "
			    "done; run it first (slipway rollout run --phase %s)",
			    rollout_phase_name(p), pending, rollout_phase_name(p));
			goto out;
		}
	}
	slw_diag_clear(&rd);
	if ((r = fleet_op_run(&ro.op, &rd)) == 0)
		goto out;
	if (ro.op.failed == NULL) {
		slw_diag(d, r, "%s", slw_diag_str(&rd, r));
		goto out;
	}
	if (ro.op.failed->node == NULL && strcmp(ro.op.failed->step, "gate") ==
	    0)
		slw_diag(d, r, "stopped at the %s gate, nothing after it was "
		    "started: %s", ro.op.failed->stage, slw_diag_str(&rd, r));
	else if (ro.op.failed->node == NULL && ro.op.failed->arg != NULL &&
	    ((const struct rollout_step_def *)ro.op.failed->arg)->after_gate)
		slw_diag(d, r, "stopped in the %s phase after its gate passed, "
		    "nothing after it was started: %s: %s", ro.op.failed->stage,
		    ro.op.failed->step, slw_diag_str(&rd, r));
	else {
		char why[JOURNAL_REASON_MAX];

		if (ro.op.failed->node == NULL)
			fleet_fmt(why, sizeof(why), "%s: %s", ro.op.failed->step,
			    slw_diag_str(&rd, r));
		else
			fleet_fmt(why, sizeof(why), "%s", slw_diag_str(&rd, r));
		gate_not_checked(&ro, ro.op.failed->stage, why);
		slw_diag(d, r, "stopped at the %s gate, nothing after it was "
		    "started: %s", ro.op.failed->stage, why);
	}
 out:
	fleet_op_fini(&ro.op);
	rollout_plan_free(&ro.plan);
	return r;
}
