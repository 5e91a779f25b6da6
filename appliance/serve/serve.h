/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serve.h: `slipway serve` as three processes (docs/endpoint.md):
 *
 *  - the monitor (monitor.c): the store, the KEK, the CA keys, rendering,
 *    redemption, signing; answers the network child's requests
 *    (privsep_monitor.h) and the approver's (approver.h) and never parses
 *    HTTP, TLS or anything from the API server;
 *  - the network child (net.c): forked by the monitor and re-executed
 *    from the same binary, so its memory starts empty of everything the
 *    monitor holds; the listening socket, the serving key and certificate,
 *    libmicrohttpd + GnuTLS, in a seccomp sandbox (sandbox.h);
 *  - the CSR approver (approver_main.c, approverproc.c), re-executed the
 *    same way: libcurl, the API server's JSON and watch streams, its own
 *    API client key, in a seccomp sandbox of its own; it asks the monitor
 *    for every token id, audit record and signature.
 *
 * The child's descriptors after exec: SERVE_FD_LISTEN, SERVE_FD_CONTROL
 * (PS_CONFIG in, PS_READY out) and n request channels from SERVE_FD_CHAN0;
 * nothing else (0-2 stay as the monitor had them).
 */
#ifndef SLW_SERVE_H
#define SLW_SERVE_H

#include <stdatomic.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include "approver.h"
#include "buf.h"
#include "err.h"
#include "inventory.h"
#include "privsep_msg.h"
#include "store.h"

/* argv[1] of the re-executed network child (main.c dispatches on it). */
#define SERVE_NET_ARG "serve-network-child"
#define SERVE_NET_NAME "slipway-net"	/* its comm (ps, top) */

#define SERVE_FD_LISTEN 3
#define SERVE_FD_CONTROL 4
#define SERVE_FD_CHAN0 5
/* With PS_CFG_METRICS: the metrics listener, after the n request channels. */
#define SERVE_FD_METRICS(n_chan) (SERVE_FD_CHAN0 + (int)(n_chan))

/* The metrics listener's default address (docs/operations.md). */
#define SERVE_METRICS_DEFAULT "127.0.0.1:9643"

/* The network child's main(); returns its exit status. */
int serve_net_main(int argc, char **argv);

/* One log line on stderr in one write(2), so processes never interleave. */
void serve_log_line(void *cls, const char *line);
/* The same, formatted (at most 512 bytes of line). */
void serve_log_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define SERVE_RESTART_MAX 5	/* restarts of a child... */
#define SERVE_RESTART_WINDOW 60	/* ...within this many seconds: give up */

/* A network child as the monitor sees it. */
struct serve_child {
	pid_t pid;
	int ctl;		/* control channel, the monitor's end */
	int *chan;		/* request channels, the monitor's ends */
	size_t n_chan;
};

/* Whom a child runs as, when its parent is root (drop: 1). */
struct serve_creds {
	int drop;
	uid_t uid;
	gid_t gid;
};

/*
 * As root: whom to run as, user or (NULL) "slipway" if it exists, else
 * "nobody"; never root. Not root: nothing to drop (out->drop 0). who (may
 * be NULL) gets "slipway (uid 998, gid 998)" for the log.
 */
int serve_creds_for(const char *user, struct serve_creds *out, char *who,
    size_t wlen, struct slw_diag *d);

/*
 * Forks and re-executes exe_fd (the parent's own binary, O_PATH) as
 * `NAME ARG` (NAME: the process name, whole in its command line; its comm
 * holds 15 characters) with fds[i] at descriptor 3 + i and nothing else (0-2 stay
 * as the parent has them), no environment, as cr (NULL: as the parent;
 * setgroups, setresgid, setresuid checked: a failure ends the child before
 * exec), dying with its parent (PR_SET_PDEATHSIG). Must be called from the
 * thread that outlives the child.
 */
int serve_child_exec(int exe_fd, const char *name, const char *arg,
    const int *fds, size_t n, const struct serve_creds *cr, pid_t *pid,
    struct slw_diag *d);

/*
 * The network child: serve_child_exec with listen_fd, n_chan + 1 new
 * socketpairs (SERVE_FD_*) and metrics_fd (if >= 0: at
 * SERVE_FD_METRICS(n_chan)).
 */
