// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_rollout.c: `slipway rollout plan|run|status|log`. Parses options,
 * opens the store and the stored inventory, hands over to the rollout
 * module and prints. Never prints a token or a key: the journal holds only
 * redacted commands and output.
 */
#include "cli.h"
#include "cluster.h"
#include "https.h"
#include "rollout.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

int
cmd_rollout_plan(struct cli *c)
{
	struct store *s = NULL;
	struct inventory *inv = NULL;
	struct rollout_plan p;
	struct slw_diag d;
	int r, ret = EXIT_FAIL;

	if (cli_opt_parse(c, NULL) != 0)
		return EXIT_USAGE;
	slw_diag_clear(&d);
	memset(&p, 0, sizeof(p));
	if (cli_open(c, 0, &s) != 0)
		return EXIT_FAIL;
	if ((r = cluster_load(s, &inv, &d)) != 0 ||
	    (r = rollout_plan_build(inv, &p)) != 0 ||
	    (r = rollout_plan_print(inv, &p, c->json)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	ret = EXIT_OK;
 out:
	rollout_plan_free(&p);
	inventory_free(inv);
	store_close(s);
	return ret;
}

int
cmd_rollout_run(struct cli *c)
{
	struct rollout_opts o;
	struct store *s = NULL;
	struct inventory *inv = NULL;
	struct slw_diag d;
	const char *phase = NULL;
	const struct cli_opt opts[] = {
		OPT_STR("phase", &phase),
		OPT_FLAG("accept-new-host-keys", &o.fleet.accept_new_host_keys),
		OPT_INT("parallel", &o.parallel, 1, 256,
		    "--parallel must be 1 to 256"),
		OPT_INT("connect-timeout", &o.fleet.connect_timeout_s, 1, 600,
		    "--connect-timeout must be 1 to 600 seconds"),
		OPT_INT("command-timeout", &o.fleet.command_timeout_s, 1, 86400,
		    "--command-timeout must be 1 to 86400 seconds"),
		OPT_INT("gate-timeout", &o.gate_timeout_s, 1, 86400,
		    "--gate-timeout must be 1 to 86400 seconds"),
		OPT_FLAG("quiet", &o.fleet.quiet),
		OPT_END,
	};
	int r, ret = EXIT_FAIL;

	memset(&o, 0, sizeof(o));
	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if (phase != NULL && rollout_phase_parse(phase, &o.phase) != 0)
		return cli_usage(c, "--phase must be prepare, etcd, ha, masters or "
		    "workers");
	o.have_phase = phase != NULL;
	o.state = c->state;
	o.fleet.actor = cli_actor();
	slw_diag_clear(&d);
	/* A node that drops the connection must not kill the run. */
	signal(SIGPIPE, SIG_IGN);
	if (ssh_global_init() != 0 || https_global_init() != 0)
		return cli_fail(c, "cannot initialise libssh2 or libcurl");
	if (cli_open(c, 1, &s) != 0)
		return EXIT_FAIL;
	if ((r = cluster_load(s, &inv, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if ((r = rollout_run(s, inv, &o, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	ret = EXIT_OK;
 out:
	inventory_free(inv);
	store_close(s);
	return ret;
}

struct status_arg {
	const char *state;
	cJSON *root;
};

static int
status_txn(struct store_txn *t, void *arg)
{
	struct status_arg *a = arg;
	struct inventory *inv = NULL;
	int r;

	if ((r = cluster_load_txn(t, &inv)) != 0)
		return r;
	r = rollout_status_json(t, inv, a->state, a->root);
	inventory_free(inv);
	return r;
}

int
cmd_rollout_status(struct cli *c)
{
	struct status_arg a = { c->state, NULL };
	struct store *s = NULL;
	struct slw_diag d;
	int r, verbose = 0, ret = EXIT_FAIL;
	const struct cli_opt opts[] = {
		OPT_FLAG_SHORT("verbose", 'v', &verbose),
		OPT_END,
	};

	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	slw_diag_clear(&d);
	if (cli_open(c, 0, &s) != 0)
		return EXIT_FAIL;
	if ((a.root = cJSON_CreateObject()) == NULL)
		goto out;
	if ((r = store_read(s, status_txn, &a, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if (c->json) {
		char *txt = cJSON_Print(cJSON_GetObjectItemCaseSensitive(a.root,
		    "rollout"));

		if (txt != NULL)
			printf("%s\n", txt);
		cJSON_free(txt);
	} else
		rollout_status_print(a.root, verbose);
	ret = EXIT_OK;
 out:
	cJSON_Delete(a.root);
	store_close(s);
	return ret;
}

struct log_arg {
	const char *node, *phase, *op;
	uint64_t run;
	int output, json;
	cJSON *arr;
};

static int
log_one(void *arg, const struct journal_exec *e)
{
	struct log_arg *a = arg;
	char ts[32];

	/* records of one operation ("all": every one; old records have none) */
	if (strcmp(a->op, "all") != 0 && strcmp(a->op, e->op) != 0 &&
	    !(e->op[0] == '\0' && strcmp(a->op, ROLLOUT_OP) == 0))
		return 0;
	if ((a->node && strcmp(a->node, e->node) != 0) ||
	    (a->phase && strcmp(a->phase, e->phase) != 0) ||
	    (a->run && a->run != e->run))
		return 0;
	cli_time(e->started, ts);
	if (a->json) {
		cJSON *o = cJSON_CreateObject();

		if (o == NULL)
			return SLW_ERR_NOMEM;
		cJSON_AddNumberToObject(o, "seq", (double)e->seq);
		cJSON_AddNumberToObject(o, "run", (double)e->run);
		cJSON_AddStringToObject(o, "op", e->op);
		cJSON_AddStringToObject(o, "phase", e->phase);
		cJSON_AddStringToObject(o, "node", e->node);
		cJSON_AddStringToObject(o, "step", e->step);
		cJSON_AddStringToObject(o, "started", ts);
		cJSON_AddNumberToObject(o, "elapsed", e->elapsed);
		cJSON_AddNumberToObject(o, "exit", e->exit_status);
		if (e->signal[0])
			cJSON_AddStringToObject(o, "signal", e->signal);
		if (e->timed_out)
			cJSON_AddBoolToObject(o, "timedOut", 1);
		if (e->error[0])
			cJSON_AddStringToObject(o, "error", e->error);
		cJSON_AddNumberToObject(o, "outputBytes", (double)e->out_total);
		if (a->output) {
			cJSON_AddStringToObject(o, "command",
			    (const char *)e->cmd.data);
			cJSON_AddStringToObject(o, "output",
			    (const char *)e->out.data);
		}
		cJSON_AddItemToArray(a->arr, o);
		return 0;
	}
	printf("%6llu run %-3llu %s %-8s %-10s %-24s exit %-3d %6.1fs%s%s\n",
	    (unsigned long long)e->seq, (unsigned long long)e->run, ts, e->phase,
	    e->node, e->step, e->exit_status, e->elapsed, e->error[0] ? "  " : "",
	    e->error);
	if (a->output)
		printf("  $ %s\n%s%s", (const char *)e->cmd.data,
		    (const char *)e->out.data, e->out.len > 0 &&
		    e->out.data[e->out.len - 1] != '\n' ? "\n" : "");
	return 0;
}

static int
log_txn(struct store_txn *t, void *arg)
{
	return journal_exec_foreach(t, log_one, arg);
}

int
cmd_rollout_log(struct cli *c)
{
	struct log_arg a;
	struct store *s = NULL;
	struct slw_diag d;
	enum rollout_phase ph;
	const char *phase = NULL;
	int r, run = 0, ret = EXIT_FAIL;
	const struct cli_opt opts[] = {
		OPT_STR("node", &a.node),
		OPT_STR("phase", &phase),
		OPT_STR("op", &a.op),
		OPT_INT("run", &run, 1, INT_MAX, "--run must be a run number"),
		OPT_FLAG("output", &a.output),
		OPT_END,
	};

	memset(&a, 0, sizeof(a));
	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if (a.op == NULL)
		a.op = ROLLOUT_OP;
	/* another operation's stages are not the rollout's phases */
	if (phase != NULL && strcmp(a.op, ROLLOUT_OP) != 0)
		a.phase = phase;
	else if (phase != NULL && rollout_phase_parse(phase, &ph) != 0)
		return cli_usage(c, "--phase must be prepare, etcd, ha, masters or "
		    "workers");
	if (phase != NULL)
		a.phase = rollout_phase_name(ph);
	a.run = (uint64_t)run;
	a.json = c->json;
	slw_diag_clear(&d);
	if (cli_open(c, 0, &s) != 0)
		return EXIT_FAIL;
	if (a.json && (a.arr = cJSON_CreateArray()) == NULL)
		goto out;
	if ((r = store_read(s, log_txn, &a, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if (a.json) {
		char *txt = cJSON_Print(a.arr);

		if (txt != NULL)
			printf("%s\n", txt);
		cJSON_free(txt);
	}
	ret = EXIT_OK;
 out:
	cJSON_Delete(a.arr);
	store_close(s);
	return ret;
}
