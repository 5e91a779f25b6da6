// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_serve.c: `slipway serve`: reads its options and runs the monitor
 * (serve/monitor.c) until SIGTERM, sealed first if the state holds only a
 * wrapped KEK (docs/appliance.md); and `slipway serve rotate-key`: a new
 * serving key and certificate. Never prints a key or a token.
 */
#include "cli.h"
#include "cluster.h"
#include "http_tls.h"
#include "rollout.h"
#include "serve.h"
#include "signing.h"
#include "unseal.h"

#include <stdio.h>
#include <string.h>

int
cmd_serve(struct cli *c)
{
	struct serve_opts o;
	struct slw_diag d;
	const char *apiserver = NULL;
	int no_approve = 0, r;
	const struct cli_opt opts[] = {
		OPT_STR("listen", &o.listen),
		OPT_STR("user", &o.user),
		OPT_UINT("threads", &o.threads, 0, 64,
		    "--threads must be a number up to 64"),
		OPT_UINT("workers", &o.workers, 0, 256,
		    "--workers must be a number up to 256"),
		OPT_UINT("max-conns", &o.max_conns, 0, 65536,
		    "--max-conns must be a number up to 65536"),
		OPT_UINT("max-per-address", &o.max_per_addr, 0, 65536,
		    "--max-per-address must be a number up to 65536"),
		OPT_UINT("max-pending", &o.max_pending, 0, 60000,
		    "--max-pending must be a number up to 60000"),
		OPT_UINT("max-downloads-per-node", &o.artifact_per_node, 1, 1024,
		    "--max-downloads-per-node must be a number from 1 to 1024"),
		OPT_SECONDS("idle-timeout", &o.idle, 0, 86400,
		    "--idle-timeout must be a duration such as 30s (at most 1d)"),
		OPT_SECONDS("request-timeout", &o.request, 0, 86400,
		    "--request-timeout must be a duration such as 30s (at most "
		    "1d)"),
		OPT_UINT("fail-limit", &o.fail_limit, 0, 1000000,
		    "--fail-limit must be a number up to 1000000"),
		OPT_SECONDS("fail-window", &o.fail_window, 0, 86400,
		    "--fail-window must be a duration such as 30s (at most 1d)"),
		OPT_SECONDS("grace", &o.grace, 0, 86400,
		    "--grace must be a duration such as 30s (at most 1d)"),
		OPT_FLAG("no-approve", &no_approve),
		OPT_STR("apiserver", &apiserver),
		OPT_STR("unseal-socket", &o.unseal_socket),
		OPT_STR("unseal-group", &o.unseal_group),
		OPT_STR("metrics-listen", &o.metrics_listen),
		OPT_SECONDS("renew-every", &o.renew_every, 0, 86400,
		    "--renew-every must be 0 to 86400 seconds"),
		OPT_END,
	};

	memset(&o, 0, sizeof(o));
	o.listen = "0.0.0.0:8443";
	o.fail_limit = 10;
	o.fail_window = 60;
	o.grace = 30;
	o.renew_every = 60;
	o.unseal_socket = unseal_socket_path();
	o.unseal_group = UNSEAL_GROUP_DEFAULT;
	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if (apiserver != NULL && strncmp(apiserver, "https://", 8) != 0)
		return cli_usage(c, "--apiserver must be https://HOST:PORT");
	o.apiserver = apiserver;
	o.approve = !no_approve;
	o.state = c->state;
	o.kek = c->kek;
	o.fleet_metrics = rollout_metrics_render;
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
	if (cli_opt_parse(c, NULL) != 0)
		return EXIT_USAGE;
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
