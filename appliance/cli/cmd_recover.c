// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_recover.c: `slipway recover`, a cluster whose certificates already
 * expired brought back by the fleet engine (recover.h). Checks its
 * arguments before touching anything; on a cluster where nothing expired
 * it says so and changes nothing.
 */
#include "cli.h"
#include "cluster.h"
#include "https.h"
#include "recover.h"
#include "ssh.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

int
cmd_recover(struct cli *c)
{
	struct fleet_recover_opts o;
	struct store *s = NULL;
	struct inventory *inv = NULL;
	struct slw_diag d;
	const struct cli_opt opts[] = {
		OPT_FLAG("plan", &o.plan_only),
		OPT_FLAG("accept-new-host-keys", &o.op.fleet.accept_new_host_keys),
		OPT_INT("parallel", &o.op.parallel, 1, 256,
		    "--parallel must be 1 to 256"),
		OPT_INT("connect-timeout", &o.op.fleet.connect_timeout_s, 1, 600,
		    "--connect-timeout must be 1 to 600 seconds"),
		OPT_FLAG("quiet", &o.op.fleet.quiet),
		OPT_END,
	};
	int r, ret = EXIT_FAIL;

	memset(&o, 0, sizeof(o));
	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	o.op.state = c->state;
	o.op.command = "slipway recover";
	o.op.audit_action = "recover.run";
	o.op.fleet.actor = cli_actor();
	o.op.fleet.json = c->json;
	o.op.settle_s = -1;	/* nothing stays available to settle for */
	slw_diag_clear(&d);
	signal(SIGPIPE, SIG_IGN);
	if (!o.plan_only && (ssh_global_init() != 0 ||
	    https_global_init() != 0))
		return cli_fail(c, "cannot initialise libssh2 or libcurl");
	if (cli_open(c, !o.plan_only, &s) != 0)
		return EXIT_FAIL;
	if ((r = cluster_load(s, &inv, &d)) != 0 ||
	    (r = fleet_recover_run(s, inv, &o, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if (d.msg[0] != '\0') {
		if (c->json)
			printf("{\"result\":\"%s\"}\n", strncmp(d.msg, "nothing",
			    7) == 0 ? "nothing-to-recover" : "recovered");
		else
			printf("%s\n", d.msg);
	}
	ret = EXIT_OK;
 out:
	inventory_free(inv);
	store_close(s);
	return ret;
}
