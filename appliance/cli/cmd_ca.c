// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_ca.c: `slipway ca export`: the trust bundle; and `slipway ca rotate
 * begin|advance|finish|abort|status --ca NAME`: each step is one
 * transaction with its audit record; the new CA key is generated here and
 * goes straight into the sealed store. Prints certificates only; there is
 * no command that prints a CA key.
 */
#include "audit.h"
#include "ca.h"
#include "ca_rotate.h"
#include "cli.h"
#include "keyrot.h"
#include "keyset.h"
#include "cluster.h"
#include "deliver.h"
#include "rand.h"
#include "https.h"
#include "rotate.h"
#include "ssh.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

struct export_arg {
	const char *role;
	struct buf pem;
};

static int
export_txn(struct store_txn *t, void *arg)
{
	struct export_arg *a = arg;
	int r = ca_trust_pem(t, a->role, &a->pem);

	if (r == SLW_ERR_NOTFOUND)
		return slw_diag(store_txn_diag(t), r, "no CA named '%s'", a->role);
	return r;
}

int
cmd_ca_export(struct cli *c)
{
	struct export_arg a = { NULL, { 0 } };
	struct store *s = NULL;
	struct slw_diag d;
	const struct cli_opt opts[] = {
		OPT_STR("ca", &a.role),
		OPT_END,
	};
	int r, ret = EXIT_FAIL;

	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if (a.role != NULL && strcmp(a.role, "kubernetes") != 0 &&
	    strcmp(a.role, "etcd") != 0 && strcmp(a.role, "front-proxy") != 0)
		return cli_usage(c, "--ca must be kubernetes, etcd or front-proxy");
	slw_diag_clear(&d);
	if (cli_open(c, 0, &s) != 0)
		return EXIT_FAIL;
	if ((r = store_read(s, export_txn, &a, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	fwrite(a.pem.data, 1, a.pem.len, stdout);
	ret = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
 out:
	buf_free(&a.pem);
	store_close(s);
	return ret;
}

/* ---- ca rotate ---- */

enum step { STEP_BEGIN, STEP_ADVANCE, STEP_FINISH, STEP_ABORT, STEP_STATUS };

struct rot_arg {
	enum step step;
	const char *role;
	char name[CA_NAME_MAX];
	int force;
	const struct inventory *inv;
	struct rotate_status st;
};

static int
resolve_txn(struct store_txn *t, void *arg)
{
	struct rot_arg *a = arg;
	int r;

	if ((r = ca_resolve(t, a->role, a->name)) != 0)
		return slw_diag(store_txn_diag(t), r, "no CA named '%s'", a->role);
	return ca_rotate_status(t, a->name, &a->st);
}

static int
step_txn(struct store_txn *t, void *arg)
{
	struct rot_arg *a = arg;
	struct slw_diag nd;
	char detail[256];
	const char *action = "";
	int r = 0;

	slw_diag_clear(&nd);
	switch (a->step) {
	case STEP_ADVANCE:
		/* every node trusts the new generation before it signs */
		if (!a->force && a->st.phase == ROTATE_PENDING &&
		    (r = fleet_deliver_check(t, a->inv, a->role,
		    a->st.pending_gen, 0, &nd)) != 0)
			return slw_diag(store_txn_diag(t), r, "cannot advance: %s; "
			    "deliver it ('slipway ca rotate run --ca %s') or use "
			    "--force", nd.msg, a->role);
		r = ca_rotate_advance(t, a->name);
		snprintf(detail, sizeof(detail), "generation %u signs; %u stays "
		    "trusted", a->st.pending_gen, a->st.active_gen);
		action = "ca.rotate.advance";
		break;
	case STEP_FINISH:
		/* no node still uses a leaf of the old generation */
		if (!a->force && a->st.phase == ROTATE_ADVANCED &&
		    (r = fleet_deliver_check(t, a->inv, a->role,
		    a->st.active_gen, a->st.active_gen, &nd)) != 0)
			return slw_diag(store_txn_diag(t), r, "cannot finish: %s; "
			    "deliver it ('slipway ca rotate run --ca %s') or use "
			    "--force", nd.msg, a->role);
		r = ca_rotate_finish(t, a->name, a->force);
		snprintf(detail, sizeof(detail), "generation %u retired%s",
		    a->st.previous_gen, a->force && a->st.previous_valid ?
		    " (forced, valid leaves remained)" : "");
		action = "ca.rotate.finish";
		break;
	case STEP_ABORT:
		r = ca_rotate_abort(t, a->name);
		snprintf(detail, sizeof(detail), "stepped back from %s",
		    ca_rotate_phase_name(a->st.phase));
		action = "ca.rotate.abort";
		break;
	default:
		return SLW_ERR_INVALID;
	}
	if (r != 0)
		return r;
	return audit_append(t, cli_actor(), action, a->name, detail);
}

static cJSON *
status_json(const struct rotate_status *st)
{
	cJSON *o;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "ca", st->name);
	cJSON_AddStringToObject(o, "phase", ca_rotate_phase_name(st->phase));
	cJSON_AddNumberToObject(o, "activeGeneration", st->active_gen);
	cJSON_AddNumberToObject(o, "pendingGeneration", st->pending_gen);
	cJSON_AddNumberToObject(o, "previousGeneration", st->previous_gen);
	cJSON_AddNumberToObject(o, "activeValid", (double)st->active_valid);
	cJSON_AddNumberToObject(o, "previousValid", (double)st->previous_valid);
	return o;
}

static void
print_status(struct cli *c, const struct rotate_status *st)
{
	cJSON *o;
	char *txt;

	if (!c->json) {
		printf("CA %s: rotation %s\n", st->name,
		    ca_rotate_phase_name(st->phase));
		printf("  active   generation %-3u %zu valid certificate(s)\n",
		    st->active_gen, st->active_valid);
		if (st->pending_gen)
			printf("  pending  generation %-3u trusted, not signing\n",
			    st->pending_gen);
		if (st->previous_gen)
			printf("  previous generation %-3u trusted, %zu valid "
			    "certificate(s) to re-issue\n", st->previous_gen,
			    st->previous_valid);
		printf("  next step: %s\n", st->phase == ROTATE_IDLE ?
		    "ca rotate run (or begin)" : st->phase == ROTATE_PENDING ?
		    "ca rotate run, which delivers the trust to every node and "
		    "advances" : "ca rotate run, which re-issues and delivers the "
		    "leaves and finishes");
		return;
	}
	if ((o = status_json(st)) == NULL)
		return;
	if ((txt = cJSON_Print(o)) != NULL) {
		printf("%s\n", txt);
		cJSON_free(txt);
	}
	cJSON_Delete(o);
}

struct all_arg {
	struct cli *c;
	cJSON *arr;
	const struct inventory *inv;
};

/* Every CA's rotation (status without --ca). */
static int
all_txn(struct store_txn *t, void *arg)
{
	static const char *const roles[] = { CA_KUBERNETES, CA_ETCD,
	    CA_FRONT_PROXY };
	struct all_arg *a = arg;
	char name[CA_NAME_MAX], seen[3][CA_NAME_MAX];
	struct rotate_status st;
	size_t i, k, n = 0;
	int r, dup;

	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		if ((r = ca_resolve(t, roles[i], name)) != 0)
			return r;
		for (dup = 0, k = 0; k < n; k++)
			dup |= strcmp(seen[k], name) == 0;
		if (dup)
			continue;
		snprintf(seen[n++], CA_NAME_MAX, "%s", name);
		if ((r = ca_rotate_status(t, name, &st)) != 0)
			return r;
		if (a->arr != NULL)
			cJSON_AddItemToArray(a->arr, status_json(&st));
		else
			print_status(a->c, &st);
	}
	/* and the keys that rotate like CAs */
	for (i = 0; i < 2; i++) {
		struct keyset_status ks;

		if ((r = keyset_status(t, i == 0 ? KEYSET_SA : KEYSET_ENC,
		    &ks)) != 0)
			return r;
		if (a->arr != NULL)
			cJSON_AddItemToArray(a->arr, cli_keyset_status_json(&ks,
			    a->inv));
		else
			cli_keyset_print(a->c, &ks, a->inv);
	}
	return 0;
}

static int
rotate(struct cli *c, enum step step)
{
	struct rot_arg a;
	struct store *s = NULL;
	struct inventory *inv = NULL;
	struct slw_diag d;
	uint32_t gen = 0;
	const struct cli_opt opts[] = {
		OPT_STR("ca", &a.role),
		OPT_FLAG("force", &a.force),
		OPT_END,
	};
	int r, ret = EXIT_FAIL;

	memset(&a, 0, sizeof(a));
	a.step = step;
	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if (a.role == NULL && step != STEP_STATUS)
		return cli_usage(c, "--ca NAME is required");
	/* the service-account key: a key set, not a CA (cmd_key.c) */
	if (a.role != NULL && strcmp(a.role, KEYSET_SA) == 0) {
		if (a.force && step != STEP_FINISH && step != STEP_ADVANCE)
			return cli_usage(c, "--force only applies to advance and "
			    "finish");
		return cli_keyset_step(c, KEYSET_SA, step == STEP_STATUS ? 0 :
		    step == STEP_BEGIN ? 1 : step == STEP_ADVANCE ? 2 :
		    step == STEP_FINISH ? 3 : 4, a.force);
	}
	if (a.force && step != STEP_FINISH && step != STEP_ADVANCE)
		return cli_usage(c, "--force only applies to advance and finish");
	slw_diag_clear(&d);
	if (cli_open(c, step != STEP_STATUS, &s) != 0)
		return EXIT_FAIL;
	if (step == STEP_STATUS && a.role == NULL) {
		struct all_arg aa = { c, c->json ? cJSON_CreateArray() : NULL,
		    NULL };

		if (cluster_load(s, &inv, NULL) == 0)
			aa.inv = inv;

		if ((r = store_read(s, all_txn, &aa, &d)) != 0) {
			cJSON_Delete(aa.arr);
			ret = cli_fail_err(c, r, &d);
			goto out;
		}
		if (aa.arr != NULL) {
			char *txt = cJSON_Print(aa.arr);

			if (txt != NULL)
				printf("%s\n", txt);
			cJSON_free(txt);
			cJSON_Delete(aa.arr);
		}
		ret = EXIT_OK;
		goto out;
	}
	if ((r = store_read(s, resolve_txn, &a, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if (step == STEP_STATUS) {
		print_status(c, &a.st);
		ret = EXIT_OK;
		goto out;
	}
	if ((r = cluster_load(s, &inv, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	a.inv = inv;
	if (step == STEP_BEGIN)
		r = ca_rotate_begin_store(s, a.name, inv->ca_hours, cli_actor(),
		    &gen, &d);
	else
		r = store_write(s, step_txn, &a, &d);
	if (r != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	slw_diag_clear(&d);
	if (store_read(s, resolve_txn, &a, &d) == 0)
		print_status(c, &a.st);
	ret = EXIT_OK;
 out:
	inventory_free(inv);
	store_close(s);
	return ret;
}

int cmd_ca_rotate_begin(struct cli *c) { return rotate(c, STEP_BEGIN); }
int cmd_ca_rotate_advance(struct cli *c) { return rotate(c, STEP_ADVANCE); }
int cmd_ca_rotate_finish(struct cli *c) { return rotate(c, STEP_FINISH); }
int cmd_ca_rotate_abort(struct cli *c) { return rotate(c, STEP_ABORT); }
int cmd_ca_rotate_status(struct cli *c) { return rotate(c, STEP_STATUS); }

/*
 * ca rotate run --ca NAME: the whole rotation carried to the cluster
 * (rotate.h); resumed by running it again.
 */
int
cmd_ca_rotate_run(struct cli *c)
{
	struct fleet_rotate_opts o;
	struct store *s = NULL;
	struct inventory *inv = NULL;
	struct slw_diag d;
	char cmd[96];
	int settle = -1, force = 0;
	const struct cli_opt opts[] = {
		OPT_STR("ca", &o.ca),
		OPT_FLAG("plan", &o.plan_only),
		OPT_FLAG("accept-new-host-keys", &o.op.fleet.accept_new_host_keys),
		OPT_INT("parallel", &o.op.parallel, 1, 256,
		    "--parallel must be 1 to 256"),
		OPT_INT("connect-timeout", &o.op.fleet.connect_timeout_s, 1, 600,
		    "--connect-timeout must be 1 to 600 seconds"),
		OPT_INT("settle", &settle, 0, 600,
		    "--settle must be 0 to 600 seconds"),
		OPT_FLAG("quiet", &o.op.fleet.quiet),
		OPT_FLAG("force", &force),
		OPT_END,
	};
	int r, ret = EXIT_FAIL;

	memset(&o, 0, sizeof(o));
	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if (o.ca == NULL)
		return cli_usage(c, "--ca NAME is required");
	o.op.settle_s = settle < 0 ? 0 : settle == 0 ? -1 : settle;
	if (strcmp(o.ca, KEYSET_SA) == 0) {
		struct fleet_keyrot_opts ko;

		memset(&ko, 0, sizeof(ko));
		ko.op = o.op;
		ko.plan_only = o.plan_only;
		ko.force = force;
		return cli_keyset_run(c, KEYSET_SA, "slipway ca rotate run --ca "
		    "service-account", &ko);
	}
	if (force)
		return cli_usage(c, "--force only applies to --ca service-account");
	snprintf(cmd, sizeof(cmd), "slipway ca rotate run --ca %.40s", o.ca);
	o.op.state = c->state;
	o.op.command = cmd;
	o.op.audit_action = "ca.rotate.run";
	o.op.fleet.actor = cli_actor();
	o.op.fleet.json = c->json;
	slw_diag_clear(&d);
	signal(SIGPIPE, SIG_IGN);
	if (!o.plan_only && (ssh_global_init() != 0 ||
	    https_global_init() != 0))
		return cli_fail(c, "cannot initialise libssh2 or libcurl");
	if (cli_open(c, !o.plan_only, &s) != 0)
		return EXIT_FAIL;
	if ((r = cluster_load(s, &inv, &d)) != 0 ||
	    (r = fleet_rotate_run(s, inv, &o, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	ret = EXIT_OK;
 out:
	inventory_free(inv);
	store_close(s);
	return ret;
}
