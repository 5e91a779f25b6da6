// SPDX-License-Identifier: Apache-2.0
/*
 * rollout_run.c: executes the plan phase by phase: each node's pending
 * steps over one SSH connection, at most --parallel nodes at a time; then
 * the phase's gate, measured by the appliance. Every state change goes to
 * the journal first, so a crash, a failed step or a failed gate leaves a
 * state from which the next run resumes at the step that did not finish;
 * finished steps are never run again. Must never let a token or key reach
 * a progress line, the journal or an error.
 */
#include "rollout_int.h"
#include "audit.h"
#include "rand.h"
#include "signing.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_PARALLEL 10
#define MAX_PARALLEL 256

int64_t
rollout_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
rollout_fmt(char *dst, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (len == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}

void
rollout_appendf(char *dst, size_t len, const char *fmt, ...)
{
	size_t used = strnlen(dst, len);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(dst + used, len - used, fmt, ap);
	va_end(ap);
}

void
rollout_progress(struct rollout *ro, enum rollout_phase p, const char *node,
    const char *step, const char *fmt, ...)
{
	va_list ap;

	if (ro->o->quiet)
		return;
	pthread_mutex_lock(&ro->mu);
	printf("[%7.1fs] %-8s %-10s %-24s ",
	    (double)(rollout_now_ms() - ro->t0) / 1000.0, rollout_phase_name(p),
	    node != NULL && node[0] ? node : "-", step);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&ro->mu);
}

size_t
rollout_node_index(const struct rollout *ro, const struct inv_node *n)
{
	return (size_t)(n - ro->inv->nodes);
}

/* ---- SSH with pins ---- */

struct hk_arg {
	const char *node, *line, *type, *fp, *actor;
};

static int
hk_txn(struct store_txn *t, void *arg)
{
	struct hk_arg *a = arg;
	char have[SSH_KEYLINE_MAX], detail[160];
	int r;

	/* Recorded on first contact only: never replace a recorded key. */
	if ((r = jhostkey_get(t, a->node, have, sizeof(have))) == 0)
		return strcmp(have, a->line) == 0 ? 0 : SLW_ERR_EXISTS;
	if (r != SLW_ERR_NOTFOUND)
		return r;
	if ((r = jhostkey_put(t, a->node, a->line)) != 0)
		return r;
	rollout_fmt(detail, sizeof(detail), "recorded on first contact "
	    "(--accept-new-host-keys): %s %s", a->type, a->fp);
	return audit_append(t, a->actor, "ssh.hostkey.accept", a->node, detail);
}

int
rollout_connect(struct rollout *ro, const struct inv_node *n,
    struct ssh_conn **out, struct slw_diag *d)
{
	size_t i = rollout_node_index(ro, n);
	struct ssh_opts o;
	struct ssh_hostkey seen;
	struct slw_diag sd;
	int r;

	*out = NULL;
	memset(&o, 0, sizeof(o));
	o.host = n->ip;
	o.port = n->ssh_port;
	o.user = n->ssh_user;
	o.key_pem = &ro->ssh_key;
	o.pinned = ro->have_pin[i] ? &ro->pins[i] : NULL;
	o.accept_new = ro->o->accept_new_host_keys;
	o.connect_timeout_ms = (ro->o->connect_timeout_s > 0 ?
	    ro->o->connect_timeout_s : 10) * 1000;
	slw_diag_clear(&sd);
	if ((r = ssh_connect(&o, out, &seen, &sd)) != 0) {
		if (r == SLW_ERR_VERIFY)
			return slw_diag(d, r, "%s%s; refusing: nothing was run on %s",
			    sd.msg, ro->pin_src[i] == 'i' ?
			    " (pinned in the inventory)" : " (recorded on first "
			    "contact)", n->name);
		return slw_diag(d, r, "%s", slw_diag_str(&sd, r));
	}
	if (o.pinned == NULL) {
		struct hk_arg a;
		char line[SSH_KEYLINE_MAX], fp[SSH_FP_MAX];

		if ((r = ssh_hostkey_format(&seen, line, sizeof(line))) != 0)
			goto fail;
		ssh_hostkey_fingerprint(&seen, fp);
		a.node = n->name;
		a.line = line;
		a.type = seen.type;
		a.fp = fp;
		a.actor = ro->o->actor;
		slw_diag_clear(&sd);
		if ((r = store_submit(ro->s, hk_txn, &a, &sd)) != 0) {
			slw_diag(d, r, "cannot record the host key of %s: %s",
			    n->name, slw_diag_str(&sd, r));
			goto fail;
		}
		pthread_mutex_lock(&ro->mu);
		ro->pins[i] = seen;
		ro->have_pin[i] = 1;
		ro->pin_src[i] = 'r';
		pthread_mutex_unlock(&ro->mu);
		rollout_progress(ro, ro->cur_phase, n->name, "ssh",
		    "host key recorded on first contact: %s %s", seen.type, fp);
	}
	return 0;
 fail:
	ssh_close(*out);
	*out = NULL;
	return r;
}

