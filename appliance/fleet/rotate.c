// SPDX-License-Identifier: Apache-2.0
/*
 * rotate.c: a CA rotation as a fleet operation (rotate.h): the store's
 * steps (begin, advance, finish: pki/ca_rotate.c) with a delivery after
 * each (deliver.c), so that no moment exists in which a certificate in
 * use does not verify: nodes trust N+1 before it signs, and stop trusting
 * N only after every leaf of N was replaced. Resumed by running the same
 * command again: the operation is named after the generation it brings
 * in. Never prints or journals a key.
 */
#include "rotate.h"
#include "audit.h"
#include "bundle.h"
#include "ca.h"
#include "ca_rotate.h"
#include "deliver.h"
#include "https.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * One row per CA that `ca rotate run` carries to the cluster. trust_scope:
 * the certificates each trust delivery re-issues because a file that
 * carries their key also embeds this CA's trust (kubeconfigs); the leaves
 * delivery re-issues every certificate the CA signs.
 */
struct rotate_def {
	const char *ca;			/* CA role (--ca) */
	uint64_t trust_scope;		/* BUNDLE_SCOPE_ID(...) */
};

static const struct rotate_def defs[] = {
	{ CA_ETCD, 0 },
	/* its trust (front-proxy-ca.pem, the apiserver's
	 * --requestheader-client-ca-file) and its leaf (the proxy client
	 * certificate) live on the masters alone */
	{ CA_FRONT_PROXY, 0 },
};

const char *
fleet_rotate_cas(void)
{
	return "etcd, front-proxy, service-account";
}

struct rotation {
	struct fleet_op op;
	const struct rotate_def *def;
	char ca_name[CA_NAME_MAX];
	uint32_t from, to;		/* generations */
	uint32_t ca_hours;
	struct fleet_delivery dv[3];
};

/* ---- the store's steps ---- */

struct st_arg {
	struct rotation *ro;
	struct rotate_status st;
	int step;			/* 1 advance, 2 finish */
	const char *actor;
	char msg[200];
};

static int
status_txn(struct store_txn *t, void *arg)
{
	struct st_arg *a = arg;

	return ca_rotate_status(t, a->ro->ca_name, &a->st);
}

static int
rotate_status(struct rotation *ro, struct rotate_status *st,
    struct slw_diag *d)
{
	struct st_arg a;
	int r;

	memset(&a, 0, sizeof(a));
	a.ro = ro;
	if ((r = store_read(ro->op.s, status_txn, &a, d)) == 0)
		*st = a.st;
	return r;
}

static int
step_begin(struct fleet_op *op, const struct op_item *it,
    struct ssh_conn **c, struct buf *out, struct slw_diag *d)
{
	struct rotation *ro = op->ctx;
	struct rotate_status st;
	uint32_t gen = 0;
	int r;

	(void)it;
	(void)c;
	(void)out;
	if ((r = rotate_status(ro, &st, d)) != 0)
		return r;
	if (st.phase == ROTATE_PENDING && st.pending_gen == ro->to) {
		slw_diag_set(d, 0, "generation %u was begun earlier", ro->to);
		return 0;
	}
	if (st.phase != ROTATE_IDLE || st.max_gen + 1 != ro->to)
		return slw_diag(d, SLW_ERR_INVALID, "CA %s is %s at generation %u; "
		    "this operation brings in %u", ro->ca_name,
		    ca_rotate_phase_name(st.phase), st.active_gen, ro->to);
	if ((r = ca_rotate_begin_store(op->s, ro->ca_name, ro->ca_hours,
	    op->o->fleet.actor, &gen, d)) != 0)
		return r;
	if (gen != ro->to)
		return slw_diag(d, SLW_ERR_INTERNAL, "began generation %u, not %u",
		    gen, ro->to);
	fleet_id_reset(&op->f);
	slw_diag_set(d, 0, "generation %u created and sealed, trusted, not "
	    "signing", gen);
	return 0;
}

