// SPDX-License-Identifier: Apache-2.0
/*
 * main.c: the slipway program. Reads the global options, finds the
 * subcommand in the table (commands.c) and runs it. Only this layer prints
 * and exits.
 */
#include "cli.h"
#include "rand.h"
#include "serve.h"

#include <stdlib.h>
#include <string.h>

static void
usage(FILE *f)
{
	const struct cmd *cmd;

	fprintf(f, "usage: slipway [--state DIR] [--kek FILE] [--json] COMMAND [ARGS]\n\n"
	    "slipway: PKI and bootstrap appliance for Kubernetes.\n"
	    "State: --state DIR, else $SLIPWAY_STATE, else /var/lib/slipway.\n\n"
	    "Commands:\n");
	for (cmd = cli_commands; cmd->name != NULL; cmd++) {
		const char *nl = strchr(cmd->usage, '\n');

		fprintf(f, "  %-16s %.*s\n", cmd->name,
		    nl ? (int)(nl - cmd->usage) : (int)strlen(cmd->usage),
		    cmd->usage);
	}
	fprintf(f, "\n'slipway COMMAND --help' describes one command.\n");
}

int
main(int argc, char **argv)
{
	struct cli c;
	const struct cmd *cmd = NULL;
	char name[64];
	char **args;
	int i, n = 0, dashdash = 0;

	/* serve's network child, re-executed by the monitor (serve.h) */
	if (argc == 2 && strcmp(argv[1], SERVE_NET_ARG) == 0)
		return serve_net_main(argc, argv);
	/* the CSR approver, re-executed by serve or `slipway approve` */
	if (argc == 2 && strcmp(argv[1], SERVE_APPROVER_ARG) == 0)
		return serve_approver_main(argc, argv);
	memset(&c, 0, sizeof(c));
	c.state = getenv("SLIPWAY_STATE");
	if (c.state == NULL || c.state[0] == '\0')
		c.state = "/var/lib/slipway";
	c.kek = getenv("SLIPWAY_KEK");
	if (c.kek != NULL && c.kek[0] == '\0')
		c.kek = NULL;
	if ((args = calloc((size_t)argc + 1, sizeof(char *))) == NULL)
		return EXIT_FAIL;
	/* Global options may appear anywhere before "--". */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!dashdash && strcmp(a, "--") == 0) {
			dashdash = 1;
			args[n++] = argv[i];
		} else if (!dashdash && (strcmp(a, "--state") == 0 ||
		    strcmp(a, "--kek") == 0)) {
			if (i + 1 >= argc) {
				fprintf(stderr, "slipway: %s needs a value\n", a);
				free(args);
				return EXIT_USAGE;
			}
			if (a[2] == 's')
				c.state = argv[++i];
			else
				c.kek = argv[++i];
		} else if (!dashdash && strncmp(a, "--state=", 8) == 0)
			c.state = a + 8;
		else if (!dashdash && strncmp(a, "--kek=", 6) == 0)
			c.kek = a + 6;
		else if (!dashdash && strcmp(a, "--json") == 0)
			c.json = 1;
		else
			args[n++] = argv[i];
	}
	args[n] = NULL;
	if (n == 0 || strcmp(args[0], "--help") == 0 ||
	    strcmp(args[0], "-h") == 0 || strcmp(args[0], "help") == 0) {
		usage(n == 0 ? stderr : stdout);
		free(args);
		return n == 0 ? EXIT_USAGE : EXIT_OK;
	}
	/* the longest match of up to three words: "ca rotate begin" */
	for (i = n < 3 ? n : 3; i >= 1 && cmd == NULL; i--) {
		if (i == 3)
			snprintf(name, sizeof(name), "%s %s %s", args[0], args[1],
			    args[2]);
		else if (i == 2)
			snprintf(name, sizeof(name), "%s %s", args[0], args[1]);
		else
			snprintf(name, sizeof(name), "%s", args[0]);
		if ((cmd = cli_find(name)) != NULL)
			break;
	}
	if (cmd == NULL) {
		fprintf(stderr, "slipway: unknown command '%s%s%s' (try 'slipway --help')\n",
		    args[0], n >= 2 ? " " : "", n >= 2 ? args[1] : "");
		free(args);
		return EXIT_USAGE;
	}
	c.cmdname = cmd->name;
	c.argv = args + i - 1;	/* argv[0] = last command word */
	c.argc = n - i + 1;
	if (slw_crypto_init() != 0) {
		fprintf(stderr, "slipway: cannot initialise the crypto library\n");
		free(args);
		return EXIT_FAIL;
	}
	if (cli_wants_help(&c))
		i = cli_help(&c);
	else if (cmd->fn == NULL)	/* a group: "ca rotate" without a step */
		i = cli_usage(&c, "which step?");
	else
		i = cmd->fn(&c);
	free(args);
	return i;
}
