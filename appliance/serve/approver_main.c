// SPDX-License-Identifier: Apache-2.0
/*
 * approver_main.c: the CSR approver process, slipway-approver,
 * re-executed by serve's monitor or `slipway approve` (approverproc.c):
 * checks its one descriptor and that it is unprivileged, takes its
 * configuration, makes ready what name resolution and libcurl read, installs
 * its seccomp filter (fatal if it cannot), then runs the approver loop
 * (approver.h) with the monitor behind its channel, and says how it ended.
 * Must never open the store or a key file, hold a CA key or the KEK, or
 * talk to the API server before the filter is in place.
 */
#define _GNU_SOURCE
#include "serve.h"
#include "approver.h"
#include "rand.h"
#include "sandbox.h"

#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define CONFIG_FRAME_MAX PS_APR_CONFIG_FRAME_MAX

static atomic_int stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_flag, 1);
}

static int
channel_ok(int fd)
{
	int v;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) != 0 ||
	    v != AF_UNIX)
		return 0;
	l = sizeof(v);
	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) == 0 &&
	    v == SOCK_STREAM;
}

/* Not root, and no capability of any kind: fails closed. */
static int
unprivileged(void)
{
	struct __user_cap_header_struct h;
	struct __user_cap_data_struct c[2];

	if (getuid() == 0 || geteuid() == 0 || getgid() == 0 ||
	    getegid() == 0)
		return 0;
	memset(&h, 0, sizeof(h));
	memset(c, 0, sizeof(c));
	h.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capget, &h, c) != 0)
		return 0;
	return c[0].effective == 0 && c[1].effective == 0 &&
	    c[0].permitted == 0 && c[1].permitted == 0;
}

/* serve: "approver: " lines on stderr, as the monitor's. */
static void
log_serve(void *arg, enum approver_log_level lvl, const char *msg)
{
	(void)arg;
	serve_log_fmt("approver: %s%s", lvl == APPROVER_LOG_WARN ?
	    "warning: " : "", msg);
}

/* `slipway approve`: decisions on stdout, trouble on stderr. */
static void
log_console(void *arg, enum approver_log_level lvl, const char *msg)
{
	char ts[32];
	FILE *f = lvl == APPROVER_LOG_WARN ? stderr : stdout;
	time_t now = time(NULL);
	struct tm tm;

	(void)arg;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(f, "%s approver: %s\n", ts, msg);
	fflush(f);
}

static int
fail(const char *what)
{
	serve_log_fmt("approver: %s", what);
	return EXIT_FAILURE;
}

int
serve_approver_main(int argc, char **argv)
{
	struct privsep_msg cm;
	struct ps_apr_config *cfg = &cm.u.acfg;
	struct approver_client *ac = NULL;
	struct approver_opts o;
	struct approver_stats st;
	struct inventory *inv = NULL;
	struct sigaction sa;
	struct slw_diag d;
	sigset_t set;
	int r, ret = EXIT_FAILURE;

	(void)argc;
	(void)argv;
	privsep_msg_init(&cm, 0);
	memset(&st, 0, sizeof(st));
	if (!channel_ok(SERVE_APPROVER_FD)) {
		fprintf(stderr, "slipway: %s is started by 'slipway serve' or "
		    "'slipway approve' only\n", SERVE_APPROVER_ARG);
		return 2;
	}
	if (prctl(PR_SET_NAME, SERVE_APPROVER_NAME, 0, 0, 0) != 0)
		return fail("cannot set its name");
	/* no core files, no ptrace by its own user: it holds the API key */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return fail("cannot make itself undumpable");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return fail("cannot set no_new_privs");
	if (!unprivileged())
		return fail("refusing to run as root or with capabilities");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* the monitor blocks them for its sigwait, and exec keeps the mask */
	if (sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigprocmask(SIG_UNBLOCK, &set, NULL) != 0)
		return fail("cannot take SIGTERM");
	/* libcurl runs with CURLOPT_NOSIGNAL: a peer closing a TLS
	 * connection must not kill the process */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	slw_diag_clear(&d);
	if ((r = privsep_io_recv(SERVE_APPROVER_FD, CONFIG_FRAME_MAX, &cm, &d))
	    != 0 || cm.type != PS_APR_CONFIG) {
		ret = fail("no configuration from the monitor");
		goto out;
	}
	if ((r = approver_client_new(SERVE_APPROVER_FD, &ac)) != 0)
		goto out;
	if ((r = inventory_parse(cfg->inventory.data, cfg->inventory.len,
	    "the monitor's inventory", &inv, &d)) != 0) {
		ret = fail(slw_diag_str(&d, r));
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.apiserver = cfg->apiserver[0] != '\0' ? cfg->apiserver : NULL;
	o.once = (cfg->flags & PS_APR_ONCE) != 0;
	o.console = (cfg->flags & PS_APR_CONSOLE) != 0;
	o.backoff_cap_ms = cfg->backoff_cap_ms;
	o.token_sync_seconds = cfg->token_sync_seconds;
	o.log = o.console ? log_console : log_serve;
	/* what the libraries read from files, while files can be read */
	tzset();
	if (slw_crypto_init() != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) !=
	    CURLE_OK) {
		ret = fail("cannot initialise its libraries");
		goto out;
	}
	if ((r = sandbox_approver_install(&d)) != 0) {
		ret = fail(slw_diag_str(&d, r));
		goto out;
	}
	{
		struct privsep_msg rm;

		privsep_msg_init(&rm, PS_READY);
		if (privsep_io_send(SERVE_APPROVER_FD, &rm) != 0) {
			ret = fail("the monitor is gone");
			goto out;
		}
	}
	slw_diag_clear(&d);
	r = approver_run(ac, inv, &o, &stop_flag, &st, &d);
	(void)approver_client_done(ac, r, r != 0 ? slw_diag_str(&d, r) : "",
	    &st);
	if (r != 0 && !o.console)
		serve_log_fmt("approver: stopped: %s", slw_diag_str(&d, r));
	ret = r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
 out:
	approver_client_free(ac);
	inventory_free(inv);
	privsep_msg_free(&cm);
	curl_global_cleanup();
	return ret;
}
