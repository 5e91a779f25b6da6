// SPDX-License-Identifier: Apache-2.0
/*
 * remote.c: how the fleet engine reaches a node: an SSH connection whose
 * host key matches its pin (from the inventory, or recorded on first
 * contact when allowed, audited), and a remote command run through it and
 * recorded in the journal's command log, redacted. Must never let a token
 * or key reach a progress line, the journal or an error.
 */
#include "fleet.h"
#include "audit.h"
#include "rand.h"
#include "redact.h"

#include <stdio.h>
#include <string.h>

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
	if ((r = journal_hostkey_get(t, a->node, have, sizeof(have))) == 0)
		return strcmp(have, a->line) == 0 ? 0 : SLW_ERR_EXISTS;
	if (r != SLW_ERR_NOTFOUND)
		return r;
	if ((r = journal_hostkey_put(t, a->node, a->line)) != 0)
		return r;
	fleet_fmt(detail, sizeof(detail), "recorded on first contact "
	    "(--accept-new-host-keys): %s %s", a->type, a->fp);
	return audit_append(t, a->actor, "ssh.hostkey.accept", a->node, detail);
}

int
fleet_remote_connect(struct fleet *f, const struct inv_node *n,
    struct ssh_conn **out, struct slw_diag *d)
{
	size_t i = fleet_node_index(f, n);
	struct ssh_opts o;
	struct ssh_hostkey seen;
	struct slw_diag sd;
	int r;

	*out = NULL;
	memset(&o, 0, sizeof(o));
	o.host = n->ip;
	o.port = n->ssh_port;
	o.user = n->ssh_user;
	o.key_pem = &f->ssh_key;
	o.pinned = f->have_pin[i] ? &f->pins[i] : NULL;
	o.accept_new = f->o->accept_new_host_keys;
	o.connect_timeout_ms = (f->o->connect_timeout_s > 0 ?
	    f->o->connect_timeout_s : 10) * 1000;
	slw_diag_clear(&sd);
	if ((r = ssh_connect(&o, out, &seen, &sd)) != 0) {
		if (r == SLW_ERR_VERIFY)
			return slw_diag(d, r, "%s%s; refusing: nothing was run on %s",
			    sd.msg, f->pin_src[i] == 'i' ?
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
		a.actor = f->o->actor;
		slw_diag_clear(&sd);
		if ((r = store_submit(f->s, hk_txn, &a, &sd)) != 0) {
			slw_diag(d, r, "cannot record the host key of %s: %s",
			    n->name, slw_diag_str(&sd, r));
			goto fail;
		}
		pthread_mutex_lock(&f->mu);
		f->pins[i] = seen;
		f->have_pin[i] = 1;
		f->pin_src[i] = 'r';
		pthread_mutex_unlock(&f->mu);
		fleet_progress(f, f->phase, n->name, "ssh",
		    "host key recorded on first contact: %s %s", seen.type, fp);
	}
	return 0;
 fail:
	ssh_close(*out);
	*out = NULL;
	return r;
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
	fleet_fmt(l, len, "%.*s", (int)(e - s), (const char *)out->data + s);
}

int
fleet_remote_run(struct fleet *f, struct ssh_conn *c, const char *phase,
    const struct inv_node *n, const char *step, const char *script,
    const char *secret, int timeout_s, struct buf *output,
    struct slw_diag *d)
{
	struct buf cmd = { 0 };
	struct ssh_result res;
	struct journal_exec e;
	struct slw_diag sd;
	char ll[200];
	int64_t t0 = fleet_now_ms();
	int r, rr;

	memset(&e, 0, sizeof(e));
	memset(&res, 0, sizeof(res));
	if ((r = shell_command(n, script, &cmd)) != 0)
		goto out;
	slw_diag_clear(&sd);
	e.started = slw_now();
	r = ssh_exec(c, (const char *)cmd.data, NULL, 0,
	    (f->o->command_timeout_s > 0 ? f->o->command_timeout_s :
	    timeout_s) * 1000, &res, &sd);
	e.elapsed = (double)(fleet_now_ms() - t0) / 1000.0;
	e.run = f->run;
	fleet_fmt(e.op, sizeof(e.op), "%s", f->op);
	fleet_fmt(e.phase, sizeof(e.phase), "%s", phase);
	fleet_fmt(e.node, sizeof(e.node), "%s", n->name);
	fleet_fmt(e.step, sizeof(e.step), "%s", step);
	e.exit_status = res.exit_status;
	fleet_fmt(e.signal, sizeof(e.signal), "%s", res.exit_signal);
	e.timed_out = res.timed_out;
	if (r != 0)
		fleet_fmt(e.error, sizeof(e.error), "%s", slw_diag_str(&sd, r));
	e.out_total = res.out_total;
	if ((rr = redact_text(cmd.data, cmd.len, secret, FLEET_CMD_KEEP,
	    &e.cmd)) != 0 ||
	    (rr = redact_text(res.out.data, res.out.len, secret,
	    SSH_OUT_HEAD + SSH_OUT_TAIL + 64, &e.out)) != 0 ||
	    (rr = fleet_record(f, &e)) != 0) {
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
			r = slw_diag(d, FLEET_ERR_EXIT, "killed by SIG%s%s%s",
			    res.exit_signal, ll[0] ? ": " : "", ll);
		else
			r = slw_diag(d, FLEET_ERR_EXIT, "exit %d%s%s",
			    res.exit_status, ll[0] ? ": " : "", ll);
	}
 out:
	buf_free(&cmd);
	ssh_result_free(&res);
	journal_exec_free(&e);
	return r;
}

void
fleet_remote_warnings(const uint8_t *out, size_t len, char *w, size_t wlen)
{
	size_t i = 0, used = 0, e, n;

	if (wlen == 0)
		return;
	w[0] = '\0';
	while (i < len) {
		for (e = i; e < len && out[e] != '\n'; e++)
			;
		if (e - i > 6 && memcmp(out + i, "WARN: ", 6) == 0) {
			n = e - i - 6;
			if (used > 0 && used + 2 < wlen) {
				memcpy(w + used, "; ", 2);
				used += 2;
			}
			if (used + n >= wlen)
				n = wlen - used - 1;
			memcpy(w + used, out + i + 6, n);
			used += n;
			w[used] = '\0';
			if (used + 1 >= wlen)
				return;
		}
		i = e + 1;
	}
}