static int
change_txn(struct store_txn *t, void *arg)
{
	struct st_arg *a = arg;
	struct rotation *ro = a->ro;
	struct slw_diag *td = store_txn_diag(t);
	char detail[160];
	int r;

	if ((r = ca_rotate_status(t, ro->ca_name, &a->st)) != 0)
		return r;
	if (a->step == 1) {
		if (a->st.phase == ROTATE_ADVANCED && a->st.active_gen == ro->to) {
			fleet_fmt(a->msg, sizeof(a->msg), "generation %u signs "
			    "since an earlier run", ro->to);
			return 0;
		}
		if (a->st.phase != ROTATE_PENDING || a->st.pending_gen != ro->to)
			return slw_diag(td, SLW_ERR_INVALID, "cannot advance: "
			    "rotation of CA %s is %s", ro->ca_name,
			    ca_rotate_phase_name(a->st.phase));
		/* every node trusts N+1 before it signs anything */
		if ((r = fleet_deliver_check(t, ro->op.inv, ro->def->ca, ro->to,
		    0, td)) != 0)
			return r;
		if ((r = ca_rotate_advance(t, ro->ca_name)) != 0)
			return r;
		fleet_fmt(detail, sizeof(detail), "generation %u signs; %u stays "
		    "trusted (every node verified)", ro->to, ro->from);
		fleet_fmt(a->msg, sizeof(a->msg), "generation %u signs; %u stays "
		    "trusted", ro->to, ro->from);
		return audit_append(t, a->actor, "ca.rotate.advance", ro->ca_name,
		    detail);
	}
	if (a->st.phase == ROTATE_IDLE && a->st.active_gen == ro->to) {
		fleet_fmt(a->msg, sizeof(a->msg), "generation %u retired in an "
		    "earlier run", ro->from);
		return 0;
	}
	if (a->st.phase != ROTATE_ADVANCED || a->st.active_gen != ro->to)
		return slw_diag(td, SLW_ERR_INVALID, "cannot finish: rotation of "
		    "CA %s is %s", ro->ca_name, ca_rotate_phase_name(a->st.phase));
	/* no node still presents a leaf of N */
	if ((r = fleet_deliver_check(t, ro->op.inv, ro->def->ca, ro->to, ro->to,
	    td)) != 0)
		return r;
	if ((r = ca_rotate_finish(t, ro->ca_name, 0)) != 0)
		return r;
	fleet_fmt(detail, sizeof(detail), "generation %u retired (every node "
	    "verified)", a->st.previous_gen);
	fleet_fmt(a->msg, sizeof(a->msg), "generation %u retired",
	    a->st.previous_gen);
	return audit_append(t, a->actor, "ca.rotate.finish", ro->ca_name,
	    detail);
}

static int
step_change(struct fleet_op *op, const struct op_item *it,
    struct ssh_conn **c, struct buf *out, struct slw_diag *d)
{
	struct st_arg a;
	int r;

	(void)c;
	(void)out;
	memset(&a, 0, sizeof(a));
	a.ro = op->ctx;
	a.step = (int)it->u;
	a.actor = op->o->fleet.actor;
	if ((r = store_write(op->s, change_txn, &a, d)) != 0)
		return r;
	/* the appliance's own certificates follow the CA: new ones now, which
	 * supersede those of the old generation (finish waits for none) */
	fleet_id_reset(&op->f);
	if (a.step == 1) {
		struct https *id = NULL;

		if ((r = fleet_id_etcd(&op->f, &id, d)) != 0 ||
		    (r = fleet_id_admin(&op->f, &id, d)) != 0)
			return r;
	}
	slw_diag_set(d, 0, "%s", a.msg);
	return 0;
}

/* ---- the plan ---- */

static int
add_store_step(struct rotation *ro, const char *stage, const char *what,
    unsigned int *group, op_fn *fn, uintptr_t u)
{
	struct op_item it;

	memset(&it, 0, sizeof(it));
	(*group)++;
	fleet_fmt(it.stage, sizeof(it.stage), "%s", stage);
	fleet_fmt(it.step, sizeof(it.step), "%s", stage);
	it.what = what;
	it.waits = "";
	it.group = *group;
	it.fn = fn;
	it.u = u;
	return op_plan_add(&ro->op.plan, &it);
}

static int
build(struct rotation *ro, struct slw_diag *d)
{
	uint64_t leaves;
	unsigned int g = 0;
	int r;

	if ((r = fleet_deliver_scope_of_ca(ro->op.s, ro->op.inv, ro->ca_name,
	    &leaves, d)) != 0)
		return r;
	fleet_fmt(ro->dv[0].stage, sizeof(ro->dv[0].stage), "trust-both");
	ro->dv[0].scope = BUNDLE_SCOPE_PARTIAL | ro->def->trust_scope;
	ro->dv[0].what = "the trust of both generations";
	ro->dv[0].trust_role = ro->def->ca;
	fleet_fmt(ro->dv[1].stage, sizeof(ro->dv[1].stage), "leaves");
	ro->dv[1].scope = leaves | ro->def->trust_scope;
	ro->dv[1].what = "every certificate of this CA, re-issued by the new "
	    "generation";
	ro->dv[1].trust_role = ro->def->ca;
	ro->dv[1].leaf_role = ro->def->ca;
	fleet_fmt(ro->dv[2].stage, sizeof(ro->dv[2].stage), "trust-new");
	ro->dv[2].scope = BUNDLE_SCOPE_PARTIAL | ro->def->trust_scope;
	ro->dv[2].what = "the trust of the new generation alone";
	ro->dv[2].trust_role = ro->def->ca;
	if ((r = add_store_step(ro, "begin", "generation N+1: a new key, sealed; "
	    "trusted, not signing", &g, step_begin, 0)) != 0 ||
	    (r = fleet_deliver_plan(&ro->op, &ro->dv[0], NULL, &g)) != 0 ||
	    (r = add_store_step(ro, "advance", "N+1 signs; refused while a "
	    "node does not trust it", &g, step_change, 1)) != 0 ||
	    (r = fleet_deliver_plan(&ro->op, &ro->dv[1], NULL, &g)) != 0 ||
	    (r = add_store_step(ro, "finish", "N retired; refused while a node "
	    "still has its leaves", &g, step_change, 2)) != 0 ||
	    (r = fleet_deliver_plan(&ro->op, &ro->dv[2], NULL, &g)) != 0)
		return r;
	return 0;
}

