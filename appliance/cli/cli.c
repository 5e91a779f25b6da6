// SPDX-License-Identifier: Apache-2.0
/*
 * cli.c: finding a command in the table (commands.c), error reporting and
 * store opening for console commands (on the appliance, with the KEK an
 * unsealed serve hands over, unseal.h). Messages name files, nodes and
 * reasons; they never contain a key or a token.
 */
#include "cli.h"
#include "unseal.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

int
cli_fail(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "slipway: %s%s", c && c->cmdname ? c->cmdname : "",
	    c && c->cmdname ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

int
cli_fail_err(struct cli *c, int err, const struct slw_diag *d)
{
	return cli_fail(c, "%s", slw_diag_str(d, err));
}

const struct cmd *
cli_find(const char *name)
{
	const struct cmd *cmd;

	for (cmd = cli_commands; cmd->name != NULL; cmd++)
		if (strcmp(cmd->name, name) == 0)
			return cmd;
	return NULL;
}

static const struct cmd *
current(struct cli *c)
{
	return c->cmdname ? cli_find(c->cmdname) : NULL;
}

int
cli_usage(struct cli *c, const char *msg)
{
	/* one line: the problem and where to read more */
	fprintf(stderr, "slipway: %s: %s (see 'slipway %s --help')\n",
	    c->cmdname, msg != NULL ? msg : "bad usage", c->cmdname);
	return EXIT_USAGE;
}

int
cli_help(struct cli *c)
{
	const struct cmd *cmd = current(c);

	if (cmd != NULL)
		printf("usage: slipway [--state DIR] [--kek FILE] %s %s\n\n%s\n",
		    cmd->name, cmd->usage, cmd->help);
	return EXIT_OK;
}

int
cli_wants_help(struct cli *c)
{
	int i;

	for (i = 1; i < c->argc; i++)
		if (strcmp(c->argv[i], "-h") == 0 ||
		    strcmp(c->argv[i], "--help") == 0)
			return 1;
	return 0;
}

/* The appliance's state: a wrapped KEK and no plain one (docs/appliance.md). */
static int
wrapped_only(struct cli *c)
{
	char plain[4096], wrapped[4200];

	if (c->kek != NULL ||
	    store_kek_path(c->state, NULL, plain, sizeof(plain)) != 0 ||
	    snprintf(wrapped, sizeof(wrapped), "%s/%s", c->state,
	    UNSEAL_WRAPPED_NAME) >= (int)sizeof(wrapped))
		return 0;
	return access(plain, F_OK) != 0 && access(wrapped, F_OK) == 0;
}

int
cli_open(struct cli *c, int need_kek, struct store **out)
{
	struct store_opts o;
	struct slw_diag d;
	struct kek k;
	int r;

	memset(&o, 0, sizeof(o));
	memset(&k, 0, sizeof(k));
	o.kek_path = c->kek;
	o.need_kek = need_kek;
	slw_diag_clear(&d);
	/* on the appliance the KEK is only in serve's memory: ask it */
	if (need_kek && wrapped_only(c)) {
		/* no core with it: refuse rather than hold it dumpable */
		if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
			return cli_fail(c, "cannot make this "
			    "process non-dumpable: %s", strerror(errno));
		if ((r = unseal_get_kek(unseal_socket_path(), &k, &d)) != 0)
			return cli_fail_err(c, r, &d);
		o.kek = &k;
	}
	r = store_open(c->state, &o, out, &d);
	kek_wipe(&k);
	if (r != 0)
		return cli_fail_err(c, r, &d);
	return 0;
}

const char *
cli_actor(void)
{
	static char actor[80];
	struct passwd *pw = getpwuid(geteuid());

	snprintf(actor, sizeof(actor), "console:%s",
	    pw != NULL ? pw->pw_name : "unknown");
	return actor;
}

void
cli_time(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
