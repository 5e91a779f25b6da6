/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rollout.h: the node-side rollout in the seed's order (prepare, etcd, HA,
 * masters, workers), run on the fleet engine (fleet.h): the phases
 * (rollout_phase.c), the plan of ordered steps per phase and node
 * (rollout_plan.c, rollout_steps.c), the gate that closes each phase
 * (rollout_gate.c), the run (rollout_run.c) that resumes from the journal
 * at the step that did not finish, and its status (rollout_status.c).
 * Nothing here ever stores a token or a key.
 */
#ifndef SLW_ROLLOUT_H
#define SLW_ROLLOUT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "fleet.h"
#include "inventory.h"
#include "store.h"

/* The rollout's operation in the journal (op.h). */
#define ROLLOUT_OP "rollout"

enum rollout_phase {
	PH_PREPARE = 0,
	PH_ETCD,
	PH_HA,
	PH_MASTERS,
	PH_WORKERS,
	PH__COUNT
};

/* ---- the phases (rollout_phase.c) ---- */

const char *rollout_phase_name(enum rollout_phase p);
int rollout_phase_parse(const char *s, enum rollout_phase *out);
/* Roles whose nodes take part in a phase (prepare: every node). */
unsigned int rollout_phase_roles(enum rollout_phase p);
/* 1 if node n takes part in phase p. */
int rollout_phase_includes(enum rollout_phase p, const struct inv_node *n);
/* The phase in which a node fetches its bundle (first phase it is in). */
enum rollout_phase rollout_phase_of_bundle(const struct inv_node *n);

/* ---- the plan (rollout_plan.c, rollout_steps.c) ---- */

struct rollout;			/* a run in progress (rollout_int.h) */

enum step_kind {
	STEP_REMOTE,		/* a script run over SSH on the node */
	STEP_BUNDLE,		/* the node fetches its bundle (token one-liner) */
	STEP_APPLIANCE,		/* done by the appliance itself, once */
};

struct rollout_step_def {
	const char *name;
	enum rollout_phase phase;
	enum step_kind kind;
	unsigned int roles;	/* nodes having any of these roles */
	int after_gate;		/* appliance steps: run once the gate passed */
	int timeout_s;
	const char *what;	/* one line for `rollout plan` */
	/* STEP_REMOTE: the script for one node. */
	int (*script)(const struct inventory *inv, const struct inv_node *n,
	    time_t now, struct buf *out);
	/* STEP_APPLIANCE (rollout_action.c). */
	int (*action)(struct rollout *ro, struct slw_diag *d);
};

/* One planned step: a definition and the node it runs on (NULL: appliance). */
struct rollout_item {
	const struct rollout_step_def *def;
	const struct inv_node *node;
};

struct rollout_plan {
	struct rollout_item *items;	/* in execution order */
	size_t n;
};

int rollout_plan_build(const struct inventory *inv, struct rollout_plan *out);
void rollout_plan_free(struct rollout_plan *p);
/* Text or JSON (cJSON *) of the plan. */
int rollout_plan_print(const struct inventory *inv,
    const struct rollout_plan *p, int json);
/* The step definitions, in order (rollout_steps.c). */
extern const struct rollout_step_def rollout_steps[];
extern const size_t rollout_steps_n;

/* ---- status (rollout_status.c) ---- */

/* Adds "rollout": {...} to root: last run, phases, gates, nodes, steps. */
int rollout_status_json(struct store_txn *t, const struct inventory *inv,
    const char *state, void *root /* cJSON * */);
void rollout_status_print(const void *root /* cJSON * */, int verbose);
/* The last run and each phase's state as Prometheus series, appended to
 * out (serve's metrics listener; rollout_metrics.c). */
int rollout_metrics_render(struct store *s, const struct inventory *inv,
    const char *state, struct buf *out);

/* ---- running (rollout_run.c) ---- */

struct rollout_opts {
	struct fleet_opts fleet;	/* actor, host keys, timeouts, quiet */
	const char *state;		/* the run lock's directory */
	int have_phase;
	enum rollout_phase phase;	/* only this phase */
	int parallel;			/* nodes at a time; 0: default */
	int gate_timeout_s;		/* 0: each gate's own */
};

/* Runs the rollout; d gets the one-line reason on failure. */
int rollout_run(struct store *s, const struct inventory *inv,
    const struct rollout_opts *o, struct slw_diag *d);

#endif
