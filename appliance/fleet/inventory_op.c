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
#include "bundle.h"
#include "ca.h"
#include "ca_rotate.h"
#include "crl.h"
#include "deliver.h"
#include "gate.h"
#include "inventory_diff.h"
#include "kube.h"
#include "kube_cluster.h"
#include "kube_session.h"
#include "rand.h"
#include "revoke.h"
#include "rollout_int.h"
#include "token.h"

#include <cjson/cJSON.h>

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
	/* the engine's inventory: the new one and the nodes it removes (to
	 * reach them), or to itself when nothing is removed */
	struct inventory all;
	struct inv_node *all_nodes;
	struct buf from_yaml;
	const uint8_t *yaml;
	size_t len;
	char hash[65];
	struct inv_diff *df;
	char added[256];		/* "test4, test5" */
	char removed[256];
	struct fleet_delivery crl_dv;	/* the etcd CRL to every member */
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
	    "changes%s%s%s%s)", a->hash, a->df->n, a->added[0] ? "; added: " :
	    "", a->added, a->removed[0] ? "; removed: " : "", a->removed);
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

/* with the new inventory: the Secrets of removed nodes' tokens go */
static int
step_objects(struct fleet_op *op, const struct op_item *it,
    struct ssh_conn **c, struct buf *out, struct slw_diag *d)
{
	struct apply *a = op->ctx;
	struct kube_cluster_counts n;
	struct kube *k = NULL;
	int r;

	(void)it;
	(void)c;
	(void)out;
	memset(&n, 0, sizeof(n));
	if ((r = kube_session_open(op->s, a->to, NULL, op->o->fleet.actor, &k,
	    NULL, d)) != 0)
		return r;
	r = kube_cluster_apply(k, op->s, a->to, 0, op->o->fleet.actor, NULL,
	    NULL, &n, d);
	kube_free(k);
	if (r == 0)
		slw_diag_set(d, 0, "%u created, %u updated, %u unchanged, "
		    "%u deleted", n.created, n.updated, n.unchanged, n.deleted);
	return r;
}

/* ---- removing a worker ---- */

static int
api(struct fleet_op *op, struct kube **k, struct slw_diag *d)
{
	struct apply *a = op->ctx;

	return kube_session_open(op->s, a->to, NULL, op->o->fleet.actor, k,
	    NULL, d);
}

struct pods_arg {
	char (*names)[2][254];		/* namespace, name */
	size_t n, cap;
};

static int
pod_item(void *arg, cJSON *obj)
{
	struct pods_arg *pa = arg;
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md,
	    "namespace"));
	const char *name = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(md, "name"));

	if (ns == NULL || name == NULL || strlen(ns) >= 254 ||
	    strlen(name) >= 254 || pa->n >= pa->cap)
		return 0;
	snprintf(pa->names[pa->n][0], 254, "%s", ns);
	snprintf(pa->names[pa->n][1], 254, "%s", name);
	pa->n++;
	return 0;
}

/* cordon (spec.unschedulable) and drain: every pod bound to the node is
 * deleted so that its controllers place it elsewhere */
static int
step_drain(struct fleet_op *op, const struct op_item *it,
    struct ssh_conn **c, struct buf *out, struct slw_diag *d)
{
	const struct inv_node *n = it->arg;
	struct kube *k = NULL;
	struct pods_arg pa;
	char path[400], q[300], rv[KUBE_RV_MAX];
	cJSON *node = NULL, *spec;
	size_t i, gone = 0;
	int r;

