// SPDX-License-Identifier: Apache-2.0
/*
 * op.c: the runner of fleet operations (op.h): the plan's groups in
 * order, each node's steps over one SSH connection, a bounded number of
 * nodes at a time; every step journaled before and after it runs, so a
 * crash, a failed step or a failed gate leaves a state from which the same
 * command resumes at the step that did not finish, and a finished step is
 * never run again. Must never let a token or key reach a progress line,
 * the journal or an error.
 */
#include "op.h"
#include "audit.h"
#include "rand.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define DEFAULT_PARALLEL 10

const char *
op_item_node(const struct op_item *it)
{
	return it->node != NULL ? it->node->name : FLEET_APPLIANCE;
}

/* ---- the plan ---- */

int
op_plan_add(struct op_plan *p, const struct op_item *it)
{
	struct op_item *ni;

	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 64;

		if ((ni = realloc(p->items, nc * sizeof(*ni))) == NULL)
			return SLW_ERR_NOMEM;
		p->items = ni;
		p->cap = nc;
	}
	p->items[p->n] = *it;
	p->items[p->n].stage[sizeof(it->stage) - 1] = '\0';
	p->items[p->n].step[sizeof(it->step) - 1] = '\0';
	p->n++;
	return 0;
}

void
op_plan_free(struct op_plan *p)
{
	if (p == NULL)
		return;
	free(p->items);
	memset(p, 0, sizeof(*p));
}

int
op_plan_print(const char *title, const struct op_plan *p, int json)
{
	cJSON *root = NULL, *arr = NULL, *o;
	const char *stage = "";
	size_t i;

	if (json) {
		if ((root = cJSON_CreateObject()) == NULL ||
		    cJSON_AddStringToObject(root, "operation", title) == NULL ||
		    (arr = cJSON_AddArrayToObject(root, "steps")) == NULL) {
			cJSON_Delete(root);
			return SLW_ERR_NOMEM;
		}
	} else
		printf("%s: %zu steps\n", title, p->n);
	for (i = 0; i < p->n; i++) {
		const struct op_item *it = &p->items[i];

		if (json) {
			if ((o = cJSON_CreateObject()) == NULL) {
				cJSON_Delete(root);
				return SLW_ERR_NOMEM;
			}
			cJSON_AddNumberToObject(o, "order", (double)(i + 1));
			cJSON_AddStringToObject(o, "stage", it->stage);
			cJSON_AddStringToObject(o, "node", it->node ?
			    it->node->name : "appliance");
			cJSON_AddStringToObject(o, "step", it->step);
			cJSON_AddStringToObject(o, "what", it->what ? it->what : "");
			if (it->waits != NULL && it->waits[0] != '\0')
				cJSON_AddStringToObject(o, "waitsFor", it->waits);
			cJSON_AddNumberToObject(o, "group", it->group);
			cJSON_AddNumberToObject(o, "parallel", it->par);
			cJSON_AddItemToArray(arr, o);
			continue;
		}
		if (strcmp(stage, it->stage) != 0) {
			printf("\nstage %s\n", it->stage);
			stage = it->stage;
		}
		printf("  %4zu. %-10s %-22s %s%s%s\n", i + 1, it->node ?
		    it->node->name : "appliance", it->step, it->what ? it->what :
		    "", it->waits && it->waits[0] ? "; waits for " : "",
		    it->waits ? it->waits : "");
	}
	if (json) {
		char *txt = cJSON_Print(root);

		if (txt != NULL)
			printf("%s\n", txt);
		cJSON_free(txt);
		cJSON_Delete(root);
	}
	return fflush(stdout) == 0 ? 0 : SLW_ERR_IO;
}

/* ---- the operation ---- */

int
fleet_op_init(struct fleet_op *op, struct store *s,
    const struct inventory *inv, const struct fleet_op_opts *o,
    const char *name, const char *kind)
{
	int r;

	memset(op, 0, sizeof(*op));
	op->s = s;
	op->inv = inv;
	op->o = o;
	pthread_mutex_init(&op->mu, NULL);
	fleet_fmt(op->name, sizeof(op->name), "%s", name);
	fleet_fmt(op->kind, sizeof(op->kind), "%s", kind);
	if ((r = fleet_init(&op->f, s, inv, &o->fleet)) != 0)
		return r;
	op->f.op = op->name;
	return 0;
}

void
fleet_op_fini(struct fleet_op *op)
{
	if (op == NULL || op->s == NULL)
		return;
	fleet_fini(&op->f);
	op_plan_free(&op->plan);
	pthread_mutex_destroy(&op->mu);
	memset(op, 0, sizeof(*op));
}

void
fleet_op_progress(struct fleet_op *op, const struct op_item *it,
    const char *fmt, ...)
{
	char msg[JOURNAL_REASON_MAX + 200];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fleet_progress(&op->f, it->stage, it->node ? it->node->name :
	    "appliance", it->step, "%s", msg);
}

