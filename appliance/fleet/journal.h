/* SPDX-License-Identifier: Apache-2.0 */
/*
 * journal.h: the fleet engine's journal in LMDB (DB_JOURNAL): the state of
 * every step and gate (by phase, node and step name), the runs, the log of
 * every remote command and appliance action (redacted, capped), host keys
 * recorded on first contact, and the run lock. An interrupted or failed
 * run resumes from it at the step that did not finish. Nothing here ever
 * stores a token or a key: callers redact first (redact.h).
 */
#ifndef SLW_JOURNAL_H
#define SLW_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "inventory.h"
#include "store.h"

#define JOURNAL_REASON_MAX 480
#define JOURNAL_WARN_MAX 480
#define JOURNAL_PHASE_MAX 16		/* "masters", "trust-both" */
#define JOURNAL_OP_MAX 48		/* "ca-rotate-front-proxy-12" */
#define JOURNAL_PARAMS_MAX 1024
#define JOURNAL_STEP_MAX 40		/* "kube-controller-manager", "gate:vip" */
/* the command log keeps the last JOURNAL_EXEC_KEEP records (a ring by seq) */
#define JOURNAL_EXEC_KEEP 10000

enum journal_state {
	JS_PENDING = 0,		/* no record */
	JS_RUNNING,
	JS_DONE,
	JS_FAILED,
};

const char *journal_state_name(enum journal_state s);

struct journal_step {
	enum journal_state state;
	uint64_t run;			/* the run that wrote this state */
	uint32_t attempts;
	time_t started, finished;
	double elapsed;
	int exit_status;		/* -1: none */
	char reason[JOURNAL_REASON_MAX];
	char warnings[JOURNAL_WARN_MAX];
};

struct journal_gate {
	enum journal_state state;	/* DONE: passed */
	uint64_t run;
	time_t checked;
	double elapsed;
	char reason[JOURNAL_REASON_MAX];
	/* Per-node reasons ("test2: /health: ..."), '\n' separated. */
	char nodes[JOURNAL_REASON_MAX];
};

struct journal_run {
	uint64_t id;
	long pid;
	time_t started, finished;
	enum journal_state state;	/* RUNNING, DONE, FAILED */
	int parallel;
	char phase[JOURNAL_PHASE_MAX];	/* "" or the --phase given */
	char reason[JOURNAL_REASON_MAX];
};

/*
 * An operation of the fleet engine (op.h): the rollout, one CA rotation,
 * one renewal run. Its steps live under its name; it is finished (DONE)
 * when every step is done, and until then the same command resumes it.
 */
struct journal_op {
	char name[JOURNAL_OP_MAX];	/* "ca-rotate-etcd-2" */
	char kind[JOURNAL_OP_MAX];	/* "ca-rotate-etcd" */
	enum journal_state state;	/* RUNNING (unfinished), DONE, FAILED */
	time_t created, finished;
	uint64_t last_run;
	char reason[JOURNAL_REASON_MAX];
	char params[JOURNAL_PARAMS_MAX];	/* a JSON object, or "" */
};

/* One remote command or appliance action, kept in order of execution. */
struct journal_exec {
	uint64_t seq, run;
	char op[JOURNAL_OP_MAX];
	char phase[JOURNAL_PHASE_MAX];
	char node[INV_NAME_MAX];
	char step[JOURNAL_STEP_MAX];
	time_t started;
	double elapsed;
	int exit_status;		/* -1: none */
	char signal[32];
	int timed_out;
	char error[JOURNAL_REASON_MAX];	/* could not run: why */
	struct buf cmd;			/* redacted, capped */
	struct buf out;			/* redacted, capped */
	size_t out_total;
};

/*
 * A step of operation op, in its phase (stage), on node ("-": the
 * appliance); no record: JS_PENDING.
 */
int journal_step_get(struct store_txn *t, const char *op, const char *phase,
    const char *node, const char *step, struct journal_step *out);
int journal_step_put(struct store_txn *t, const char *op, const char *phase,
    const char *node, const char *step, const struct journal_step *s);
int journal_gate_get(struct store_txn *t, const char *op, const char *phase,
    struct journal_gate *out);
int journal_gate_put(struct store_txn *t, const char *op, const char *phase,
    const struct journal_gate *g);
/* The last run of op; SLW_ERR_NOTFOUND if none ran yet. */
int journal_run_get(struct store_txn *t, const char *op,
    struct journal_run *out);
int journal_run_put(struct store_txn *t, const char *op,
    const struct journal_run *r);
/* A new run id, unique across operations. */
int journal_run_next(struct store_txn *t, uint64_t *id);

/* Operations; SLW_ERR_NOTFOUND if there is none of that name. */
int journal_op_get(struct store_txn *t, const char *op,
    struct journal_op *out);
int journal_op_put(struct store_txn *t, const struct journal_op *op);
int journal_op_foreach(struct store_txn *t,
    int (*cb)(void *arg, const struct journal_op *op), void *arg);
/* The unfinished operation of a kind (SLW_ERR_NOTFOUND: none); NULL name
 * clears it. */
int journal_op_current(struct store_txn *t, const char *kind, char *name,
    size_t len);
int journal_op_set_current(struct store_txn *t, const char *kind,
    const char *name);

/* Appends e (e->seq is assigned) and drops the record JOURNAL_EXEC_KEEP
 * before. */
int journal_exec_append(struct store_txn *t, struct journal_exec *e);
int journal_exec_foreach(struct store_txn *t,
    int (*cb)(void *arg, const struct journal_exec *e), void *arg);
void journal_exec_free(struct journal_exec *e);

/*
 * What a node has installed of one CA role, as verified by the last
 * delivery's read-back (nd/<node>/<role>): the generations its trust
 * files hold, and the generation of its leaves of that CA (0: none seen).
 */
struct journal_node_ca {
	char role[16];
	uint32_t trust[8];
	size_t n_trust;
	uint32_t leaf_gen;
	time_t verified;
};

int journal_node_get(struct store_txn *t, const char *node, const char *role,
    struct journal_node_ca *out);
int journal_node_put(struct store_txn *t, const char *node,
    const struct journal_node_ca *rec);

/* Host keys recorded on first contact ("type base64"). */
int journal_hostkey_get(struct store_txn *t, const char *node, char *line,
    size_t len);
int journal_hostkey_put(struct store_txn *t, const char *node,
    const char *line);

/*
 * The operation lock (STATE/fleet.lock): one fleet operation at a time,
 * whatever its kind (rollout, rotation, renewal). journal_lock_take takes
 * it and writes "<pid> <what>" into it (*fd keeps it until closed;
 * SLW_ERR_BUSY naming the holder if held); journal_lock_held checks
 * without taking it: 1 if some process holds it (a step "running" while
 * its run's process does not hold it was interrupted);
 * journal_lock_holder also says who.
 */
int journal_lock_take(const char *state, const char *what, int *fd,
    struct slw_diag *d);
int journal_lock_held(const char *state);
int journal_lock_holder(const char *state, long *pid, char *what,
    size_t wlen);

#endif
