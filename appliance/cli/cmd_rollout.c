// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_rollout.c: `slipway rollout plan|run|status|log`. Parses options,
 * opens the store and the stored inventory, hands over to the rollout
 * module and prints. Never prints a token or a key: the journal holds only
 * redacted commands and output.
 */
#include "cli.h"
#include "cluster.h"
#include "rhttp.h"
#include "rollout.h"

#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static int
parse_int(const char *s, int lo, int hi, int *out)
{
	char *e;
	long v;

	if (s == NULL || *s == '\0')
		return -1;
	v = strtol(s, &e, 10);
	if (*e != '\0' || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

int
cmd_rollout_plan(struct cli *c)
{
	struct store *s = NULL;
	struct inventory *inv = NULL;
	struct rollout_plan p;
	struct slw_diag d;
	int r, ret = EXIT_FAIL;

	if (c->argc != 1)
		return cli_usage(c, "unexpected argument");
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
	static const struct option opts[] = {
		{ "phase", required_argument, NULL, 'p' },
		{ "accept-new-host-keys", no_argument, NULL, 'a' },
		{ "parallel", required_argument, NULL, 'n' },
		{ "connect-timeout", required_argument, NULL, 'c' },
		{ "command-timeout", required_argument, NULL, 't' },
		{ "gate-timeout", required_argument, NULL, 'g' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct rollout_opts o;
	struct store *s = NULL;
	struct inventory *inv = NULL;
	struct slw_diag d;
	int ch, r, ret = EXIT_FAIL;

	memset(&o, 0, sizeof(o));
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(c->argc, c->argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (rollout_phase_parse(optarg, &o.phase) != 0)
				return cli_usage(c, "--phase must be prepare, etcd, ha, "
				    "masters or workers");
			o.have_phase = 1;
			break;
		case 'a':
			o.fleet.accept_new_host_keys = 1;
			break;
		case 'n':
			if (parse_int(optarg, 1, 256, &o.parallel) != 0)
				return cli_usage(c, "--parallel must be 1 to 256");
			break;
		case 'c':
			if (parse_int(optarg, 1, 600, &o.fleet.connect_timeout_s) != 0)
				return cli_usage(c, "--connect-timeout must be 1 to 600 "
				    "seconds");
			break;
		case 't':
			if (parse_int(optarg, 1, 86400, &o.fleet.command_timeout_s) != 0)
				return cli_usage(c, "--command-timeout must be 1 to 86400 "
				    "seconds");
			break;
		case 'g':
			if (parse_int(optarg, 1, 86400, &o.gate_timeout_s) != 0)
				return cli_usage(c, "--gate-timeout must be 1 to 86400 "
				    "seconds");
			break;
		case 'q':
			o.fleet.quiet = 1;
			break;
		default:
			return cli_usage(c, "unknown or incomplete option");
		}
	}
	if (optind != c->argc)
		return cli_usage(c, "unexpected argument");
	o.state = c->state;
	o.kek = c->kek;
	o.fleet.actor = cli_actor();
	slw_diag_clear(&d);
	/* A node that drops the connection must not kill the run. */
	signal(SIGPIPE, SIG_IGN);
	if (ssh_global_init() != 0 || rhttp_global_init() != 0)
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
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct status_arg a = { c->state, NULL };
	struct store *s = NULL;
	struct slw_diag d;
	int ch, r, verbose = 0, ret = EXIT_FAIL;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(c->argc, c->argv, "v", opts, NULL)) != -1) {
		if (ch != 'v')
			return cli_usage(c, "unknown option");
		verbose = 1;
	}
	if (optind != c->argc)
		return cli_usage(c, "unexpected argument");
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
	const char *node, *phase;
	uint64_t run;
	int output, json;
	cJSON *arr;
};

static int
log_one(void *arg, const struct journal_exec *e)
{
	struct log_arg *a = arg;
	char ts[32];

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
	static const struct option opts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "phase", required_argument, NULL, 'p' },
		{ "run", required_argument, NULL, 'r' },
		{ "output", no_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct log_arg a;
	struct store *s = NULL;
	struct slw_diag d;
	enum rollout_phase ph;
	int ch, r, run, ret = EXIT_FAIL;

	memset(&a, 0, sizeof(a));
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(c->argc, c->argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			a.node = optarg;
			break;
		case 'p':
			if (rollout_phase_parse(optarg, &ph) != 0)
				return cli_usage(c, "--phase must be prepare, etcd, ha, "
				    "masters or workers");
			a.phase = rollout_phase_name(ph);
			break;
		case 'r':
			if (parse_int(optarg, 1, INT_MAX, &run) != 0)
				return cli_usage(c, "--run must be a run number");
			a.run = (uint64_t)run;
			break;
		case 'o':
			a.output = 1;
			break;
		default:
			return cli_usage(c, "unknown or incomplete option");
		}
	}
	if (optind != c->argc)
		return cli_usage(c, "unexpected argument");
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
