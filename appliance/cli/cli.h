/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli.h: what every console command shares: the global options, the table
 * of commands, the one option parser, opening the store, and the one way
 * to report an error (one line on stderr).
 */
#ifndef SLW_CLI_H
#define SLW_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "err.h"
#include "store.h"

struct cli {
	const char *state;	/* --state, $SLIPWAY_STATE, /var/lib/slipway */
	const char *kek;	/* --kek, $SLIPWAY_KEK, NULL: STATE/kek */
	int json;		/* --json */
	int argc;		/* arguments after the command words */
	char **argv;		/* argv[0] is the command's name */
	const char *cmdname;	/* "cert issue" */
};

struct cmd {
	const char *name;	/* "cert issue" */
	int (*fn)(struct cli *c);
	const char *usage;	/* "--profile NAME --cn CN ..." */
	const char *help;	/* one line */
};

/* Exit codes. */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* Prints "slipway: <cmd>: message" and returns EXIT_FAIL. */
int cli_fail(struct cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int cli_fail_err(struct cli *c, int err, const struct slw_diag *d);
/* Prints the usage of the current command to stderr; returns EXIT_USAGE. */
int cli_usage(struct cli *c, const char *msg);
/* Prints the command's usage to stdout for --help; returns EXIT_OK. */
int cli_help(struct cli *c);
/* 1 if argv holds -h or --help. */
int cli_wants_help(struct cli *c);

int cli_open(struct cli *c, int need_kek, struct store **out);
/* Actor name for the audit log: "console:<user>". */
const char *cli_actor(void);

/* Time as "2036-11-22T10:00:00Z". */
void cli_time(time_t t, char out[32]);

/* The command of that name (cli_commands), NULL if none. */
const struct cmd *cli_find(const char *name);
/* Every command, in `slipway --help` order, ending with a NULL name
 * (commands.c). */
extern const struct cmd cli_commands[];

/* ---- options (opt.c): the one way every command reads its arguments ---- */

enum cli_opt_kind {
	CLI_FLAG,	/* --name: *(int *)dst = 1 */
	CLI_STR,	/* --name V: *(const char **)dst = V (the last one) */
	CLI_LIST,	/* --name V...: ((const char **)dst)[(*n)++] = V, at
			 * most max of them ("too many --name") */
	CLI_INT,	/* --name N: *(int *)dst, N in [min, max], else bad */
	CLI_UINT,	/* --name N: *(unsigned int *)dst, the same */
	CLI_SECONDS,	/* --name 30s: *(unsigned int *)dst, a duration
			 * (duration_parse_seconds) in [min, max], else bad */
	CLI_ARG,	/* a positional argument: *(const char **)dst; a
			 * missing or extra one is bad */
	CLI_ARGS,	/* the positional arguments after the CLI_ARGs:
			 * ((const char **)dst)[(*n)++], at least min, at most
			 * max, else bad */
};

struct cli_opt {
	const char *name;	/* without "--"; CLI_ARG: what it is */
	enum cli_opt_kind kind;
	void *dst;
	long long min, max;	/* the range; CLI_LIST: max entries */
	const char *bad;	/* the usage error for a refused value */
	size_t *n;		/* CLI_LIST: the count */
	char letter;		/* a short form too ("-v"), or 0 */
};

/* Table entries; each checks the type of its destination at compile time. */
#define OPT_FLAG(name, dst) \
	{ name, CLI_FLAG, (1 ? (dst) : (int *)0), 0, 0, NULL, NULL, 0 }
#define OPT_FLAG_SHORT(name, letter, dst) \
	{ name, CLI_FLAG, (1 ? (dst) : (int *)0), 0, 0, NULL, NULL, letter }
#define OPT_STR(name, dst) \
	{ name, CLI_STR, (1 ? (dst) : (const char **)0), 0, 0, NULL, NULL, 0 }
#define OPT_LIST(name, arr, n, max) \
	{ name, CLI_LIST, (1 ? (arr) : (const char **)0), 0, max, NULL, \
	  (1 ? (n) : (size_t *)0), 0 }
#define OPT_INT(name, dst, min, max, bad) \
	{ name, CLI_INT, (1 ? (dst) : (int *)0), min, max, bad, NULL, 0 }
#define OPT_UINT(name, dst, min, max, bad) \
	{ name, CLI_UINT, (1 ? (dst) : (unsigned int *)0), min, max, bad, \
	  NULL, 0 }
#define OPT_SECONDS(name, dst, min, max, bad) \
	{ name, CLI_SECONDS, (1 ? (dst) : (unsigned int *)0), min, max, bad, \
	  NULL, 0 }
#define OPT_ARG(name, dst, bad) \
	{ name, CLI_ARG, (1 ? (dst) : (const char **)0), 0, 0, bad, NULL, 0 }
#define OPT_ARGS(name, arr, n, min, max, bad) \
	{ name, CLI_ARGS, (1 ? (arr) : (const char **)0), min, max, bad, \
	  (1 ? (n) : (size_t *)0), 0 }
#define OPT_END { NULL, CLI_FLAG, NULL, 0, 0, NULL, NULL, 0 }

/*
 * Reads c->argv after the command's name against opts (ending with a NULL
 * name). 0, or EXIT_USAGE after one line on stderr: "unknown or
 * incomplete option", "unexpected argument", "too many --NAME", or the
 * option's bad. opts may be NULL: the command takes no arguments.
 */
int cli_opt_parse(struct cli *c, const struct cli_opt *opts);

/* ---- the commands, one cmd_<noun>.c each, in the table of commands.c ---- */

int cmd_init(struct cli *c);
int cmd_ca_export(struct cli *c);
int cmd_ca_rotate_begin(struct cli *c);
int cmd_ca_rotate_advance(struct cli *c);
int cmd_ca_rotate_finish(struct cli *c);
int cmd_ca_rotate_abort(struct cli *c);
int cmd_ca_rotate_status(struct cli *c);
int cmd_ca_rotate_run(struct cli *c);
int cmd_cert_renew(struct cli *c);
int cmd_key_rotate(struct cli *c);
/* The service-account and encryption keys (cmd_key.c): a manual step
 * (0 status, 1 begin, 2 advance, 3 finish, 4 abort), the fleet operation,
 * a status. */
struct fleet_keyrot_opts;
struct keyset_status;
struct inventory;
int cli_keyset_step(struct cli *c, const char *set, int step, int force);
int cli_keyset_run(struct cli *c, const char *set, const char *cmd,
    struct fleet_keyrot_opts *o);
void cli_keyset_print(struct cli *c, const struct keyset_status *st,
    const struct inventory *inv);
struct cJSON;
struct cJSON *cli_keyset_status_json(const struct keyset_status *st,
    const struct inventory *inv);
int cmd_cert_issue(struct cli *c);
int cmd_cert_seed_set(struct cli *c);
int cmd_cert_list(struct cli *c);
int cmd_cert_revoke(struct cli *c);
int cmd_recover(struct cli *c);
int cmd_status(struct cli *c);
int cmd_audit_verify(struct cli *c);
int cmd_audit_list(struct cli *c);
int cmd_bundle_render(struct cli *c);
int cmd_kubeconfig_admin(struct cli *c);
int cmd_token_create(struct cli *c);
int cmd_token_list(struct cli *c);
int cmd_token_revoke(struct cli *c);
int cmd_token_prune(struct cli *c);
int cmd_serve(struct cli *c);
int cmd_serve_rotate_key(struct cli *c);
int cmd_csr_check(struct cli *c);
int cmd_approve(struct cli *c);
int cmd_cluster_apply(struct cli *c);
int cmd_inventory_show(struct cli *c);
int cmd_inventory_diff(struct cli *c);
int cmd_inventory_apply(struct cli *c);
int cmd_rollout_plan(struct cli *c);
int cmd_rollout_run(struct cli *c);
int cmd_rollout_status(struct cli *c);
int cmd_rollout_log(struct cli *c);
int cmd_ssh_pubkey(struct cli *c);
int cmd_backup(struct cli *c);
int cmd_restore(struct cli *c);

/* A backup's manifest as JSON (cmd_backup.c; restore prints it too). */
struct cJSON;
struct backup_manifest;
struct cJSON *cli_backup_json(const struct backup_manifest *m);
int cmd_artifact_import(struct cli *c);
int cmd_artifact_list(struct cli *c);
int cmd_artifact_remove(struct cli *c);
int cmd_artifact_manifest(struct cli *c);
int cmd_unseal(struct cli *c);
int cmd_console(struct cli *c);

/* Exit codes of `slipway csr check` (DESIGN.md). */
#define EXIT_CSR_DENY 3
#define EXIT_CSR_IGNORE 4
/* A fleet operation stopped at a wait that only time ends (the longest
 * service-account token): run the same command again later (EX_TEMPFAIL). */
#define EXIT_WAIT 75

#endif
