// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_key.c: the cluster keys that are not CAs (pki/keyset.h) on the
 * console: `slipway key rotate encryption`, and the service-account key
 * behind `slipway ca rotate run|begin|advance|finish|abort|status --ca
 * service-account` (cmd_ca.c hands those over). The rotations themselves
 * are fleet operations (fleet/keyrot.c); this file parses and prints, and
 * never prints a key.
 */
#include "audit.h"
#include "cli.h"
#include "cluster.h"
#include "https.h"
#include "keyrot.h"
#include "keyset.h"
#include "rand.h"
#include "ssh.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct ks_arg {
	const char *set;
	int step;			/* 0 status, 1 begin, 2 advance, 3 finish,
					 * 4 abort */
	int force;
	const struct inventory *inv;
	struct keyset_status st;
	struct buf secret;
};

static int
ks_status_txn(struct store_txn *t, void *arg)
{
	struct ks_arg *a = arg;

	return keyset_status(t, a->set, &a->st);
}

/* When the old service-account key may be dropped (0: not in a switch). */
static time_t
drop_after(const struct keyset_status *st, const struct inventory *inv)
{
	if (strcmp(st->name, KEYSET_SA) != 0 || st->phase != KEYSET_ADVANCED ||
	    inv == NULL)
		return 0;
	return st->advanced + (time_t)inv->sa_token_max_seconds;
}

struct cJSON *
cli_keyset_status_json(const struct keyset_status *st,
    const struct inventory *inv)
{
	time_t t = drop_after(st, inv);
	char when[32];
	struct tm tm;
	cJSON *o;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	cJSON_AddStringToObject(o, strcmp(st->name, KEYSET_SA) == 0 ? "ca" :
	    "key", st->name);
	cJSON_AddStringToObject(o, "kind", "key");
	cJSON_AddStringToObject(o, "phase", keyset_phase_name(st->phase));
	cJSON_AddNumberToObject(o, "activeGeneration", st->active_gen);
	cJSON_AddNumberToObject(o, "pendingGeneration", st->pending_gen);
	cJSON_AddNumberToObject(o, "previousGeneration", st->previous_gen);
	if (t != 0) {
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		cJSON_AddStringToObject(o, "dropAfter", when);
	}
	return o;
}

void
cli_keyset_print(struct cli *c, const struct keyset_status *st,
    const struct inventory *inv)
{
	int sa = strcmp(st->name, KEYSET_SA) == 0;
	time_t t = drop_after(st, inv), now = time(NULL);
	char when[32];
	struct tm tm;
	cJSON *o;
	char *txt;

	if (c->json) {
		if ((o = cli_keyset_status_json(st, inv)) == NULL)
			return;
		if ((txt = cJSON_Print(o)) != NULL)
			printf("%s\n", txt);
		cJSON_free(txt);
		cJSON_Delete(o);
		return;
	}
	printf("%s key: rotation %s\n", sa ? "service-account" : "encryption",
	    keyset_phase_name(st->phase));
	printf("  active   generation %-3u %s\n", st->active_gen, sa ? "signs" :
	    "encrypts");
	if (st->pending_gen)
		printf("  pending  generation %-3u %s, does not %s yet\n",
		    st->pending_gen, sa ? "verifies" : "decrypts", sa ? "sign" :
		    "encrypt");
	if (st->previous_gen)
		printf("  previous generation %-3u still %s\n", st->previous_gen,
		    sa ? "verifies" : "decrypts");
	if (t != 0) {
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("  generation %u dropped after %s (%s)\n", st->previous_gen,
		    when, now >= t ? "now" : "tokens it signed may live until "
		    "then");
	}
	printf("  next step: %s\n", st->phase == KEYSET_IDLE ? (sa ?
	    "ca rotate run --ca service-account" : "key rotate encryption") :
	    sa ? "ca rotate run --ca service-account (resumes)" :
	    "key rotate encryption (resumes)");
}

static int
ks_step_txn(struct store_txn *t, void *arg)
{
	struct ks_arg *a = arg;
	struct slw_diag nd;
	char detail[200];
	const char *action;
	time_t now = slw_now(), t_drop;
	int r;

	if ((r = keyset_status(t, a->set, &a->st)) != 0)
		return r;
	slw_diag_clear(&nd);
	switch (a->step) {
	case 1:
		if ((r = keyset_begin(t, a->set, &a->secret, a->st.max_gen + 1,
		    now)) != 0)
			return r;
		snprintf(detail, sizeof(detail), "generation %u created; it "
		    "verifies, %u still signs", a->st.max_gen + 1, a->st.active_gen);
		action = "key.rotate.begin";
		break;
	case 2:
		if (!a->force && a->st.phase == KEYSET_PENDING &&
		    (r = fleet_keyrot_check(t, a->inv, a->set, a->st.pending_gen,
		    0, &nd)) != 0)
			return slw_diag(store_txn_diag(t), r, "cannot advance: %s; "
			    "deliver it ('slipway ca rotate run --ca %s') or use "
			    "--force", nd.msg, a->set);
		if ((r = keyset_advance(t, a->set, now)) != 0)
			return r;
		snprintf(detail, sizeof(detail), "generation %u signs; %u still "
		    "verifies", a->st.pending_gen, a->st.active_gen);
		action = "key.rotate.advance";
		break;
	case 3:
		t_drop = drop_after(&a->st, a->inv);
		if (!a->force && a->st.phase == KEYSET_ADVANCED && now < t_drop)
			return slw_diag(store_txn_diag(t), SLW_ERR_DENIED, "cannot "
			    "finish: tokens of generation %u may live %lld s more "
			    "(serviceAccountTokenMaxAge); wait or use --force",
			    a->st.previous_gen, (long long)(t_drop - now));
		if (!a->force && a->st.phase == KEYSET_ADVANCED &&
		    (r = fleet_keyrot_check(t, a->inv, a->set, a->st.active_gen,
		    2, &nd)) != 0)
			return slw_diag(store_txn_diag(t), r, "cannot finish: %s; "
			    "deliver it ('slipway ca rotate run --ca %s') or use "
			    "--force", nd.msg, a->set);
		if ((r = keyset_finish(t, a->set)) != 0)
			return r;
		snprintf(detail, sizeof(detail), "generation %u retired and its key "
		    "deleted%s", a->st.previous_gen, a->force ? " (forced)" : "");
		action = "key.rotate.finish";
		break;
	case 4:
		if ((r = keyset_abort(t, a->set)) != 0)
			return r;
		snprintf(detail, sizeof(detail), "stepped back from %s",
		    keyset_phase_name(a->st.phase));
		action = "key.rotate.abort";
		break;
	default:
		return SLW_ERR_INVALID;
	}
	return audit_append(t, cli_actor(), action, a->set, detail);
}