/* ---- remote commands and the command log ---- */

struct exec_arg {
	struct jexec *e;
};

static int
exec_txn(struct store_txn *t, void *arg)
{
	return jexec_append(t, ((struct exec_arg *)arg)->e);
}

static int
record(struct rollout *ro, struct jexec *e)
{
	struct exec_arg a = { e };

	return store_submit(ro->s, exec_txn, &a, NULL);
}

/* "sh -c '<script>'" with the script single-quoted. */
static int
shell_command(const struct inv_node *n, const char *script, struct buf *cmd)
{
	const char *p;
	int r;

	if ((r = buf_set(cmd, "", 0)) != 0)
		return r;
	if (strcmp(n->ssh_user, "root") != 0 &&
	    (r = buf_appendf(cmd, "sudo -n ")) != 0)
		return r;
	if ((r = buf_appendf(cmd, "sh -c '")) != 0)
		return r;
	for (p = script; *p != '\0'; p++)
		if ((r = *p == '\'' ? buf_appendf(cmd, "'\\''") :
		    buf_append(cmd, p, 1)) != 0)
			return r;
	return buf_appendf(cmd, "'");
}

/* The last non-empty line of out (for a reason). */
static void
last_line(const struct buf *out, char *l, size_t len)
{
	size_t e = out->len, s;

	l[0] = '\0';
	while (e > 0 && (out->data[e - 1] == '\n' || out->data[e - 1] == ' '))
		e--;
	for (s = e; s > 0 && out->data[s - 1] != '\n'; s--)
		;
	rollout_fmt(l, len, "%.*s", (int)(e - s), (const char *)out->data + s);
}

int
rollout_remote(struct rollout *ro, struct ssh_conn *c, enum rollout_phase p,
    const struct inv_node *n, const char *step, const char *script,
    const char *secret, int timeout_s, struct buf *output,
    struct slw_diag *d)
{
	struct buf cmd = { 0 };
	struct ssh_result res;
	struct jexec e;
	struct slw_diag sd;
	char ll[200];
	int64_t t0 = rollout_now_ms();
	int r, rr;

