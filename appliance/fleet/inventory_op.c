// SPDX-License-Identifier: Apache-2.0
/*
 * inventory_op.c: `inventory apply` as an operation of the fleet engine:
 * the change is checked whole first (inventory_diff.c; unsupported kinds
 * refused with the reason, nothing changed), then run as ordered steps:
 * the new inventory stored (audited, the old one kept for resume and
 * status), serve seen serving it, the cluster objects, each added node's
 * rollout steps (rollout_node_items: the others are not touched), the
 * Nodes Ready gate. Named after the new inventory's hash: running the same
 * command again resumes it. Never prints or journals a token or a key.
 */
#include "inventory_op.h"
#include "audit.h"
#include "cluster.h"
#include "gate.h"
#include "inventory_diff.h"
#include "rollout_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SERVE_WAIT_S 30		/* serve checks the store every few seconds */
#define NODES_GATE_S 180

struct apply {
	struct rollout ro;		/* first: op.ctx is &ro (rollout items) */
	struct rollout_opts ro_o;
	struct inventory *from, *to;
	struct buf from_yaml;
	const uint8_t *yaml;
	size_t len;
	char hash[65];
	struct inv_diff *df;
	char added[256];		/* "test4, test5" */
};

/* ---- the steps ---- */

struct store_arg {
	struct apply *a;
	const char *actor;
	char msg[200];
};

static int
store_txn(struct store_txn *t, void *arg)
{
	struct store_arg *sa = arg;
	struct apply *a = sa->a;
	struct slw_diag *td = store_txn_diag(t);
	const uint8_t *v;
	size_t vl;
	char detail[AUDIT_DETAIL_MAX];
	int r;

	if ((r = store_get_ref(t, DB_META, CLUSTER_META_KEY,
	    strlen(CLUSTER_META_KEY), &v, &vl)) != 0)
		return slw_diag(td, SLW_ERR_CORRUPT, "the state holds no cluster "
		    "inventory");
	if (vl == a->len && memcmp(v, a->yaml, vl) == 0) {
		fleet_fmt(sa->msg, sizeof(sa->msg), "stored by an earlier run");
		return 0;
	}
	if (vl != a->from_yaml.len || memcmp(v, a->from_yaml.data, vl) != 0)
		return slw_diag(td, SLW_ERR_INVALID, "the stored inventory "
		    "changed since this operation was planned; run inventory "
		    "diff again");
	if ((r = store_put(t, DB_META, CLUSTER_PREVIOUS_KEY,
	    strlen(CLUSTER_PREVIOUS_KEY), a->from_yaml.data, a->from_yaml.len,
	    0)) != 0 ||
	    (r = store_put(t, DB_META, CLUSTER_META_KEY,
	    strlen(CLUSTER_META_KEY), a->yaml, a->len, 0)) != 0)
		return r;
	fleet_fmt(detail, sizeof(detail), "inventory %.12s stored (%zu "
	    "changes%s%s)", a->hash, a->df->n, a->added[0] ? "; added: " : "",
	    a->added);
	fleet_fmt(sa->msg, sizeof(sa->msg), "inventory %.12s stored", a->hash);
	return audit_append(t, sa->actor, "inventory.apply", a->ro.op.name,
	    detail);
}

static int
step_store(struct fleet_op *op, const struct op_item *it,
    struct ssh_conn **c, struct buf *out, struct slw_diag *d)
{
	struct store_arg sa;
	int r;

	(void)it;
	(void)c;
	(void)out;
	memset(&sa, 0, sizeof(sa));
	sa.a = op->ctx;
	sa.actor = op->o->fleet.actor;
	if ((r = store_write(op->s, store_txn, &sa, d)) != 0)
		return r;
	slw_diag_set(d, 0, "%s", sa.msg);
	return 0;
}

static int
served_txn(struct store_txn *t, void *arg)
{
	char *hex = arg;
	const uint8_t *v;
	size_t vl;

	hex[0] = '\0';
	if (store_get_ref(t, DB_META, CLUSTER_SERVED_KEY,
	    strlen(CLUSTER_SERVED_KEY), &v, &vl) == 0 && vl == 64) {
		memcpy(hex, v, 64);
		hex[64] = '\0';
	}
	return 0;
}

