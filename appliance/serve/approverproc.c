// SPDX-License-Identifier: Apache-2.0
/*
 * approverproc.c: the key holder's side of the CSR approver process over
 * its life (serve.h): spawning it (child.c: re-exec, one channel at
 * descriptor 3, as the unprivileged user), serving its channel from a
 * thread (approver_monitor_serve), the restart budget, the stop. Used by
 * serve's monitor and by `slipway approve`, so both run the same two
 * halves. Never hands the approver anything but its PS_APR_CONFIG and the
 * answers to its requests.
 */
#include "serve.h"
#include "approver.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
mono_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void
serve_approverproc_init(struct serve_approverproc *a)
{
	memset(a, 0, sizeof(*a));
	a->exe_fd = -1;
	a->fd = -1;
	a->pid = -1;
	privsep_msg_init(&a->cfg, 0);
}

static void *
chan_main(void *arg)
{
	struct serve_approverproc *a = arg;

	a->said_done = approver_monitor_serve(a->am, a->fd, &a->cfg,
	    &a->done) == 0;
	/* the child closed it or is gone; a kill -9 ends here too */
	shutdown(a->fd, SHUT_RDWR);
	return NULL;
}

int
serve_approverproc_start(struct serve_approverproc *a, struct slw_diag *d)
{
	int sv[2], r;

	if (a->pid > 0 || a->th_running)
		return slw_diag(d, SLW_ERR_BUSY, "an approver is running");
	if (a->cfg.type != PS_APR_CONFIG || a->am == NULL)
		return SLW_ERR_INVALID;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return slw_diag(d, SLW_ERR_IO, "socketpair: %s", strerror(errno));
	r = serve_child_exec(a->exe_fd, SERVE_APPROVER_NAME, SERVE_APPROVER_ARG,
	    &sv[1], 1, a->cr.drop ? &a->cr : NULL, &a->pid, d);
	close(sv[1]);
	if (r != 0) {
		close(sv[0]);
		return r;
	}
	a->fd = sv[0];
	memset(&a->done, 0, sizeof(a->done));
	a->said_done = 0;
	if (pthread_create(&a->th, NULL, chan_main, a) != 0) {
		int st;

		kill(a->pid, SIGKILL);
		while (waitpid(a->pid, &st, 0) < 0 && errno == EINTR)
			;
		a->pid = -1;
		close(a->fd);
		a->fd = -1;
		return slw_diag(d, SLW_ERR_INTERNAL, "cannot serve the "
		    "approver's channel");
	}
	a->th_running = 1;
	return 0;
}

void
serve_approverproc_gone(struct serve_approverproc *a)
{
	if (a->th_running) {
		/* its end is closed (it exited): the thread sees EOF */
		shutdown(a->fd, SHUT_RDWR);
		pthread_join(a->th, NULL);
		a->th_running = 0;
	}
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	a->pid = -1;
}

int
serve_approverproc_may_restart(struct serve_approverproc *a)
{
	double now = mono_s();
	size_t i, recent = 0;

	for (i = 0; i < a->n_restarts && i < SERVE_RESTART_MAX; i++)
		if (now - a->restarts[i] < SERVE_RESTART_WINDOW)
			recent++;
	if (recent >= SERVE_RESTART_MAX) {
		a->hold_until = now + SERVE_APPROVER_HOLD;
		a->n_restarts = 0;	/* a fresh budget after the hold */
		return 0;
	}
	a->restarts[a->n_restarts++ % SERVE_RESTART_MAX] = now;
	a->hold_until = 0;
	return 1;
}

int
serve_approverproc_stop(struct serve_approverproc *a, unsigned int timeout_s)
{
	double t0 = mono_s();
	char txt[128];
	int st = 0, ok = 0;
	pid_t p = 0;

	if (a->pid <= 0) {
		serve_approverproc_gone(a);
		return 0;
	}
	kill(a->pid, SIGTERM);
	while (mono_s() - t0 < timeout_s) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		if ((p = waitpid(a->pid, &st, WNOHANG)) != 0)
			break;
		nanosleep(&ts, NULL);
	}
	if (p == 0) {
		serve_log_fmt("approver %ld did not stop within %u s: killed",
		    (long)a->pid, timeout_s);
		kill(a->pid, SIGKILL);
		while (waitpid(a->pid, &st, 0) < 0 && errno == EINTR)
			;
	} else if (p > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		ok = 1;
	else if (p > 0) {
		serve_child_status_text(st, txt, sizeof(txt));
		serve_log_fmt("approver %ld stopped with %s", (long)a->pid, txt);
	}
	serve_approverproc_gone(a);
	return ok ? 0 : SLW_ERR_INTERNAL;
}

void
serve_approverproc_kill(struct serve_approverproc *a)
{
	int st;

	if (a->pid > 0) {
		kill(a->pid, SIGKILL);
		while (waitpid(a->pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	serve_approverproc_gone(a);
}

void
serve_approverproc_fini(struct serve_approverproc *a)
{
	privsep_msg_free(&a->cfg);
}
