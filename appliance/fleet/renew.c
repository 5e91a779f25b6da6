// SPDX-License-Identifier: Apache-2.0
/*
 * renew.c: `slipway cert renew` (renew.h): which node certificates are due
 * (the expiry view), one delivery per node that re-issues exactly those
 * (a scoped bundle), node after node, each followed by its restarts and
 * gates; the plan is kept with the operation so that a rerun after a crash
 * finishes the same renewal. Never prints or journals a key.
 */
#include "renew.h"
#include "bundle.h"
#include "deliver.h"
#include "expiry.h"
#include "rand.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define RENEW_KIND "cert-renew"

/* A node's own offset of its renewal time: up to 1/30 of the lifetime,
 * so that nodes issued together do not all come due at once. */
static time_t
jitter(const char *node, time_t lifetime)
{
	uint32_t h = 2166136261u;

	for (; *node != '\0'; node++)
		h = (h ^ (uint8_t)*node) * 16777619u;
	return (time_t)((uint64_t)(lifetime > 0 ? lifetime : 0) / 30 *
	    (h % 1000) / 1000);
}

struct due_arg {
	const struct inventory *inv;
	const struct fleet_renew_opts *o;
	time_t now;
	uint64_t *scopes;		/* per node, by index */
	size_t n;			/* certificates due */
	time_t next;
};

static int
due_txn(struct store_txn *t, void *arg)
{
	struct due_arg *a = arg;
	struct expiry_view *v = NULL;
	size_t i;
	int r;

	if ((r = expiry_view_load(t, a->inv, a->now, &v)) != 0)
		return r;
	for (i = 0; i < v->n; i++) {
		const struct expiry_cert *c = &v->certs[i];
		const struct inv_node *n = inventory_node(a->inv, c->owner);
		uint64_t bit = bundle_scope_of_purpose(c->purpose);
		time_t at;
		int due;

		if (n == NULL || bit == 0 || !(c->flags & EXP_IN_USE))
			continue;
		if (a->o != NULL && a->o->node != NULL &&
		    strcmp(a->o->node, n->name) != 0)
			continue;
		at = c->renew_at + jitter(n->name, c->not_after - c->not_before);
		if (a->o != NULL && a->o->all)
			due = 1;
		else if (a->o != NULL && a->o->within_s > 0)
			due = c->not_after - a->now <= (time_t)a->o->within_s;
		else
			due = a->now >= at;
		if (!due) {
			if (a->next == 0 || at < a->next)
				a->next = at;
			continue;
		}
		if (a->scopes != NULL)
			a->scopes[n - a->inv->nodes] |= bit;
		a->n++;
	}
	expiry_view_free(v);
	return 0;
}

int
fleet_renew_due(struct store *s, const struct inventory *inv, time_t now,
    int *due, time_t *next, struct slw_diag *d)
{
	struct due_arg a;
	int r;

	memset(&a, 0, sizeof(a));
	a.inv = inv;
	a.now = now;
	if ((r = store_read(s, due_txn, &a, d)) != 0)
		return r;
	*due = a.n > 0;
	*next = a.next;
	return 0;
}

struct renewal {
	struct fleet_op op;
	struct fleet_delivery *dv;	/* one per node */
	uint64_t *scopes;
};

/* The plan from per-node scopes: node after node. */
static int
build(struct renewal *rn)
{
	const struct inventory *inv = rn->op.inv;
	unsigned int g = 0;
	size_t i;
	int r;

	for (i = 0; i < inv->n_nodes; i++) {
		if (rn->scopes[i] == 0)
			continue;
		fleet_fmt(rn->dv[i].stage, sizeof(rn->dv[i].stage), "renew");
		rn->dv[i].scope = BUNDLE_SCOPE_PARTIAL | rn->scopes[i];
		rn->dv[i].what = "the node's certificates that are due, re-issued";
		if ((r = fleet_deliver_plan(&rn->op, &rn->dv[i], &inv->nodes[i],
		    &g)) != 0)
			return r;
	}
	return 0;
}

/* Scopes into the operation's params, and back (resume). */
static int
params_put(struct renewal *rn)
{
	const struct inventory *inv = rn->op.inv;
	cJSON *o, *nodes;
	char hex[24], *txt;
	size_t i;

	if ((o = cJSON_CreateObject()) == NULL ||
	    (nodes = cJSON_AddObjectToObject(o, "nodes")) == NULL) {
		cJSON_Delete(o);
		return SLW_ERR_NOMEM;
	}
	for (i = 0; i < inv->n_nodes; i++)
		if (rn->scopes[i] != 0) {
			fleet_fmt(hex, sizeof(hex), "%llx",
			    (unsigned long long)rn->scopes[i]);
			cJSON_AddStringToObject(nodes, inv->nodes[i].name, hex);
		}
	txt = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (txt == NULL)
		return SLW_ERR_NOMEM;
	if (strlen(txt) >= sizeof(rn->op.params)) {
		cJSON_free(txt);
		return SLW_ERR_TOOBIG;
	}
	fleet_fmt(rn->op.params, sizeof(rn->op.params), "%s", txt);
	cJSON_free(txt);
	return 0;
}