	memset(&e, 0, sizeof(e));
	memset(&res, 0, sizeof(res));
	if ((r = shell_command(n, script, &cmd)) != 0)
		goto out;
	slw_diag_clear(&sd);
	e.started = slw_now();
	r = ssh_exec(c, (const char *)cmd.data, NULL, 0,
	    (ro->o->command_timeout_s > 0 ? ro->o->command_timeout_s :
	    timeout_s) * 1000, &res, &sd);
	e.elapsed = (double)(rollout_now_ms() - t0) / 1000.0;
	e.run = ro->run.id;
	rollout_fmt(e.phase, sizeof(e.phase), "%s", rollout_phase_name(p));
	rollout_fmt(e.node, sizeof(e.node), "%s", n->name);
	rollout_fmt(e.step, sizeof(e.step), "%s", step);
	e.exit_status = res.exit_status;
	rollout_fmt(e.signal, sizeof(e.signal), "%s", res.exit_signal);
	e.timed_out = res.timed_out;
	if (r != 0)
		rollout_fmt(e.error, sizeof(e.error), "%s", slw_diag_str(&sd, r));
	e.out_total = res.out_total;
	if ((rr = rollout_redact(cmd.data, cmd.len, secret, ROLLOUT_CMD_KEEP,
	    &e.cmd)) != 0 ||
	    (rr = rollout_redact(res.out.data, res.out.len, secret,
	    SSH_OUT_HEAD + SSH_OUT_TAIL + 64, &e.out)) != 0 ||
	    (rr = record(ro, &e)) != 0) {
		r = slw_diag(d, rr, "%s: cannot write the journal", n->name);
		goto out;
	}
	if (output != NULL)
		buf_move(output, &e.out);
	if (r != 0) {
		r = slw_diag(d, r, "%s", slw_diag_str(&sd, r));
		goto out;
	}
	if (res.exit_status != 0) {
		last_line(output != NULL ? output : &e.out, ll, sizeof(ll));
		if (res.exit_signal[0] != '\0')
			r = slw_diag(d, ROLLOUT_ERR_EXIT, "killed by SIG%s%s%s",
			    res.exit_signal, ll[0] ? ": " : "", ll);
		else
			r = slw_diag(d, ROLLOUT_ERR_EXIT, "exit %d%s%s",
			    res.exit_status, ll[0] ? ": " : "", ll);
	}
 out:
	buf_free(&cmd);
	ssh_result_free(&res);
	jexec_free(&e);
	return r;
}

int
rollout_log_action(struct rollout *ro, enum rollout_phase p, const char *step,
    const char *what, const char *result, int ok, double elapsed)
{
	struct jexec e;
	int r;

	memset(&e, 0, sizeof(e));
	e.run = ro->run.id;
	e.started = slw_now();
	e.elapsed = elapsed;
	rollout_fmt(e.phase, sizeof(e.phase), "%s", rollout_phase_name(p));
	rollout_fmt(e.node, sizeof(e.node), "%s", ROLLOUT_APPLIANCE);
	rollout_fmt(e.step, sizeof(e.step), "%s", step);
	e.exit_status = ok ? 0 : 1;
	if (!ok)
		rollout_fmt(e.error, sizeof(e.error), "%s", result);
	if ((r = rollout_redact((const uint8_t *)what, strlen(what), NULL,
	    ROLLOUT_CMD_KEEP, &e.cmd)) == 0 &&
	    (r = rollout_redact((const uint8_t *)result, strlen(result), NULL,
	    ROLLOUT_CMD_KEEP, &e.out)) == 0)
		r = record(ro, &e);
	jexec_free(&e);
	return r;
}

/* ---- step state ---- */

struct step_arg {
	enum rollout_phase p;
	const char *node, *step;
	struct jstep *st;
};

static int
step_txn(struct store_txn *t, void *arg)
{
	struct step_arg *a = arg;

	return jstep_put(t, a->p, a->node, a->step, a->st);
}

static int
step_save(struct rollout *ro, enum rollout_phase p, const char *node,
    const char *step, struct jstep *st)
{
	struct step_arg a = { p, node, step, st };

	return store_submit(ro->s, step_txn, &a, NULL);
}

static int
stepget_txn(struct store_txn *t, void *arg)
{
	struct step_arg *a = arg;

	return jstep_get(t, a->p, a->node, a->step, a->st);
}

static int
step_load(struct rollout *ro, enum rollout_phase p, const char *node,
    const char *step, struct jstep *st)
{
	struct step_arg a = { p, node, step, st };

	return store_read(ro->s, stepget_txn, &a, NULL);
}

/* ---- one step ---- */

static int
run_bundle(struct rollout *ro, struct ssh_conn *c, const struct inv_node *n,
    const struct rollout_step_def *def, struct buf *out, struct slw_diag *d)
{
	struct buf line = { 0 }, tok = { 0 }, script = { 0 };
	int r;

	if ((r = rollout_oneliner(ro, n, &line, &tok, d)) != 0)
		return r;
	if ((r = buf_appendf(&script, "set -e\n%s\n",
	    (const char *)line.data)) == 0)
		r = rollout_remote(ro, c, def->phase, n, def->name,
		    (const char *)script.data, (const char *)tok.data,
		    def->timeout_s, out, d);
	if (r == ROLLOUT_ERR_EXIT && out->data != NULL) {
		/* curl's own line says more than tar's complaint after it. */
		const char *cl = strstr((const char *)out->data, "curl: (");

		if (cl != NULL)
			slw_diag_set(d, r, "cannot fetch the bundle from the "
			    "endpoint (is 'slipway serve' running and reachable from "
			    "the node?): %.*s", (int)strcspn(cl, "\n"), cl);
	}
	buf_free(&script);
	buf_free(&line);
	buf_free(&tok);
	return r;
}