struct kt_arg {
	const char *set;
	enum key_type kt;
};

static int
kt_txn(struct store_txn *t, void *arg)
{
	struct kt_arg *a = arg;

	return keyset_key_type(t, a->set, &a->kt);
}

int
cli_keyset_step(struct cli *c, const char *set, int step, int force)
{
	struct ks_arg a;
	struct kt_arg ka = { set, KEY_NONE };
	struct store *s = NULL;
	struct inventory *inv = NULL;
	struct slw_diag d;
	int r, ret = EXIT_FAIL;

	memset(&a, 0, sizeof(a));
	a.set = set;
	a.step = step;
	a.force = force;
	slw_diag_clear(&d);
	if (cli_open(c, step != 0, &s) != 0)
		return EXIT_FAIL;
	if ((r = cluster_load(s, &inv, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	a.inv = inv;
	if (step == 1 && ((r = store_read(s, kt_txn, &ka, &d)) != 0 ||
	    (r = keyset_generate(set, ka.kt, &a.secret)) != 0)) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if (step != 0 && (r = store_write(s, ks_step_txn, &a, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	slw_diag_clear(&d);
	if ((r = store_read(s, ks_status_txn, &a, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	cli_keyset_print(c, &a.st, inv);
	ret = EXIT_OK;
 out:
	buf_free(&a.secret);
	inventory_free(inv);
	store_close(s);
	return ret;
}

/* Runs the rotation of a key set on the cluster (fleet/keyrot.c). */
int
cli_keyset_run(struct cli *c, const char *set, const char *cmd,
    struct fleet_keyrot_opts *o)
{
	struct store *s = NULL;
	struct inventory *inv = NULL;
	struct slw_diag d;
	int r, waiting = 0, ret = EXIT_FAIL;

	o->set = set;
	o->op.state = c->state;
	o->op.command = cmd;
	o->op.audit_action = strcmp(set, KEYSET_SA) == 0 ? "ca.rotate.run" :
	    "key.rotate.run";
	o->op.fleet.actor = cli_actor();
	o->op.fleet.json = c->json;
	slw_diag_clear(&d);
	signal(SIGPIPE, SIG_IGN);
	if (!o->plan_only && (ssh_global_init() != 0 ||
	    https_global_init() != 0))
		return cli_fail(c, "cannot initialise libssh2 or libcurl");
	if (cli_open(c, !o->plan_only, &s) != 0)
		return EXIT_FAIL;
	if ((r = cluster_load(s, &inv, &d)) != 0 ||
	    (r = fleet_keyrot_run(s, inv, o, &waiting, &d)) != 0) {
		/* stopped at the wait for the longest token: not a failure of
		 * anything, but not done either */
		ret = waiting ? (fprintf(stderr, "slipway: %s: %s\n", cmd,
		    slw_diag_str(&d, r)), EXIT_WAIT) : cli_fail_err(c, r, &d);
		goto out;
	}
	ret = EXIT_OK;
 out:
	inventory_free(inv);
	store_close(s);
	return ret;
}

/* slipway key rotate encryption [--plan] ... */
int
cmd_key_rotate(struct cli *c)
{
	struct fleet_keyrot_opts o;
	const char *what = NULL;
	const struct cli_opt opts[] = {
		OPT_ARG("key", &what, "key rotate needs the key: encryption"),
		OPT_FLAG("plan", &o.plan_only),
		OPT_FLAG("accept-new-host-keys", &o.op.fleet.accept_new_host_keys),
		OPT_INT("parallel", &o.op.parallel, 1, 256,
		    "--parallel must be 1 to 256"),
		OPT_INT("connect-timeout", &o.op.fleet.connect_timeout_s, 1, 600,
		    "--connect-timeout must be 1 to 600 seconds"),
		OPT_FLAG("quiet", &o.op.fleet.quiet),
		OPT_END,
	};
	int r;

	memset(&o, 0, sizeof(o));
	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if (strcmp(what, KEYSET_ENC) != 0)
		return cli_usage(c, "key rotate knows one key: encryption (the "
		    "service-account key: ca rotate run --ca service-account)");
	return cli_keyset_run(c, KEYSET_ENC, "slipway key rotate encryption", &o);
}
