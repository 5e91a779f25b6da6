// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_approve.c: `slipway approve [--once] [--apiserver URL]`: the
 * approver in the foreground, one pass or until SIGINT/SIGTERM, as the
 * same two halves as in `slipway serve`: this process holds the store and
 * signs (approver_monitor.c); the slipway-approver process it starts
 * (serve/approverproc.c), unprivileged and sandboxed, talks to the API
 * server. Decisions go to stdout, trouble to stderr, one line each; never
 * a key or a token.
 */
#define _GNU_SOURCE	/* O_PATH */
#include "approver.h"
#include "cli.h"
#include "cluster.h"
#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t child_pid = -1;

/* The approver decides when to stop: pass the signal on. */
static void
on_signal(int sig)
{
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

/* Refusals of the monitor half: on stderr. */
static void
mon_log(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "slipway: %s\n", line);
	fflush(stderr);
}

int
cmd_approve(struct cli *c)
{
	struct approver_opts o;
	struct approver_monitor_opts mo;
	struct approver_monitor *am = NULL;
	struct serve_approverproc ap;
	struct inventory *inv = NULL;
	struct store *s = NULL;
	struct sigaction sa;
	struct slw_diag d;
	const struct cli_opt opts[] = {
		OPT_FLAG("once", &o.once),
		OPT_STR("apiserver", &o.apiserver),
		OPT_END,
	};
	char how[128];
	int r, st = 0, ret = EXIT_FAIL;

	memset(&o, 0, sizeof(o));
	memset(&mo, 0, sizeof(mo));
	serve_approverproc_init(&ap);
	slw_diag_clear(&d);
	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if (o.apiserver != NULL && strncmp(o.apiserver, "https://", 8) != 0)
		return cli_usage(c, "--apiserver must be https://HOST:PORT");
	if (cli_open(c, 1, &s) != 0)
		return EXIT_FAIL;
	o.console = 1;
	mo.log = mon_log;
	if ((r = cluster_load(s, &inv, &d)) != 0 ||
	    (r = approver_monitor_new(s, inv, &mo, &am, &d)) != 0 ||
	    (r = approver_monitor_config(am, &o, &ap.cfg, &d)) != 0 ||
	    (r = serve_creds_for(NULL, &ap.cr, NULL, 0, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	ap.am = am;
	/* the approver is this binary again, re-executed: fresh memory */
	if ((ap.exe_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC)) < 0) {
		slw_diag_set(&d, SLW_ERR_IO, "cannot find its own executable "
		    "for the approver: %s", strerror(errno));
		ret = cli_fail_err(c, SLW_ERR_IO, &d);
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if ((r = serve_approverproc_start(&ap, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	child_pid = ap.pid;
	while (waitpid(ap.pid, &st, 0) < 0 && errno == EINTR)
		;
	child_pid = -1;
	serve_approverproc_gone(&ap);	/* ap.done: its last word */
	printf("approve: %u approved, %u denied, %u signed, %u ignored, "
	    "%u errors\n", ap.done.approved, ap.done.denied, ap.done.signed_,
	    ap.done.ignored, ap.done.errors);
	fflush(stdout);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		serve_child_status_text(st, how, sizeof(how));
		if (ap.said_done && ap.done.rc != 0) {
			r = ap.done.rc;
			slw_diag_set(&d, r, "%s", ap.done.text);
		} else
			r = slw_diag_set(&d, SLW_ERR_INTERNAL, "the approver "
			    "process ended (%s)", how);
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	ret = EXIT_OK;
 out:
	serve_approverproc_kill(&ap);	/* none left, but on a failed start */
	serve_approverproc_fini(&ap);
	if (ap.exe_fd >= 0)
		close(ap.exe_fd);
	approver_monitor_free(am);
	inventory_free(inv);
	store_close(s);
	return ret;
}
