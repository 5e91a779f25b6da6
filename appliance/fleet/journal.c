// SPDX-License-Identifier: Apache-2.0
/*
 * journal.c: the fleet engine's journal in DB_JOURNAL (journal.h): the
 * state of every step and gate, the runs, the log of every remote command
 * (redacted, capped output and exit status), host keys recorded on first
 * contact, and the run lock. Records are small JSON documents. Must never
 * store a token or a key: callers redact before anything reaches this
 * file.
 *
 * Keys:  st/<phase>/<node>/<step>   step state
 *        gate/<phase>               gate state
 *        run                        the last run
 *        xseq, x/<seq be64>         the command log (JOURNAL_EXEC_KEEP)
 *        hk/<node>                  host key recorded on first contact
 */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define JREC_MAX (64 * 1024)

static const char *const state_names[] = {
	"pending", "running", "done", "failed",
};

const char *
journal_state_name(enum journal_state s)
{
	return (unsigned int)s < 4 ? state_names[s] : "unknown";
}

static enum journal_state
state_parse(const char *s)
{
	unsigned int i;

	for (i = 0; i < 4; i++)
		if (s != NULL && strcmp(s, state_names[i]) == 0)
			return (enum journal_state)i;
	return JS_PENDING;
}

/* ---- JSON helpers ---- */

static int
put_json(struct store_txn *t, const char *key, cJSON *o)
{
	char *txt;
	int r;

	if (o == NULL)
		return SLW_ERR_NOMEM;
	txt = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (txt == NULL)
		return SLW_ERR_NOMEM;
	r = store_put(t, DB_JOURNAL, key, strlen(key), txt, strlen(txt), 0);
	cJSON_free(txt);
	return r;
}

static int
get_json(struct store_txn *t, const char *key, cJSON **out)
{
	struct buf v = { 0 };
	int r;

	*out = NULL;
	if ((r = store_get(t, DB_JOURNAL, key, strlen(key), &v)) != 0)
		return r;
	if (v.len > JREC_MAX) {
		buf_free(&v);
		return SLW_ERR_CORRUPT;
	}
	*out = cJSON_ParseWithLength((const char *)v.data, v.len);
	buf_free(&v);
	return *out != NULL ? 0 : SLW_ERR_CORRUPT;
}

static const char *
jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static double
jnum(const cJSON *o, const char *k, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static void
cpy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

static int
step_key(char *k, size_t len, const char *phase, const char *node,
    const char *step)
{
	int n = snprintf(k, len, "st/%s/%s/%s", phase, node, step);

	return n < 0 || (size_t)n >= len ? SLW_ERR_INVALID : 0;
}

/* ---- steps ---- */

int
journal_step_get(struct store_txn *t, const char *phase, const char *node,
    const char *step, struct journal_step *out)
{
	char k[160];
	cJSON *o = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	out->exit_status = -1;
	if ((r = step_key(k, sizeof(k), phase, node, step)) != 0)
		return r;
	if ((r = get_json(t, k, &o)) != 0)
		return r == SLW_ERR_NOTFOUND ? 0 : r;
	out->state = state_parse(jstr(o, "state"));
	out->run = (uint64_t)jnum(o, "run", 0);
	out->attempts = (uint32_t)jnum(o, "attempts", 0);
	out->started = (time_t)jnum(o, "started", 0);
	out->finished = (time_t)jnum(o, "finished", 0);
	out->elapsed = jnum(o, "elapsed", 0);
	out->exit_status = (int)jnum(o, "exit", -1);
	cpy(out->reason, sizeof(out->reason), jstr(o, "reason"));
	cpy(out->warnings, sizeof(out->warnings), jstr(o, "warnings"));
	cJSON_Delete(o);
	return 0;
}

int
journal_step_put(struct store_txn *t, const char *phase, const char *node,
    const char *step, const struct journal_step *s)
{
	char k[160];
	cJSON *o;
	int r;

	if ((r = step_key(k, sizeof(k), phase, node, step)) != 0)
		return r;
	if ((o = cJSON_CreateObject()) == NULL)
		return SLW_ERR_NOMEM;
	cJSON_AddStringToObject(o, "state", journal_state_name(s->state));
	cJSON_AddNumberToObject(o, "run", (double)s->run);
	cJSON_AddNumberToObject(o, "attempts", s->attempts);
	cJSON_AddNumberToObject(o, "started", (double)s->started);
	cJSON_AddNumberToObject(o, "finished", (double)s->finished);
	cJSON_AddNumberToObject(o, "elapsed", s->elapsed);
	cJSON_AddNumberToObject(o, "exit", s->exit_status);
	cJSON_AddStringToObject(o, "reason", s->reason);
	cJSON_AddStringToObject(o, "warnings", s->warnings);
	return put_json(t, k, o);
}

/* ---- gates ---- */

int
journal_gate_get(struct store_txn *t, const char *phase,
    struct journal_gate *out)
{
	char k[64];
	cJSON *o = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	snprintf(k, sizeof(k), "gate/%s", phase);
	if ((r = get_json(t, k, &o)) != 0)
		return r == SLW_ERR_NOTFOUND ? 0 : r;
	out->state = state_parse(jstr(o, "state"));
	out->run = (uint64_t)jnum(o, "run", 0);
	out->checked = (time_t)jnum(o, "checked", 0);
	out->elapsed = jnum(o, "elapsed", 0);
	cpy(out->reason, sizeof(out->reason), jstr(o, "reason"));
	cpy(out->nodes, sizeof(out->nodes), jstr(o, "nodes"));
	cJSON_Delete(o);
	return 0;
}

int
journal_gate_put(struct store_txn *t, const char *phase,
    const struct journal_gate *g)
{
	char k[64];
	cJSON *o;

	snprintf(k, sizeof(k), "gate/%s", phase);
	if ((o = cJSON_CreateObject()) == NULL)
		return SLW_ERR_NOMEM;
	cJSON_AddStringToObject(o, "state", journal_state_name(g->state));
	cJSON_AddNumberToObject(o, "run", (double)g->run);
	cJSON_AddNumberToObject(o, "checked", (double)g->checked);
	cJSON_AddNumberToObject(o, "elapsed", g->elapsed);
	cJSON_AddStringToObject(o, "reason", g->reason);
	cJSON_AddStringToObject(o, "nodes", g->nodes);
	return put_json(t, k, o);
}

/* ---- runs ---- */

int
journal_run_get(struct store_txn *t, struct journal_run *out)
{
	cJSON *o = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = get_json(t, "run", &o)) != 0)
		return r;
	out->id = (uint64_t)jnum(o, "id", 0);
	out->pid = (long)jnum(o, "pid", 0);
	out->started = (time_t)jnum(o, "started", 0);
	out->finished = (time_t)jnum(o, "finished", 0);
	out->state = state_parse(jstr(o, "state"));
	out->parallel = (int)jnum(o, "parallel", 0);
	cpy(out->phase, sizeof(out->phase), jstr(o, "phase"));
	cpy(out->reason, sizeof(out->reason), jstr(o, "reason"));
	cJSON_Delete(o);
	return 0;
}