/* serve re-arms when the stored inventory changes and says so */
static int
step_serve(struct fleet_op *op, const struct op_item *it,
    struct ssh_conn **c, struct buf *out, struct slw_diag *d)
{
	struct apply *a = op->ctx;
	int64_t end = fleet_now_ms() + (int64_t)it->timeout_s * 1000;
	struct timespec ts = { 0, 250 * 1000 * 1000 };
	char hex[65];
	int r;

	(void)c;
	(void)out;
	for (;;) {
		if ((r = store_read(op->s, served_txn, hex, d)) != 0)
			return r;
		if (strcmp(hex, a->hash) == 0) {
			slw_diag_set(d, 0, "slipway serve serves inventory %.12s",
			    a->hash);
			return 0;
		}
		if (fleet_now_ms() >= end)
			return slw_diag(d, SLW_ERR_IO, "slipway serve did not "
			    "take up inventory %.12s within %d s (it serves %.12s); "
			    "is it running on this state?", a->hash, it->timeout_s,
			    hex[0] ? hex : "none yet");
		nanosleep(&ts, NULL);
	}
}

static int
step_objects(struct fleet_op *op, const struct op_item *it,
    struct ssh_conn **c, struct buf *out, struct slw_diag *d)
{
	(void)it;
	(void)c;
	(void)out;
	return rollout_action_cluster_objects(op->ctx, d);
}

struct look_arg {
	struct apply *a;
	struct https *id;
};

static int
look(void *arg, struct journal_gate *g)
{
	struct look_arg *la = arg;
	struct slw_diag d;
	int r;

	slw_diag_clear(&d);
	if (la->id == NULL && (r = fleet_id_admin(la->a->ro.f, &la->id,
	    &d)) != 0) {
		fleet_fmt(g->reason, sizeof(g->reason), "%s", slw_diag_str(&d, r));
		return -1;
	}
	return gate_nodes(la->a->ro.inv, la->id, g);
}

struct gate_arg {
	const char *op, *stage;
	const struct journal_gate *g;
};

static int
gate_txn(struct store_txn *t, void *arg)
{
	struct gate_arg *ga = arg;

	return journal_gate_put(t, ga->op, ga->stage, ga->g);
}

static int
step_gate(struct fleet_op *op, const struct op_item *it,
    struct ssh_conn **c, struct buf *out, struct slw_diag *d)
{
	struct look_arg la = { op->ctx, NULL };
	struct journal_gate g;
	struct gate_arg ga = { op->name, it->stage, &g };
	int r;

	(void)c;
	(void)out;
	r = gate_wait(&op->f, it->stage, op->o->gate_timeout_s > 0 ?
	    op->o->gate_timeout_s : it->timeout_s, look, &la, &g, d);
	if (store_submit(op->s, gate_txn, &ga, NULL) != 0 && r == 0)
		r = slw_diag(d, SLW_ERR_STORE, "cannot write the journal");
	if (r == 0)
		slw_diag_set(d, 0, "passed: %s", g.reason);
	return r;
}

/* ---- the plan ---- */

static int
add_step(struct apply *a, const char *step, const char *what,
    const char *waits, int timeout_s, unsigned int *g, unsigned int flags,
    op_fn *fn)
{
	struct op_item it;

	memset(&it, 0, sizeof(it));
	(*g)++;
	fleet_fmt(it.stage, sizeof(it.stage), "inventory");
	fleet_fmt(it.step, sizeof(it.step), "%s", step);
	it.what = what;
	it.waits = waits;
	it.timeout_s = timeout_s;
	it.group = *g;
	it.flags = flags;
	it.fn = fn;
	return op_plan_add(&a->ro.op.plan, &it);
}