/*
 * Runs one step on a node (connecting if needed) and journals it. Returns
 * 0 if the step is done (now or before).
 */
static int
run_step(struct rollout *ro, const struct rollout_item *it,
    struct ssh_conn **c, struct slw_diag *d)
{
	const struct rollout_step_def *def = it->def;
	const struct inv_node *n = it->node;
	struct jstep st;
	struct buf out = { 0 }, script = { 0 };
	int64_t t0;
	int r;

	if ((r = step_load(ro, def->phase, n->name, def->name, &st)) != 0)
		return slw_diag(d, r, "%s: cannot read the journal", n->name);
	if (st.state == JS_DONE) {
		rollout_progress(ro, def->phase, n->name, def->name,
		    "done earlier (run %llu)", (unsigned long long)st.run);
		return 0;
	}
	st.state = JS_RUNNING;
	st.run = ro->run.id;
	st.attempts++;
	st.started = slw_now();
	st.finished = 0;
	st.exit_status = -1;
	st.reason[0] = st.warnings[0] = '\0';
	if ((r = step_save(ro, def->phase, n->name, def->name, &st)) != 0)
		return slw_diag(d, r, "%s: cannot write the journal", n->name);
	t0 = rollout_now_ms();
	rollout_progress(ro, def->phase, n->name, def->name, "running");
	if (*c == NULL)
		r = rollout_connect(ro, n, c, d);
	if (r == 0) {
		if (def->kind == STEP_BUNDLE)
			r = run_bundle(ro, *c, n, def, &out, d);
		else if ((r = def->script(ro->inv, n, slw_now(), &script)) == 0)
			r = rollout_remote(ro, *c, def->phase, n, def->name,
			    (const char *)script.data, NULL, def->timeout_s, &out, d);
		if (r != 0 && r != ROLLOUT_ERR_EXIT) {
			/* A broken or timed-out session is not reused. */
			ssh_close(*c);
			*c = NULL;
		}
	}
	st.elapsed = (double)(rollout_now_ms() - t0) / 1000.0;
	st.finished = slw_now();
	st.state = r == 0 ? JS_DONE : JS_FAILED;
	if (r != 0)
		rollout_fmt(st.reason, sizeof(st.reason), "%s", slw_diag_str(d, r));
	st.exit_status = r == 0 ? 0 : st.exit_status;
	if (out.data != NULL)
		rollout_warnings(out.data, out.len, st.warnings,
		    sizeof(st.warnings));
	if (step_save(ro, def->phase, n->name, def->name, &st) != 0 && r == 0)
		r = slw_diag(d, SLW_ERR_STORE, "%s: cannot write the journal",
		    n->name);
	if (r == 0)
		rollout_progress(ro, def->phase, n->name, def->name,
		    "done (%.1fs)%s%s", st.elapsed, st.warnings[0] ? "; warnings: " :
		    "", st.warnings);
	else
		rollout_progress(ro, def->phase, n->name, def->name,
		    "FAILED (%.1fs): %s", st.elapsed, st.reason);
	buf_free(&out);
	buf_free(&script);
	return r;
}

static int
run_action(struct rollout *ro, const struct rollout_step_def *def,
    struct slw_diag *d)
{
	struct jstep st;
	struct slw_diag ad;
	int64_t t0;
	int r;