int serve_child_spawn(int exe_fd, int listen_fd, int metrics_fd,
    size_t n_chan, struct serve_child *out, struct slw_diag *d);
/* Sends PS_CONFIG, then waits at most timeout_ms for PS_READY. */
int serve_child_start(struct serve_child *c, const struct ps_config *cfg,
    unsigned int timeout_ms, struct slw_diag *d);
/*
 * Closes the control channel and frees the array of request channels (the
 * channels themselves are privsep_monitor_start's once spawned).
 */
void serve_child_close(struct serve_child *c);
/* "exit status 1", "signal 31 (SIGSYS: outside the sandbox's allow-list)" */
void serve_child_status_text(int status, char *out, size_t len);

/* ---- the network child as the monitor runs it (netproc.c) ---- */


struct redeem;
struct privsep_monitor;

struct serve_netproc {
	int exe_fd, listen_fd;		/* the caller's: never closed here */
	int metrics_fd;			/* the caller's too; -1: none */
	struct redeem *rd;		/* what the child's requests reach */
	struct ps_config cfg;		/* bufs shallow: the caller keeps them */
	struct serve_child child;	/* pid -1: none */
	struct privsep_monitor *mon;	/* answers the child's channels */
	double restarts[SERVE_RESTART_MAX];
	size_t n_restarts;
};

void serve_netproc_init(struct serve_netproc *n);
/* Spawns a child, serves its channels, configures it, waits for READY. */
int serve_netproc_start(struct serve_netproc *n, struct slw_diag *d);
/* The child is gone (reaped, or never started): its channels end. */
void serve_netproc_gone(struct serve_netproc *n);
/* 1 if another restart is within SERVE_RESTART_MAX per window (counted). */
int serve_netproc_may_restart(struct serve_netproc *n);
/* SIGTERM: it answers what is in flight; waits grace + 10 s, then kills. */
int serve_netproc_stop(struct serve_netproc *n, unsigned int grace);
/* SIGKILL and reap, if there is a child. */
void serve_netproc_kill(struct serve_netproc *n);
/*
 * Handover, as nginx reloads: starts a child with cfg (same channels
 * count) and waits for it to be READY on the same listening socket; only
 * then does the child before it move to *old and get SIGUSR1: it stops
 * accepting, answers every request on the connections it holds (with
 * "Connection: close") and exits within its grace. The socket always has
 * a child accepting on it. On failure n is unchanged and still serving.
 */
int serve_netproc_replace(struct serve_netproc *n, const struct ps_config *cfg,
    struct serve_netproc *old, struct slw_diag *d);

/* ---- the monitor's own series for the metrics listener (metrics.c) ---- */

#define SERVE_RULES_MAX 16	/* approver_policy_rules */

/* The fleet's series (fleet/ renders them; serve/ does not call fleet/). */
typedef int (*serve_fleet_metrics_fn)(struct store *s,
    const struct inventory *inv, const char *state, struct buf *out);

struct serve_metrics {
	atomic_ulong csr[2][SERVE_RULES_MAX];	/* [approve, deny][rule] */
	struct store *s;
	const struct inventory *inv;
	const char *state;
	serve_fleet_metrics_fn fleet;		/* NULL: none */
};

void serve_metrics_init(struct serve_metrics *m, struct store *s,
    const struct inventory *inv, const char *state,
    serve_fleet_metrics_fn fleet);
/* approver_monitor_opts.decided: counts one decision by its rule. */
void serve_metrics_decided(void *arg, enum approver_verdict v,
    const char *reason);
/* struct redeem's metrics_more: slipway_csr_decisions_total{decision,rule}
 * and the fleet's series. */
int serve_metrics_render(void *cls, struct buf *out);

/* ---- the CSR approver process (approverproc.c, approver_main.c) ---- */

/* argv[1] of the re-executed approver (main.c dispatches on it). */
#define SERVE_APPROVER_ARG "serve-approver-child"
/* Its name (DESIGN.md): argv[0], so whole in ps -f and pgrep -f; its comm
 * (ps, top, /proc/PID/status) holds 15 characters: "slipway-approve". */
#define SERVE_APPROVER_NAME "slipway-approver"
#define SERVE_APPROVER_FD 3	/* its one channel to the monitor */
/* After SERVE_RESTART_MAX restarts within SERVE_RESTART_WINDOW, the
 * approver is left down this long (bundles are served meanwhile). */
