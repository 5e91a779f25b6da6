// SPDX-License-Identifier: Apache-2.0
/*
 * console_test.c: the console's screens and how an action becomes an
 * argv: every action names a command of commands.c or is marked missing;
 * typed values are single argv entries, never an option (leading '-'),
 * never a shell character, never over 255 bytes; a required value left
 * empty runs nothing; and a run's exit status and captured output come
 * back as the command gave them.
 */
#include "testutil.h"

#include "console.h"

#include <string.h>

static void
test_value(void **state)
{
	char big[CONSOLE_INPUT_MAX + 2];

	(void)state;
	assert_int_equal(console_value_ok("test1"), 0);
	assert_int_equal(console_value_ok("15m"), 0);
	assert_int_equal(console_value_ok("/media/backup/s-1.bak"), 0);
	assert_int_equal(console_value_ok("4dca54cfda6ff191"), 0);
	assert_int_equal(console_value_ok(""), SLW_ERR_INVALID);
	assert_int_equal(console_value_ok("--state"), SLW_ERR_INVALID);
	assert_int_equal(console_value_ok("-x"), SLW_ERR_INVALID);
	assert_int_equal(console_value_ok("a b"), SLW_ERR_INVALID);
	assert_int_equal(console_value_ok("a;sh"), SLW_ERR_INVALID);
	assert_int_equal(console_value_ok("$(id)"), SLW_ERR_INVALID);
	assert_int_equal(console_value_ok("`id`"), SLW_ERR_INVALID);
	assert_int_equal(console_value_ok("a|b"), SLW_ERR_INVALID);
	assert_int_equal(console_value_ok("a\nb"), SLW_ERR_INVALID);
	assert_int_equal(console_value_ok("!sh"), SLW_ERR_INVALID);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(console_value_ok(big), SLW_ERR_INVALID);
	big[CONSOLE_INPUT_MAX] = '\0';
	assert_int_equal(console_value_ok(big), 0);
}

/* every screen's action is a command of the table, or says it is not */
static void
test_screens(void **state)
{
	size_t i, j, found = 0;

	(void)state;
	assert_true(console_nscreens >= 10);
	for (i = 0; i < console_nscreens; i++) {
		const struct console_screen *s = &console_screens[i];

		assert_non_null(s->title);
		assert_true(s->n >= 1);
		for (j = 0; j < s->n; j++) {
			const struct console_action *a = &s->actions[j];

			if (a->how == CONSOLE_SYSTEM) {
				assert_non_null(a->system);
				assert_true(a->system[0][0] == '/');
				continue;
			}
			if (console_command(a) != NULL) {
				assert_ptr_equal(console_command(a)->fn,
				    cli_find(a->command)->fn);
				found++;
			}
			if (a->then != NULL)
				assert_non_null(cli_find(a->then));
		}
	}
	/* the ones that exist today: status, tokens, rollout, CAs, ... */
	assert_true(found >= 15);
	assert_null(cli_find("network show"));
}

static const struct console_action *
action(const char *command)
{
	size_t i, j;

	for (i = 0; i < console_nscreens; i++)
		for (j = 0; j < console_screens[i].n; j++)
			if (strcmp(console_screens[i].actions[j].command,
			    command) == 0)
				return &console_screens[i].actions[j];
	return NULL;
}

static void
test_argv(void **state)
{
	struct cli c = { .state = "/s" };
	struct console_argv av;
	char vals[CONSOLE_ASKS_MAX][CONSOLE_INPUT_MAX + 1];
	const struct console_action *a = action("token create");

	(void)state;
	assert_int_equal(console_self_init(), 0);
	assert_non_null(a);
	memset(vals, 0, sizeof(vals));
	snprintf(vals[0], sizeof(vals[0]), "test1");
	assert_int_equal(console_argv_build(&av, &c, a->command, a->args, a,
	    vals), 0);
	/* SELF --state /s token create --node test1 (no --ttl: left empty) */
	assert_int_equal(av.argc, 7);
	assert_string_equal(av.argv[1], "--state");
	assert_string_equal(av.argv[2], "/s");
	assert_string_equal(av.argv[3], "token");
	assert_string_equal(av.argv[4], "create");
	assert_string_equal(av.argv[5], "--node");
	assert_string_equal(av.argv[6], "test1");
	assert_null(av.argv[7]);
	snprintf(vals[1], sizeof(vals[1]), "15m");
	assert_int_equal(console_argv_build(&av, &c, a->command, a->args, a,
	    vals), 0);
	assert_int_equal(av.argc, 9);
	assert_string_equal(av.argv[7], "--ttl");
	/* a required value empty, an option, a shell line: nothing to run */
	vals[0][0] = '\0';
	assert_int_equal(console_argv_build(&av, &c, a->command, a->args, a,
	    vals), SLW_ERR_INVALID);
	snprintf(vals[0], sizeof(vals[0]), "--state=/etc");
	assert_int_equal(console_argv_build(&av, &c, a->command, a->args, a,
	    vals), SLW_ERR_INVALID);
	snprintf(vals[0], sizeof(vals[0]), "x; sh");
	assert_int_equal(console_argv_build(&av, &c, a->command, a->args, a,
	    vals), SLW_ERR_INVALID);
	/* --kek travels too */
	c.kek = "/k";
	snprintf(vals[0], sizeof(vals[0]), "test2");
	vals[1][0] = '\0';
	assert_int_equal(console_argv_build(&av, &c, a->command, a->args, a,
	    vals), 0);
	assert_string_equal(av.argv[3], "--kek");
	assert_string_equal(av.argv[4], "/k");
	assert_string_equal(av.argv[5], "token");
}

/* a captured run: the command's output and its exit status */
static void
test_capture(void **state)
{
	struct console_argv av;
	char *out = NULL;
	size_t len = 0;
	char *argv_ok[] = { "/bin/echo", "hello", NULL };
	char *argv_fail[] = { "/bin/false", NULL };

	(void)state;
	memset(&av, 0, sizeof(av));
	av.argv[0] = argv_ok[0];
	av.argv[1] = argv_ok[1];
	av.argc = 2;
	assert_int_equal(console_run_capture(&av, &out, &len), 0);
	assert_int_equal(len, 6);
	assert_string_equal(out, "hello\n");
	free(out);
	memset(&av, 0, sizeof(av));
	av.argv[0] = argv_fail[0];
	av.argc = 1;
	assert_int_equal(console_run_capture(&av, &out, &len), 1);
	assert_int_equal(len, 0);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value),
		cmocka_unit_test(test_screens),
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_capture),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
