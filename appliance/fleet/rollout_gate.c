// SPDX-License-Identifier: Apache-2.0
/*
 * rollout_gate.c: which gate closes which phase of the rollout (gate.h):
 * prepare passes with its steps; etcd: every member healthy over mTLS and
 * the member list equal to the inventory; ha: the VIP on exactly one
 * master, haproxy answering; masters: /readyz through the VIP; workers:
 * every worker's Node Ready. The appliance's client certificates are made
 * on the gate's first look. Nothing after a failed gate starts.
 */
#include "rollout_int.h"
#include "gate.h"

#include <stdlib.h>

struct look_arg {
	struct rollout *ro;
	enum rollout_phase p;
	struct https *id;
	struct ssh_conn **conns;
};

static int
timeout_s(const struct rollout *ro, enum rollout_phase p)
{
	static const int dflt[PH__COUNT] = { 0, 90, 30, 120, 180 };

	return ro->o->gate_timeout_s > 0 ? ro->o->gate_timeout_s : dflt[p];
}

/* What each look needs, made once: a client identity or SSH sessions. */
static int
prepare(struct look_arg *a, struct journal_gate *g)
{
	struct fleet *f = a->ro->f;
	struct slw_diag d;
	int r = 0;

	slw_diag_clear(&d);
	if (a->p == PH_ETCD && a->id == NULL)
		r = fleet_id_etcd(f, &a->id, &d);
	else if ((a->p == PH_MASTERS || a->p == PH_WORKERS) && a->id == NULL)
		r = fleet_id_admin(f, &a->id, &d);
	else if (a->p == PH_HA && a->conns == NULL &&
	    (a->conns = calloc(f->inv->n_nodes, sizeof(*a->conns))) == NULL)
		r = SLW_ERR_NOMEM;
	if (r != 0)
		fleet_fmt(g->reason, sizeof(g->reason), "%s", slw_diag_str(&d, r));
	return r;
}

static int
look(void *arg, struct journal_gate *g)
{
	struct look_arg *a = arg;
	const struct inventory *inv = a->ro->inv;

	if (a->p == PH_PREPARE) {
		fleet_fmt(g->reason, sizeof(g->reason), "every prepare step done");
		return 0;
	}
	if (prepare(a, g) != 0)
		return -1;
	switch (a->p) {
	case PH_ETCD:
		return gate_etcd(inv, a->id, g);
	case PH_HA:
		return gate_vip(a->ro->f, rollout_phase_name(a->p), a->conns, g);
	case PH_MASTERS:
		return gate_readyz(inv, a->id, g);
	case PH_WORKERS:
		return gate_nodes(inv, a->id, g);
	default:
		return 0;
	}
}

int
rollout_gate(struct rollout *ro, enum rollout_phase p,
    struct journal_gate *g, struct slw_diag *d)
{
	struct look_arg a = { ro, p, NULL, NULL };
	size_t i;
	int r;

	r = gate_wait(ro->f, rollout_phase_name(p), timeout_s(ro, p), look, &a,
	    g, d);
	if (a.conns != NULL) {
		for (i = 0; i < ro->inv->n_nodes; i++)
			ssh_close(a.conns[i]);
		free(a.conns);
	}
	return r;
}
