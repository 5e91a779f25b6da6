// SPDX-License-Identifier: Apache-2.0
/*
 * child.c: the monitor starting serve's network child: socketpairs,
 * fork, a fixed descriptor layout, re-exec of its own binary (so nothing
 * the monitor holds, CA keys, the KEK, the LMDB map, is in the child's
 * memory), then PS_CONFIG and the wait for PS_READY. Between fork and exec
 * only async-signal-safe calls: the monitor has threads. Must never pass
 * the child a descriptor, an environment variable or memory it does not
 * need.
 */
#define _GNU_SOURCE	/* execveat, close_range, F_DUPFD_CLOEXEC, dup3 */
#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void
close_pairs(int *mon, int *kid, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (mon != NULL && mon[i] >= 0)
			close(mon[i]);
		if (kid != NULL && kid[i] >= 0)
			close(kid[i]);
	}
}

/* In the forked child: async-signal-safe only. Never returns. */
static void
exec_child(int exe_fd, int listen_fd, int metrics_fd, const int *kid,
    size_t n, int *hi, pid_t parent, char *const argv[], char *const envp[])
{
	static const char msg[] = "slipway serve: cannot execute the network "
	    "child\n";
	int base = SERVE_FD_CHAN0 + (int)n + 2, exe, mfd = -1;
	size_t i;

	/* first above the target range, so the dup2s below clobber nothing */
	if ((hi[0] = fcntl(listen_fd, F_DUPFD, base)) < 0 ||
	    (exe = fcntl(exe_fd, F_DUPFD_CLOEXEC, base)) < 0 ||
	    (metrics_fd >= 0 && (mfd = fcntl(metrics_fd, F_DUPFD, base)) < 0))
		goto fail;
	for (i = 0; i <= n; i++)
		if ((hi[1 + i] = fcntl(kid[i], F_DUPFD, base)) < 0)
			goto fail;
	if (dup2(hi[0], SERVE_FD_LISTEN) < 0 ||
	    dup2(hi[1], SERVE_FD_CONTROL) < 0)
		goto fail;
	for (i = 0; i < n; i++)
		if (dup2(hi[2 + i], SERVE_FD_CHAN0 + (int)i) < 0)
			goto fail;
	if (mfd >= 0 && dup2(mfd, SERVE_FD_METRICS(n)) < 0)
		goto fail;
	i = mfd >= 0 ? 1 : 0;
	if (dup3(exe, SERVE_FD_CHAN0 + (int)(n + i), O_CLOEXEC) < 0)
		goto fail;
	exe = SERVE_FD_CHAN0 + (int)(n + i);
	/* everything else: LMDB, the KEK file, the notify socket, ... */
	if (close_range((unsigned int)exe + 1, ~0U, 0) != 0)
		goto fail;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 ||
	    getppid() != parent)
		goto fail;
	execveat(exe, "", argv, envp, AT_EMPTY_PATH);
 fail:
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(127);
}

int
serve_child_spawn(int exe_fd, int listen_fd, int metrics_fd, size_t n_chan,
    struct serve_child *out, struct slw_diag *d)
{
	static char arg0[] = "slipway", arg1[] = SERVE_NET_ARG;
	char *argv[] = { arg0, arg1, NULL };
	char *envp[] = { NULL };
	int *mon = NULL, *kid = NULL, *hi = NULL, sv[2];
	size_t i, n = n_chan + 1;	/* [0]: control */
	pid_t parent = getpid(), pid;
	int r;

	memset(out, 0, sizeof(*out));
	out->pid = -1;
	out->ctl = -1;
	if (n_chan == 0 || n_chan > PS_CHAN_MAX)
		return slw_diag(d, SLW_ERR_INVALID, "bad channel count");
	if ((mon = calloc(n, sizeof(int))) == NULL ||
	    (kid = calloc(n, sizeof(int))) == NULL ||
	    (hi = calloc(n + 1, sizeof(int))) == NULL) {
		r = SLW_ERR_NOMEM;
		goto fail;
	}
	for (i = 0; i < n; i++)
		mon[i] = kid[i] = -1;
	for (i = 0; i < n; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
			r = slw_diag(d, SLW_ERR_IO, "socketpair: %s",
			    strerror(errno));
			goto fail;
		}
		mon[i] = sv[0];
		kid[i] = sv[1];
	}
	if ((pid = fork()) < 0) {
		r = slw_diag(d, SLW_ERR_IO, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0)
		exec_child(exe_fd, listen_fd, metrics_fd, kid, n_chan, hi,
		    parent, argv, envp);
	close_pairs(NULL, kid, n);
	free(kid);
	free(hi);
	out->pid = pid;
	out->ctl = mon[0];
	out->n_chan = n_chan;
	if ((out->chan = calloc(n_chan, sizeof(int))) == NULL) {
		/* the child sees its channels close and exits */
		close_pairs(mon, NULL, n);
		free(mon);
		out->ctl = -1;
		return SLW_ERR_NOMEM;
	}
	memcpy(out->chan, mon + 1, n_chan * sizeof(int));
	free(mon);
	return 0;
 fail:
	close_pairs(mon, kid, mon != NULL ? n : 0);
	free(mon);
	free(kid);
	free(hi);
	return r;
}

int
serve_child_start(struct serve_child *c, const struct ps_config *cfg,
    unsigned int timeout_ms, struct slw_diag *d)
{
	struct privsep_msg m;
	struct pollfd pfd;
	int r;

	privsep_msg_init(&m, PS_CONFIG);
	m.u.cfg = *cfg;		/* shallow: the bufs stay the caller's */
	r = privsep_io_send(c->ctl, &m);
	memset(&m, 0, sizeof(m));
	if (r != 0)
		return slw_diag(d, r, "the network child did not take its "
		    "configuration");
	pfd.fd = c->ctl;
	pfd.events = POLLIN;
	for (;;) {
		r = poll(&pfd, 1, (int)timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		break;
	}
	if (r == 0)
		return slw_diag(d, SLW_ERR_BUSY, "the network child was not "
		    "ready within %u ms", timeout_ms);
	if ((r = privsep_io_recv(c->ctl, 64, &m, NULL)) != 0 ||
	    m.type != PS_READY) {
		char how[128];
		int st, i;

		privsep_msg_free(&m);
		/* it closed the channel: it is exiting; say how */
		for (i = 0; i < 100; i++) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };

			if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
				c->pid = -1;
				serve_child_status_text(st, how, sizeof(how));
				return slw_diag(d, SLW_ERR_IO, "the network "
				    "child did not start: %s%s", how,
				    WIFEXITED(st) ? " (its reason is in the "
				    "log line above)" : "");
			}
			nanosleep(&ts, NULL);
		}
		return slw_diag(d, SLW_ERR_IO, "the network child did not "
		    "start");
	}
	privsep_msg_free(&m);
	return 0;
}

void
serve_child_close(struct serve_child *c)
{
	if (c == NULL)
		return;
	if (c->ctl >= 0)
		close(c->ctl);
	c->ctl = -1;
	free(c->chan);
	c->chan = NULL;
	c->n_chan = 0;
}

void
serve_child_status_text(int status, char *out, size_t len)
{
	if (WIFEXITED(status))
		snprintf(out, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, len, "signal %d%s", WTERMSIG(status),
		    WTERMSIG(status) == SIGSYS ? " (SIGSYS: a system call "
		    "outside the sandbox's allow-list)" : "");
	else
		snprintf(out, len, "status %#x", (unsigned)status);
}
