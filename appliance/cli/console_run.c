// SPDX-License-Identifier: Apache-2.0
/*
 * console_run.c: how the console runs an action: this very program again
 * (/proc/self/exe) with the command's words, so every action is the CLI
 * command of that name and nothing else. Typed values become single argv
 * entries (no shell ever), checked first; must never start a shell.
 */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char self_path[4096];

int
console_self_init(void)
{
	ssize_t n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);

	if (n <= 0 || (size_t)n >= sizeof(self_path) - 1)
		return SLW_ERR_IO;
	self_path[n] = '\0';
	return 0;
}

const struct cmd *
console_command(const struct console_action *a)
{
	const struct cmd *cmd;

	if (a->how == CONSOLE_SYSTEM)
		return NULL;
	if ((cmd = cli_find(a->command)) == NULL || cmd->fn == NULL)
		return NULL;
	return cmd;
}

int
console_value_ok(const char *v)
{
	size_t i, n = strlen(v);

	if (n == 0 || n > CONSOLE_INPUT_MAX || v[0] == '-')
		return SLW_ERR_INVALID;
	for (i = 0; i < n; i++) {
		char ch = v[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("._:/@+=,-", ch) != NULL))
			return SLW_ERR_INVALID;
	}
	return 0;
}

static int
push(struct console_argv *av, char *s)
{
	if (av->argc + 1 >= sizeof(av->argv) / sizeof(av->argv[0]))
		return SLW_ERR_INVALID;
	av->argv[av->argc++] = s;
	av->argv[av->argc] = NULL;
	return 0;
}

int
console_argv_build(struct console_argv *av, const struct cli *c,
    const char *command, const char *const *args,
    const struct console_action *a, char vals[][CONSOLE_INPUT_MAX + 1])
{
	static char words[8][32];
	static char buf[128];
	char *w, *save = NULL;
	size_t i, nw = 0;
	int r;

	memset(av, 0, sizeof(*av));
	if (self_path[0] == '\0' || strlen(command) >= sizeof(buf))
		return SLW_ERR_INTERNAL;
	if ((r = push(av, self_path)) != 0 ||
	    (r = push(av, (char *)"--state")) != 0 ||
	    (r = push(av, (char *)c->state)) != 0)
		return r;
	if (c->kek != NULL && ((r = push(av, (char *)"--kek")) != 0 ||
	    (r = push(av, (char *)c->kek)) != 0))
		return r;
	/* the words of the name: "ca rotate begin" */
	snprintf(buf, sizeof(buf), "%s", command);
	for (w = strtok_r(buf, " ", &save); w != NULL && nw < 8;
	    w = strtok_r(NULL, " ", &save)) {
		snprintf(words[nw], sizeof(words[nw]), "%s", w);
		if ((r = push(av, words[nw++])) != 0)
			return r;
	}
	for (i = 0; args != NULL && i < CONSOLE_ARGS_MAX && args[i] != NULL; i++)
		if ((r = push(av, (char *)args[i])) != 0)
			return r;
	for (i = 0; a != NULL && vals != NULL && i < CONSOLE_ASKS_MAX &&
	    a->asks[i].prompt != NULL; i++) {
		if (vals[i][0] == '\0') {
			if (!a->asks[i].optional)
				return SLW_ERR_INVALID;
			continue;
		}
		if (console_value_ok(vals[i]) != 0)
			return SLW_ERR_INVALID;
		snprintf(av->store[i], sizeof(av->store[i]), "%s", vals[i]);
		if (a->asks[i].option != NULL &&
		    (r = push(av, (char *)a->asks[i].option)) != 0)
			return r;
		if ((r = push(av, av->store[i])) != 0)
			return r;
	}
	return 0;
}

static int
wait_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return SLW_ERR_IO;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return SLW_ERR_INTERNAL;
}

/*
 * In the child: ^C, ^\ and ^Z stay ignored (SIG_IGN survives exec), so a
 * key typed at the terminal never ends the command half way into a shell
 * prompt; the console ignores them too.
 */
static void
child_exec(const struct console_argv *av)
{
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	execv(av->argv[0], av->argv);
	_exit(127);
}

int
console_run_tty(const struct console_argv *av)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0)
		return SLW_ERR_IO;
	if (pid == 0)
		child_exec(av);
	return wait_child(pid);
}

int
console_run_capture(const struct console_argv *av, char **out, size_t *len)
{
	char *buf = NULL, scratch[4096];
	size_t n = 0, cap = 0;
	int p[2] = { -1, -1 }, r = SLW_ERR_IO, devnull;
	pid_t pid;
	ssize_t k;

	*out = NULL;
	*len = 0;
	fflush(stdout);
	fflush(stderr);
	if (pipe(p) != 0)
		return SLW_ERR_IO;
	(void)fcntl(p[0], F_SETFD, FD_CLOEXEC);
	(void)fcntl(p[1], F_SETFD, FD_CLOEXEC);
	if ((pid = fork()) < 0)
		goto out;
	if (pid == 0) {
		devnull = open("/dev/null", O_RDONLY);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(p[1], 1) < 0 ||
		    dup2(p[1], 2) < 0)
			_exit(127);
		child_exec(av);
	}
	close(p[1]);
	p[1] = -1;
	for (;;) {
		k = read(p[0], scratch, sizeof(scratch));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (n >= CONSOLE_OUTPUT_MAX)
			continue;	/* drain, keep the first MiB */
		if ((size_t)k > CONSOLE_OUTPUT_MAX - n)
			k = (ssize_t)(CONSOLE_OUTPUT_MAX - n);
		if (n + (size_t)k + 1 > cap) {
			size_t nc = cap ? cap * 2 : 8192;
			char *nb;

			while (nc < n + (size_t)k + 1)
				nc *= 2;
			if ((nb = realloc(buf, nc)) == NULL) {
				r = SLW_ERR_NOMEM;
				close(p[0]);
				p[0] = -1;
				(void)wait_child(pid);
				goto out;
			}
			buf = nb;
			cap = nc;
		}
		memcpy(buf + n, scratch, (size_t)k);
		n += (size_t)k;
	}
	r = wait_child(pid);
	if (buf == NULL && (buf = malloc(1)) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
 out:
	free(buf);
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	return r;
}
