// SPDX-License-Identifier: Apache-2.0
/*
 * crl_deliver.c: the etcd CA's current CRL delivered to every etcd member
 * as one fleet operation (crl_deliver.h), named after the CRL's number so
 * that running it again resumes the delivery of the same CRL and a newer
 * revocation starts a new one. Re-issues no certificate and restarts no
 * member for the CRL (etcd reads it per connection). Never prints or
 * journals a token or a key.
 */
#include "crl_deliver.h"
#include "bundle.h"
#include "ca.h"
#include "crl_store.h"
#include "deliver.h"
#include "rollout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CRL_OP_KIND "crl-etcd"

struct number_arg {
	char ca_name[CA_NAME_MAX];
	uint32_t gen;
	uint64_t number;
};

static int
number_txn(struct store_txn *t, void *arg)
{
	struct number_arg *a = arg;
	struct crl_state st;
	int r;

	memset(&st, 0, sizeof(st));
	if ((r = ca_resolve(t, CA_ETCD, a->ca_name)) != 0 ||
	    (r = ca_current(t, a->ca_name, &a->gen)) != 0)
		return r;
	r = crl_store_get(t, a->ca_name, 0, &st);
	if (r == SLW_ERR_NOTFOUND)
		return slw_diag(store_txn_diag(t), SLW_ERR_NOTFOUND, "CA %s has "
		    "no CRL yet ('slipway serve' signs one)", a->ca_name);
	if (r == 0)
		a->number = st.number;
	crl_store_state_free(&st);
	return r;
}

int
fleet_crl_deliver(struct store *s, const struct inventory *inv,
    const struct fleet_crl_opts *o, char name[JOURNAL_OP_MAX],
    struct slw_diag *d)
{
	struct fleet_op *op;
	struct fleet_delivery dv;
	struct number_arg na;
	char title[160];
	unsigned int g = 0;
	size_t i, members = 0;
	int r;

	name[0] = '\0';
	memset(&na, 0, sizeof(na));
	if ((r = store_read(s, number_txn, &na, d)) != 0)
		return r;
	if ((op = calloc(1, sizeof(*op))) == NULL)
		return SLW_ERR_NOMEM;
	fleet_fmt(name, JOURNAL_OP_MAX, "%s-%llu", CRL_OP_KIND,
	    (unsigned long long)na.number);
	if ((r = fleet_op_init(op, s, inv, &o->op, name, CRL_OP_KIND)) != 0)
		goto out;
	fleet_fmt(op->params, sizeof(op->params), "{\"ca\":\"%s\","
	    "\"generation\":%u,\"crlNumber\":%llu}", na.ca_name, na.gen,
	    (unsigned long long)na.number);
	/* a bundle that re-issues nothing: the CRL, the trust, the units */
	memset(&dv, 0, sizeof(dv));
	fleet_fmt(dv.stage, sizeof(dv.stage), "crl");
	dv.scope = BUNDLE_SCOPE_PARTIAL;
	dv.what = "the etcd CA's new CRL (etcd reads it at every connection: "
	    "no restart)";
	for (i = 0; i < inv->n_nodes; i++) {
		if (!(inv->nodes[i].roles & ROLE_ETCD))
			continue;
		members++;
		if ((r = fleet_deliver_plan(op, &dv, &inv->nodes[i], &g)) != 0)
			goto out;
	}
	if (members == 0) {
		r = slw_diag(d, SLW_ERR_INVALID, "the inventory has no etcd "
		    "member to deliver the CRL to");
		goto out;
	}
	if (o->plan_only) {
		fleet_fmt(title, sizeof(title), "deliver CRL %s/%u number %llu to "
		    "%zu etcd member%s (operation %s)", na.ca_name, na.gen,
		    (unsigned long long)na.number, members, members == 1 ? "" :
		    "s", name);
		r = op_plan_print(title, &op->plan, o->op.fleet.json);
		goto out;
	}
	if ((r = fleet_op_run(op, d)) != 0 && op->failed != NULL) {
		char why[JOURNAL_REASON_MAX];

		fleet_fmt(why, sizeof(why), "%s", slw_diag_str(d, r));
		slw_diag(d, r, "the CRL did not reach every etcd member: %s (run "
		    "'slipway cert revoke --deliver' to resume)", why);
	}
 out:
	fleet_op_fini(op);
	free(op);
	return r;
}

static int
rolled_txn(struct store_txn *t, void *arg)
{
	struct journal_op jo;
	int r;

	r = journal_op_get(t, ROLLOUT_OP, &jo);
	*(int *)arg = r == 0;
	return r == SLW_ERR_NOTFOUND ? 0 : r;
}

int
fleet_crl_rolled_out(struct store *s, int *yes, struct slw_diag *d)
{
	*yes = 0;
	return store_read(s, rolled_txn, yes, d);
}
