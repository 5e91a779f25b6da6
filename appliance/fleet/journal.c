// SPDX-License-Identifier: Apache-2.0
/*
 * journal.c: the fleet engine's journal in DB_JOURNAL (journal.h): the
 * state of every step and gate, the runs, the log of every remote command
 * (redacted, capped output and exit status), host keys recorded on first
 * contact, and the run lock. Records are small JSON documents. Must never
 * store a token or a key: callers redact before anything reaches this
 * file.
 *
 * Keys:  st/<op>/<stage>/<node>/<step>   step state
 *        gate/<op>/<stage>                gate state
 *        run/<op>                         the last run of an operation
 *        runseq                           the last run id (any operation)
 *        op/<op>                          an operation: kind, state, params
 *        cur/<kind>                       the unfinished operation of a kind
 *        xseq, x/<seq be64>               the command log (JOURNAL_EXEC_KEEP)
 *        hk/<node>                        host key recorded on first contact
 *        nd/<node>/<role>                 what a node has of a CA (verified)
 *
 * <op> names one operation: "rollout" (there is one), "ca-rotate-etcd-2"
 * (the rotation of etcd to generation 2), "cert-renew-17" (the renewal of
 * run 17). A rerun of the same command resumes its unfinished operation.
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
step_key(char *k, size_t len, const char *op, const char *phase,
    const char *node, const char *step)
{
	int n = snprintf(k, len, "st/%s/%s/%s/%s", op, phase, node, step);

	return n < 0 || (size_t)n >= len ? SLW_ERR_INVALID : 0;
}

/* ---- steps ---- */