/* ---- journal ---- */

struct step_arg {
	struct fleet_op *op;
	const struct op_item *it;
	struct journal_step *st;
};

static int
stepput_txn(struct store_txn *t, void *arg)
{
	struct step_arg *a = arg;

	return journal_step_put(t, a->op->name, a->it->stage,
	    op_item_node(a->it), a->it->step, a->st);
}

static int
stepget_txn(struct store_txn *t, void *arg)
{
	struct step_arg *a = arg;

	return journal_step_get(t, a->op->name, a->it->stage,
	    op_item_node(a->it), a->it->step, a->st);
}

int
fleet_op_step_get(struct fleet_op *op, const struct op_item *it,
    struct journal_step *st)
{
	struct step_arg a = { op, it, st };

	return store_read(op->s, stepget_txn, &a, NULL);
}

static int
step_save(struct fleet_op *op, const struct op_item *it,
    struct journal_step *st)
{
	struct step_arg a = { op, it, st };

	/* committed (group commit with other nodes' records) before the
	 * work it describes starts */
	return store_submit(op->s, stepput_txn, &a, NULL);
}

int
fleet_op_pending(struct fleet_op *op, const char *stage, size_t *pending)
{
	struct journal_step st;
	size_t i;
	int r;

	*pending = 0;
	for (i = 0; i < op->plan.n; i++) {
		const struct op_item *it = &op->plan.items[i];

		if ((stage != NULL && strcmp(it->stage, stage) != 0) ||
		    (it->flags & OPI_REPEAT))
			continue;
		if ((r = fleet_op_step_get(op, it, &st)) != 0)
			return r;
		if (st.state != JS_DONE)
			(*pending)++;
	}
	return 0;
}

/* ---- one step ---- */

static int
run_item(struct fleet_op *op, const struct op_item *it, struct ssh_conn **c,
    struct slw_diag *d)
{
	struct journal_step st;
	struct buf out = { 0 };
	struct slw_diag sd;
	int64_t t0;
	int r;

	if ((r = fleet_op_step_get(op, it, &st)) != 0)
		return slw_diag(d, r, "cannot read the journal");
	if (st.state == JS_DONE && !(it->flags & OPI_REPEAT)) {
		fleet_op_progress(op, it, "done earlier (run %llu)",
		    (unsigned long long)st.run);
		return 0;
	}
	st.state = JS_RUNNING;
	st.run = op->run.id;
	st.attempts++;
	st.started = slw_now();
	st.finished = 0;
	st.exit_status = -1;
	st.reason[0] = st.warnings[0] = '\0';
	if ((r = step_save(op, it, &st)) != 0)
		return slw_diag(d, r, "cannot write the journal");
	t0 = fleet_now_ms();
	if (it->waits != NULL && it->waits[0] != '\0')
		fleet_op_progress(op, it, "running; waits for %s", it->waits);
	else
		fleet_op_progress(op, it, "running");
	slw_diag_clear(&sd);
	r = 0;
	if ((it->flags & OPI_SSH) && *c == NULL && it->node != NULL)
		r = fleet_remote_connect(&op->f, it->node, c, &sd);
	if (r == 0) {
		r = it->fn(op, it, c, &out, &sd);
		if (r != 0 && r != FLEET_ERR_EXIT && *c != NULL) {
			/* A broken or timed-out session is not reused. */
			ssh_close(*c);
			*c = NULL;
		}
	}
	st.elapsed = (double)(fleet_now_ms() - t0) / 1000.0;
	st.finished = slw_now();
	st.state = r == 0 ? JS_DONE : JS_FAILED;
	st.exit_status = r == 0 ? 0 : 1;
	if (r != 0)
		fleet_fmt(st.reason, sizeof(st.reason), "%s", slw_diag_str(&sd, r));
	if (out.data != NULL)
		fleet_remote_warnings(out.data, out.len, st.warnings,
		    sizeof(st.warnings));
	if (step_save(op, it, &st) != 0 && r == 0)
		r = slw_diag(&sd, SLW_ERR_STORE, "cannot write the journal");
	if (r == 0)
		fleet_op_progress(op, it, "done (%.1fs)%s%s%s%s", st.elapsed,
		    sd.msg[0] ? ": " : "", sd.msg, st.warnings[0] ?
		    "; warnings: " : "", st.warnings);
	else {
		fleet_op_progress(op, it, "FAILED (%.1fs): %s", st.elapsed,
		    st.reason);
		slw_diag(d, r, "%s", st.reason);
	}
	buf_free(&out);
	return r;
}

/* ---- a group ---- */

