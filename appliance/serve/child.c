// SPDX-License-Identifier: Apache-2.0
/*
 * child.c: the monitor starting its children (the network child, the
 * CSR approver): fork, a fixed descriptor layout, re-exec of its own
 * binary (so nothing the monitor holds, CA keys, the KEK, the LMDB map, is
 * in the child's memory); for the network child its socketpairs, then
 * PS_CONFIG and the wait for PS_READY. Between fork and exec only
 * async-signal-safe calls: the monitor has threads. Must never pass a
 * child a descriptor, an environment variable or memory it does not need,
 * nor let one start with privileges it was meant to drop.
 */
#define _GNU_SOURCE	/* execveat, close_range, F_DUPFD_CLOEXEC, dup3,
			 * setresuid, setgroups */
#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
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

/*
 * In the forked child: async-signal-safe only. Never returns. Puts fds[i]
 * at descriptor 3 + i, closes everything else, drops to cr (if set), dies
 * with the parent, and re-executes exe_fd.
 */
static void
exec_child(int exe_fd, const int *fds, size_t n, int *hi,
    const struct serve_creds *cr, pid_t parent, char *const argv[],
    char *const envp[])
{
	static const char msg[] = "slipway: cannot start a child process "
	    "(descriptors, privileges or exec)\n";
	int base = 3 + (int)n + 1, exe;
	size_t i;

	/* first above the target range, so the dup2s below clobber nothing */
	if ((exe = fcntl(exe_fd, F_DUPFD_CLOEXEC, base)) < 0)
		goto fail;
	for (i = 0; i < n; i++)
		if ((hi[i] = fcntl(fds[i], F_DUPFD, base)) < 0)
			goto fail;
	for (i = 0; i < n; i++)
		if (dup2(hi[i], 3 + (int)i) < 0)
			goto fail;
	if (dup3(exe, 3 + (int)n, O_CLOEXEC) < 0)
		goto fail;
	exe = 3 + (int)n;
	/* everything else: LMDB, the KEK file, the notify socket, ... */
	if (close_range((unsigned int)exe + 1, ~0U, 0) != 0)
		goto fail;
	if (cr != NULL && cr->drop) {
		gid_t g = cr->gid;
		uid_t u = cr->uid;

		if (setgroups(0, NULL) != 0 || setresgid(g, g, g) != 0 ||
		    setresuid(u, u, u) != 0)
			goto fail;
	}
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 ||
	    getppid() != parent)
		goto fail;
	execveat(exe, "", argv, envp, AT_EMPTY_PATH);
 fail:
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(127);
}

int
serve_creds_for(const char *user, struct serve_creds *out, char *who,
    size_t wlen, struct slw_diag *d)
{
	struct passwd *pw;

	memset(out, 0, sizeof(*out));
	if (geteuid() != 0) {
		if (who != NULL)
			snprintf(who, wlen, "uid %u (not root: nothing to drop)",
			    (unsigned)geteuid());
		return 0;
	}
	if (user != NULL && strcmp(user, "root") == 0)
		return slw_diag(d, SLW_ERR_PERM, "--user root: refusing to serve "
		    "the network as root");
	if (user == NULL)
		user = getpwnam("slipway") != NULL ? "slipway" : "nobody";
	if ((pw = getpwnam(user)) == NULL)
		return slw_diag(d, SLW_ERR_PERM, "no user '%.64s' to drop "
		    "privileges to", user);
	if (pw->pw_uid == 0)
		return slw_diag(d, SLW_ERR_PERM, "user '%.64s' is root", user);
	out->drop = 1;
	out->uid = pw->pw_uid;
	out->gid = pw->pw_gid;
	if (who != NULL)
		snprintf(who, wlen, "%s (uid %u, gid %u)", user,
		    (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
	return 0;
}

int
serve_child_exec(int exe_fd, const char *name, const char *arg,
    const int *fds, size_t n, const struct serve_creds *cr, pid_t *pid_out,
    struct slw_diag *d)
{
	char *argv[] = { (char *)name, (char *)arg, NULL };
	char *envp[] = { NULL };
	pid_t parent = getpid(), pid;
	int *hi;

	*pid_out = -1;
	if (n == 0 || n > PS_CHAN_MAX + 3)
		return slw_diag(d, SLW_ERR_INVALID, "bad descriptor count");
	/* allocated before fork: the child may not call malloc */
	if ((hi = calloc(n, sizeof(int))) == NULL)
		return SLW_ERR_NOMEM;
	if ((pid = fork()) < 0) {
		free(hi);
		return slw_diag(d, SLW_ERR_IO, "fork: %s", strerror(errno));
	}
	if (pid == 0)
		exec_child(exe_fd, fds, n, hi, cr, parent, argv, envp);
	free(hi);
	*pid_out = pid;
	return 0;
}

int
serve_child_spawn(int exe_fd, int listen_fd, int metrics_fd, size_t n_chan,
    struct serve_child *out, struct slw_diag *d)
{
	int *mon = NULL, *kid = NULL, *fds = NULL, sv[2];
	size_t i, n = n_chan + 1;	/* [0]: control */
	pid_t pid;
	int r;

	memset(out, 0, sizeof(*out));
	out->pid = -1;
	out->ctl = -1;
	if (n_chan == 0 || n_chan > PS_CHAN_MAX)
		return slw_diag(d, SLW_ERR_INVALID, "bad channel count");
	if ((mon = calloc(n, sizeof(int))) == NULL ||
	    (kid = calloc(n, sizeof(int))) == NULL ||
	    (fds = calloc(n + 2, sizeof(int))) == NULL) {
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
	/* SERVE_FD_LISTEN, SERVE_FD_CONTROL, SERVE_FD_CHAN0..., and
	 * SERVE_FD_METRICS(n_chan) if there is a metrics listener */
	fds[0] = listen_fd;
	memcpy(fds + 1, kid, n * sizeof(int));
	if (metrics_fd >= 0)
		fds[n + 1] = metrics_fd;
	if ((r = serve_child_exec(exe_fd, SERVE_NET_NAME, SERVE_NET_ARG, fds,
	    n + (metrics_fd >= 0 ? 2 : 1), NULL, &pid, d)) != 0)
		goto fail;
	close_pairs(NULL, kid, n);
	free(kid);
	free(fds);
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
	free(fds);
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
