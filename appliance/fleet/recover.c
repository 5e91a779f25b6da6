// SPDX-License-Identifier: Apache-2.0
/*
 * recover.c: the recovery of a cluster whose certificates expired
 * (recover.h): what expired, from the expiry view; one delivery of every
 * node's whole bundle with the tiers restarted together behind one gate
 * each (deliver.h, together). Must never start on a cluster where nothing
 * in use has expired, and never prints or journals a token or a key.
 */
#include "recover.h"
#include "deliver.h"
#include "expiry.h"
#include "rand.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECOVER_KIND "recover"

struct look_arg {
	const struct inventory *inv;
	time_t now;
	size_t expired, in_use;
	char first[200];		/* the first expired one, for the lines */
	time_t soonest;
	char cur[JOURNAL_OP_MAX];	/* an unfinished recovery */
};

static int
look_txn(struct store_txn *t, void *arg)
{
	struct look_arg *a = arg;
	struct expiry_view *v = NULL;
	size_t i;
	int r;

	if ((r = journal_op_current(t, RECOVER_KIND, a->cur, sizeof(a->cur))) !=
	    0 && r != SLW_ERR_NOTFOUND)
		return r;
	if ((r = expiry_view_load(t, a->inv, a->now, &v)) != 0)
		return r;
	a->soonest = 0;
	for (i = 0; i < v->n; i++) {
		const struct expiry_cert *c = &v->certs[i];

		/* what the nodes hold now: not the appliance's or operators' */
		if (!(c->flags & EXP_IN_USE) ||
		    inventory_node(a->inv, c->owner) == NULL)
			continue;
		a->in_use++;
		if (a->soonest == 0 || c->not_after < a->soonest)
			a->soonest = c->not_after;
		if (!(c->flags & EXP_EXPIRED))
			continue;
		if (a->expired++ == 0)
			fleet_fmt(a->first, sizeof(a->first), "%s %s", c->owner,
			    c->purpose);
	}
	expiry_view_free(v);
	return 0;
}

int
fleet_recover_run(struct store *s, const struct inventory *inv,
    const struct fleet_recover_opts *o, struct slw_diag *d)
{
	struct fleet_op *op = NULL;
	struct fleet_delivery dv;
	struct look_arg la;
	char name[JOURNAL_OP_MAX], title[200], when[32];
	unsigned int g = 0;
	struct tm tm;
	int r;

	memset(&la, 0, sizeof(la));
	la.inv = inv;
	la.now = slw_now();
	if ((r = store_read(s, look_txn, &la, d)) != 0)
		return r;
	if (la.cur[0] == '\0' && la.expired == 0) {
		gmtime_r(&la.soonest, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (la.in_use == 0)
			return slw_diag(d, SLW_ERR_INVALID, "nothing to recover: no "
			    "node holds a certificate from this appliance yet "
			    "(rollout first)");
		/* a healthy cluster: say so, change nothing */
		slw_diag_set(d, 0, "nothing to recover: none of the %zu "
		    "certificates the nodes hold has expired (the first ends %s; "
		    "'slipway cert renew' renews those that are due)", la.in_use,
		    when);
		return 0;
	}
	if (la.cur[0] != '\0')
		fleet_fmt(name, sizeof(name), "%s", la.cur);
	else
		fleet_fmt(name, sizeof(name), "%s-%lld", RECOVER_KIND,
		    (long long)la.now);
	if ((op = calloc(1, sizeof(*op))) == NULL)
		return SLW_ERR_NOMEM;
	if ((r = fleet_op_init(op, s, inv, &o->op, name, RECOVER_KIND)) != 0)
		goto out;
	fleet_fmt(op->params, sizeof(op->params), "{\"expired\":%zu,"
	    "\"inUse\":%zu}", la.expired, la.in_use);
	memset(&dv, 0, sizeof(dv));
	fleet_fmt(dv.stage, sizeof(dv.stage), "recover");
	dv.scope = 0;		/* the whole bundle: every leaf re-issued */
	dv.what = "the whole bundle: every certificate re-issued, a fresh "
	    "kubelet bootstrap token";
	dv.together = 1;
	if ((r = fleet_deliver_plan(op, &dv, NULL, &g)) != 0)
		goto out;
	if (o->plan_only) {
		fleet_fmt(title, sizeof(title), "recover: %zu of %zu certificates "
		    "the nodes hold have expired%s%s (operation %s)", la.expired,
		    la.in_use, la.first[0] ? ", first " : "", la.first, name);
		r = op_plan_print(title, &op->plan, o->op.fleet.json);
		goto out;
	}
	if ((r = fleet_op_run(op, d)) != 0 && op->failed != NULL) {
		char why[JOURNAL_REASON_MAX];

		fleet_fmt(why, sizeof(why), "%s", slw_diag_str(d, r));
		slw_diag(d, r, "stopped at %s: %s; nothing after it was started "
		    "(run 'slipway recover' again to resume)", op->failed->stage,
		    why);
	} else if (r == 0)
		slw_diag_set(d, 0, "recovered: %zu expired certificates replaced, "
		    "every tier's gate passed (operation %s)", la.expired, name);
 out:
	fleet_op_fini(op);
	free(op);
	return r;
}
