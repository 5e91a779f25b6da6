/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli.h: what every console command shares: the global options, opening the
 * store, and the one way to report an error (one line on stderr).
 */
#ifndef SLW_CLI_H
#define SLW_CLI_H

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

const struct cmd *cli_find(const char *name);

/* Command tables, one per module, each ending with a NULL name. */
extern const struct cmd cmds_core[];
extern const struct cmd cmds_bundle[];	/* bundle render */
extern const struct cmd cmds_token[];	/* token create/list/revoke */
extern const struct cmd cmds_serve[];	/* serve */
extern const struct cmd cmds_csr[];	/* csr check, approve, kubeconfig */
extern const struct cmd cmds_rollout[];	/* rollout, ssh */
extern const struct cmd cmds_rotate[];	/* ca rotate */

#endif
