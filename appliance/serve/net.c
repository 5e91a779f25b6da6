// SPDX-License-Identifier: Apache-2.0
/*
 * net.c: serve's network child, re-executed by the monitor
 * (child.c): checks its descriptors and that it is unprivileged,
 * takes its configuration, installs the seccomp filter (fatal if it
 * cannot), runs the HTTPS endpoint (http.h) with the monitor behind
 * privsep_client.h, and stops on SIGTERM after answering what is in
 * flight (on SIGUSR1 the same, handing over to a new child). Must never
 * open a file, hold a CA key, the KEK or the store, or serve a single
 * request before the filter is in place.
 */
#define _GNU_SOURCE
#include "serve.h"
#include "http_server.h"
#include "metrics_listener.h"
#include "privsep_client.h"
#include "sandbox.h"

#include <errno.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CONFIG_FRAME_MAX (2 * PS_PEM_MAX + PS_TRUST_MAX + 256)

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define SLW_ASAN 1
#else
#define SLW_ASAN 0
#endif

static pthread_t main_thread;

static int
sock_is(int fd, int domain, int type, int listening)
{
	int v;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) != 0 || v != domain)
		return 0;
	l = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) != 0 || v != type)
		return 0;
	l = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) != 0 ||
	    (v != 0) != (listening != 0))
		return 0;
	return 1;
}

static int
listen_ok(int fd)
{
	return sock_is(fd, AF_INET, SOCK_STREAM, 1) ||
	    sock_is(fd, AF_INET6, SOCK_STREAM, 1);
}

/* Not root, and no capability of any kind: fails closed. */
static int
unprivileged(void)
{
	struct __user_cap_header_struct h;
	struct __user_cap_data_struct c[2];

	if (getuid() == 0 || geteuid() == 0)
		return 0;
	memset(&h, 0, sizeof(h));
	memset(c, 0, sizeof(c));
	h.version = _LINUX_CAPABILITY_VERSION_3;
	h.pid = 0;
	if (syscall(SYS_capget, &h, c) != 0)
		return 0;
	return c[0].effective == 0 && c[1].effective == 0 &&
	    c[0].permitted == 0 && c[1].permitted == 0;
}

static void
lost(void *cls, size_t left)
{
	(void)cls;
	serve_log_fmt("network child: lost a channel to the monitor (%zu left)%s",
	    left, left == 0 ? ": stopping" : "");
	if (left == 0)
		pthread_kill(main_thread, SIGTERM);
}

static int
fail(const char *what)
{
	serve_log_fmt("network child: %s", what);
	return EXIT_FAILURE;
}