int
journal_run_put(struct store_txn *t, const struct journal_run *r)
{
	cJSON *o;

	if ((o = cJSON_CreateObject()) == NULL)
		return SLW_ERR_NOMEM;
	cJSON_AddNumberToObject(o, "id", (double)r->id);
	cJSON_AddNumberToObject(o, "pid", (double)r->pid);
	cJSON_AddNumberToObject(o, "started", (double)r->started);
	cJSON_AddNumberToObject(o, "finished", (double)r->finished);
	cJSON_AddStringToObject(o, "state", journal_state_name(r->state));
	cJSON_AddNumberToObject(o, "parallel", r->parallel);
	cJSON_AddStringToObject(o, "phase", r->phase);
	cJSON_AddStringToObject(o, "reason", r->reason);
	return put_json(t, "run", o);
}

/* ---- the command log ---- */

static void
be64(uint8_t out[8], uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		out[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t
rd64(const uint8_t in[8])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | in[i];
	return v;
}

int
journal_exec_append(struct store_txn *t, struct journal_exec *e)
{
	const uint8_t *v;
	size_t vl;
	uint8_t k[10], seqb[8];
	uint64_t seq = 0;
	cJSON *o;
	char *txt;
	int r;

	r = store_get_ref(t, DB_JOURNAL, "xseq", 4, &v, &vl);
	if (r == 0 && vl == 8)
		seq = rd64(v);
	else if (r != 0 && r != SLW_ERR_NOTFOUND)
		return r;
	e->seq = ++seq;
	be64(seqb, seq);
	if ((r = store_put(t, DB_JOURNAL, "xseq", 4, seqb, 8, 0)) != 0)
		return r;
	if ((o = cJSON_CreateObject()) == NULL)
		return SLW_ERR_NOMEM;
	cJSON_AddNumberToObject(o, "seq", (double)e->seq);
	cJSON_AddNumberToObject(o, "run", (double)e->run);
	cJSON_AddStringToObject(o, "phase", e->phase);
	cJSON_AddStringToObject(o, "node", e->node);
	cJSON_AddStringToObject(o, "step", e->step);
	cJSON_AddNumberToObject(o, "started", (double)e->started);
	cJSON_AddNumberToObject(o, "elapsed", e->elapsed);
	cJSON_AddNumberToObject(o, "exit", e->exit_status);
	cJSON_AddStringToObject(o, "signal", e->signal);
	cJSON_AddBoolToObject(o, "timedOut", e->timed_out);
	cJSON_AddStringToObject(o, "error", e->error);
	cJSON_AddStringToObject(o, "command",
	    e->cmd.data ? (const char *)e->cmd.data : "");
	cJSON_AddStringToObject(o, "output",
	    e->out.data ? (const char *)e->out.data : "");
	cJSON_AddNumberToObject(o, "outputBytes", (double)e->out_total);
	txt = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (txt == NULL)
		return SLW_ERR_NOMEM;
	k[0] = 'x';
	k[1] = '/';
	memcpy(k + 2, seqb, 8);
	r = store_put(t, DB_JOURNAL, k, sizeof(k), txt, strlen(txt),
	    STORE_NOOVERWRITE);
	cJSON_free(txt);
	if (r != 0 || seq <= JOURNAL_EXEC_KEEP)
		return r;
	be64(k + 2, seq - JOURNAL_EXEC_KEEP);	/* the oldest kept is seq - KEEP + 1 */
	r = store_del(t, DB_JOURNAL, k, sizeof(k));
	return r == SLW_ERR_NOTFOUND ? 0 : r;
}

void
journal_exec_free(struct journal_exec *e)
{
	if (e == NULL)
		return;
	buf_free(&e->cmd);
	buf_free(&e->out);
}

struct xiter {
	int (*cb)(void *, const struct journal_exec *);
	void *arg;
};

static int
exec_one(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	struct xiter *xi = arg;
	struct journal_exec e;
	cJSON *o;
	int r;

	if (kl != 10 || vl > JREC_MAX)
		return 0;
	if ((o = cJSON_ParseWithLength((const char *)v, vl)) == NULL)
		return SLW_ERR_CORRUPT;
	memset(&e, 0, sizeof(e));
	e.seq = rd64(k + 2);
	e.run = (uint64_t)jnum(o, "run", 0);
	cpy(e.phase, sizeof(e.phase), jstr(o, "phase"));
	cpy(e.node, sizeof(e.node), jstr(o, "node"));
	cpy(e.step, sizeof(e.step), jstr(o, "step"));
	e.started = (time_t)jnum(o, "started", 0);
	e.elapsed = jnum(o, "elapsed", 0);
	e.exit_status = (int)jnum(o, "exit", -1);
	cpy(e.signal, sizeof(e.signal), jstr(o, "signal"));
	e.timed_out = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o,
	    "timedOut"));
	cpy(e.error, sizeof(e.error), jstr(o, "error"));
	e.out_total = (size_t)jnum(o, "outputBytes", 0);
	r = buf_set(&e.cmd, jstr(o, "command"), strlen(jstr(o, "command")));
	if (r == 0)
		r = buf_set(&e.out, jstr(o, "output"), strlen(jstr(o, "output")));
	cJSON_Delete(o);
	if (r == 0)
		r = xi->cb(xi->arg, &e);
	journal_exec_free(&e);
	return r;
}

