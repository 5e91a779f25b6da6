// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_cluster.c: `slipway cluster apply [--apiserver URL]`: the cluster
 * objects slipway owns (kube_cluster.h), applied idempotently; one line per
 * object. Prints token ids, never token secrets.
 */
#include "cli.h"
#include "cluster.h"
#include "kube_cluster.h"
#include "kube_session.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static void
line(void *arg, const char *msg)
{
	(void)arg;
	printf("%s\n", msg);
	fflush(stdout);
}

int
cmd_cluster_apply(struct cli *c)
{
	struct kube_cluster_counts n;
	struct inventory *inv = NULL;
	struct store *s = NULL;
	struct kube *k = NULL;
	struct slw_diag d;
	const char *url = NULL;
	const struct cli_opt opts[] = {
		OPT_STR("apiserver", &url),
		OPT_END,
	};
	int r, ret = EXIT_FAIL;

	slw_diag_clear(&d);
	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if (url != NULL && strncmp(url, "https://", 8) != 0)
		return cli_usage(c, "--apiserver must be https://HOST:PORT");
	signal(SIGPIPE, SIG_IGN);	/* libcurl runs with NOSIGNAL */
	if (cli_open(c, 1, &s) != 0)
		return EXIT_FAIL;
	if ((r = cluster_load(s, &inv, &d)) != 0 ||
	    (r = kube_session_open(s, inv, url, cli_actor(), &k, NULL,
	    &d)) != 0 ||
	    (r = kube_cluster_apply(k, s, inv, 0, cli_actor(), line, NULL, &n,
	    &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	printf("cluster apply: %u created, %u updated, %u unchanged, "
	    "%u deleted\n", n.created, n.updated, n.unchanged, n.deleted);
	ret = EXIT_OK;
 out:
	kube_free(k);
	inventory_free(inv);
	store_close(s);
	return ret;
}
