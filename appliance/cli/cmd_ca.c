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
#include "cluster.h"
#include "rand.h"

#include <cjson/cJSON.h>
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
	struct key *key;
	struct buf der;
	uint32_t gen;
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
	char detail[256];
	const char *action = "";
	int r = 0;

	switch (a->step) {
	case STEP_BEGIN:
		r = ca_rotate_begin(t, a->name, a->key, &a->der, a->gen);
		snprintf(detail, sizeof(detail), "generation %u created, trusted, "
		    "not signing yet", a->gen);
		action = "ca.rotate.begin";
		break;
	case STEP_ADVANCE:
		r = ca_rotate_advance(t, a->name);
		snprintf(detail, sizeof(detail), "generation %u signs; %u stays "
		    "trusted", a->st.pending_gen, a->st.active_gen);
		action = "ca.rotate.advance";
		break;
	case STEP_FINISH:
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

struct cur_arg {
	const char *name;
	struct ca_rec rec;
};

static int
current_txn(struct store_txn *t, void *arg)
{
	struct cur_arg *c = arg;

	return ca_get(t, c->name, 0, &c->rec);
}

static int
make_key(struct cli *c, struct store *s, struct rot_arg *a, struct slw_diag *d)
{
	struct cur_arg cur;
	struct inventory *inv = NULL;
	mbedtls_x509_crt crt;
	struct dn subj;
	int r;

	memset(&cur, 0, sizeof(cur));
	cur.name = a->name;
	mbedtls_x509_crt_init(&crt);
	if ((r = store_read(s, current_txn, &cur, d)) != 0)
		goto out;
	if ((r = cluster_load(s, &inv, d)) != 0)
		goto out;
	if ((r = mbedtls_x509_crt_parse_der(&crt, cur.rec.der.data,
	    cur.rec.der.len) != 0 ? SLW_ERR_CORRUPT : 0) != 0)
		goto out;
	a->gen = a->st.max_gen + 1;
	if ((r = ca_rotate_subject(&crt, a->gen, &subj)) != 0)
		goto out;
	r = ca_make_root(&subj, cur.rec.key_type, inv->ca_hours, slw_now(),
	    &a->key, &a->der, d);
 out:
	(void)c;
	mbedtls_x509_crt_free(&crt);
	ca_rec_free(&cur.rec);
	inventory_free(inv);
	return r;
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
		    "ca rotate begin" : st->phase == ROTATE_PENDING ?
		    "distribute the trust bundle to every node, then ca rotate advance" :
		    st->previous_valid ? "re-issue the leaves (re-render bundles), "
		    "then ca rotate finish" : "ca rotate finish");
		return;
	}
	if ((o = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddStringToObject(o, "ca", st->name);
	cJSON_AddStringToObject(o, "phase", ca_rotate_phase_name(st->phase));
	cJSON_AddNumberToObject(o, "activeGeneration", st->active_gen);
	cJSON_AddNumberToObject(o, "pendingGeneration", st->pending_gen);
	cJSON_AddNumberToObject(o, "previousGeneration", st->previous_gen);
	cJSON_AddNumberToObject(o, "activeValid", (double)st->active_valid);
	cJSON_AddNumberToObject(o, "previousValid", (double)st->previous_valid);
	if ((txt = cJSON_Print(o)) != NULL) {
		printf("%s\n", txt);
		cJSON_free(txt);
	}
	cJSON_Delete(o);
}

static int
rotate(struct cli *c, enum step step)
{
	struct rot_arg a;
	struct store *s = NULL;
	struct slw_diag d;
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
	if (a.role == NULL)
		return cli_usage(c, "--ca NAME is required");
	if (a.force && step != STEP_FINISH)
		return cli_usage(c, "--force only applies to finish");
	slw_diag_clear(&d);
	if (cli_open(c, step != STEP_STATUS, &s) != 0)
		return EXIT_FAIL;
	if ((r = store_read(s, resolve_txn, &a, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if (step == STEP_STATUS) {
		print_status(c, &a.st);
		ret = EXIT_OK;
		goto out;
	}
	if (step == STEP_BEGIN && a.st.phase != ROTATE_IDLE) {
		ret = cli_fail(c, "cannot begin: rotation of CA %s is already %s",
		    a.name, ca_rotate_phase_name(a.st.phase));
		goto out;
	}
	if (step == STEP_BEGIN && (r = make_key(c, s, &a, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if ((r = store_write(s, step_txn, &a, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	slw_diag_clear(&d);
	if (store_read(s, resolve_txn, &a, &d) == 0)
		print_status(c, &a.st);
	ret = EXIT_OK;
 out:
	key_free(a.key);
	buf_free(&a.der);
	store_close(s);
	return ret;
}

int cmd_ca_rotate_begin(struct cli *c) { return rotate(c, STEP_BEGIN); }
int cmd_ca_rotate_advance(struct cli *c) { return rotate(c, STEP_ADVANCE); }
int cmd_ca_rotate_finish(struct cli *c) { return rotate(c, STEP_FINISH); }
int cmd_ca_rotate_abort(struct cli *c) { return rotate(c, STEP_ABORT); }
int cmd_ca_rotate_status(struct cli *c) { return rotate(c, STEP_STATUS); }
