// SPDX-License-Identifier: Apache-2.0
/*
 * netproc.c: the monitor's side of serve's network child over its
 * life: start (spawn, channels, READY), the restart budget after a crash,
 * the graceful stop, and the handover to a new child (a new serving
 * certificate) without a moment in which nobody accepts on the listening
 * socket. Never closes the listening socket (the caller owns it) and
 * never hands a child anything but its ps_config.
 */
#include "serve.h"
#include "privsep_monitor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define CHILD_READY_MS 30000

static double
mono_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
reap(pid_t pid, int *st)
{
	while (waitpid(pid, st, 0) < 0 && errno == EINTR)
		;
}

void
serve_netproc_init(struct serve_netproc *n)
{
	memset(n, 0, sizeof(*n));
	n->exe_fd = n->listen_fd = n->metrics_fd = -1;
	n->child.pid = -1;
	n->child.ctl = -1;
}

void
serve_netproc_gone(struct serve_netproc *n)
{
	privsep_monitor_stop(n->mon, 1);
	n->mon = NULL;
	serve_child_close(&n->child);
	n->child.pid = -1;
}

int
serve_netproc_start(struct serve_netproc *n, struct slw_diag *d)
{
	int r, st;

	if ((r = serve_child_spawn(n->exe_fd, n->listen_fd, n->metrics_fd,
	    n->cfg.n_chan, &n->child, d)) != 0)
		return r;
	if ((r = privsep_monitor_start(n->rd, n->child.chan,
	    n->child.n_chan, serve_log_line, NULL, &n->mon)) != 0)
		r = slw_diag(d, r, "cannot serve the network child's channels");
	else
		r = serve_child_start(&n->child, &n->cfg, CHILD_READY_MS, d);
	if (r != 0) {
		if (n->child.pid > 0) {	/* else reaped already */
			kill(n->child.pid, SIGKILL);
			reap(n->child.pid, &st);
		}
		serve_netproc_gone(n);
	}
	return r;
}

int
serve_netproc_may_restart(struct serve_netproc *n)
{
	double now = mono_s();
	size_t i, recent = 0;

	for (i = 0; i < n->n_restarts && i < SERVE_RESTART_MAX; i++)
		if (now - n->restarts[i] < SERVE_RESTART_WINDOW)
			recent++;
	if (recent >= SERVE_RESTART_MAX)
		return 0;
	n->restarts[n->n_restarts++ % SERVE_RESTART_MAX] = now;
	return 1;
}

int
serve_netproc_stop(struct serve_netproc *n, unsigned int grace)
{
	double t0 = mono_s();
	char txt[128];
	int st = 0, ok = 0;
	pid_t p = 0;

	if (n->child.pid <= 0)
		return 0;
	kill(n->child.pid, SIGTERM);
	while (mono_s() - t0 < grace + 10.0) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		if ((p = waitpid(n->child.pid, &st, WNOHANG)) != 0)
			break;
		nanosleep(&ts, NULL);
	}
	if (p == 0) {
		serve_log_fmt("network child %ld did not stop within %u s: killed",
		    (long)n->child.pid, grace + 10);
		kill(n->child.pid, SIGKILL);
		reap(n->child.pid, &st);
	} else if (p > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		ok = 1;
	else if (p > 0) {
		serve_child_status_text(st, txt, sizeof(txt));
		serve_log_fmt("network child %ld stopped with %s",
		    (long)n->child.pid, txt);
	}
	serve_netproc_gone(n);
	return ok ? 0 : SLW_ERR_INTERNAL;
}

void
serve_netproc_kill(struct serve_netproc *n)
{
	int st;

	if (n->child.pid <= 0)
		return;
	kill(n->child.pid, SIGKILL);
	reap(n->child.pid, &st);
	serve_netproc_gone(n);
}

int
serve_netproc_replace(struct serve_netproc *n, const struct ps_config *cfg,
    struct serve_netproc *old, struct slw_diag *d)
{
	struct serve_netproc next;
	int r;

	if (old->child.pid > 0)
		return slw_diag(d, SLW_ERR_BUSY, "network child %ld is still "
		    "handing over", (long)old->child.pid);
	if (n->child.pid <= 0)	/* never kill(-1, ...) below */
		return slw_diag(d, SLW_ERR_BUSY, "no network child to hand "
		    "over from");
	if (cfg->n_chan != n->cfg.n_chan)
		return slw_diag(d, SLW_ERR_INVALID, "a handover keeps the "
		    "number of channels");
	next = *n;		/* same socket, executable, redeem, budget */
	next.cfg = *cfg;
	next.child.pid = -1;
	next.child.ctl = -1;
	next.child.chan = NULL;
	next.child.n_chan = 0;
	next.mon = NULL;
	if ((r = serve_netproc_start(&next, d)) != 0)
		return r;	/* next is cleaned up; n still serves */
	*old = *n;
	*n = next;
	if (kill(old->child.pid, SIGUSR1) != 0)
		serve_log_fmt("network child %ld could not be told to hand "
		    "over: %s", (long)old->child.pid, strerror(errno));
	return 0;
}
