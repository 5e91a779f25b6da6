/* SPDX-License-Identifier: Apache-2.0 */
/*
 * console.h: `slipway console`, the operator's menu (docs/appliance.md):
 * screens of actions (console_screens.c), each action one command of the
 * table in commands.c run as `slipway COMMAND ARGS` (console_run.c), shown
 * full screen with ncurses (cmd_console.c) or as numbered menus on a dumb
 * terminal. The console never implements a command itself.
 */
#ifndef SLW_CONSOLE_H
#define SLW_CONSOLE_H

#include <stddef.h>

#include "cli.h"

#define CONSOLE_ARGS_MAX 8	/* fixed arguments of one command */
#define CONSOLE_ASKS_MAX 2	/* values asked for one action */
#define CONSOLE_INPUT_MAX 255	/* bytes of one typed value */
#define CONSOLE_OUTPUT_MAX (1024 * 1024)	/* captured output kept */

enum console_how {
	CONSOLE_PAGE,	/* output captured, then shown in a pager */
	CONSOLE_TTY,	/* on the terminal itself: prompts, live progress,
			 * lines to copy (a token's one-liner) */
	CONSOLE_SYSTEM,	/* a fixed system program (reboot, power off),
			 * after a confirmation */
};

/* A value the console asks before it runs the command. */
struct console_ask {
	const char *prompt;	/* "Node name" */
	const char *option;	/* "--node", or NULL: a positional argument */
	int optional;		/* empty: left out */
};

struct console_action {
	const char *label;	/* "Create a token" */
	const char *command;	/* "token create": a name of cli_commands */
	const char *args[CONSOLE_ARGS_MAX];	/* fixed, after the name */
	struct console_ask asks[CONSOLE_ASKS_MAX];
	enum console_how how;
	const char *then;	/* a second command shown after the first
				 * (CONSOLE_PAGE), or NULL */
	const char *then_args[CONSOLE_ARGS_MAX];
	const char *const *system;	/* CONSOLE_SYSTEM: argv */
};

struct console_screen {
	const char *title;	/* "Tokens" */
	const char *note;	/* a line under the title, or NULL */
	const struct console_action *actions;
	size_t n;
};

extern const struct console_screen console_screens[];
extern const size_t console_nscreens;

/*
 * The command an action needs, or NULL when this build has none: then
 * the screen says "not available yet: `slipway NAME` does not exist".
 */
const struct cmd *console_command(const struct console_action *a);

/*
 * 0 if a typed value may become an argument: 1..CONSOLE_INPUT_MAX bytes
 * of [A-Za-z0-9._:/@+=,-], not starting with '-' (no option smuggled in);
 * else SLW_ERR_INVALID.
 */
int console_value_ok(const char *v);

/* What to run: `SELF --state S [--kek K] WORDS... ARGS... VALUES...`. */
struct console_argv {
	char *argv[32];
	size_t argc;
	char store[CONSOLE_ASKS_MAX][CONSOLE_INPUT_MAX + 1];
};

/*
 * Builds the argv of command (its name split into words) with args and
 * the typed values (vals[i] for a->asks[i], "" when left out). 0, or
 * SLW_ERR_INVALID (a value console_value_ok refuses, a required one
 * empty).
 */
int console_argv_build(struct console_argv *av, const struct cli *c,
    const char *command, const char *const *args,
    const struct console_action *a, char vals[][CONSOLE_INPUT_MAX + 1]);

/*
 * Runs av on the terminal (stdin, stdout, stderr inherited) and waits.
 * The exit status (0..255), or 128+signal, or a negative SLW_ERR_*.
 */
int console_run_tty(const struct console_argv *av);

/*
 * Runs av with stdin from /dev/null and stdout and stderr into *out (at
 * most CONSOLE_OUTPUT_MAX bytes kept, NUL-terminated; the caller frees).
 * The exit status as console_run_tty.
 */
int console_run_capture(const struct console_argv *av, char **out,
    size_t *len);

/* This program's path (/proc/self/exe), read once at start. 0 or < 0. */
int console_self_init(void);

#endif
