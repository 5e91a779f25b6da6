// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_ca.c: `slipway ca export`: the trust bundle. Prints certificates
 * only; there is no command that prints a CA key.
 */
#include "ca.h"
#include "cli.h"
#include "commands.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

struct export_arg {
	const char *role;
	struct buf pem;
};

static int
export_txn(struct store_txn *t, void *arg)
{
	struct export_arg *a = arg;
	int r = ca_trust_pem(t, a->role, &a->pem);

	if (r == SLW_ERR_NOTFOUND)
		return slw_diag(store_txn_diag(t), r, "no CA named '%s'", a->role);
	return r;
}

int
cmd_ca_export(struct cli *c)
{
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct export_arg a = { NULL, { 0 } };
	struct store *s = NULL;
	struct slw_diag d;
	int ch, r, ret = EXIT_FAIL;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(c->argc, c->argv, "", opts, NULL)) != -1) {
		if (ch != 'c')
			return cli_usage(c, "unknown or incomplete option");
		a.role = optarg;
	}
	if (optind != c->argc)
		return cli_usage(c, "unexpected argument");
	if (a.role != NULL && strcmp(a.role, "kubernetes") != 0 &&
	    strcmp(a.role, "etcd") != 0 && strcmp(a.role, "front-proxy") != 0)
		return cli_usage(c, "--ca must be kubernetes, etcd or front-proxy");
	slw_diag_clear(&d);
	if (cli_open(c, 0, &s) != 0)
		return EXIT_FAIL;
	if ((r = store_read(s, export_txn, &a, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	fwrite(a.pem.data, 1, a.pem.len, stdout);
	ret = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
 out:
	buf_free(&a.pem);
	store_close(s);
	return ret;
}