/* ---- which operation ---- */

struct which_arg {
	struct rotation *ro;
	const char *role;
	char kind[JOURNAL_OP_MAX];
	char cur[JOURNAL_OP_MAX];
	struct rotate_status st;
};

static int
which_txn(struct store_txn *t, void *arg)
{
	struct which_arg *a = arg;
	int r;

	if ((r = ca_resolve(t, a->role, a->ro->ca_name)) != 0)
		return slw_diag(store_txn_diag(t), r, "no CA named '%s'", a->role);
	if ((r = ca_rotate_status(t, a->ro->ca_name, &a->st)) != 0)
		return r;
	r = journal_op_current(t, a->kind, a->cur, sizeof(a->cur));
	return r == SLW_ERR_NOTFOUND ? 0 : r;
}

int
fleet_rotate_run(struct store *s, const struct inventory *inv,
    const struct fleet_rotate_opts *o, struct slw_diag *d)
{
	struct rotation *ro;
	struct which_arg wa;
	char name[JOURNAL_OP_MAX], title[160];
	const char *tail;
	size_t i;
	int r;

	if ((ro = calloc(1, sizeof(*ro))) == NULL)
		return SLW_ERR_NOMEM;
	for (i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
		if (o->ca != NULL && strcmp(defs[i].ca, o->ca) == 0)
			ro->def = &defs[i];
	if (ro->def == NULL) {
		free(ro);
		return slw_diag(d, SLW_ERR_INVALID, "cannot rotate '%s' on the "
		    "cluster: ca rotate run knows %s", o->ca ? o->ca : "",
		    fleet_rotate_cas());
	}
	memset(&wa, 0, sizeof(wa));
	wa.ro = ro;
	wa.role = o->ca;
	fleet_fmt(wa.kind, sizeof(wa.kind), "ca-rotate-%s", o->ca);
	if ((r = store_read(s, which_txn, &wa, d)) != 0)
		goto out;
	/* an unfinished rotation of this CA resumes; else the next one */
	if (wa.cur[0] != '\0') {
		tail = strrchr(wa.cur, '-');
		ro->to = tail != NULL ? (uint32_t)strtoul(tail + 1, NULL, 10) : 0;
	} else if (wa.st.phase == ROTATE_PENDING)
		ro->to = wa.st.pending_gen;
	else if (wa.st.phase == ROTATE_ADVANCED)
		ro->to = wa.st.active_gen;
	else
		ro->to = wa.st.max_gen + 1;
	if (ro->to < 2) {
		r = slw_diag(d, SLW_ERR_CORRUPT, "journal: %s names no generation",
		    wa.cur);
		goto out;
	}
	ro->from = wa.st.phase == ROTATE_ADVANCED ? wa.st.previous_gen :
	    wa.st.active_gen;
	if (wa.cur[0] != '\0' && wa.st.phase == ROTATE_IDLE &&
	    wa.st.active_gen == ro->to)
		ro->from = ro->to - 1;
	ro->ca_hours = inv->ca_hours;
	fleet_fmt(name, sizeof(name), "%s-%u", wa.kind, ro->to);
	if ((r = fleet_op_init(&ro->op, s, inv, &o->op, name, wa.kind)) != 0)
		goto out;
	ro->op.ctx = ro;
	fleet_fmt(ro->op.params, sizeof(ro->op.params), "{\"ca\":\"%s\","
	    "\"from\":%u,\"to\":%u}", o->ca, ro->from, ro->to);
	if ((r = build(ro, d)) != 0)
		goto out;
	if (o->plan_only) {
		fleet_fmt(title, sizeof(title), "ca rotate run --ca %s: generation "
		    "%u -> %u (operation %s)", o->ca, ro->from, ro->to, name);
		r = op_plan_print(title, &ro->op.plan, o->op.fleet.json);
		goto out;
	}
	if ((r = fleet_op_run(&ro->op, d)) != 0 && ro->op.failed != NULL) {
		char why[JOURNAL_REASON_MAX];

		fleet_fmt(why, sizeof(why), "%s", slw_diag_str(d, r));
		if (ro->op.failed->node != NULL)
			slw_diag_set(d, r, "stopped at %s: %s; nothing after it was "
			    "started (run the same command again to resume)",
			    ro->op.failed->stage, why);
		else
			slw_diag_set(d, r, "stopped at %s: %s; nothing after it was "
			    "started (run the same command again to resume)",
			    ro->op.failed->stage, why);
	}
 out:
	fleet_op_fini(&ro->op);
	free(ro);
	return r;
}