	(void)c;
	(void)out;
	memset(&pa, 0, sizeof(pa));
	if ((r = api(op, &k, d)) != 0)
		return r;
	fleet_fmt(path, sizeof(path), "/api/v1/nodes/%s", n->name);
	r = kube_get(k, path, 0, &node, d);
	if (r == SLW_ERR_NOTFOUND) {
		slw_diag_clear(d);
		slw_diag_set(d, 0, "no Node %s: nothing to drain", n->name);
		r = 0;
		goto out;
	}
	if (r != 0)
		goto out;
	if ((spec = cJSON_GetObjectItemCaseSensitive(node, "spec")) == NULL)
		spec = cJSON_AddObjectToObject(node, "spec");
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "unschedulable");
	cJSON_AddBoolToObject(spec, "unschedulable", 1);
	if ((r = kube_update(k, path, node, 0, NULL, d)) != 0)
		goto out;
	pa.cap = 1024;
	if ((pa.names = calloc(pa.cap, sizeof(*pa.names))) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	fleet_fmt(q, sizeof(q), "fieldSelector=spec.nodeName%%3D%s", n->name);
	if ((r = kube_list(k, "/api/v1/pods", q, 0, pod_item, &pa, rv, d)) != 0)
		goto out;
	for (i = 0; i < pa.n; i++) {
		fleet_fmt(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s",
		    pa.names[i][0], pa.names[i][1]);
		r = kube_delete(k, path, d);
		if (r == SLW_ERR_NOTFOUND) {
			slw_diag_clear(d);
			r = 0;
			continue;
		}
		if (r != 0)
			goto out;
		gone++;
	}
	slw_diag_set(d, 0, "Node %s cordoned; %zu pods deleted", n->name, gone);
 out:
	free(pa.names);
	cJSON_Delete(node);
	kube_free(k);
	return r;
}

static int
step_delete_node(struct fleet_op *op, const struct op_item *it,
    struct ssh_conn **c, struct buf *out, struct slw_diag *d)
{
	const struct inv_node *n = it->arg;
	struct kube *k = NULL;
	char path[200];
	int r;

	(void)c;
	(void)out;
	if ((r = api(op, &k, d)) != 0)
		return r;
	fleet_fmt(path, sizeof(path), "/api/v1/nodes/%s", n->name);
	r = kube_delete(k, path, d);
	kube_free(k);
	if (r == SLW_ERR_NOTFOUND) {
		slw_diag_clear(d);
		slw_diag_set(d, 0, "no Node %s", n->name);
		return 0;
	}
	if (r == 0)
		slw_diag_set(d, 0, "Node %s deleted", n->name);
	return r;
}

/* its units stopped and disabled when it answers; when it does not, a
 * warning: its identity ends with the revocation below either way */
static int
step_stop(struct fleet_op *op, const struct op_item *it,
    struct ssh_conn **c, struct buf *out, struct slw_diag *d)
{
	const struct inv_node *n = it->arg;
	struct ssh_conn *conn = NULL;
	struct slw_diag cd;
	int r;

	(void)c;
	slw_diag_clear(&cd);
	if ((r = fleet_remote_connect(&op->f, n, &conn, &cd)) != 0) {
		slw_diag_set(d, 0, "WARN: %s is not reachable (%s); its units "
		    "were not stopped", n->name, slw_diag_str(&cd, r));
		return 0;
	}
	r = fleet_remote_run(&op->f, conn, it->stage, n, it->step,
	    "systemctl disable --now kubelet kube-proxy flanneld containerd "
	    "2>&1 || true; systemctl is-active kubelet kube-proxy flanneld "
	    "containerd | grep -qx active && exit 1; exit 0", NULL,
	    it->timeout_s, out, d);
	ssh_close(conn);
	if (r == 0)
		slw_diag_set(d, 0, "kubelet, kube-proxy, flanneld, containerd "
		    "stopped and disabled");
	return r;
}

struct tok_arg {
	const char *node;
	char ids[64][TOKEN_ID_LEN + 1];
	size_t n;
	time_t now;
};

static int
tok_cb(void *arg, const struct token_info *ti)
{
	struct tok_arg *ta = arg;

	if (strcmp(ti->node, ta->node) == 0 && ta->n < 64 &&
	    strcmp(token_state_name(ti, ta->now), "active") == 0)
		snprintf(ta->ids[ta->n++], sizeof(ta->ids[0]), "%s", ti->id);
	return 0;
}

struct revtok_arg {
	struct tok_arg *ta;
	const char *actor;
};

static int
list_tok_txn(struct store_txn *t, void *arg)
{
	return token_foreach(t, tok_cb, arg);
}

static int
revoke_tok_txn(struct store_txn *t, void *arg)
{
	struct revtok_arg *ra = arg;
	size_t i;
	int r;

	for (i = 0; i < ra->ta->n; i++)
		if ((r = token_revoke(t, ra->ta->ids[i], ra->actor,
		    store_txn_diag(t))) != 0)
			return r;
	return 0;
}