#define SERVE_APPROVER_HOLD 300

/*
 * The approver's main(), re-executed by serve's monitor or by `slipway
 * approve` (serve_approverproc_start): no CA key, no KEK, no store; its
 * own seccomp filter (sandbox_approver_install). Returns its exit status.
 */
int serve_approver_main(int argc, char **argv);

struct approver_monitor;

/* An approver process as its parent (the key holder) sees it. */
struct serve_approverproc {
	int exe_fd;			/* the caller's: never closed here */
	struct serve_creds cr;		/* whom it runs as */
	struct approver_monitor *am;	/* the caller's: answers its channel */
	struct privsep_msg cfg;		/* PS_APR_CONFIG (owned) */
	pid_t pid;			/* -1: none */
	int fd;				/* the channel, the parent's end */
	pthread_t th;			/* serves the channel */
	int th_running;
	struct ps_apr_done done;	/* how the last one said it ended */
	int said_done;			/* 1: done came (not killed) */
	double restarts[SERVE_RESTART_MAX];
	size_t n_restarts;
	double hold_until;		/* no start before (monotonic s) */
};

void serve_approverproc_init(struct serve_approverproc *a);
/* Spawns one and serves its channel from a thread of its own. */
int serve_approverproc_start(struct serve_approverproc *a,
    struct slw_diag *d);
/* It is gone (reaped, or never started): joins its channel's thread, so
 * a->done is its last word. */
void serve_approverproc_gone(struct serve_approverproc *a);
/* 1 if another restart is within SERVE_RESTART_MAX per window (counted);
 * 0: the budget is spent, hold_until is set. */
int serve_approverproc_may_restart(struct serve_approverproc *a);
/* SIGTERM; waits at most timeout_s, then SIGKILL; reaps; gone. 0 if it
 * exited with status 0. */
int serve_approverproc_stop(struct serve_approverproc *a,
    unsigned int timeout_s);
/* SIGKILL and reap, if there is one; gone. */
void serve_approverproc_kill(struct serve_approverproc *a);
/* Frees the configuration (after stop, kill or gone). */
void serve_approverproc_fini(struct serve_approverproc *a);

/* ---- the monitor (monitor.c) ---- */

/* What `slipway serve` was asked for (cli/cmd_serve.c parses it). */
struct serve_opts {
	const char *state, *kek;	/* the store (--state, --kek) */
	const char *listen;		/* ADDR:PORT */
	/* the metrics listener: ADDR:PORT, "off"; NULL: SERVE_METRICS_DEFAULT
	 * if that port is free (else a log line and none) */
	const char *metrics_listen;
	serve_fleet_metrics_fn fleet_metrics;
	const char *user;		/* NULL: slipway if it exists, else nobody */
	const char *apiserver;		/* the approver's; NULL: the VIP */
	int approve;			/* run the CSR approver */
	/*
	 * A state with only a wrapped KEK (docs/appliance.md) starts sealed
	 * and waits for `slipway unseal` on this socket; members of this
	 * group (and root) may speak on it.
	 */
	const char *unseal_socket;
	const char *unseal_group;
	/* seconds between looks for node certificates that are due
	 * (renewer.c); 0: no automatic renewal */
	unsigned int renew_every;
	unsigned int threads, workers, max_conns, max_per_addr, max_pending;
	unsigned int artifact_per_node;	/* downloads at once per node; 0: 4 */
	unsigned int idle, request, fail_limit, fail_window, grace;	/* s */
};

/*
 * Serves until SIGTERM or SIGINT. 0: stopped cleanly; > 0: stopped, but a
 * network child had to be killed after its grace (the log says so);
 * < 0: could not start or could not go on, d says why.
 */
int serve_monitor_run(const struct serve_opts *o, struct slw_diag *d);

/*
 * The renewal process (renewer.c), forked before the monitor drops its
 * privileges: every o->renew_every s it runs `slipway cert renew --due`.
 * *pid: -1 if o->renew_every is 0. Closing *stop_fd stops it (the
 * unprivileged monitor cannot signal it).
 */
int serve_renewer_start(const struct serve_opts *o, pid_t *pid,
    int *stop_fd, struct slw_diag *d);

#endif