struct pool {
	struct fleet_op *op;
	size_t a, b;			/* items [a, b) */
	pthread_mutex_t mu;
	int stop;			/* a node failed: start no other */
	size_t n_failed;
	const struct op_item *failed;	/* the first failure */
	char reason[JOURNAL_REASON_MAX];
	char failed_nodes[256];
};

static void
node_items(void *arg, const struct inv_node *n)
{
	struct pool *pl = arg;
	struct fleet_op *op = pl->op;
	struct ssh_conn *c = NULL;
	struct slw_diag d;
	size_t i;
	int r = 0;

	pthread_mutex_lock(&pl->mu);
	r = pl->stop;
	pthread_mutex_unlock(&pl->mu);
	if (r)
		return;
	for (i = pl->a; i < pl->b && r == 0; i++) {
		const struct op_item *it = &op->plan.items[i];

		if (it->node != n)
			continue;
		slw_diag_clear(&d);
		if ((r = run_item(op, it, &c, &d)) != 0) {
			size_t used;

			pthread_mutex_lock(&pl->mu);
			pl->stop = 1;
			if (pl->n_failed++ == 0) {
				pl->failed = it;
				fleet_fmt(pl->reason, sizeof(pl->reason), "%s",
				    slw_diag_str(&d, r));
			}
			used = strlen(pl->failed_nodes);
			fleet_fmt(pl->failed_nodes + used,
			    sizeof(pl->failed_nodes) - used, "%s%s",
			    used ? "," : "", n->name);
			pthread_mutex_unlock(&pl->mu);
		}
	}
	ssh_close(c);
}

static int
run_group(struct fleet_op *op, size_t a, size_t b, struct slw_diag *d)
{
	const struct op_item *first = &op->plan.items[a];
	const struct inv_node **nodes = NULL;
	unsigned char *seen = NULL;
	struct pool pl;
	size_t i, n = 0;
	int par, r;

	op->f.phase = first->stage;
	if (first->node == NULL) {
		for (i = a; i < b; i++) {
			struct ssh_conn *none = NULL;
			struct slw_diag sd;

			slw_diag_clear(&sd);
			if ((r = run_item(op, &op->plan.items[i], &none, &sd)) != 0) {
				ssh_close(none);
				op->failed = &op->plan.items[i];
				return slw_diag(d, r, "%s", slw_diag_str(&sd, r));
			}
			ssh_close(none);
		}
		return 0;
	}
	if ((nodes = calloc(b - a, sizeof(*nodes))) == NULL ||
	    (seen = calloc(op->inv->n_nodes + 1, 1)) == NULL) {
		free(nodes);
		return SLW_ERR_NOMEM;
	}
	/* the group's nodes in plan order, each once */
	for (i = a; i < b; i++) {
		const struct inv_node *nd = op->plan.items[i].node;
		size_t k;

		if (nd == NULL || (k = fleet_node_index(&op->f, nd)) >=
		    op->inv->n_nodes || seen[k])
			continue;
		seen[k] = 1;
		nodes[n++] = nd;
	}
	free(seen);
	memset(&pl, 0, sizeof(pl));
	pl.op = op;
	pl.a = a;
	pl.b = b;
	pthread_mutex_init(&pl.mu, NULL);
	par = first->par > 0 ? first->par : op->o->parallel > 0 ?
	    op->o->parallel : DEFAULT_PARALLEL;
	fleet_parallel(nodes, n, par, node_items, &pl);
	pthread_mutex_destroy(&pl.mu);
	free(nodes);
	if (pl.n_failed == 0)
		return 0;
	op->failed = pl.failed;
	if (pl.n_failed > 1)
		return slw_diag(d, SLW_ERR_DENIED, "%zu nodes failed (%s), first "
		    "%s: %s: %s", pl.n_failed, pl.failed_nodes,
		    op_item_node(pl.failed), pl.failed->step, pl.reason);
	return slw_diag(d, SLW_ERR_DENIED, "%s: %s: %s",
	    op_item_node(pl.failed), pl.failed->step, pl.reason);
}

/* ---- the run ---- */

struct runrec_arg {
	struct fleet_op *op;
	int begin;
	int complete;
};