/* every certificate of the node revoked (CRLs re-signed) and its tokens */
static int
step_revoke(struct fleet_op *op, const struct op_item *it,
    struct ssh_conn **c, struct buf *out, struct slw_diag *d)
{
	struct apply *a = op->ctx;
	const struct inv_node *n = it->arg;
	struct revoke_req q;
	struct revoke_result res;
	struct tok_arg ta;
	struct revtok_arg ra;
	size_t certs = 0;
	int r;

	(void)c;
	(void)out;
	memset(&q, 0, sizeof(q));
	memset(&res, 0, sizeof(res));
	q.node = n->name;
	q.reason = CRL_REASON_CESSATION_OF_OPERATION;
	q.force = 1;		/* not a member any more */
	q.now = slw_now();
	q.actor = op->o->fleet.actor;
	r = revoke_run(op->s, a->from, &q, &res, d);
	if (r == SLW_ERR_NOTFOUND) {	/* none left: revoked earlier */
		slw_diag_clear(d);
		r = 0;
	}
	certs = res.n;
	revoke_result_free(&res);
	if (r != 0)
		return r;
	memset(&ta, 0, sizeof(ta));
	ta.node = n->name;
	ta.now = slw_now();
	ra.ta = &ta;
	ra.actor = op->o->fleet.actor;
	if ((r = store_read(op->s, list_tok_txn, &ta, d)) != 0 ||
	    (ta.n > 0 && (r = store_write(op->s, revoke_tok_txn, &ra, d)) != 0))
		return r;
	slw_diag_set(d, 0, "%zu certificates and %zu tokens of %s revoked",
	    certs, ta.n, n->name);
	return 0;
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
	return gate_nodes(la->a->to, la->id, g);
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
add_node_step(struct apply *a, const struct inv_node *n, const char *step,
    const char *what, int timeout_s, unsigned int *g, op_fn *fn)
{
	struct op_item it;

	/* an appliance item (the runner connects nothing); the node's
	 * name in the step keeps each node's journal record apart */
	memset(&it, 0, sizeof(it));
	(*g)++;
	fleet_fmt(it.stage, sizeof(it.stage), "remove");
	fleet_fmt(it.step, sizeof(it.step), "%s:%s", step, n->name);
	it.what = what;
	it.waits = "";
	it.timeout_s = timeout_s;
	it.group = *g;
	it.fn = fn;
	it.arg = n;
	return op_plan_add(&a->ro.op.plan, &it);
}

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
			if (n->roles & (ROLE_ETCD | ROLE_MASTER))
				return slw_diag(d, SLW_ERR_UNSUPPORTED, "removing %s: "
				    "removing an etcd member or a master is not "
				    "supported yet; nothing changed", n->name);
			fleet_appendf(a->removed, sizeof(a->removed), "%s%s",
			    a->removed[0] ? ", " : "", n->name);
			break;
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

