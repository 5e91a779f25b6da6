// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_approve.c: `slipway approve [--once] [--apiserver URL]`: the
 * approver in the foreground, one pass or until SIGINT/SIGTERM. Decisions
 * go to stdout, trouble to stderr, one line each; never a key or a token.
 */
#include "approver.h"
#include "cli.h"
#include "cluster.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static atomic_int stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_flag, 1);
}

static void
log_line(void *arg, enum approver_log_level lvl, const char *msg)
{
	char ts[32];

	(void)arg;
	cli_time(time(NULL), ts);
	fprintf(lvl == APPROVER_LOG_WARN ? stderr : stdout, "%s approver: %s\n",
	    ts, msg);
	fflush(lvl == APPROVER_LOG_WARN ? stderr : stdout);
}

int
cmd_approve(struct cli *c)
{
	struct approver_opts o;
	struct approver_stats st;
	struct inventory *inv = NULL;
	struct store *s = NULL;
	struct sigaction sa;
	struct slw_diag d;
	const struct cli_opt opts[] = {
		OPT_FLAG("once", &o.once),
		OPT_STR("apiserver", &o.apiserver),
		OPT_END,
	};
	int r, ret = EXIT_FAIL;

	memset(&o, 0, sizeof(o));
	memset(&st, 0, sizeof(st));
	slw_diag_clear(&d);
	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if (o.apiserver != NULL && strncmp(o.apiserver, "https://", 8) != 0)
		return cli_usage(c, "--apiserver must be https://HOST:PORT");
	if (cli_open(c, 1, &s) != 0)
		return EXIT_FAIL;
	if ((r = cluster_load(s, &inv, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	o.log = log_line;
	/* libcurl runs with CURLOPT_NOSIGNAL: a peer closing a TLS connection
	 * must not kill the process */
	signal(SIGPIPE, SIG_IGN);
	if (!o.once) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	r = approver_run(s, inv, &o, &stop_flag, &st, &d);
	printf("approve: %lu approved, %lu denied, %lu signed, %lu ignored, "
	    "%lu errors\n", st.approved, st.denied, st.signed_, st.ignored,
	    st.errors);
	if (r != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	ret = EXIT_OK;
 out:
	inventory_free(inv);
	store_close(s);
	return ret;
}
