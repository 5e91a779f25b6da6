// SPDX-License-Identifier: Apache-2.0
/*
 * metrics.c: the monitor's own series for the metrics listener (serve.h):
 * CSR decisions counted as the approver makes them
 * (slipway_csr_decisions_total{decision,rule}), then the fleet's (the
 * last run's state per phase: a renderer the command hands in, since
 * serve/ does not call fleet/). Labels come from fixed tables (the
 * policy's rule names), never from a request.
 */
#include "approver.h"
#include "serve.h"

#include <stdio.h>
#include <string.h>

static size_t
rule_index(const char *rule)
{
	size_t i;

	for (i = 0; approver_policy_rules[i] != NULL && i < SERVE_RULES_MAX;
	    i++)
		if (strcmp(approver_policy_rules[i], rule) == 0)
			return i;
	return SERVE_RULES_MAX;
}

void
serve_metrics_init(struct serve_metrics *m, struct store *s,
    const struct inventory *inv, const char *state,
    serve_fleet_metrics_fn fleet)
{
	size_t i, j;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < 2; i++)
		for (j = 0; j < SERVE_RULES_MAX; j++)
			atomic_init(&m->csr[i][j], 0);
	m->s = s;
	m->inv = inv;
	m->state = state;
	m->fleet = fleet;
}

void
serve_metrics_decided(void *arg, enum approver_verdict v, const char *reason)
{
	struct serve_metrics *m = arg;
	size_t i = rule_index(approver_policy_rule(v, reason));

	if (i >= SERVE_RULES_MAX || (v != APPROVER_APPROVE &&
	    v != APPROVER_DENY))
		return;
	atomic_fetch_add_explicit(&m->csr[v == APPROVER_DENY][i], 1,
	    memory_order_relaxed);
}

static int
render_csr(struct serve_metrics *m, struct buf *out)
{
	static const char *const decision[2] = { "approve", "deny" };
	size_t d, i;
	int r;

	r = buf_appendf(out,
	    "# HELP slipway_csr_decisions_total Kubelet CSRs approved or denied "
	    "by the approver since serve started, by the policy rule that "
	    "decided.\n"
	    "# TYPE slipway_csr_decisions_total counter\n");
	for (d = 0; d < 2; d++)
		for (i = 0; approver_policy_rules[i] != NULL &&
		    i < SERVE_RULES_MAX; i++) {
			/* approvals name a signer, denials a check */
			if ((d == 0) != (i < 2) && strcmp(approver_policy_rules[i],
			    "other") != 0)
				continue;
			r |= buf_appendf(out, "slipway_csr_decisions_total{"
			    "decision=\"%s\",rule=\"%s\"} %lu\n", decision[d],
			    approver_policy_rules[i], atomic_load_explicit(
			    &m->csr[d][i], memory_order_relaxed));
		}
	return r;
}

int
serve_metrics_render(void *cls, struct buf *out)
{
	struct serve_metrics *m = cls;
	int r;

	if (render_csr(m, out) != 0)
		return SLW_ERR_NOMEM;
	if (m->fleet != NULL &&
	    (r = m->fleet(m->s, m->inv, m->state, out)) != 0)
		return r;
	return 0;
}
