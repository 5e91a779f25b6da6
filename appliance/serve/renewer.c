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
#include "serve.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void
pause_s(unsigned int s)
{
	struct timespec ts = { (time_t)s, 0 };

	while (!stop && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
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
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return;
	serve_child_status_text(st, txt, sizeof(txt));
	serve_log_fmt("renewal: 'slipway cert renew --due' %s: the journal "
	    "keeps where it stopped; the next look resumes it (slipway status)",
	    txt);
}

int
serve_renewer_start(const struct serve_opts *o, pid_t *out,
    struct slw_diag *d)
{
	char exe[PATH_MAX];
	ssize_t n;
	pid_t pid;
	unsigned int every = o->renew_every, seed;

	*out = -1;
	if (every == 0)
		return 0;
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return slw_diag(d, SLW_ERR_IO, "cannot find its own executable "
		    "for the renewal");
	exe[n] = '\0';
	if ((pid = fork()) < 0)
		return slw_diag(d, SLW_ERR_IO, "cannot fork the renewal: %s",
		    strerror(errno));
	if (pid > 0) {
		*out = pid;
		return 0;
	}
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
