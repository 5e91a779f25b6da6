/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fleet.h: the fleet engine, the one path by which anything reaches a
 * node: the appliance's SSH key and every node's pinned host key
 * (fleet.c), connecting and running a recorded remote command (remote.c),
 * bounded parallelism over nodes (parallel.c), the appliance's own client
 * certificates for gates and actions (id.c); with the journal (journal.h),
 * the gates (gate.h) and redaction (redact.h). What runs on the nodes and
 * in which order is its callers' business: the rollout (rollout.h).
 * Nothing here ever prints, logs or journals a token or a key.
 */
#ifndef SLW_FLEET_H
#define SLW_FLEET_H

#include <pthread.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "inventory.h"
#include "journal.h"
#include "ssh.h"
#include "store.h"

struct https;
struct signing;

#define FLEET_APPLIANCE "-"		/* node name of appliance steps */
#define FLEET_CMD_KEEP 2048		/* bytes of a command kept */
#define FLEET_HTTP_TIMEOUT_MS 5000	/* a gate's or action's request */
/* fleet_remote_run: the command ran and exited non-zero (or by a signal). */
#define FLEET_ERR_EXIT SLW_ERR_DENIED

struct fleet_opts {
	const char *actor;		/* audit records */
	int accept_new_host_keys;	/* no pin: record the key offered */
	int connect_timeout_s;		/* 0: 10 s */
	int command_timeout_s;		/* 0: each command's own */
	int quiet;			/* no progress lines */
	int json;			/* progress lines as JSON, one a line */
};

/* A run of the engine over the inventory's nodes. */
struct fleet {
	struct store *s;
	const struct inventory *inv;
	const struct fleet_opts *o;
	uint64_t run;			/* the journal's run of what is recorded */
	const char *op;			/* the operation (op.h) */
	const char *phase;		/* the phase being run (progress lines) */
	struct buf ssh_key;		/* the appliance key (PEM) */
	struct ssh_hostkey *pins;	/* per node, by index */
	int *have_pin;
	char *pin_src;			/* 'i' inventory, 'r' recorded */
	int64_t t0;			/* monotonic ms at start */
	pthread_mutex_t mu;		/* progress lines, pins, identities */
	struct signing *sg;		/* made on first need (id.c) */
	struct https *etcd_id;		/* etcd client + etcd CA */
	struct https *admin_id;		/* admin (system:masters) + kubernetes CA */
};

/* ---- the run (fleet.c) ---- */

/* Sets f up for inv (t0 now); fleet_fini frees it on every path. */
int fleet_init(struct fleet *f, struct store *s, const struct inventory *inv,
    const struct fleet_opts *o);
/*
 * Loads the appliance's SSH key (made on first need: *created) and every
 * node's pin: the inventory's ssh.hostKey, else a key recorded on first
 * contact. One write transaction.
 */
int fleet_keys(struct fleet *f, int *created, struct slw_diag *d);
void fleet_fini(struct fleet *f);

int64_t fleet_now_ms(void);
/* snprintf that may truncate (reasons, messages), and appending to one. */
void fleet_fmt(char *dst, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fleet_appendf(char *dst, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* One progress line: "[  12.3s] etcd     test1  etcd  done (0.4s)". */
void fleet_progress(struct fleet *f, const char *phase, const char *node,
    const char *step, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
size_t fleet_node_index(const struct fleet *f, const struct inv_node *n);
/* "scheme://ip:port/path", IPv6 in brackets. */
void fleet_url(char *out, size_t len, const char *scheme, const char *ip,
    unsigned int port, const char *path);
/*
 * A gate's or an action's request on the one HTTPS client (https.h) with
 * an identity of id.c: json (NULL: none) as the body, FLEET_HTTP_TIMEOUT_MS,
 * the answer's status in *status and its body in resp (at most
 * HTTPS_MAX_BODY). 0 when an answer came; see https_do.
 */
int fleet_https(struct https *c, const char *method, const char *url,
    const char *json, long *status, struct buf *resp, struct slw_diag *d);
/* Appends e to the command log (e->run is the caller's). */
int fleet_record(struct fleet *f, struct journal_exec *e);
/* Records an appliance action in the command log. */
int fleet_record_action(struct fleet *f, const char *phase, const char *step,
    const char *what, const char *result, int ok, double elapsed);

/* ---- reaching a node (remote.c) ---- */

/* Connects to a node with its pin (records a new key if allowed). */
int fleet_remote_connect(struct fleet *f, const struct inv_node *n,
    struct ssh_conn **out, struct slw_diag *d);
/*
 * Runs script on the node (sh -c, sudo -n unless root) and records it in
 * the command log, redacting secret (may be NULL) and bearer tokens.
 * Returns 0 if the command ran and exited 0; otherwise a reason in d
 * ("exit 1: <last output line>"; FLEET_ERR_EXIT when it ran and failed).
 */
int fleet_remote_run(struct fleet *f, struct ssh_conn *c, const char *phase,
    const struct inv_node *n, const char *step, const char *script,
    const char *secret, int timeout_s, struct buf *output,
    struct slw_diag *d);
/* Pulls the "WARN: " lines out of a command's output ("; "-joined). Pure. */
void fleet_remote_warnings(const uint8_t *out, size_t len, char *w,
    size_t wlen);

/* ---- many nodes at once (parallel.c) ---- */

/* Calls fn for each of n nodes, at most par at a time; returns when all
 * are done. fn runs on other threads: what it shares, it locks. */
int fleet_parallel(const struct inv_node *const *nodes, size_t n, int par,
    void (*fn)(void *arg, const struct inv_node *node), void *arg);

/* ---- the appliance's own client certificates (id.c) ---- */

/* Issued once per run (short-lived, recorded), on first need. */
int fleet_id_etcd(struct fleet *f, struct https **out, struct slw_diag *d);
int fleet_id_admin(struct fleet *f, struct https **out, struct slw_diag *d);

#endif