	if ((r = step_load(ro, def->phase, ROLLOUT_APPLIANCE, def->name, &st))
	    != 0)
		return r;
	if (st.state == JS_DONE) {
		rollout_progress(ro, def->phase, "appliance", def->name,
		    "done earlier (run %llu)", (unsigned long long)st.run);
		return 0;
	}
	st.state = JS_RUNNING;
	st.run = ro->run.id;
	st.attempts++;
	st.started = slw_now();
	st.reason[0] = '\0';
	if ((r = step_save(ro, def->phase, ROLLOUT_APPLIANCE, def->name, &st))
	    != 0)
		return r;
	rollout_progress(ro, def->phase, "appliance", def->name, "running");
	t0 = rollout_now_ms();
	slw_diag_clear(&ad);
	r = def->action(ro, &ad);
	st.elapsed = (double)(rollout_now_ms() - t0) / 1000.0;
	st.finished = slw_now();
	st.state = r == 0 ? JS_DONE : JS_FAILED;
	st.exit_status = r == 0 ? 0 : 1;
	rollout_fmt(st.reason, sizeof(st.reason), "%s", r == 0 ? "" :
	    slw_diag_str(&ad, r));
	rollout_log_action(ro, def->phase, def->name, def->what,
	    ad.msg[0] ? ad.msg : (r == 0 ? "ok" : slw_diag_str(&ad, r)),
	    r == 0, st.elapsed);
	step_save(ro, def->phase, ROLLOUT_APPLIANCE, def->name, &st);
	if (r == 0)
		rollout_progress(ro, def->phase, "appliance", def->name,
		    "done (%.1fs): %s", st.elapsed, ad.msg);
	else {
		rollout_progress(ro, def->phase, "appliance", def->name,
		    "FAILED (%.1fs): %s", st.elapsed, st.reason);
		slw_diag(d, r, "%s: %s", def->name, st.reason);
	}
	return r;
}

/* ---- a phase: nodes in parallel ---- */

struct pool {
	struct rollout *ro;
	enum rollout_phase p;
	const struct inv_node **nodes;
	size_t n, next;
	pthread_mutex_t mu;
	size_t n_failed;
	char failed[ROLLOUT_REASON_MAX];	/* first failure */
	char failed_nodes[256];
};

static void
node_steps(struct pool *pl, const struct inv_node *n)
{
	struct rollout *ro = pl->ro;
	struct ssh_conn *c = NULL;
	struct slw_diag d;
	size_t i;
	int r = 0;

	for (i = 0; i < ro->plan.n && r == 0; i++) {
		const struct rollout_item *it = &ro->plan.items[i];

		if (it->node != n || it->def->phase != pl->p)
			continue;
		slw_diag_clear(&d);
		if ((r = run_step(ro, it, &c, &d)) != 0) {
			pthread_mutex_lock(&pl->mu);
			if (pl->n_failed++ == 0)
				rollout_fmt(pl->failed, sizeof(pl->failed), "%s: %s: %s",
				    n->name, it->def->name, slw_diag_str(&d, r));
			{
				size_t used = strlen(pl->failed_nodes);

				rollout_fmt(pl->failed_nodes + used,
				    sizeof(pl->failed_nodes) - used, "%s%s",
				    used ? "," : "", n->name);
			}
			pthread_mutex_unlock(&pl->mu);
		}
	}
	ssh_close(c);
}

static void *
pool_worker(void *arg)
{
	struct pool *pl = arg;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&pl->mu);
		i = pl->next < pl->n ? pl->next++ : pl->n;
		pthread_mutex_unlock(&pl->mu);
		if (i >= pl->n)
			return NULL;
		node_steps(pl, pl->nodes[i]);
	}
}

static int
phase_pending(struct rollout *ro, enum rollout_phase p, size_t *pending)
{
	struct jstep st;
	size_t i;
	int r;

	*pending = 0;
	for (i = 0; i < ro->plan.n; i++) {
		const struct rollout_item *it = &ro->plan.items[i];

		if (it->def->phase != p)
			continue;
		if ((r = step_load(ro, p, it->node ? it->node->name :
		    ROLLOUT_APPLIANCE, it->def->name, &st)) != 0)
			return r;
		if (st.state != JS_DONE)
			(*pending)++;
	}
	return 0;
}

struct gate_arg {
	enum rollout_phase p;
	const struct jgate *g;
};

static int
gate_txn(struct store_txn *t, void *arg)
{
	struct gate_arg *a = arg;

	return jgate_put(t, a->p, a->g);
}

