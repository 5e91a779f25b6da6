/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rollout.h: the node-side rollout in the seed's order (prepare, etcd, HA,
 * masters, workers): the plan (ordered steps per phase and node), the gates
 * the appliance measures between phases, and the journal in LMDB
 * (DB_JOURNAL) from which an interrupted or failed run resumes at the step
 * that did not finish. Nothing here ever stores a token or a key.
 */
#ifndef SLW_ROLLOUT_H
#define SLW_ROLLOUT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "inventory.h"
#include "store.h"

enum rollout_phase {
	PH_PREPARE = 0,
	PH_ETCD,
	PH_HA,
	PH_MASTERS,
	PH_WORKERS,
	PH__COUNT
};

#define ROLLOUT_STEP_NAME_MAX 32
#define ROLLOUT_REASON_MAX 480
#define ROLLOUT_WARN_MAX 480
#define ROLLOUT_APPLIANCE "-"		/* node name of appliance steps */
#define ROLLOUT_HAPROXY_STATS_PORT 10080	/* the seed's haproxy stats */
#define ROLLOUT_CMD_KEEP 2048		/* bytes of a command kept */

const char *rollout_phase_name(enum rollout_phase p);
int rollout_phase_parse(const char *s, enum rollout_phase *out);
/* Roles whose nodes take part in a phase (prepare: every node). */
unsigned int rollout_phase_roles(enum rollout_phase p);

/* ---- the plan ---- */

struct rollout;			/* a run in progress (rollout_run.c) */
struct rollout_step_def;

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
	/* STEP_APPLIANCE. */
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
/* The phase in which a node fetches its bundle (first phase it is in). */
enum rollout_phase rollout_bundle_phase(const struct inv_node *n);
int rollout_node_in_phase(const struct inv_node *n, enum rollout_phase p);
/* The step definitions, in order (rollout_steps.c). */
extern const struct rollout_step_def rollout_steps[];
extern const size_t rollout_n_steps;
/* Text or JSON (cJSON *) of the plan. */
int rollout_plan_print(const struct inventory *inv,
    const struct rollout_plan *p, int json);

/* ---- the journal (rollout_journal.c) ---- */

enum jstate {
	JS_PENDING = 0,		/* no record */
	JS_RUNNING,
	JS_DONE,
	JS_FAILED,
};

const char *jstate_name(enum jstate s);

struct jstep {
	enum jstate state;
	uint64_t run;			/* the run that wrote this state */
	uint32_t attempts;
	time_t started, finished;
	double elapsed;
	int exit_status;		/* -1: none */
	char reason[ROLLOUT_REASON_MAX];
	char warnings[ROLLOUT_WARN_MAX];
};

struct jgate {
	enum jstate state;		/* DONE: passed */
	uint64_t run;
	time_t checked;
	double elapsed;
	char reason[ROLLOUT_REASON_MAX];
	/* Per-node reasons ("test2: /health: ..."), '\n' separated. */
	char nodes[ROLLOUT_REASON_MAX];
};

struct jrun {
	uint64_t id;
	long pid;
	time_t started, finished;
	enum jstate state;		/* RUNNING, DONE, FAILED */
	int parallel;
	char phase[16];			/* "" or the --phase given */
	char reason[ROLLOUT_REASON_MAX];
};

/* One remote command or appliance action, kept in order of execution. */
struct jexec {
	uint64_t seq, run;
	char phase[16];
	char node[INV_NAME_MAX];
	char step[ROLLOUT_STEP_NAME_MAX + 8];
	time_t started;
	double elapsed;
	int exit_status;		/* -1: none */
	char signal[32];
	int timed_out;
	char error[ROLLOUT_REASON_MAX];	/* could not run: why */
	struct buf cmd;			/* redacted, capped */
	struct buf out;			/* redacted, capped */
	size_t out_total;
};

int jstep_get(struct store_txn *t, enum rollout_phase p, const char *node,
    const char *step, struct jstep *out);
int jstep_put(struct store_txn *t, enum rollout_phase p, const char *node,
    const char *step, const struct jstep *s);
int jgate_get(struct store_txn *t, enum rollout_phase p, struct jgate *out);
int jgate_put(struct store_txn *t, enum rollout_phase p,
    const struct jgate *g);
int jrun_get(struct store_txn *t, struct jrun *out);
int jrun_put(struct store_txn *t, const struct jrun *r);
/* the command log keeps the last JEXEC_KEEP records (a ring by seq) */
#define JEXEC_KEEP 10000

/* Appends e (e->seq is assigned) and drops the record JEXEC_KEEP before. */
int jexec_append(struct store_txn *t, struct jexec *e);
int jexec_foreach(struct store_txn *t,
    int (*cb)(void *arg, const struct jexec *e), void *arg);
void jexec_free(struct jexec *e);
/* Host keys recorded on first contact ("type base64"). */
int jhostkey_get(struct store_txn *t, const char *node, char *line,
    size_t len);
int jhostkey_put(struct store_txn *t, const char *node, const char *line);

/*
 * Is a run in progress? Checks the run lock (STATE/rollout.lock) without
 * taking it. 1 if some process holds it.
 */
int rollout_lock_held(const char *state);
/* Takes the run lock; *fd keeps it until closed. SLW_ERR_BUSY if held. */
int rollout_lock_take(const char *state, int *fd, struct slw_diag *d);

/* ---- redaction (rollout_token.c) ---- */

/*
 * Copies in to out with every bearer token replaced by "[redacted]"
 * ("Bearer X", "token=X"), every occurrence of secret (if not NULL) too, and
 * bytes that are not printable UTF-8 replaced by '?'. Untrusted input: no
 * I/O, at most max bytes of in are looked at.
 */
int rollout_redact(const uint8_t *in, size_t len, const char *secret,
    size_t max, struct buf *out);
/* Pulls the "WARN: " lines out of a step's output ("; "-joined). */
void rollout_warnings(const uint8_t *out, size_t len, char *w, size_t wlen);

/* ---- status (rollout_status.c) ---- */

/* Adds "rollout": {...} to root: last run, phases, gates, nodes, steps. */
int rollout_status_json(struct store_txn *t, const struct inventory *inv,
    const char *state, void *root /* cJSON * */);
void rollout_status_print(const void *root /* cJSON * */, int verbose);

/* ---- running (rollout_run.c) ---- */

struct rollout_opts {
	const char *state;
	const char *kek;
	int have_phase;
	enum rollout_phase phase;	/* only this phase */
	int accept_new_host_keys;
	int parallel;			/* nodes at a time; 0: default */
	int connect_timeout_s;
	int command_timeout_s;		/* 0: each step's own */
	int gate_timeout_s;		/* 0: each gate's own */
	const char *actor;
	int quiet;			/* no progress lines */
};

/* Runs the rollout; d gets the one-line reason on failure. */
int rollout_run(struct store *s, const struct inventory *inv,
    const struct rollout_opts *o, struct slw_diag *d);

#endif