int
serve_net_main(int argc, char **argv)
{
	struct privsep_msg cm;
	struct ps_config *cfg = &cm.u.cfg;
	struct privsep_client *pc = NULL;
	struct http_server *h = NULL;
	struct metrics_listener *ml = NULL;
	struct http_config hc;
	struct slw_diag d;
	sigset_t set;
	int *fds = NULL, r, sig, ret = EXIT_FAILURE;
	size_t i;

	(void)argc;
	(void)argv;
	privsep_msg_init(&cm, 0);
	if (!listen_ok(SERVE_FD_LISTEN) ||
	    !sock_is(SERVE_FD_CONTROL, AF_UNIX, SOCK_STREAM, 0)) {
		fprintf(stderr, "slipway: %s is started by 'slipway serve' "
		    "only\n", SERVE_NET_ARG);
		return 2;
	}
	main_thread = pthread_self();
	if (prctl(PR_SET_NAME, SERVE_NET_NAME, 0, 0, 0) != 0)
		return fail("cannot set its name");
	/* no core files, no ptrace by its own user: it holds the serving key */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return fail("cannot make itself undumpable");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return fail("cannot set no_new_privs");
	if (!unprivileged())
		return fail("refusing to run as root or with capabilities");
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);	/* the monitor decides; it got it too */
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);	/* handover to a new child */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	slw_diag_clear(&d);
	if ((r = privsep_io_recv(SERVE_FD_CONTROL, CONFIG_FRAME_MAX, &cm, &d))
	    != 0 || cm.type != PS_CONFIG) {
		ret = fail("no configuration from the monitor");
		goto out;
	}
	if ((fds = calloc(cfg->n_chan, sizeof(int))) == NULL)
		goto out;
	for (i = 0; i < cfg->n_chan; i++) {
		fds[i] = SERVE_FD_CHAN0 + (int)i;
		if (!sock_is(fds[i], AF_UNIX, SOCK_STREAM, 0)) {
			ret = fail("a channel to the monitor is missing");
			goto out;
		}
	}
	if ((cfg->flags & PS_CFG_METRICS) &&
	    !listen_ok(SERVE_FD_METRICS(cfg->n_chan))) {
		ret = fail("the metrics listener's socket is missing");
		goto out;
	}
	r = privsep_client_new(fds, cfg->n_chan, lost, NULL, &pc);
	free(fds);
	fds = NULL;
	if (r != 0) {
		ret = fail("cannot set up the channels to the monitor");
		goto out;
	}
	/* Nothing from the network has been read yet; from here, no files. */
	tzset();	/* libmicrohttpd's Date header: /etc/localtime now */
	if ((r = sandbox_net_install(&d)) != 0) {
		ret = fail(slw_diag_str(&d, r));
		goto out;
	}
	memset(&hc, 0, sizeof(hc));
	hc.listen_fd = SERVE_FD_LISTEN;
	hc.key_pem = (const char *)cfg->key_pem.data;
	hc.cert_pem = (const char *)cfg->cert_pem.data;
	/* rd_blob leaves a NUL after the bytes (buf.h) */
	hc.trust_pem = cfg->trust_pem.len > 0 ?
	    (const char *)cfg->trust_pem.data : NULL;
	hc.artifact_per_node = cfg->artifact_per_node;
	hc.threads = cfg->threads;
	hc.workers = cfg->workers;
	hc.max_conns = cfg->max_conns;
	hc.max_per_addr = cfg->max_per_addr;
	hc.idle_timeout = cfg->idle_timeout;
	hc.request_timeout = cfg->request_timeout;
	hc.fail_burst = cfg->fail_burst;
	hc.fail_window = cfg->fail_window;
	hc.max_pending = cfg->max_pending;
	hc.ps = pc;
	hc.sealed = (cfg->flags & PS_CFG_SEALED) != 0;
	hc.serving_not_after = (time_t)cfg->serving_not_after;
	hc.log = serve_log_line;
	if ((r = http_server_start(&hc, &h, &d)) != 0) {
		ret = fail(slw_diag_str(&d, r));
		goto out;
	}
	if (cfg->flags & PS_CFG_METRICS) {
		struct metrics_listener_config mc;

		memset(&mc, 0, sizeof(mc));
		mc.listen_fd = SERVE_FD_METRICS(cfg->n_chan);
		mc.m = http_server_metrics(h);
		mc.ps = hc.sealed ? NULL : pc;
		mc.log = serve_log_line;
		if ((r = metrics_listener_start(&mc, &ml, &d)) != 0) {
			ret = fail(slw_diag_str(&d, r));
			goto out;
		}
	}
	{
		struct privsep_msg rm;

		privsep_msg_init(&rm, PS_READY);
		if (privsep_io_send(SERVE_FD_CONTROL, &rm) != 0) {
			ret = fail("the monitor is gone");
			goto out;
		}
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	while (sigwait(&set, &sig) != 0 || (sig != SIGTERM && sig != SIGUSR1))
		;
	metrics_listener_stop(ml);	/* scrapes are short; a successor has it */
	ml = NULL;
	if (sig == SIGUSR1)
		http_server_handover(h, cfg->grace);
	else
		http_server_stop(h, cfg->grace);
	h = NULL;
	ret = EXIT_SUCCESS;
 out:
	metrics_listener_stop(ml);
	if (h != NULL)
		http_server_stop(h, 0);
	privsep_client_free(pc);
	free(fds);
	privsep_msg_free(&cm);
#if SLW_ASAN
	/* LeakSanitizer's scan at exit makes system calls the filter kills
	 * (SIGSYS): sanitizer builds skip it here; ASan's checks of every
	 * access still ran, and the monitor keeps its leak check. */
	_exit(ret);
#endif
	return ret;
}