/* Refuses what inventory apply cannot do (yet) safely, with the reason. */
static int
supported(struct apply *a, struct slw_diag *d)
{
	size_t i;

	for (i = 0; i < a->df->n; i++) {
		const struct inv_change *ch = &a->df->changes[i];
		const struct inv_node *n = ch->to != NULL ? ch->to : ch->from;

		switch (ch->kind) {
		case INV_ADD:
			if (n->roles & (ROLE_ETCD | ROLE_MASTER))
				return slw_diag(d, SLW_ERR_UNSUPPORTED, "adding %s: "
				    "adding an etcd member or a master is not supported "
				    "yet; nothing changed", n->name);
			fleet_appendf(a->added, sizeof(a->added), "%s%s",
			    a->added[0] ? ", " : "", n->name);
			break;
		case INV_REMOVE:
			return slw_diag(d, SLW_ERR_UNSUPPORTED, "removing %s is not "
			    "supported yet; nothing changed", n->name);
		case INV_READDRESS:
			return slw_diag(d, SLW_ERR_UNSUPPORTED, "re-addressing %s is "
			    "not supported yet; nothing changed", n->name);
		case INV_SSH:
			break;
		}
	}
	return 0;
}

static int
build(struct apply *a)
{
	unsigned int g = 0;
	size_t i;
	int r;

	if ((r = add_step(a, "store", "the new inventory stored (audited); "
	    "the old one kept", "", 0, &g, 0, step_store)) != 0 ||
	    (r = add_step(a, "serve", "slipway serve takes up the new "
	    "inventory", "serve's record of the inventory it serves",
	    SERVE_WAIT_S, &g, 0, step_serve)) != 0)
		return r;
	if (a->added[0] == '\0')
		return 0;
	if ((r = add_step(a, "cluster-objects", "the cluster objects, with the "
	    "new nodes' bootstrap-token Secrets", "", 120, &g, 0,
	    step_objects)) != 0)
		return r;
	for (i = 0; i < a->df->n; i++)
		if (a->df->changes[i].kind == INV_ADD &&
		    (r = rollout_node_items(&a->ro, a->df->changes[i].to, &g)) != 0)
			return r;
	return add_step(a, "gate:nodes", "every worker's Node is Ready, the new "
	    "ones too", "Nodes Ready", NODES_GATE_S, &g, OPI_REPEAT, step_gate);
}

/* ---- which operation ---- */

struct which_arg {
	struct apply *a;
	char cur[JOURNAL_OP_MAX];
	char busy[JOURNAL_OP_MAX];
	int stored_is_new;
};

static int
busy_cb(void *arg, const struct journal_op *jo)
{
	struct which_arg *w = arg;

	if (jo->state != JS_DONE && strncmp(jo->kind, "ca-rotate", 9) == 0 &&
	    w->busy[0] == '\0')
		fleet_fmt(w->busy, sizeof(w->busy), "%s", jo->name);
	return 0;
}

static int
which_txn(struct store_txn *t, void *arg)
{
	struct which_arg *w = arg;
	struct apply *a = w->a;
	const uint8_t *v;
	size_t vl;
	int r;

	if ((r = store_get_ref(t, DB_META, CLUSTER_META_KEY,
	    strlen(CLUSTER_META_KEY), &v, &vl)) != 0)
		return slw_diag(store_txn_diag(t), SLW_ERR_CORRUPT, "the state "
		    "holds no cluster inventory");
	w->stored_is_new = vl == a->len && memcmp(v, a->yaml, vl) == 0;
	/* resuming after the store step: the change is from the previous */
	if (w->stored_is_new && store_get_ref(t, DB_META, CLUSTER_PREVIOUS_KEY,
	    strlen(CLUSTER_PREVIOUS_KEY), &v, &vl) != 0)
		vl = 0;
	if (vl > 0 && (r = buf_set(&a->from_yaml, v, vl)) != 0)
		return r;
	if ((r = journal_op_foreach(t, busy_cb, w)) != 0)
		return r;
	r = journal_op_current(t, INV_OP_KIND, w->cur, sizeof(w->cur));
	return r == SLW_ERR_NOTFOUND ? 0 : r;
}

static void
apply_free(struct apply *a)
{
	fleet_op_fini(&a->ro.op);
	rollout_plan_free(&a->ro.plan);
	inventory_diff_free(a->df);
	inventory_free(a->from);
	inventory_free(a->to);
	buf_free(&a->from_yaml);
	free(a);
}