static int
runrec_txn(struct store_txn *t, void *arg)
{
	struct runrec_arg *a = arg;
	struct fleet_op *op = a->op;
	struct journal_op jo;
	char obj[JOURNAL_OP_MAX + 32], detail[AUDIT_DETAIL_MAX];
	int r;

	if (a->begin && (r = journal_run_next(t, &op->run.id)) != 0)
		return r;
	if ((r = journal_run_put(t, op->name, &op->run)) != 0)
		return r;
	r = journal_op_get(t, op->name, &jo);
	if (r == SLW_ERR_NOTFOUND) {
		memset(&jo, 0, sizeof(jo));
		fleet_fmt(jo.name, sizeof(jo.name), "%s", op->name);
		fleet_fmt(jo.kind, sizeof(jo.kind), "%s", op->kind);
		jo.created = slw_now();
	} else if (r != 0)
		return r;
	if (op->params[0] != '\0')
		fleet_fmt(jo.params, sizeof(jo.params), "%s", op->params);
	jo.last_run = op->run.id;
	if (a->begin) {
		jo.state = JS_RUNNING;
		jo.finished = 0;
		jo.reason[0] = '\0';
	} else {
		jo.state = a->complete ? JS_DONE : JS_FAILED;
		jo.finished = a->complete ? slw_now() : 0;
		fleet_fmt(jo.reason, sizeof(jo.reason), "%s", op->run.reason);
	}
	if ((r = journal_op_put(t, &jo)) != 0)
		return r;
	if ((r = journal_op_set_current(t, op->kind, a->complete ? NULL :
	    op->name)) != 0)
		return r;
	fleet_fmt(obj, sizeof(obj), "%s run %llu", op->name,
	    (unsigned long long)op->run.id);
	if (a->begin)
		fleet_fmt(detail, sizeof(detail), "started: %s, parallel %d",
		    op->run.phase[0] ? op->run.phase : "every stage",
		    op->run.parallel);
	else
		fleet_fmt(detail, sizeof(detail), "%s%s%s", op->run.state ==
		    JS_DONE ? "complete" : "stopped", op->run.reason[0] ? ": " :
		    "", op->run.reason);
	return audit_append(t, op->o->fleet.actor, op->o->audit_action ?
	    op->o->audit_action : "fleet.run", obj, detail);
}

int
fleet_op_run(struct fleet_op *op, struct slw_diag *d)
{
	const struct fleet_op_opts *o = op->o;
	struct runrec_arg ra;
	size_t a, b, pending = 0;
	int lockfd = -1, created = 0, r;

	op->failed = NULL;
	if ((r = journal_lock_take(o->state, o->command ? o->command :
	    op->name, &lockfd, d)) != 0)
		return r;
	if ((r = fleet_keys(&op->f, &created, d)) != 0)
		goto out;
	if (created && !o->fleet.quiet && !o->fleet.json)
		printf("created the appliance's ssh key; authorize it on every "
		    "node (slipway ssh pubkey)\n");
	op->run.pid = (long)getpid();
	op->run.started = slw_now();
	op->run.state = JS_RUNNING;
	op->run.parallel = o->parallel > 0 ? o->parallel : DEFAULT_PARALLEL;
	fleet_fmt(op->run.phase, sizeof(op->run.phase), "%s", o->only_stage ?
	    o->only_stage : "");
	memset(&ra, 0, sizeof(ra));
	ra.op = op;
	ra.begin = 1;
	if ((r = store_write(op->s, runrec_txn, &ra, d)) != 0)
		goto out;
	op->f.run = op->run.id;
	if (!o->fleet.quiet && !o->fleet.json) {
		printf("%s run %llu: %zu nodes, %zu steps, parallel %d%s%s\n",
		    op->name, (unsigned long long)op->run.id, op->inv->n_nodes,
		    op->plan.n, op->run.parallel, o->only_stage ? ", stage " :
		    "", o->only_stage ? o->only_stage : "");
		fflush(stdout);
	}
	for (a = 0; a < op->plan.n; a = b) {
		for (b = a + 1; b < op->plan.n &&
		    op->plan.items[b].group == op->plan.items[a].group; b++)
			;
		if (o->only_stage != NULL &&
		    strcmp(op->plan.items[a].stage, o->only_stage) != 0)
			continue;
		if ((r = run_group(op, a, b, d)) != 0)
			goto fin;
	}
	r = 0;
 fin:
	op->run.finished = slw_now();
	op->run.state = r == 0 ? JS_DONE : JS_FAILED;
	fleet_fmt(op->run.reason, sizeof(op->run.reason), "%s", r == 0 ? "" :
	    slw_diag_str(d, r));
	/* complete only when every step of every stage is done */
	if (r == 0 && fleet_op_pending(op, NULL, &pending) != 0)
		pending = 1;
	ra.begin = 0;
	ra.complete = r == 0 && pending == 0;
	if (store_write(op->s, runrec_txn, &ra, NULL) != 0 && r == 0)
		r = slw_diag(d, SLW_ERR_STORE, "cannot write the journal");
	if (!o->fleet.quiet && !o->fleet.json) {
		printf("%s run %llu: %s in %.1fs\n", op->name,
		    (unsigned long long)op->run.id, r == 0 ? "complete" :
		    "stopped", (double)(fleet_now_ms() - op->f.t0) / 1000.0);
		fflush(stdout);
	}
 out:
	if (lockfd >= 0)
		close(lockfd);
	return r;
}