int
journal_step_get(struct store_txn *t, const char *op, const char *phase,
    const char *node, const char *step, struct journal_step *out)
{
	char k[240];
	cJSON *o = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	out->exit_status = -1;
	if ((r = step_key(k, sizeof(k), op, phase, node, step)) != 0)
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
journal_step_put(struct store_txn *t, const char *op, const char *phase,
    const char *node, const char *step, const struct journal_step *s)
{
	char k[240];
	cJSON *o;
	int r;

	if ((r = step_key(k, sizeof(k), op, phase, node, step)) != 0)
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
journal_gate_get(struct store_txn *t, const char *op, const char *phase,
    struct journal_gate *out)
{
	char k[128];
	cJSON *o = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	snprintf(k, sizeof(k), "gate/%s/%s", op, phase);
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
journal_gate_put(struct store_txn *t, const char *op, const char *phase,
    const struct journal_gate *g)
{
	char k[128];
	cJSON *o;

	snprintf(k, sizeof(k), "gate/%s/%s", op, phase);
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
journal_run_get(struct store_txn *t, const char *op, struct journal_run *out)
{
	char k[96];
	cJSON *o = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	snprintf(k, sizeof(k), "run/%s", op);
	if ((r = get_json(t, k, &o)) != 0)
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
journal_run_put(struct store_txn *t, const char *op,
    const struct journal_run *r)
{
	char k[96];
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
	snprintf(k, sizeof(k), "run/%s", op);
	return put_json(t, k, o);
}

int
journal_run_next(struct store_txn *t, uint64_t *id)
{
	const uint8_t *v;
	uint8_t b[8];
	size_t vl, i;
	uint64_t n = 0;
	int r;

	r = store_get_ref(t, DB_JOURNAL, "runseq", 6, &v, &vl);
	if (r == 0 && vl == 8)
		for (i = 0; i < 8; i++)
			n = n << 8 | v[i];
	else if (r != 0 && r != SLW_ERR_NOTFOUND)
		return r;
	n++;
	for (i = 0; i < 8; i++)
		b[i] = (uint8_t)(n >> (56 - 8 * i));
	if ((r = store_put(t, DB_JOURNAL, "runseq", 6, b, 8, 0)) != 0)
		return r;
	*id = n;
	return 0;
}

/* ---- operations ---- */

int
journal_op_get(struct store_txn *t, const char *op, struct journal_op *out)
{
	char k[96];
	const cJSON *p;
	cJSON *o = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	snprintf(k, sizeof(k), "op/%s", op);
	if ((r = get_json(t, k, &o)) != 0)
		return r;
	cpy(out->name, sizeof(out->name), jstr(o, "name"));
	cpy(out->kind, sizeof(out->kind), jstr(o, "kind"));
	out->state = state_parse(jstr(o, "state"));
	out->created = (time_t)jnum(o, "created", 0);
	out->finished = (time_t)jnum(o, "finished", 0);
	out->last_run = (uint64_t)jnum(o, "lastRun", 0);
	cpy(out->reason, sizeof(out->reason), jstr(o, "reason"));
	p = cJSON_GetObjectItemCaseSensitive(o, "params");
	if (cJSON_IsObject(p)) {
		char *txt = cJSON_PrintUnformatted(p);

		if (txt != NULL)
			cpy(out->params, sizeof(out->params), txt);
		cJSON_free(txt);
	}
	cJSON_Delete(o);
	return 0;
}

int
journal_op_put(struct store_txn *t, const struct journal_op *op)
{
	char k[96];
	cJSON *o, *p;

	snprintf(k, sizeof(k), "op/%s", op->name);
	if ((o = cJSON_CreateObject()) == NULL)
		return SLW_ERR_NOMEM;
	cJSON_AddStringToObject(o, "name", op->name);
	cJSON_AddStringToObject(o, "kind", op->kind);
	cJSON_AddStringToObject(o, "state", journal_state_name(op->state));
	cJSON_AddNumberToObject(o, "created", (double)op->created);
	cJSON_AddNumberToObject(o, "finished", (double)op->finished);
	cJSON_AddNumberToObject(o, "lastRun", (double)op->last_run);
	cJSON_AddStringToObject(o, "reason", op->reason);
	if (op->params[0] != '\0' &&
	    (p = cJSON_Parse(op->params)) != NULL)
		cJSON_AddItemToObject(o, "params", p);
	return put_json(t, k, o);
}

int
journal_op_current(struct store_txn *t, const char *kind, char *name,
    size_t len)
{
	struct buf v = { 0 };
	char k[96];
	int r;

	name[0] = '\0';
	snprintf(k, sizeof(k), "cur/%s", kind);
	if ((r = store_get(t, DB_JOURNAL, k, strlen(k), &v)) != 0)
		return r;
	if (v.len == 0 || v.len >= len) {
		buf_free(&v);
		return SLW_ERR_CORRUPT;
	}
	memcpy(name, v.data, v.len);
	name[v.len] = '\0';
	buf_free(&v);
	return 0;
}

int
journal_op_set_current(struct store_txn *t, const char *kind,
    const char *name)
{
	char k[96];
	int r;

	snprintf(k, sizeof(k), "cur/%s", kind);
	if (name == NULL) {
		r = store_del(t, DB_JOURNAL, k, strlen(k));
		return r == SLW_ERR_NOTFOUND ? 0 : r;
	}
	return store_put(t, DB_JOURNAL, k, strlen(k), name, strlen(name), 0);
}

struct opiter {
	int (*cb)(void *, const struct journal_op *);
	void *arg;
	struct store_txn *t;
};

static int
op_one(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	struct opiter *oi = arg;
	struct journal_op op;
	char name[JOURNAL_OP_MAX];
	int r;

	(void)v;
	if (kl <= 3 || kl - 3 >= sizeof(name) || vl > JREC_MAX)
		return 0;
	memcpy(name, k + 3, kl - 3);
	name[kl - 3] = '\0';
	if ((r = journal_op_get(oi->t, name, &op)) != 0)
		return r;
	return oi->cb(oi->arg, &op);
}

int
journal_op_foreach(struct store_txn *t,
    int (*cb)(void *arg, const struct journal_op *op), void *arg)
{
	struct opiter oi = { cb, arg, t };

	return store_iter(t, DB_JOURNAL, "op/", 3, 0, op_one, &oi);
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
	cJSON_AddStringToObject(o, "op", e->op);
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
	cpy(e.op, sizeof(e.op), jstr(o, "op"));
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

/* ---- what nodes have ---- */

int
journal_node_get(struct store_txn *t, const char *node, const char *role,
    struct journal_node_ca *out)
{
	char k[128];
	const cJSON *a, *it;
	cJSON *o = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	snprintf(k, sizeof(k), "nd/%s/%s", node, role);
	if ((r = get_json(t, k, &o)) != 0)
		return r;
	cpy(out->role, sizeof(out->role), role);
	a = cJSON_GetObjectItemCaseSensitive(o, "trust");
	cJSON_ArrayForEach(it, a)
		if (cJSON_IsNumber(it) && out->n_trust < 8)
			out->trust[out->n_trust++] = (uint32_t)it->valuedouble;
	out->leaf_gen = (uint32_t)jnum(o, "leafGeneration", 0);
	out->verified = (time_t)jnum(o, "verified", 0);
	cJSON_Delete(o);
	return 0;
}

int
journal_node_put(struct store_txn *t, const char *node,
    const struct journal_node_ca *rec)
{
	char k[128];
	cJSON *o, *a;
	size_t i;

	snprintf(k, sizeof(k), "nd/%s/%s", node, rec->role);
	if ((o = cJSON_CreateObject()) == NULL)
		return SLW_ERR_NOMEM;
	if ((a = cJSON_AddArrayToObject(o, "trust")) == NULL) {
		cJSON_Delete(o);
		return SLW_ERR_NOMEM;
	}
	for (i = 0; i < rec->n_trust && i < 8; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber(rec->trust[i]));
	cJSON_AddNumberToObject(o, "leafGeneration", rec->leaf_gen);
	cJSON_AddNumberToObject(o, "verified", (double)rec->verified);
	return put_json(t, k, o);
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

/* ---- the operation lock ---- */

static void
lock_path(const char *state, char *out, size_t len)
{
	snprintf(out, len, "%s/fleet.lock", state);
}

/* What the holder wrote into the lock file: "<pid> <what>". */
static void
lock_read(int f, long *pid, char *what, size_t wlen)
{
	char b[256];
	ssize_t n;
	char *sp;

	*pid = 0;
	if (wlen > 0)
		what[0] = '\0';
	if ((n = pread(f, b, sizeof(b) - 1, 0)) <= 0)
		return;
	b[n] = '\0';
	b[strcspn(b, "\n")] = '\0';
	*pid = strtol(b, &sp, 10);
	if (sp != NULL && *sp == ' ' && wlen > 0)
		snprintf(what, wlen, "%s", sp + 1);
}

int
journal_lock_take(const char *state, const char *what, int *fd,
    struct slw_diag *d)
{
	char p[4096], held[200], line[256];
	long pid;
	int f, n;

	*fd = -1;
	lock_path(state, p, sizeof(p));
	if ((f = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return slw_diag(d, SLW_ERR_IO, "%s: %s", p, strerror(errno));
	if (flock(f, LOCK_EX | LOCK_NB) != 0) {
		lock_read(f, &pid, held, sizeof(held));
		close(f);
		if (held[0] != '\0')
			return slw_diag(d, SLW_ERR_BUSY, "another fleet operation "
			    "is in progress: '%s' (pid %ld) holds %s", held, pid, p);
		return slw_diag(d, SLW_ERR_BUSY, "another fleet operation is in "
		    "progress (it holds %s)", p);
	}
	n = snprintf(line, sizeof(line), "%ld %s\n", (long)getpid(),
	    what != NULL ? what : "");
	if (ftruncate(f, 0) != 0 || n < 0 || pwrite(f, line,
	    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1, 0) < 0) {
		close(f);
		return slw_diag(d, SLW_ERR_IO, "%s: %s", p, strerror(errno));
	}
	*fd = f;
	return 0;
}

int
journal_lock_held(const char *state)
{
	return journal_lock_holder(state, NULL, NULL, 0);
}

int
journal_lock_holder(const char *state, long *pid, char *what, size_t wlen)
{
	char p[4096];
	long hp = 0;
	int f, held;

	if (pid != NULL)
		*pid = 0;
	if (wlen > 0)
		what[0] = '\0';
	lock_path(state, p, sizeof(p));
	if ((f = open(p, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	held = flock(f, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	if (held && (pid != NULL || wlen > 0)) {
		lock_read(f, &hp, what, wlen);
		if (pid != NULL)
			*pid = hp;
	}
	close(f);
	return held;
}