int
fleet_inventory_apply(struct store *s, const uint8_t *yaml, size_t len,
    const char *file, const struct fleet_inventory_opts *o,
    struct slw_diag *d)
{
	struct apply *a;
	struct which_arg w;
	char name[JOURNAL_OP_MAX], title[200];
	int r;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return SLW_ERR_NOMEM;
	a->yaml = yaml;
	a->len = len;
	cluster_yaml_hash(yaml, len, a->hash);
	if ((r = inventory_parse(yaml, len, file, &a->to, d)) != 0)
		goto out;
	memset(&w, 0, sizeof(w));
	w.a = a;
	if ((r = store_read(s, which_txn, &w, d)) != 0)
		goto out;
	fleet_fmt(name, sizeof(name), "%s-%.12s", INV_OP_KIND, a->hash);
	if (w.busy[0] != '\0') {
		r = slw_diag(d, SLW_ERR_BUSY, "the CA rotation %s is not finished; "
		    "finish it (slipway ca rotate run) before changing the "
		    "inventory; nothing changed", w.busy);
		goto out;
	}
	if (w.cur[0] != '\0' && strcmp(w.cur, name) != 0) {
		r = slw_diag(d, SLW_ERR_BUSY, "the inventory change %s is not "
		    "finished; apply that inventory again to finish it first; "
		    "nothing changed", w.cur);
		goto out;
	}
	if (w.stored_is_new && w.cur[0] == '\0') {
		/* applied before (or never different): nothing to do */
		slw_diag_set(d, 0, "%s is the stored inventory: nothing to "
		    "change", file);
		r = 0;
		goto out;
	}
	if (a->from_yaml.len == 0) {
		r = slw_diag(d, SLW_ERR_CORRUPT, "the inventory before change %s "
		    "is not stored", name);
		goto out;
	}
	if ((r = inventory_parse(a->from_yaml.data, a->from_yaml.len,
	    "stored cluster.yaml", &a->from, d)) != 0 ||
	    (r = inventory_diff(a->from, a->to, &a->df, d)) != 0 ||
	    (r = supported(a, d)) != 0)
		goto out;
	/* the rollout's items run on this operation (op.ctx = &a->ro) */
	a->ro_o.fleet = o->op.fleet;
	a->ro_o.state = o->op.state;
	a->ro_o.gate_timeout_s = o->op.gate_timeout_s;
	if ((r = fleet_op_init(&a->ro.op, s, a->to, &o->op, name,
	    INV_OP_KIND)) != 0)
		goto out;
	a->ro.op.ctx = &a->ro;
	a->ro.f = &a->ro.op.f;
	a->ro.s = s;
	a->ro.inv = a->to;
	a->ro.o = &a->ro_o;
	fleet_fmt(a->ro.op.params, sizeof(a->ro.op.params), "{\"inventory\":"
	    "\"%s\",\"changes\":%zu,\"added\":\"%s\"}", a->hash, a->df->n,
	    a->added);
	if ((r = rollout_plan_build(a->to, &a->ro.plan)) != 0 ||
	    (r = build(a)) != 0)
		goto out;
	if (o->plan_only) {
		fleet_fmt(title, sizeof(title), "inventory apply %s: %zu changes%s%s "
		    "(operation %s)", file, a->df->n, a->added[0] ? ", adds " : "",
		    a->added, name);
		r = op_plan_print(title, &a->ro.op.plan, o->op.fleet.json);
		goto out;
	}
	if ((r = fleet_op_run(&a->ro.op, d)) != 0 && a->ro.op.failed != NULL) {
		char why[JOURNAL_REASON_MAX];

		fleet_fmt(why, sizeof(why), "%s", slw_diag_str(d, r));
		slw_diag_clear(d);
		slw_diag(d, r, "stopped at %s: %s; nothing after it was started "
		    "(run the same command again to resume)",
		    a->ro.op.failed->stage, why);
	}
 out:
	apply_free(a);
	return r;
}
