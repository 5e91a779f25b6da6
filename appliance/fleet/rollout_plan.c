// SPDX-License-Identifier: Apache-2.0
/*
 * rollout_plan.c: the ordered steps of a rollout for an inventory: for
 * each phase (rollout_phase.c), the steps (rollout_steps.c) on the nodes
 * that take part, and the gate that closes it. Pure: reads the inventory,
 * prints only in rollout_plan_print.
 */
#include "rollout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static const char *const gate_text[PH__COUNT] = {
	"every node passed every prepare step",
	"every member's /health is true over mTLS (appliance client "
	"certificate) and the member list equals the inventory",
	"exactly one master holds the VIP; haproxy answers on its stats port "
	"on every master and through the VIP",
	"/readyz through the VIP answers ok with the admin certificate",
	"every worker's Node object is Ready",
};

static int
item_add(struct rollout_plan *p, size_t *cap, const struct rollout_step_def *d,
    const struct inv_node *n)
{
	struct rollout_item *ni;

	if (p->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;

		if ((ni = realloc(p->items, nc * sizeof(*ni))) == NULL)
			return SLW_ERR_NOMEM;
		p->items = ni;
		*cap = nc;
	}
	p->items[p->n].def = d;
	p->items[p->n].node = n;
	p->n++;
	return 0;
}

static int
step_applies(const struct rollout_step_def *d, const struct inv_node *n)
{
	if (!rollout_phase_includes(d->phase, n))
		return 0;
	if (d->kind == STEP_BUNDLE)
		return rollout_phase_of_bundle(n) == d->phase;
	return (n->roles & d->roles) != 0;
}

/*
 * Order within a phase: appliance steps before the gate first, then every
 * node's steps node by node (nodes run in parallel, steps of one node in
 * order), then appliance steps after the gate.
 */
int
rollout_plan_build(const struct inventory *inv, struct rollout_plan *out)
{
	size_t cap = 0, i, j;
	int p, r;

	memset(out, 0, sizeof(*out));
	for (p = 0; p < PH__COUNT; p++) {
		for (j = 0; j < rollout_steps_n; j++) {
			const struct rollout_step_def *d = &rollout_steps[j];

			if ((int)d->phase == p && d->kind == STEP_APPLIANCE &&
			    !d->after_gate && (r = item_add(out, &cap, d, NULL)) != 0)
				goto fail;
		}
		for (i = 0; i < inv->n_nodes; i++)
			for (j = 0; j < rollout_steps_n; j++) {
				const struct rollout_step_def *d = &rollout_steps[j];

				if ((int)d->phase != p || d->kind == STEP_APPLIANCE ||
				    !step_applies(d, &inv->nodes[i]))
					continue;
				if ((r = item_add(out, &cap, d, &inv->nodes[i])) != 0)
					goto fail;
			}
		for (j = 0; j < rollout_steps_n; j++) {
			const struct rollout_step_def *d = &rollout_steps[j];

			if ((int)d->phase == p && d->kind == STEP_APPLIANCE &&
			    d->after_gate && (r = item_add(out, &cap, d, NULL)) != 0)
				goto fail;
		}
	}
	return 0;
 fail:
	rollout_plan_free(out);
	return r;
}

void
rollout_plan_free(struct rollout_plan *p)
{
	if (p == NULL)
		return;
	free(p->items);
	p->items = NULL;
	p->n = 0;
}

/* Nodes (comma-separated) that run step def. */
static void
nodes_of(const struct rollout_plan *p, const struct rollout_step_def *d,
    char *out, size_t len)
{
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; i < p->n; i++) {
		int w;

		if (p->items[i].def != d)
			continue;
		w = snprintf(out + used, len - used, "%s%s", used ? "," : "",
		    p->items[i].node ? p->items[i].node->name : "appliance");
		if (w < 0 || (size_t)w >= len - used) {
			snprintf(out + (len > 4 ? len - 4 : 0), 4, "...");
			return;
		}
		used += (size_t)w;
	}
}

int
rollout_plan_print(const struct inventory *inv, const struct rollout_plan *p,
    int json)
{
	cJSON *root = NULL, *phases = NULL, *ph, *steps = NULL, *st;
	char nodes[4096];
	size_t j;
	int n = 0, ph_i, pass;

	if (json) {
		if ((root = cJSON_CreateObject()) == NULL ||
		    (phases = cJSON_AddArrayToObject(root, "phases")) == NULL) {
			cJSON_Delete(root);
			return SLW_ERR_NOMEM;
		}
	} else
		printf("rollout plan for cluster %s: %zu nodes, VIP %s:%u\n",
		    inv->cluster_name, inv->n_nodes, inv->vip, inv->vip_port);
	for (ph_i = 0; ph_i < PH__COUNT; ph_i++) {
		if (json) {
			ph = cJSON_CreateObject();
			cJSON_AddStringToObject(ph, "phase", rollout_phase_name(
			    (enum rollout_phase)ph_i));
			cJSON_AddStringToObject(ph, "gate", gate_text[ph_i]);
			steps = cJSON_AddArrayToObject(ph, "steps");
			cJSON_AddItemToArray(phases, ph);
		} else
			printf("\nphase %d: %s\n", ph_i + 1,
			    rollout_phase_name((enum rollout_phase)ph_i));
		for (pass = 0; pass < 2; pass++) {
			if (pass == 1 && !json)
				printf("      gate: %s\n", gate_text[ph_i]);
			for (j = 0; j < rollout_steps_n; j++) {
				const struct rollout_step_def *d = &rollout_steps[j];

				if ((int)d->phase != ph_i || d->after_gate != pass)
					continue;
				nodes_of(p, d, nodes, sizeof(nodes));
				if (nodes[0] == '\0')
					continue;
				n++;
				if (json) {
					st = cJSON_CreateObject();
					cJSON_AddNumberToObject(st, "order", n);
					cJSON_AddStringToObject(st, "step", d->name);
					cJSON_AddStringToObject(st, "on", nodes);
					cJSON_AddBoolToObject(st, "afterGate", pass);
					cJSON_AddStringToObject(st, "what", d->what);
					cJSON_AddItemToArray(steps, st);
				} else
					printf("  %2d. %-24s on %-20s %s\n", n, d->name,
					    nodes, d->what);
			}
		}
	}
	if (json) {
		char *txt = cJSON_Print(root);

		if (txt != NULL)
			printf("%s\n", txt);
		cJSON_free(txt);
		cJSON_Delete(root);
	}
	return 0;
}