static int
run_node_steps(struct rollout *ro, enum rollout_phase p, struct pool *pl)
{
	pthread_t th[MAX_PARALLEL];
	size_t i, nth;
	int par = ro->o->parallel > 0 ? ro->o->parallel : DEFAULT_PARALLEL;

	memset(pl, 0, sizeof(*pl));
	pl->ro = ro;
	pl->p = p;
	if ((pl->nodes = calloc(ro->inv->n_nodes + 1, sizeof(*pl->nodes))) == NULL)
		return SLW_ERR_NOMEM;
	for (i = 0; i < ro->inv->n_nodes; i++)
		if (rollout_node_in_phase(&ro->inv->nodes[i], p))
			pl->nodes[pl->n++] = &ro->inv->nodes[i];
	pthread_mutex_init(&pl->mu, NULL);
	if (par > MAX_PARALLEL)
		par = MAX_PARALLEL;
	nth = pl->n < (size_t)par ? pl->n : (size_t)par;
	for (i = 0; i < nth; i++)
		if (pthread_create(&th[i], NULL, pool_worker, pl) != 0)
			break;
	if (i == 0 && nth > 0)
		pool_worker(pl);
	nth = i;
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&pl->mu);
	free(pl->nodes);
	pl->nodes = NULL;
	return 0;
}

/*
 * One phase: appliance steps before the gate, node steps, the gate, then
 * appliance steps after it. Returns 0 if the phase is complete.
 */
static int
run_phase(struct rollout *ro, enum rollout_phase p, struct slw_diag *d)
{
	struct pool pl;
	struct jgate g;
	struct gate_arg ga;
	size_t i, pending = 0;
	int64_t t0 = rollout_now_ms();
	int r;

	ro->cur_phase = p;
	if ((r = phase_pending(ro, p, &pending)) != 0)
		return slw_diag(d, r, "cannot read the journal");
	rollout_progress(ro, p, "", "phase", pending ? "start: %zu steps to do" :
	    "every step done earlier; checking the gate again", pending);
	for (i = 0; i < ro->plan.n; i++) {
		const struct rollout_item *it = &ro->plan.items[i];

		if (it->def->phase == p && it->def->kind == STEP_APPLIANCE &&
		    !it->def->after_gate && (r = run_action(ro, it->def, d)) != 0)
			goto failed_steps;
	}
	if ((r = run_node_steps(ro, p, &pl)) != 0)
		return r;
	if (pl.n_failed > 0) {
		if (pl.n_failed > 1)
			slw_diag_set(d, SLW_ERR_DENIED, "%zu nodes failed (%s), first "
			    "%s", pl.n_failed, pl.failed_nodes, pl.failed);
		else
			slw_diag_set(d, SLW_ERR_DENIED, "%s", pl.failed);
		goto failed_steps;
	}
	rollout_progress(ro, p, "", "gate", "checking");
	if ((r = rollout_gate(ro, p, &g, d)) == 0)
		rollout_progress(ro, p, "", "gate", "passed (%.1fs): %s",
		    g.elapsed, g.reason);
	else
		rollout_progress(ro, p, "", "gate", "FAILED (%.1fs): %s",
		    g.elapsed, slw_diag_str(d, r));
	ga.p = p;
	ga.g = &g;
	if (store_submit(ro->s, gate_txn, &ga, NULL) != 0 && r == 0)
		r = slw_diag(d, SLW_ERR_STORE, "cannot write the journal");
	if (r != 0)
		return r;
	for (i = 0; i < ro->plan.n; i++) {
		const struct rollout_item *it = &ro->plan.items[i];
		struct slw_diag ad;

		slw_diag_clear(&ad);
		if (it->def->phase == p && it->def->kind == STEP_APPLIANCE &&
		    it->def->after_gate && (r = run_action(ro, it->def, &ad)) != 0)
			return slw_diag(d, r, "stopped in the %s phase after its gate "
			    "passed, nothing after it was started: %s",
			    rollout_phase_name(p), slw_diag_str(&ad, r));
	}
	rollout_progress(ro, p, "", "phase", "done (%.1fs)",
	    (double)(rollout_now_ms() - t0) / 1000.0);
	return 0;
 failed_steps:
	/* The gate is not passed while a step of the phase failed. */
	memset(&g, 0, sizeof(g));
	g.state = JS_FAILED;
	g.run = ro->run.id;
	g.checked = slw_now();
	rollout_fmt(g.reason, sizeof(g.reason), "not checked: %s",
	    slw_diag_str(d, SLW_ERR_DENIED));
	ga.p = p;
	ga.g = &g;
	store_submit(ro->s, gate_txn, &ga, NULL);
	return SLW_ERR_DENIED;
}

