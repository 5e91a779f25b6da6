// SPDX-License-Identifier: Apache-2.0
/*
 * renewer.c: serve's renewal of node certificates. The monitor holds the
 * CA keys and must not parse what nodes say, so it does not run the fleet
 * engine itself: before it drops its privileges it forks this small
 * process, which every --renew-every seconds (with jitter) runs the same
 * code as the console, `slipway cert renew --due --quiet` (a process of
 * its own, exactly an operator's command: the operation lock, the journal,
 * the gates), and logs how it ended. Holds no key and parses nothing.
 */
#define _GNU_SOURCE	/* pipe2, close_range */
#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static int parent_fd = -1;	/* closed (EOF) when the monitor stops */

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/*
 * Waits s seconds, or less if the monitor stops: it runs unprivileged by
 * then and cannot signal this process, so it closes its end of a pipe.
 */
static void
pause_s(unsigned int s)
{
	struct pollfd p = { parent_fd, POLLIN, 0 };
	int64_t left = (int64_t)s * 1000;
	struct timespec t0, t1;

	while (!stop && left > 0) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (poll(&p, 1, (int)left) > 0) {
			stop = 1;	/* EOF or anything: the monitor is gone */
			return;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		left -= (int64_t)(t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	}
}

static void
run_once(const char *exe, const char *state, const char *kek)
{
	const char *argv[12];
	pid_t pid;
	int a = 0, st = 0;
	char txt[128];

	argv[a++] = exe;
	argv[a++] = "--state";
	argv[a++] = state;
	if (kek != NULL) {
		argv[a++] = "--kek";
		argv[a++] = kek;
	}
	argv[a++] = "cert";
	argv[a++] = "renew";
	argv[a++] = "--due";
	argv[a++] = "--quiet";
	argv[a] = NULL;
	if ((pid = fork()) < 0) {
		serve_log_fmt("renewal: cannot fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	/* the monitor stopping ends the renewal too: it resumes next time */
	for (;;) {
		struct pollfd p = { parent_fd, POLLIN, 0 };
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (!stop && poll(&p, 1, 200) > 0)
			stop = 1;
		if (stop) {
			kill(pid, SIGTERM);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			break;
		}
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return;
	serve_child_status_text(st, txt, sizeof(txt));
	serve_log_fmt("renewal: 'slipway cert renew --due' %s: the journal "
	    "keeps where it stopped; the next look resumes it (slipway status)",
	    txt);
}

int
serve_renewer_start(const struct serve_opts *o, pid_t *out, int *stop_fd,
    struct slw_diag *d)
{
	char exe[PATH_MAX];
	ssize_t n;
	pid_t pid;
	unsigned int every = o->renew_every, seed;
	int pp[2];

	*out = -1;
	*stop_fd = -1;
	if (every == 0)
		return 0;
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return slw_diag(d, SLW_ERR_IO, "cannot find its own executable "
		    "for the renewal");
	exe[n] = '\0';
	if (pipe2(pp, O_CLOEXEC) != 0)
		return slw_diag(d, SLW_ERR_IO, "pipe: %s", strerror(errno));
	if ((pid = fork()) < 0) {
		close(pp[0]);
		close(pp[1]);
		return slw_diag(d, SLW_ERR_IO, "cannot fork the renewal: %s",
		    strerror(errno));
	}
	if (pid > 0) {
		close(pp[0]);
		*out = pid;
		*stop_fd = pp[1];
		return 0;
	}
	close(pp[1]);
	/*
	 * nothing of the monitor's but the pipe: its listening sockets (held
	 * here, a stopped serve would still accept connections), the store's
	 * LMDB descriptors (not to be used across a fork), the channels
	 */
	if (pp[0] != 3 && dup3(pp[0], 3, O_CLOEXEC) < 0)
		_exit(1);
	parent_fd = 3;
	if (close_range(4, ~0U, 0) != 0)
		_exit(1);
	prctl(PR_SET_NAME, "slipway-renew", 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	signal(SIGTERM, on_term);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	{
		sigset_t all;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
	}
	seed = (unsigned int)getpid() ^ (unsigned int)time(NULL);
	/* the first look soon after start, then every --renew-every +- 10% */
	pause_s(every < 10 ? every : 10);
	while (!stop && getppid() != 1) {
		run_once(exe, o->state, o->kek);
		pause_s(every - every / 10 + (unsigned int)(rand_r(&seed) %
		    (every / 5 + 1)));
	}
	_exit(0);
}
