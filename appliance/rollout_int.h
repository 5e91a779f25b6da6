/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rollout_int.h: what the rollout's files share inside the module: the run
 * context, SSH to a node with its pin, recording remote commands, the
 * appliance's client identities and HTTPS requests, and the gates.
 */
#ifndef SLW_ROLLOUT_INT_H
#define SLW_ROLLOUT_INT_H

#include <pthread.h>
#include <stdint.h>

#include "rollout.h"
#include "ssh.h"

struct rhttp_id;
struct signing;

struct rollout {
	struct store *s;
	const struct inventory *inv;
	const struct rollout_opts *o;
	struct rollout_plan plan;
	struct jrun run;
	struct buf ssh_key;		/* the appliance key (PEM) */
	struct ssh_hostkey *pins;	/* per node, by index */
	int *have_pin;
	char *pin_src;			/* 'i' inventory, 'r' recorded */
	int64_t t0;			/* monotonic ms at start */
	pthread_mutex_t mu;		/* progress lines, lazy identities */
	struct signing *sg;
	struct rhttp_id *etcd_id;	/* etcd client + etcd CA */
	struct rhttp_id *admin_id;	/* admin (system:masters) + kubernetes CA */
	enum rollout_phase cur_phase;
};

/* rollout_remote: the command ran and exited non-zero (or by a signal). */
#define ROLLOUT_ERR_EXIT SLW_ERR_DENIED

int64_t rollout_now_ms(void);
/* snprintf that may truncate (reasons, messages), and appending to one. */
void rollout_fmt(char *dst, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void rollout_appendf(char *dst, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* One progress line: "[  12.3s] etcd     test1  etcd  done (0.4s)". */
void rollout_progress(struct rollout *ro, enum rollout_phase p,
    const char *node, const char *step, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

size_t rollout_node_index(const struct rollout *ro, const struct inv_node *n);
/* Connects to a node with its pin (records a new key if allowed). */
int rollout_connect(struct rollout *ro, const struct inv_node *n,
    struct ssh_conn **out, struct slw_diag *d);
/*
 * Runs script on the node (sh -c, sudo -n unless root) and records it in
 * the command log, redacting secret (may be NULL) and bearer tokens.
 * Returns 0 if the command ran and exited 0; otherwise a reason in d
 * ("exit 1: <last output line>").
 */
int rollout_remote(struct rollout *ro, struct ssh_conn *c,
    enum rollout_phase p, const struct inv_node *n, const char *step,
    const char *script, const char *secret, int timeout_s,
    struct buf *output, struct slw_diag *d);
/* Records an appliance action in the command log. */
int rollout_log_action(struct rollout *ro, enum rollout_phase p,
    const char *step, const char *what, const char *result, int ok,
    double elapsed);

/* HTTPS with a client identity (rollout_http.c). */
int rhttp_global_init(void);
int rhttp_id_new(const struct buf *ca, const struct buf *cert,
    const struct buf *key, struct rhttp_id **out);
void rhttp_id_free(struct rhttp_id *id);
int rhttp_do(const struct rhttp_id *id, const char *method, const char *url,
    const char *body, int timeout_ms, long *status, struct buf *resp,
    struct slw_diag *d);

/* The appliance's own client certificates, issued once per run. */
int rollout_etcd_id(struct rollout *ro, struct rhttp_id **out,
    struct slw_diag *d);
int rollout_admin_id(struct rollout *ro, struct rhttp_id **out,
    struct slw_diag *d);

/*
 * A fresh one-time token for node: the curl one-liner of `slipway token
 * create` in line, the bare token in token (for redaction). Both secret:
 * wipe with buf_free.
 */
int rollout_oneliner(struct rollout *ro, const struct inv_node *n,
    struct buf *line, struct buf *token, struct slw_diag *d);

/* Checks a phase's gate, polling until it passes or its time is up. */
int rollout_gate(struct rollout *ro, enum rollout_phase p, struct jgate *g,
    struct slw_diag *d);

#endif