/* ---- the run ---- */

struct runrec_arg {
	struct jrun *run;
	int begin;
	const char *actor;
};

static int
runrec_txn(struct store_txn *t, void *arg)
{
	struct runrec_arg *a = arg;
	struct jrun prev;
	char obj[32], detail[AUDIT_DETAIL_MAX];
	int r;

	if (a->begin) {
		if ((r = jrun_get(t, &prev)) != 0 && r != SLW_ERR_NOTFOUND)
			return r;
		a->run->id = (r == 0 ? prev.id : 0) + 1;
	}
	if ((r = jrun_put(t, a->run)) != 0)
		return r;
	rollout_fmt(obj, sizeof(obj), "run %llu", (unsigned long long)a->run->id);
	if (a->begin)
		rollout_fmt(detail, sizeof(detail), "started: %s, parallel %d",
		    a->run->phase[0] ? a->run->phase : "every phase",
		    a->run->parallel);
	else
		rollout_fmt(detail, sizeof(detail), "%s%s%s",
		    a->run->state == JS_DONE ? "complete" : "stopped",
		    a->run->reason[0] ? ": " : "", a->run->reason);
	return audit_append(t, a->actor, "rollout.run", obj, detail);
}

struct prep_arg {
	struct rollout *ro;
	int created;
};

/* The appliance key (made on first need) and every node's pin. */
static int
prep_txn(struct store_txn *t, void *arg)
{
	struct prep_arg *a = arg;
	struct rollout *ro = a->ro;
	char line[SSH_KEYLINE_MAX];
	size_t i;
	int r;

	buf_free(&ro->ssh_key);
	if ((r = ssh_key_get_or_create(t, ro->o->actor, &ro->ssh_key,
	    &a->created)) != 0)
		return r;
	for (i = 0; i < ro->inv->n_nodes; i++) {
		const struct inv_node *n = &ro->inv->nodes[i];
		struct slw_diag pd;

		ro->have_pin[i] = 0;
		ro->pin_src[i] = 0;
		slw_diag_clear(&pd);
		if (n->ssh_host_key[0] != '\0') {
			if ((r = ssh_hostkey_parse(n->ssh_host_key,
			    strlen(n->ssh_host_key), &ro->pins[i], &pd)) != 0)
				return slw_diag(store_txn_diag(t), r, "inventory: "
				    "node %s: ssh.hostKey: %s", n->name,
				    slw_diag_str(&pd, r));
			ro->have_pin[i] = 1;
			ro->pin_src[i] = 'i';
			continue;
		}
		if ((r = jhostkey_get(t, n->name, line, sizeof(line))) ==
		    SLW_ERR_NOTFOUND)
			continue;
		if (r != 0 || (r = ssh_hostkey_parse(line, strlen(line),
		    &ro->pins[i], &pd)) != 0)
			return slw_diag(store_txn_diag(t), r != 0 ? r :
			    SLW_ERR_CORRUPT, "journal: the recorded host key of %s "
			    "is unreadable", n->name);
		ro->have_pin[i] = 1;
		ro->pin_src[i] = 'r';
	}
	return 0;
}

