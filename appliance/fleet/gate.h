/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gate.h: the fleet engine's gates: health checks the appliance measures
 * itself (gate.c), and gate_wait, which polls one until it passes or its
 * time is up and fills the journal's record of it. Which gate closes
 * which phase is the caller's business (rollout_gate.c).
 */
#ifndef SLW_GATE_H
#define SLW_GATE_H

#include "fleet.h"

#define GATE_HAPROXY_STATS_PORT 10080	/* the seed's haproxy stats */

struct https;

/*
 * One look at a gate: fills g->reason (and g->nodes: one "node: why" line
 * per node that fails it). 0: passed; 1: not (yet), look again; -1: failed
 * for good, do not look again.
 */
typedef int gate_check_fn(void *arg, struct journal_gate *g);

/*
 * Calls check until it passes, fails for good, or timeout_s is up (about
 * once a second, a progress line now and then), then fills g: state,
 * f->run, when, how long. 0 if it passed; else SLW_ERR_DENIED and d says
 * why (the reason and the first node's line).
 */
int gate_wait(struct fleet *f, const char *phase, int timeout_s,
    gate_check_fn *check, void *arg, struct journal_gate *g,
    struct slw_diag *d);

/* Every etcd member's /health over mTLS; the member list equals inv. */
int gate_etcd(const struct inventory *inv, struct https *id,
    struct journal_gate *g);
/*
 * Exactly one master holds the VIP, haproxy answers on its stats port on
 * every master (over SSH, recorded under phase; conns: one per node,
 * connected on need, the caller closes them) and through the VIP.
 */
int gate_vip(struct fleet *f, const char *phase, struct ssh_conn **conns,
    struct journal_gate *g);
/* /readyz through the VIP answers 200. */
int gate_readyz(const struct inventory *inv, struct https *id,
    struct journal_gate *g);
/* /readyz of master n's own apiserver, then gate_readyz. */
int gate_readyz_node(const struct inventory *inv, struct https *id,
    const struct inv_node *n, struct journal_gate *g);
/* Every worker's Node object is Ready. */
int gate_nodes(const struct inventory *inv, struct https *id,
    struct journal_gate *g);

#endif
