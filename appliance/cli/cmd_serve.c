// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_serve.c: `slipway serve`: reads its options and runs the monitor
 * (serve/monitor.c) until SIGTERM; and `slipway serve rotate-key`: a new
 * serving key and certificate. Never prints a key or a token.
 */
#include "cli.h"
#include "cluster.h"
#include "http_tls.h"
#include "profile.h"
#include "serve.h"
#include "signing.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
num_opt(struct cli *c, const char *name, const char *v, unsigned int max,
    unsigned int *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n > max || v[0] == '-') {
		char msg[96];

		snprintf(msg, sizeof(msg), "--%s must be a number up to %u", name,
		    max);
		return cli_usage(c, msg);
	}
	*out = (unsigned int)n;
	return 0;
}

static int
dur_opt(struct cli *c, const char *name, const char *v, unsigned int *out)
{
	uint64_t s;

	if (duration_parse_seconds(v, &s) != 0 || s > 86400) {
		char msg[96];

		snprintf(msg, sizeof(msg), "--%s must be a duration such as 30s "
		    "(at most 1d)", name);
		return cli_usage(c, msg);
	}
	*out = (unsigned int)s;
	return 0;
}

static int
parse_opts(struct cli *c, struct serve_opts *o)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "user", required_argument, NULL, 'u' },
		{ "threads", required_argument, NULL, 't' },
		{ "workers", required_argument, NULL, 'w' },
		{ "max-conns", required_argument, NULL, 'c' },
		{ "max-per-address", required_argument, NULL, 'a' },
		{ "max-pending", required_argument, NULL, 'p' },
		{ "idle-timeout", required_argument, NULL, 'i' },
		{ "request-timeout", required_argument, NULL, 'r' },
		{ "fail-limit", required_argument, NULL, 'f' },
		{ "fail-window", required_argument, NULL, 'W' },
		{ "grace", required_argument, NULL, 'g' },
		{ "no-approve", no_argument, NULL, 'N' },
		{ "apiserver", required_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, r = 0;

	memset(o, 0, sizeof(*o));
	o->listen = "0.0.0.0:8443";
	o->approve = 1;
	o->fail_limit = 10;
	o->fail_window = 60;
	o->grace = 30;
	optind = 1;
	opterr = 0;
	while (r == 0 && (ch = getopt_long(c->argc, c->argv, "", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'l': o->listen = optarg; break;
		case 'u': o->user = optarg; break;
		case 't': r = num_opt(c, "threads", optarg, 64, &o->threads); break;
		case 'w': r = num_opt(c, "workers", optarg, 256, &o->workers); break;
		case 'c': r = num_opt(c, "max-conns", optarg, 65536,
		    &o->max_conns); break;
		case 'a': r = num_opt(c, "max-per-address", optarg, 65536,
		    &o->max_per_addr); break;
		case 'p': r = num_opt(c, "max-pending", optarg, 60000,
		    &o->max_pending); break;
		case 'i': r = dur_opt(c, "idle-timeout", optarg, &o->idle); break;
		case 'r': r = dur_opt(c, "request-timeout", optarg, &o->request);
			break;
		case 'f': r = num_opt(c, "fail-limit", optarg, 1000000,
		    &o->fail_limit); break;
		case 'W': r = dur_opt(c, "fail-window", optarg, &o->fail_window);
			break;
		case 'g': r = dur_opt(c, "grace", optarg, &o->grace); break;
		case 'N': o->approve = 0; break;
		case 'A':
			if (strncmp(optarg, "https://", 8) != 0)
				return cli_usage(c, "--apiserver must be "
				    "https://HOST:PORT");
			o->apiserver = optarg;
			break;
		default: return cli_usage(c, "unknown or incomplete option");
		}
	}
	if (r != 0)
		return r;
	if (optind != c->argc)
		return cli_usage(c, "unexpected argument");
	return 0;
}

int
cmd_serve(struct cli *c)
{
	struct serve_opts o;
	struct slw_diag d;
	int r;

	if (parse_opts(c, &o) != 0)
		return EXIT_USAGE;
	o.state = c->state;
	o.kek = c->kek;
	slw_diag_clear(&d);
	if ((r = serve_monitor_run(&o, &d)) < 0)
		return cli_fail_err(c, r, &d);
	return r == 0 ? EXIT_OK : EXIT_FAIL;
}

int
cmd_serve_rotate_key(struct cli *c)
{
	struct inventory *inv = NULL;
	struct signing *sg = NULL;
	struct store *s = NULL;
	struct http_tls tls;
	struct slw_diag d;
	int r, ret = EXIT_FAIL;

	memset(&tls, 0, sizeof(tls));
	if (c->argc != 1)
		return cli_usage(c, "unexpected argument");
	slw_diag_clear(&d);
	if (cli_open(c, 1, &s) != 0)
		return EXIT_FAIL;
	if ((r = cluster_load(s, &inv, &d)) != 0 ||
	    (r = signing_local_new(s, &sg, &d)) != 0 ||
	    (r = http_tls_load(s, inv, sg, HTTP_TLS_ROTATE_KEY, cli_actor(),
	    &tls, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	printf("new serving key: pin sha256//%s, certificate %s\n", tls.pin,
	    tls.serial_hex);
	fprintf(stderr, "slipway: serve rotate-key: one-liners printed before "
	    "now carry the old pin and will fail; a running 'slipway serve' "
	    "switches to the new key within a minute (at once on SIGHUP)\n");
	ret = EXIT_OK;
 out:
	http_tls_free(&tls);
	signing_free(sg);
	inventory_free(inv);
	store_close(s);
	return ret;
}