	/* a removed worker leaves the cluster before it leaves the inventory */
	for (i = a->to->n_nodes; i < a->all.n_nodes; i++) {
		const struct inv_node *n = &a->all.nodes[i];

		if ((r = add_node_step(a, n, "drain", "cordon the Node and delete "
		    "its pods (through the API)", 120, &g, step_drain)) != 0 ||
		    (r = add_node_step(a, n, "delete-node", "delete the Node "
		    "object", 60, &g, step_delete_node)) != 0 ||
		    (r = add_node_step(a, n, "stop", "stop and disable its units "
		    "over SSH (a warning when it does not answer)", 60, &g,
		    step_stop)) != 0)
			return r;
	}
	if ((r = add_step(a, "store", "the new inventory stored (audited); "
	    "the old one kept", "", 0, &g, 0, step_store)) != 0 ||
	    (r = add_step(a, "serve", "slipway serve takes up the new "
	    "inventory", "serve's record of the inventory it serves",
	    SERVE_WAIT_S, &g, 0, step_serve)) != 0)
		return r;
	for (i = a->to->n_nodes; i < a->all.n_nodes; i++)
		if ((r = add_node_step(a, &a->all.nodes[i], "revoke", "revoke "
		    "every certificate of the node (CRLs re-signed) and its "
		    "tokens", 60, &g, step_revoke)) != 0)
			return r;
	/* etcd reads its CRL file at every connection: a partial delivery
	 * (trust and CRL, no certificate re-issued) restarts nothing */
	fleet_fmt(a->crl_dv.stage, sizeof(a->crl_dv.stage), "crl");
	a->crl_dv.scope = BUNDLE_SCOPE_PARTIAL;
	a->crl_dv.what = "the etcd CA's CRL, with the removed nodes' "
	    "certificates, to every member";
	for (i = 0; a->removed[0] != '\0' && i < a->to->n_nodes; i++)
		if ((a->all.nodes[i].roles & ROLE_ETCD) &&
		    (r = fleet_deliver_plan(&a->ro.op, &a->crl_dv,
		    &a->all.nodes[i], &g)) != 0)
			return r;
	if (a->added[0] == '\0' && a->removed[0] == '\0')
		return 0;
	if ((r = add_step(a, "cluster-objects", "the cluster objects of the new "
	    "inventory: new nodes' bootstrap-token Secrets made, removed "
	    "nodes' deleted", "", 120, &g, 0, step_objects)) != 0)
		return r;
	for (i = 0; i < a->df->n; i++)
		if (a->df->changes[i].kind == INV_ADD &&
		    (r = rollout_node_items(&a->ro, &a->all.nodes[
		    a->df->changes[i].to - a->to->nodes], &g)) != 0)
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

/* a CA whose rotation is not idle (begun by hand or by ca rotate run) */
struct rot_arg {
	struct store_txn *t;
	struct which_arg *w;
};

static int
rot_cb(void *arg, const struct ca_rec *rec)
{
	struct rot_arg *ra = arg;
	struct rotate_status st;

	if (ra->w->busy[0] == '\0' && ca_rotate_status(ra->t, rec->name,
	    &st) == 0 && st.phase != ROTATE_IDLE)
		fleet_fmt(ra->w->busy, sizeof(ra->w->busy), "of CA %s (%s)",
		    rec->name, ca_rotate_phase_name(st.phase));
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
	if (w->busy[0] == '\0') {
		struct rot_arg ra = { t, w };

		if ((r = ca_foreach(t, rot_cb, &ra)) != 0)
			return r;
	}
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
	free(a->all_nodes);
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
	size_t i;
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
	/* the engine's inventory: the new one, then the nodes it removes */
	a->all = *a->to;
	if ((a->all_nodes = calloc(a->to->n_nodes + a->from->n_nodes,
	    sizeof(*a->all_nodes))) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	memcpy(a->all_nodes, a->to->nodes, a->to->n_nodes *
	    sizeof(*a->all_nodes));
	a->all.nodes = a->all_nodes;
	for (i = 0; i < a->df->n; i++)
		if (a->df->changes[i].kind == INV_REMOVE)
			a->all_nodes[a->all.n_nodes++] = *a->df->changes[i].from;
	/* the rollout's items run on this operation (op.ctx = &a->ro) */
	a->ro_o.fleet = o->op.fleet;
	a->ro_o.state = o->op.state;
	a->ro_o.gate_timeout_s = o->op.gate_timeout_s;
	if ((r = fleet_op_init(&a->ro.op, s, &a->all, &o->op, name,
	    INV_OP_KIND)) != 0)
		goto out;
	a->ro.op.ctx = &a->ro;
	a->ro.f = &a->ro.op.f;
	a->ro.s = s;
	a->ro.inv = &a->all;
	a->ro.o = &a->ro_o;
	fleet_fmt(a->ro.op.params, sizeof(a->ro.op.params), "{\"inventory\":"
	    "\"%s\",\"changes\":%zu,\"added\":\"%s\",\"removed\":\"%s\"}",
	    a->hash, a->df->n, a->added, a->removed);
	if ((r = rollout_plan_build(&a->all, &a->ro.plan)) != 0 ||
	    (r = build(a)) != 0)
		goto out;
	if (o->plan_only) {
		fleet_fmt(title, sizeof(title), "inventory apply %s: %zu changes%s%s"
		    "%s%s (operation %s)", file, a->df->n, a->added[0] ?
		    ", adds " : "", a->added, a->removed[0] ? ", removes " : "",
		    a->removed, name);
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