int
journal_exec_foreach(struct store_txn *t,
    int (*cb)(void *arg, const struct journal_exec *e),
    void *arg)
{
	struct xiter xi = { cb, arg };

	return store_iter(t, DB_JOURNAL, "x/", 2, 0, exec_one, &xi);
}

/* ---- host keys ---- */

int
journal_hostkey_get(struct store_txn *t, const char *node, char *line,
    size_t len)
{
	struct buf v = { 0 };
	char k[96];
	int r;

	line[0] = '\0';
	snprintf(k, sizeof(k), "hk/%s", node);
	if ((r = store_get(t, DB_JOURNAL, k, strlen(k), &v)) != 0)
		return r;
	if (v.len >= len) {
		buf_free(&v);
		return SLW_ERR_CORRUPT;
	}
	memcpy(line, v.data, v.len);
	line[v.len] = '\0';
	buf_free(&v);
	return 0;
}

int
journal_hostkey_put(struct store_txn *t, const char *node, const char *line)
{
	char k[96];

	snprintf(k, sizeof(k), "hk/%s", node);
	return store_put(t, DB_JOURNAL, k, strlen(k), line, strlen(line), 0);
}

/* ---- the run lock ---- */

static void
lock_path(const char *state, char *out, size_t len)
{
	snprintf(out, len, "%s/rollout.lock", state);
}

int
journal_lock_take(const char *state, int *fd, struct slw_diag *d)
{
	char p[4096];
	int f;

	*fd = -1;
	lock_path(state, p, sizeof(p));
	if ((f = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return slw_diag(d, SLW_ERR_IO, "%s: %s", p, strerror(errno));
	if (flock(f, LOCK_EX | LOCK_NB) != 0) {
		close(f);
		return slw_diag(d, SLW_ERR_BUSY, "another 'slipway rollout run' "
		    "is in progress (it holds %s)", p);
	}
	*fd = f;
	return 0;
}

int
journal_lock_held(const char *state)
{
	char p[4096];
	int f, held;

	lock_path(state, p, sizeof(p));
	if ((f = open(p, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	held = flock(f, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	close(f);
	return held;
}
