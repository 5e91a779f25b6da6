// SPDX-License-Identifier: Apache-2.0
/*
 * rollout_oneliner.c: a fresh one-time token for a node's bundle, as the curl
 * one-liner that `slipway token create --node NAME` prints (DESIGN.md): the
 * rollout runs that command of its own binary on the same state, so the
 * token, its hash and its audit record are made exactly as an operator's
 * would be. The one-liner and the token stay in wiped buffers: never
 * printed, logged or journaled (the journal gets the redacted form).
 */
#define _GNU_SOURCE	/* pipe2 */
#include "rollout_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOKEN_OUT_MAX (64 * 1024)
#define TOKEN_TIMEOUT_MS 30000

static int
read_both(int ofd, int efd, struct buf *out, struct buf *err, pid_t pid)
{
	struct pollfd p[2];
	char b[4096];
	int64_t deadline = fleet_now_ms() + TOKEN_TIMEOUT_MS;
	ssize_t n;
	int open_n = 2, i;

	p[0].fd = ofd;
	p[1].fd = efd;
	while (open_n > 0) {
		int64_t left = deadline - fleet_now_ms();

		if (left <= 0) {
			kill(pid, SIGKILL);
			return SLW_ERR_EXPIRED;
		}
		p[0].events = p[1].events = POLLIN;
		if (poll(p, 2, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return SLW_ERR_IO;
		}
		for (i = 0; i < 2; i++) {
			struct buf *dst = i == 0 ? out : err;

			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			n = read(p[i].fd, b, sizeof(b));
			if (n <= 0) {
				p[i].fd = -1;
				open_n--;
				continue;
			}
			if (dst->len + (size_t)n > TOKEN_OUT_MAX) {
				kill(pid, SIGKILL);
				return SLW_ERR_TOOBIG;
			}
			if (buf_append(dst, b, (size_t)n) != 0)
				return SLW_ERR_NOMEM;
		}
	}
	return 0;
}

/* The token of "... -H 'Authorization: Bearer TOKEN' ..." (no I/O). */
static int
token_of(const char *line, size_t len, struct buf *tok)
{
	const char *p = NULL, *e;
	size_t i;

	for (i = 0; i + 7 <= len; i++)
		if (memcmp(line + i, "Bearer ", 7) == 0) {
			p = line + i + 7;
			break;
		}
	if (p == NULL)
		return SLW_ERR_PARSE;
	for (e = p; e < line + len && *e != '\'' && *e != '"' && *e != ' ' &&
	    *e != '\n'; e++)
		;
	if (e - p < 16)
		return SLW_ERR_PARSE;
	return buf_set(tok, p, (size_t)(e - p));
}

int
rollout_oneliner(struct rollout *ro, const struct inv_node *n,
    struct buf *line, struct buf *token, struct slw_diag *d)
{
	char exe[PATH_MAX];
	const char *argv[16];
	struct buf out = { 0 }, err = { 0 };
	int op[2] = { -1, -1 }, ep[2] = { -1, -1 }, st = 0, r, a = 0;
	ssize_t el;
	pid_t pid = -1;
	char *l, *nl;

	buf_free(line);
	buf_free(token);
	if ((el = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return slw_diag(d, SLW_ERR_IO, "cannot find slipway's own binary");
	exe[el] = '\0';
	argv[a++] = exe;
	argv[a++] = "--state";
	argv[a++] = ro->o->state;
	if (ro->o->kek != NULL) {
		argv[a++] = "--kek";
		argv[a++] = ro->o->kek;
	}
	argv[a++] = "token";
	argv[a++] = "create";
	argv[a++] = "--node";
	argv[a++] = n->name;
	/* Only this node, from its own address, for a few minutes. */
	argv[a++] = "--source";
	argv[a++] = n->ip;
	argv[a++] = "--ttl";
	argv[a++] = "5m";
	argv[a] = NULL;
	if (pipe2(op, O_CLOEXEC) != 0 || pipe2(ep, O_CLOEXEC) != 0) {
		r = slw_diag(d, SLW_ERR_IO, "pipe: %s", strerror(errno));
		goto out;
	}
	if ((pid = fork()) < 0) {
		r = slw_diag(d, SLW_ERR_IO, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		if (nul >= 0)
			dup2(nul, 0);
		dup2(op[1], 1);
		dup2(ep[1], 2);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	close(op[1]);
	close(ep[1]);
	op[1] = ep[1] = -1;
	r = read_both(op[0], ep[0], &out, &err, pid);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (r != 0) {
		r = slw_diag(d, r, "'slipway token create --node %s' %s", n->name,
		    r == SLW_ERR_EXPIRED ? "did not finish in time" :
		    "failed");
		goto out;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		/* Its stderr is one line without the token (DESIGN.md). */
		if (err.len > 0 && (nl = memchr(err.data, '\n', err.len)) != NULL)
			*nl = '\0';
		r = slw_diag(d, SLW_ERR_IO, "cannot make a token for %s: %s",
		    n->name, err.len > 0 ? (char *)err.data :
		    "'slipway token create' failed");
		goto out;
	}
	/* The line that starts with "curl ". */
	r = SLW_ERR_PARSE;
	for (l = (char *)out.data; l != NULL && *l != '\0'; l = nl ? nl + 1 : NULL) {
		nl = strchr(l, '\n');
		if (strncmp(l, "curl ", 5) != 0)
			continue;
		if ((r = buf_set(line, l, nl ? (size_t)(nl - l) : strlen(l))) == 0)
			r = token_of((const char *)line->data, line->len, token);
		break;
	}
	if (r != 0)
		r = slw_diag(d, SLW_ERR_PARSE, "'slipway token create --node %s' "
		    "printed no curl one-liner with a bearer token", n->name);
 out:
	if (r != 0) {
		buf_free(line);
		buf_free(token);
	}
	buf_free(&out);
	buf_free(&err);
	if (op[0] >= 0)
		close(op[0]);
	if (op[1] >= 0)
		close(op[1]);
	if (ep[0] >= 0)
		close(ep[0]);
	if (ep[1] >= 0)
		close(ep[1]);
	return r;
}
