/* SPDX-License-Identifier: Apache-2.0 */
/*
 * op.h: operations of the fleet engine. Every command that changes nodes
 * (rollout, ca rotate run, cert renew, ...) is an operation: a name that
 * identifies it in the journal ("rollout", "ca-rotate-etcd-2",
 * "cert-renew-17"), a plan of ordered steps (stage, node, step, what it
 * waits for) and a runner (op.c) that journals every step before and after
 * it runs, skips what is done when the same command runs again, takes the
 * one operation lock, prints one progress line per node and step (text or
 * JSON) and audits each run. What a step does is its caller's business:
 * a function and an argument in the plan. Never journals or prints a
 * token or a key.
 */
#ifndef SLW_OP_H
#define SLW_OP_H

#include "fleet.h"

struct fleet_op;
struct op_item;

/*
 * Does one step. c is the node's SSH connection (connected by the runner
 * when the item has OPI_SSH; the function may also connect, close or
 * replace it); out collects output ("WARN: " lines become the step's
 * warnings). 0: done; else a reason in d.
 */
typedef int op_fn(struct fleet_op *op, const struct op_item *it,
    struct ssh_conn **c, struct buf *out, struct slw_diag *d);

#define OPI_SSH 0x1		/* needs the node's SSH connection */
#define OPI_REPEAT 0x2		/* runs again even when done (a gate is a
				 * measurement, not a record) */

struct op_item {
	char stage[JOURNAL_PHASE_MAX];	/* "etcd", "trust-both", ... */
	const struct inv_node *node;	/* NULL: the appliance */
	char step[JOURNAL_STEP_MAX];	/* "bundle", "restart:etcd", "gate" */
	const char *what;		/* one line for --plan (static) */
	const char *waits;		/* what it waits for ("" none; static) */
	int timeout_s;
	/*
	 * Consecutive items of one group form a unit of work: appliance
	 * items run in order; node items run node by node (each node's items
	 * in order over one SSH connection), par nodes at a time (0: the
	 * operation's default, 1: one node at a time). After a failure no
	 * further node of the group starts and nothing after it runs.
	 */
	unsigned int group;
	int par;
	unsigned int flags;		/* OPI_* */
	op_fn *fn;
	const void *arg;		/* the caller's, per item */
	uintptr_t u;
};

struct op_plan {
	struct op_item *items;		/* in execution order */
	size_t n, cap;
};

/* Appends a copy of it (stage and step truncated to fit). */
int op_plan_add(struct op_plan *p, const struct op_item *it);
void op_plan_free(struct op_plan *p);
/* --plan: one line per step (or a JSON document), nothing changed. */
int op_plan_print(const char *title, const struct op_plan *p, int json);

struct fleet_op_opts {
	struct fleet_opts fleet;	/* actor, host keys, timeouts, quiet, json */
	const char *state;
	int parallel;			/* default nodes at a time; 0: 10 */
	int gate_timeout_s;		/* 0: each gate's own */
	int settle_s;			/* after an etcd member's restart, before
					 * the next one stops: 0 the default
					 * (deliver.c), < 0 none */
	const char *command;		/* "slipway ca rotate run --ca etcd"
					 * (the lock file, progress) */
	const char *audit_action;	/* "ca.rotate.run" */
	const char *only_stage;		/* NULL, or run this stage only */
};

struct fleet_op {
	struct fleet f;			/* the engine: keys, pins, journal */
	struct store *s;
	const struct inventory *inv;
	const struct fleet_op_opts *o;
	char name[JOURNAL_OP_MAX];
	char kind[JOURNAL_OP_MAX];
	char params[JOURNAL_PARAMS_MAX];	/* JSON object kept with the op */
	struct op_plan plan;
	struct journal_run run;
	void *ctx;			/* the caller's */
	/* set when fleet_op_run fails at a step: which one */
	const struct op_item *failed;
	pthread_mutex_t mu;
};

/* Sets op up (no I/O); fleet_op_fini frees it on every path. */
int fleet_op_init(struct fleet_op *op, struct store *s,
    const struct inventory *inv, const struct fleet_op_opts *o,
    const char *name, const char *kind);
void fleet_op_fini(struct fleet_op *op);

/*
 * Runs the plan: takes the operation lock, loads the SSH key and pins,
 * records the run and the operation (unfinished until every step is
 * done), then runs every step that is not done. 0 if the operation is
 * complete. On failure d is the one line: "stopped at STAGE: NODE: STEP:
 * reason; nothing after it was started", op->failed names the step.
 */
int fleet_op_run(struct fleet_op *op, struct slw_diag *d);

/* Steps of stage (NULL: every stage) whose journal state is not done
 * (gates and other OPI_REPEAT items are measurements: not counted). */
int fleet_op_pending(struct fleet_op *op, const char *stage, size_t *pending);

/* The journal state of one item of op (read-only). */
int fleet_op_step_get(struct fleet_op *op, const struct op_item *it,
    struct journal_step *st);

/* A progress line of an item (its stage, node, step). */
void fleet_op_progress(struct fleet_op *op, const struct op_item *it,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The name of an item's node for the journal ("-": the appliance). */
const char *op_item_node(const struct op_item *it);

#endif
