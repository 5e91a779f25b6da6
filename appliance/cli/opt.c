// SPDX-License-Identifier: Apache-2.0
/*
 * opt.c: the one option parser of the console (cli.h): a command lists its
 * options in a table (name, kind, where the value goes, its range and the
 * usage error), and getopt_long reads them. Every usage error is one line
 * on stderr and EXIT_USAGE; it never echoes a value (it may be a secret
 * pasted by mistake).
 */
#include "cli.h"
#include "profile.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define CLI_OPT_MAX 32
#define OPT_BASE 1000	/* getopt_long's value of the long-only option i */

/* A whole number in [min, max]: digits (and a sign for min < 0) only. */
static int
number(const char *v, long long min, long long max, long long *out)
{
	char *end;
	long long n;

	if (v == NULL || v[0] == '\0' || (min >= 0 && v[0] == '-'))
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

/* One option's value into its destination; 0 or EXIT_USAGE. */
static int
take(struct cli *c, const struct cli_opt *o, const char *v)
{
	char msg[96];
	uint64_t secs;
	long long n;

	switch (o->kind) {
	case CLI_FLAG:
		*(int *)o->dst = 1;
		return 0;
	case CLI_STR:
		*(const char **)o->dst = v;
		return 0;
	case CLI_LIST:
		if (*o->n >= (size_t)o->max) {
			snprintf(msg, sizeof(msg), "too many --%s", o->name);
			return cli_usage(c, msg);
		}
		((const char **)o->dst)[(*o->n)++] = v;
		return 0;
	case CLI_INT:
	case CLI_UINT:
		if (number(v, o->min, o->max, &n) != 0)
			break;
		if (o->kind == CLI_INT)
			*(int *)o->dst = (int)n;
		else
			*(unsigned int *)o->dst = (unsigned int)n;
		return 0;
	case CLI_SECONDS:
		/* "0" (off, never) where the option allows it: a duration
		 * needs a unit and is never 0 */
		if (o->min == 0 && strcmp(v, "0") == 0)
			secs = 0;
		else if (duration_parse_seconds(v, &secs) != 0 ||
		    secs < (uint64_t)o->min || secs > (uint64_t)o->max)
			break;
		*(unsigned int *)o->dst = (unsigned int)secs;
		return 0;
	default:
		break;
	}
	if (o->bad != NULL)
		return cli_usage(c, o->bad);
	snprintf(msg, sizeof(msg), "bad --%s", o->name);
	return cli_usage(c, msg);
}

int
cli_opt_parse(struct cli *c, const struct cli_opt *opts)
{
	struct option lo[CLI_OPT_MAX + 1];
	char shortopts[CLI_OPT_MAX + 1];
	const struct cli_opt *arg = NULL, *rest = NULL;
	size_t i, n = 0, ns = 0, nargs = 0, want = 0;
	int ch, k, r;

	memset(lo, 0, sizeof(lo));
	for (i = 0; opts != NULL && opts[i].name != NULL; i++) {
		if (opts[i].kind == CLI_ARG) {
			if (arg == NULL)
				arg = &opts[i];
			want++;
			continue;
		}
		if (opts[i].kind == CLI_ARGS) {
			rest = &opts[i];
			continue;
		}
		if (n == CLI_OPT_MAX)
			return cli_usage(c, "too many options in the table");
		lo[n].name = opts[i].name;
		lo[n].has_arg = opts[i].kind == CLI_FLAG ? no_argument :
		    required_argument;
		lo[n].val = OPT_BASE + (int)i;
		n++;
		if (opts[i].letter != 0) {
			shortopts[ns++] = opts[i].letter;
			if (opts[i].kind != CLI_FLAG)
				shortopts[ns++] = ':';
		}
	}
	shortopts[ns] = '\0';
	optind = 0;	/* glibc: start afresh, whatever parsed before */
	opterr = 0;
	while ((ch = getopt_long(c->argc, c->argv, shortopts, lo, NULL)) != -1) {
		const struct cli_opt *o = NULL;

		if (ch >= OPT_BASE)
			o = &opts[ch - OPT_BASE];
		else if (ch != '?' && ch != ':')
			for (i = 0; opts[i].name != NULL && o == NULL; i++)
				if (opts[i].letter == ch)
					o = &opts[i];
		if (o == NULL)
			return cli_usage(c, "unknown or incomplete option");
		if ((r = take(c, o, optarg)) != 0)
			return r;
	}
	nargs = (size_t)(c->argc - optind);
	if (rest != NULL && (nargs < want + (size_t)rest->min ||
	    nargs > want + (size_t)rest->max))
		return cli_usage(c, rest->bad != NULL ? rest->bad :
		    "wrong number of arguments");
	if (rest == NULL && nargs != want)
		return cli_usage(c, arg != NULL && arg->bad != NULL ? arg->bad :
		    "unexpected argument");
	for (i = 0, k = optind; opts != NULL && opts[i].name != NULL; i++)
		if (opts[i].kind == CLI_ARG)
			*(const char **)opts[i].dst = c->argv[k++];
	if (rest != NULL)
		for (*rest->n = 0; k < c->argc; k++)
			((const char **)rest->dst)[(*rest->n)++] = c->argv[k];
	return 0;
}