int
rollout_run(struct store *s, const struct inventory *inv,
    const struct rollout_opts *o, struct slw_diag *d)
{
	struct rollout ro;
	struct runrec_arg ra;
	struct prep_arg pa;
	enum rollout_phase first = PH_PREPARE, last = PH__COUNT - 1, p;
	int lockfd = -1, r;

	memset(&ro, 0, sizeof(ro));
	ro.s = s;
	ro.inv = inv;
	ro.o = o;
	ro.t0 = rollout_now_ms();
	pthread_mutex_init(&ro.mu, NULL);
	if ((r = rollout_lock_take(o->state, &lockfd, d)) != 0)
		goto out;
	if ((r = rollout_plan_build(inv, &ro.plan)) != 0)
		goto out;
	ro.pins = calloc(inv->n_nodes, sizeof(*ro.pins));
	ro.have_pin = calloc(inv->n_nodes, sizeof(*ro.have_pin));
	ro.pin_src = calloc(inv->n_nodes, 1);
	if (ro.pins == NULL || ro.have_pin == NULL || ro.pin_src == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	pa.ro = &ro;
	pa.created = 0;
	if ((r = store_write(s, prep_txn, &pa, d)) != 0)
		goto out;
	if (pa.created && !o->quiet)
		printf("created the appliance's ssh key; authorize it on every "
		    "node (slipway ssh pubkey)\n");
	if (o->have_phase)
		first = last = o->phase;
	ro.run.pid = (long)getpid();
	ro.run.started = slw_now();
	ro.run.state = JS_RUNNING;
	ro.run.parallel = o->parallel > 0 ? o->parallel : DEFAULT_PARALLEL;
	rollout_fmt(ro.run.phase, sizeof(ro.run.phase), "%s", o->have_phase ?
	    rollout_phase_name(o->phase) : "");
	ra.run = &ro.run;
	ra.begin = 1;
	ra.actor = o->actor;
	if ((r = store_write(s, runrec_txn, &ra, d)) != 0)
		goto out;
	if (!o->quiet) {
		printf("rollout run %llu: %zu nodes, parallel %d%s%s\n",
		    (unsigned long long)ro.run.id, inv->n_nodes, ro.run.parallel,
		    o->have_phase ? ", phase " : "", ro.run.phase);
		fflush(stdout);
	}
	/* With --phase, every earlier phase must be complete. */
	for (p = PH_PREPARE; p < first; p++) {
		size_t pending;

		if ((r = phase_pending(&ro, p, &pending)) != 0)
			goto fin;
		if (pending > 0) {
			r = slw_diag(d, SLW_ERR_INVALID, "phase %s has %zu steps not "
			    "done; run it first (slipway rollout run --phase %s)",
			    rollout_phase_name(p), pending, rollout_phase_name(p));
			goto fin;
		}
	}
	for (p = first; p <= last; p++) {
		struct slw_diag pd;

		slw_diag_clear(&pd);
		if ((r = run_phase(&ro, p, &pd)) != 0) {
			if (strncmp(pd.msg, "stopped ", 8) == 0)
				slw_diag(d, r, "%s", pd.msg);
			else
				slw_diag(d, r, "stopped at the %s gate, nothing after it "
				    "was started: %s", rollout_phase_name(p),
				    slw_diag_str(&pd, r));
			goto fin;
		}
	}
	r = 0;
 fin:
	ro.run.finished = slw_now();
	ro.run.state = r == 0 ? JS_DONE : JS_FAILED;
	rollout_fmt(ro.run.reason, sizeof(ro.run.reason), "%s", r == 0 ? "" :
	    slw_diag_str(d, r));
	ra.begin = 0;
	if (store_write(s, runrec_txn, &ra, NULL) != 0 && r == 0)
		r = slw_diag(d, SLW_ERR_STORE, "cannot write the journal");
	if (!o->quiet) {
		printf("rollout run %llu: %s in %.1fs\n",
		    (unsigned long long)ro.run.id, r == 0 ? "complete" : "stopped",
		    (double)(rollout_now_ms() - ro.t0) / 1000.0);
		fflush(stdout);
	}
 out:
	rhttp_id_free(ro.etcd_id);
	rhttp_id_free(ro.admin_id);
	signing_free(ro.sg);
	buf_free(&ro.ssh_key);
	free(ro.pins);
	free(ro.have_pin);
	free(ro.pin_src);
	rollout_plan_free(&ro.plan);
	pthread_mutex_destroy(&ro.mu);
	if (lockfd >= 0)
		close(lockfd);
	return r;
}