static int
params_get(struct renewal *rn, const char *params)
{
	const struct inventory *inv = rn->op.inv;
	const cJSON *nodes, *it;
	cJSON *o;

	if ((o = cJSON_Parse(params)) == NULL)
		return SLW_ERR_CORRUPT;
	nodes = cJSON_GetObjectItemCaseSensitive(o, "nodes");
	cJSON_ArrayForEach(it, nodes) {
		const struct inv_node *n = inventory_node(inv, it->string);

		if (n != NULL && cJSON_IsString(it))
			rn->scopes[n - inv->nodes] = strtoull(it->valuestring, NULL,
			    16);
	}
	cJSON_Delete(o);
	return 0;
}

struct cur_arg {
	char name[JOURNAL_OP_MAX];
	struct journal_op jo;
};

static int
cur_txn(struct store_txn *t, void *arg)
{
	struct cur_arg *a = arg;
	int r;

	if ((r = journal_op_current(t, RENEW_KIND, a->name, sizeof(a->name))) !=
	    0)
		return r == SLW_ERR_NOTFOUND ? 0 : r;
	return journal_op_get(t, a->name, &a->jo);
}

int
fleet_renew_run(struct store *s, const struct inventory *inv,
    const struct fleet_renew_opts *o, size_t *renewed, struct slw_diag *d)
{
	struct renewal *rn;
	struct cur_arg ca;
	struct due_arg da;
	char name[JOURNAL_OP_MAX], title[160];
	size_t i, nodes = 0;
	int r;

	*renewed = 0;
	if (o->node != NULL && inventory_node(inv, o->node) == NULL)
		return slw_diag(d, SLW_ERR_NOTFOUND, "no node '%.64s' in the "
		    "inventory", o->node);
	if ((rn = calloc(1, sizeof(*rn))) == NULL ||
	    (rn->scopes = calloc(inv->n_nodes + 1, sizeof(*rn->scopes))) == NULL ||
	    (rn->dv = calloc(inv->n_nodes + 1, sizeof(*rn->dv))) == NULL) {
		if (rn != NULL) {
			free(rn->scopes);
			free(rn);
		}
		return SLW_ERR_NOMEM;
	}
	memset(&ca, 0, sizeof(ca));
	if ((r = store_read(s, cur_txn, &ca, d)) != 0)
		goto out;
	if (ca.name[0] != '\0') {
		/* an unfinished renewal: the same plan, to its end */
		fleet_fmt(name, sizeof(name), "%s", ca.name);
		if ((r = fleet_op_init(&rn->op, s, inv, &o->op, name,
		    RENEW_KIND)) != 0 || (r = params_get(rn, ca.jo.params)) != 0)
			goto out;
	} else {
		memset(&da, 0, sizeof(da));
		da.inv = inv;
		da.o = o;
		da.now = slw_now();
		da.scopes = rn->scopes;
		if ((r = store_read(s, due_txn, &da, d)) != 0)
			goto out;
		if (da.n == 0) {
			slw_diag_set(d, 0, "nothing is due");
			r = 0;
			goto out;
		}
		fleet_fmt(name, sizeof(name), "%s-%lld", RENEW_KIND,
		    (long long)da.now);
		if ((r = fleet_op_init(&rn->op, s, inv, &o->op, name,
		    RENEW_KIND)) != 0 || (r = params_put(rn)) != 0)
			goto out;
	}
	rn->op.ctx = rn;
	for (i = 0; i < inv->n_nodes; i++)
		if (rn->scopes[i] != 0) {
			nodes++;
			for (uint64_t b = rn->scopes[i] & ~BUNDLE_SCOPE_PARTIAL; b;
			    b &= b - 1)
				(*renewed)++;
		}
	if ((r = build(rn)) != 0)
		goto out;
	if (o->plan_only) {
		fleet_fmt(title, sizeof(title), "cert renew: %zu certificates on "
		    "%zu nodes (operation %s)", *renewed, nodes, name);
		r = op_plan_print(title, &rn->op.plan, o->op.fleet.json);
		goto out;
	}
	if ((r = fleet_op_run(&rn->op, d)) != 0) {
		if (rn->op.failed != NULL) {
			char why[JOURNAL_REASON_MAX];

			fleet_fmt(why, sizeof(why), "%s", slw_diag_str(d, r));
			slw_diag_set(d, r, "stopped at %s: %s; nothing after it was "
			    "started (run the same command again to resume)",
			    rn->op.failed->stage, why);
		}
		goto out;
	}
	slw_diag_set(d, 0, "%zu certificates renewed on %zu nodes", *renewed,
	    nodes);
 out:
	fleet_op_fini(&rn->op);
	free(rn->scopes);
	free(rn->dv);
	free(rn);
	return r;
}
