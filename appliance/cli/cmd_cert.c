// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_cert.c: `slipway cert issue`, `cert seed-set` (the seed's
 * certificate set, issued by slipway's CAs in one logical operation, with
 * ca.pem and the other CA certificates, never a CA key) and `cert list`.
 * Checks every argument and the output paths before signing, so bad input
 * changes nothing; records the certificates before writing their files.
 * `cert revoke` (bootstrap/revoke.h does the work) says which revocations
 * nothing enforces, and has the fleet engine deliver the new etcd CRL to
 * every etcd member of a rolled-out cluster (crl_deliver.h).
 */
#include "audit.h"
#include "certdb.h"
#include "cli.h"
#include "cluster.h"
#include "crl.h"
#include "crl_deliver.h"
#include "https.h"
#include "identity.h"
#include "outfile.h"
#include "rand.h"
#include "renew.h"
#include "revoke.h"
#include "signer_set.h"
#include "ssh.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct issue_arg {
	const struct issued *iss;
	const char *ca_name;
	uint32_t ca_gen;
	const char *profile;
};

static int
issue_txn(struct store_txn *t, void *arg)
{
	struct issue_arg *a = arg;

	return signer_set_record(t, a->iss, a->ca_name, a->ca_gen, a->profile,
	    "", "console", cli_actor());
}

int
cmd_cert_issue(struct cli *c)
{
	struct cert_template t;
	struct profile prof;
	struct inventory *inv = NULL;
	struct store *s = NULL;
	struct signer_set ss;
	struct issued iss;
	struct issue_arg ia;
	struct slw_diag d;
	const char *profile = NULL, *cn = NULL, *out = NULL, *role = NULL;
	const char *kts = NULL, *validity = NULL, *orgs[DN_MAX_O], *sans[SAN_MAX];
	const struct signer *signer;
	char why[512];
	size_t n_orgs = 0, n_sans = 0, i;
	const struct cli_opt opts[] = {
		OPT_STR("profile", &profile),
		OPT_STR("cn", &cn),
		OPT_LIST("org", orgs, &n_orgs, DN_MAX_O),
		OPT_LIST("san", sans, &n_sans, SAN_MAX),
		OPT_STR("out", &out),
		OPT_STR("ca", &role),
		OPT_STR("key-type", &kts),
		OPT_STR("validity", &validity),
		OPT_END,
	};
	enum key_type kt;
	int r, ret = EXIT_FAIL;

	memset(&ss, 0, sizeof(ss));
	memset(&iss, 0, sizeof(iss));
	memset(&t, 0, sizeof(t));
	slw_diag_clear(&d);
	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if (profile == NULL || cn == NULL || out == NULL)
		return cli_usage(c, "--profile, --cn and --out are required");
	if (profile_builtin(profile, &prof) != 0 || prof.is_ca)
		return cli_usage(c, "unknown profile (kubernetes, server, client, peer)");
	if (role == NULL)
		role = CA_KUBERNETES;
	if (strcmp(role, CA_KUBERNETES) != 0 && strcmp(role, CA_ETCD) != 0 &&
	    strcmp(role, CA_FRONT_PROXY) != 0)
		return cli_usage(c, "--ca must be kubernetes, etcd or front-proxy");
	if (outfile_check(out, why, sizeof(why)) != 0)
		return cli_fail(c, "%s", why);
	if (cli_open(c, 1, &s) != 0)
		return EXIT_FAIL;
	if ((r = cluster_load(s, &inv, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	kt = inv->key_type;
	if (kts != NULL && key_type_parse(kts, &kt) != 0) {
		ret = cli_usage(c, "bad --key-type");
		goto out;
	}
	prof.hours = inv->leaf_hours;
	if (validity != NULL && duration_parse_hours(validity, &prof.hours) != 0) {
		ret = cli_usage(c, "bad --validity (like 8760h)");
		goto out;
	}
	t.profile = &prof;
	t.subject = inv->subject;
	if (strlen(cn) >= sizeof(t.subject.cn)) {
		ret = cli_fail(c, "--cn is too long");
		goto out;
	}
	snprintf(t.subject.cn, sizeof(t.subject.cn), "%s", cn);
	if (n_orgs > 0) {
		t.subject.n_o = 0;
		for (i = 0; i < n_orgs; i++)
			if (dn_add_o(&t.subject, orgs[i]) != 0) {
				ret = cli_fail(c, "invalid --org '%s'", orgs[i]);
				goto out;
			}
	}
	for (i = 0; i < n_sans; i++)
		if ((r = cert_template_add_san(&t, sans[i], &d)) != 0) {
			ret = cli_fail_err(c, r, &d);
			goto out;
		}
	if ((r = dn_validate(&t.subject, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if ((r = signer_set_load(s, &ss, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	ia.profile = profile;
	signer = signer_set_get(&ss, role, &ia.ca_name, &ia.ca_gen);
	if ((r = issue_leaf(&t, kt, NULL, signer, slw_now(), &iss, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	ia.iss = &iss;
	if ((r = store_write(s, issue_txn, &ia, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if (outfile_write(out, &iss, NULL, why, sizeof(why)) != 0) {
		ret = cli_fail(c, "%s", why);
		goto out;
	}
	{
		struct cert_info info;

		cert_info_der(iss.der.data, iss.der.len, &info);
		printf("issued %s (serial %s) -> %s.pem, %s-key.pem\n",
		    info.subject, info.serial_hex, out, out);
	}
	ret = EXIT_OK;
 out:
	issue_free(&iss);
	signer_set_free(&ss);
	inventory_free(inv);
	store_close(s);
	return ret;
}

/* ---- cert seed-set ---- */

static const enum ident seed_ids[] = {
	ID_ADMIN, ID_ETCD_SEED, ID_FLANNELD, ID_APISERVER,
	ID_CONTROLLER_MANAGER, ID_SCHEDULER, ID_KUBE_PROXY,
};
#define N_SEED (sizeof(seed_ids) / sizeof(seed_ids[0]))

struct job {
	struct identity id;
	struct issued iss;
	const char *ca_name;
	uint32_t ca_gen;
	const struct signer *signer;
	struct slw_diag d;
};

struct seed_arg {
	struct job jobs[N_SEED];
	enum key_type kt;
	time_t now;
};

static int
issue_one(void *arg, size_t i)
{
	struct seed_arg *a = arg;
	struct job *j = &a->jobs[i];

	return issue_leaf(&j->id.t, a->kt, NULL, j->signer, a->now, &j->iss,
	    &j->d);
}

static int
record_txn(struct store_txn *t, void *arg)
{
	struct seed_arg *a = arg;
	size_t i;
	int r;

	for (i = 0; i < N_SEED; i++) {
		struct job *j = &a->jobs[i];

		char purpose[64];

		snprintf(purpose, sizeof(purpose), "seed:%s", j->id.file);
		if ((r = signer_set_record(t, &j->iss, j->ca_name, j->ca_gen,
		    j->id.profile.name, "", purpose, cli_actor())) != 0)
			return r;
	}
	return audit_append(t, cli_actor(), "cert.seed-set", "", "7 certificates");
}

struct ca_pem_arg {
	const char *role;
	struct buf pem;
};

static int
ca_pem_txn(struct store_txn *t, void *arg)
{
	struct ca_pem_arg *a = arg;
	char name[CA_NAME_MAX];
	struct ca_rec rec;
	int r;

	if ((r = ca_resolve(t, a->role, name)) != 0)
		return r;
	if ((r = ca_get(t, name, 0, &rec)) != 0)
		return r;
	r = cert_pem_append(&a->pem, rec.der.data, rec.der.len);
	ca_rec_free(&rec);
	return r;
}

static int
write_ca(struct store *s, const char *dir, const char *role, const char *file,
    struct slw_diag *d)
{
	struct ca_pem_arg a = { role, { 0 } };
	char path[PATH_MAX];
	int r;

	if ((r = store_read(s, ca_pem_txn, &a, d)) != 0)
		return r;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	r = buf_write_file(path, a.pem.data, a.pem.len, 0644, 1);
	if (r != 0)
		slw_diag(d, r, "cannot write %s: %s", path, slw_strerror(r));
	buf_free(&a.pem);
	return r;
}

int
cmd_cert_seed_set(struct cli *c)
{
	struct seed_arg *a = NULL;
	struct inventory *inv = NULL;
	struct store *s = NULL;
	struct signer_set ss;
	struct slw_diag d;
	struct stat st;
	const char *out = NULL, *kts = NULL;
	char prefix[PATH_MAX], why[512];
	size_t i;
	const struct cli_opt opts[] = {
		OPT_STR("out", &out),
		OPT_STR("key-type", &kts),
		OPT_END,
	};
	int r, ret = EXIT_FAIL, single;

	memset(&ss, 0, sizeof(ss));
	slw_diag_clear(&d);
	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if (out == NULL)
		return cli_usage(c, "--out DIR is required");
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return cli_fail(c, "out of memory");
	if (stat(out, &st) != 0 && mkdir(out, 0700) != 0) {
		ret = cli_fail(c, "cannot create %s: %s", out, strerror(errno));
		goto out;
	}
	if (cli_open(c, 1, &s) != 0)
		goto out;
	if ((r = cluster_load(s, &inv, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	a->kt = inv->key_type;
	if (kts != NULL && key_type_parse(kts, &a->kt) != 0) {
		ret = cli_usage(c, "bad --key-type");
		goto out;
	}
	for (i = 0; i < N_SEED; i++) {
		struct job *j = &a->jobs[i];

		if ((r = identity_get(inv, seed_ids[i], NULL, 1, &j->id, &d)) != 0) {
			ret = cli_fail_err(c, r, &d);
			goto out;
		}
		snprintf(prefix, sizeof(prefix), "%s/%s", out, j->id.file);
		if (outfile_check(prefix, why, sizeof(why)) != 0) {
			ret = cli_fail(c, "%s", why);
			goto out;
		}
	}
	if ((r = signer_set_load(s, &ss, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	for (i = 0; i < N_SEED; i++) {
		struct job *j = &a->jobs[i];

		j->signer = signer_set_get(&ss, j->id.ca_role, &j->ca_name,
		    &j->ca_gen);
	}
	a->now = slw_now();
	if ((r = par_for(N_SEED, 0, issue_one, a)) != 0) {
		for (i = 0; i < N_SEED; i++)
			if (a->jobs[i].d.msg[0])
				d = a->jobs[i].d;
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if ((r = store_write(s, record_txn, a, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	for (i = 0; i < N_SEED; i++) {
		snprintf(prefix, sizeof(prefix), "%s/%s", out, a->jobs[i].id.file);
		if (outfile_write(prefix, &a->jobs[i].iss, NULL, why,
		    sizeof(why)) != 0) {
			ret = cli_fail(c, "%s", why);
			goto out;
		}
	}
	single = strcmp(ss.name[ROLE_CA_ETCD], CA_KUBERNETES) == 0;
	if ((r = write_ca(s, out, CA_KUBERNETES, "ca.pem", &d)) != 0 ||
	    (!single && (r = write_ca(s, out, CA_ETCD, "etcd-ca.pem", &d)) != 0) ||
	    (!single && (r = write_ca(s, out, CA_FRONT_PROXY,
	    "front-proxy-ca.pem", &d)) != 0)) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	printf("wrote the seed's certificate set to %s (%s keys%s)\n", out,
	    key_type_name(a->kt), single ? "" : "; etcd and flanneld are "
	    "signed by the etcd CA, see etcd-ca.pem");
	ret = EXIT_OK;
 out:
	if (a != NULL)
		for (i = 0; i < N_SEED; i++)
			issue_free(&a->jobs[i].iss);
	free(a);
	signer_set_free(&ss);
	inventory_free(inv);
	store_close(s);
	return ret;
}

/* ---- cert list ---- */

struct list_arg {
	int json;
	time_t now;
	cJSON *arr;
	size_t n;
};

/* Whole days left (negative once expired: -1 on its first day after). */
static long long
days_left(time_t not_after, time_t now)
{
	long long s = (long long)not_after - (long long)now;

	return s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
}

static int
list_one(void *arg, const struct cert_rec *rec)
{
	struct list_arg *a = arg;
	char serial[2 * SERIAL_LEN + 1], na[32], nb[32], st[32];
	const char *status = certdb_status_name(rec->status);
	const char *purpose = rec->purpose[0] ? rec->purpose : "-";
	long long days = days_left(rec->not_after, a->now);
	cJSON *o;

	hex_encode(rec->serial, SERIAL_LEN, serial);
	cli_time(rec->not_after, na);
	if (rec->status == CERT_VALID && rec->not_after <= a->now)
		status = "expired";
	a->n++;
	if (!a->json) {
		printf("%s  %-12.64s  %-24.64s  %s  %5lld  %-10s  %s/%u  %s\n",
		    serial, certdb_rec_node(rec), purpose, na, days, status,
		    rec->ca, rec->ca_gen, rec->subject);
		return 0;
	}
	if ((o = cJSON_CreateObject()) == NULL)
		return SLW_ERR_NOMEM;
	cli_time(rec->not_before, nb);
	cJSON_AddStringToObject(o, "serial", serial);
	cJSON_AddStringToObject(o, "subject", rec->subject);
	cJSON_AddStringToObject(o, "notBefore", nb);
	cJSON_AddStringToObject(o, "notAfter", na);
	cJSON_AddNumberToObject(o, "daysLeft", (double)days);
	cJSON_AddStringToObject(o, "status", status);
	if (rec->status != CERT_VALID) {
		cli_time(rec->status_time, st);
		cJSON_AddStringToObject(o, "statusTime", st);
	}
	if (rec->status == CERT_REVOKED && crl_reason_name(rec->reason))
		cJSON_AddStringToObject(o, "reason",
		    crl_reason_name(rec->reason));
	cJSON_AddStringToObject(o, "ca", rec->ca);
	cJSON_AddNumberToObject(o, "caGeneration", rec->ca_gen);
	cJSON_AddStringToObject(o, "profile", rec->profile);
	cJSON_AddStringToObject(o, "node", certdb_rec_node(rec));
	cJSON_AddStringToObject(o, "purpose", purpose);
	cJSON_AddItemToArray(a->arr, o);
	return 0;
}

static int
list_txn(struct store_txn *t, void *arg)
{
	return certdb_foreach(t, list_one, arg);
}

int
cmd_cert_list(struct cli *c)
{
	struct list_arg a;
	struct store *s = NULL;
	struct slw_diag d;
	char *txt;
	int r, ret = EXIT_FAIL;

	if (cli_opt_parse(c, NULL) != 0)
		return EXIT_USAGE;
	memset(&a, 0, sizeof(a));
	a.json = c->json;
	a.now = slw_now();
	slw_diag_clear(&d);
	if (cli_open(c, 0, &s) != 0)
		return EXIT_FAIL;
	if (a.json && (a.arr = cJSON_CreateArray()) == NULL)
		goto out;
	if (!a.json)
		printf("%-32s  %-12s  %-24s  %-20s  %5s  %-10s  %s  %s\n",
		    "SERIAL", "NODE", "PURPOSE", "NOT-AFTER", "DAYS", "STATUS",
		    "CA", "SUBJECT");
	if ((r = store_read(s, list_txn, &a, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if (a.json) {
		if ((txt = cJSON_Print(a.arr)) == NULL)
			goto out;
		printf("%s\n", txt);
		cJSON_free(txt);
	}
	ret = EXIT_OK;
 out:
	cJSON_Delete(a.arr);
	store_close(s);
	return ret;
}

/* ---- cert revoke ---- */

/* The note for what no CRL check reaches: their purposes and the CAs to
 * rotate; empty if etcd enforces every one. */
static void
revoke_note(const struct revoke_result *res, char *note, size_t len)
{
	char purposes[256] = "", cas[256] = "";
	size_t i, j, n = 0;
	int seen;

	note[0] = '\0';
	for (i = 0; i < res->n; i++) {
		const struct cert_rec *r = &res->certs[i].rec;

		if (res->certs[i].etcd)
			continue;
		n++;
		for (seen = 0, j = 0; j < i; j++)
			seen |= !res->certs[j].etcd &&
			    strcmp(res->certs[j].rec.purpose, r->purpose) == 0;
		if (!seen)
			snprintf(purposes + strlen(purposes), sizeof(purposes) -
			    strlen(purposes), "%s%s", purposes[0] ? ", " : "",
			    r->purpose[0] ? r->purpose : "-");
		for (seen = 0, j = 0; j < i; j++)
			seen |= !res->certs[j].etcd &&
			    strcmp(res->certs[j].rec.ca, r->ca) == 0;
		if (!seen)
			snprintf(cas + strlen(cas), sizeof(cas) - strlen(cas),
			    "%sslipway ca rotate run --ca %s", cas[0] ? "; " : "",
			    r->ca);
	}
	if (n > 0)
		snprintf(note, len, "%zu of these %s not checked against a CRL "
		    "(%s: the apiserver and kubelets have no CRL support): usable "
		    "until %s or the CA is rotated (%s)", n, n == 1 ? "is" : "are",
		    purposes, n == 1 ? "it expires" : "they expire", cas);
}

/* What became of the CRL's delivery to the etcd members. */
struct revoke_delivery {
	const char *state;	/* "done", "failed", "not-needed", "skipped" */
	char op[JOURNAL_OP_MAX];
	char why[600];
};

static int
revoke_json(const struct revoke_result *res, const char *note,
    const struct revoke_delivery *dl)
{
	cJSON *o = cJSON_CreateObject(), *arr, *e;
	char hex[2 * SERIAL_LEN + 1], t[32], *txt;
	size_t i;

	if (o == NULL || (arr = cJSON_AddArrayToObject(o, "revoked")) == NULL)
		goto fail;
	for (i = 0; i < res->n; i++) {
		const struct cert_rec *r = &res->certs[i].rec;

		if ((e = cJSON_CreateObject()) == NULL)
			goto fail;
		cJSON_AddItemToArray(arr, e);
		hex_encode(r->serial, SERIAL_LEN, hex);
		cJSON_AddStringToObject(e, "serial", hex);
		cJSON_AddStringToObject(e, "subject", r->subject);
		cJSON_AddStringToObject(e, "node", certdb_rec_node(r));
		cJSON_AddStringToObject(e, "purpose", r->purpose);
		cJSON_AddStringToObject(e, "ca", r->ca);
		cJSON_AddNumberToObject(e, "caGeneration", r->ca_gen);
		cJSON_AddStringToObject(e, "reason", crl_reason_name(r->reason));
		cli_time(r->status_time, t);
		cJSON_AddStringToObject(e, "revokedAt", t);
		cJSON_AddStringToObject(e, "enforcedBy", res->certs[i].etcd ?
		    "etcd" : "none");
	}
	if ((arr = cJSON_AddArrayToObject(o, "crls")) == NULL)
		goto fail;
	for (i = 0; i < res->n_crls; i++) {
		if ((e = cJSON_CreateObject()) == NULL)
			goto fail;
		cJSON_AddItemToArray(arr, e);
		cJSON_AddStringToObject(e, "ca", res->crls[i].ca);
		cJSON_AddNumberToObject(e, "generation", res->crls[i].gen);
		cJSON_AddNumberToObject(e, "number", (double)res->crls[i].number);
		cJSON_AddNumberToObject(e, "revoked",
		    (double)res->crls[i].n_entries);
		cli_time(res->crls[i].next_update, t);
		cJSON_AddStringToObject(e, "nextUpdate", t);
	}
	if (note[0] != '\0')
		cJSON_AddStringToObject(o, "note", note);
	else
		cJSON_AddNullToObject(o, "note");
	if ((e = cJSON_AddObjectToObject(o, "delivery")) == NULL)
		goto fail;
	cJSON_AddStringToObject(e, "state", dl->state);
	if (dl->op[0] != '\0')
		cJSON_AddStringToObject(e, "operation", dl->op);
	if (dl->why[0] != '\0')
		cJSON_AddStringToObject(e, "reason", dl->why);
	if ((txt = cJSON_Print(o)) == NULL)
		goto fail;
	printf("%s\n", txt);
	cJSON_free(txt);
	cJSON_Delete(o);
	return 0;
 fail:
	cJSON_Delete(o);
	return SLW_ERR_NOMEM;
}

/*
 * The delivery of the etcd CRL after a revocation (or alone, --deliver):
 * only to a cluster this appliance rolled out; progress lines unless
 * --json.
 */
static int
revoke_deliver(struct store *s, const struct inventory *inv,
    const struct fleet_crl_opts *fo, struct revoke_delivery *dl)
{
	struct slw_diag d;
	int r, rolled = 0;

	slw_diag_clear(&d);
	if ((r = fleet_crl_rolled_out(s, &rolled, &d)) != 0) {
		dl->state = "failed";
		snprintf(dl->why, sizeof(dl->why), "%s", slw_diag_str(&d, r));
		return r;
	}
	if (!rolled && !fo->plan_only) {
		dl->state = "skipped";
		snprintf(dl->why, sizeof(dl->why), "no rollout from this "
		    "appliance: the etcd members get the CRL with their bundles");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!fo->plan_only && (ssh_global_init() != 0 ||
	    https_global_init() != 0)) {
		dl->state = "failed";
		snprintf(dl->why, sizeof(dl->why), "cannot initialise libssh2 or "
		    "libcurl");
		return SLW_ERR_INTERNAL;
	}
	if ((r = fleet_crl_deliver(s, inv, fo, dl->op, &d)) != 0) {
		dl->state = "failed";
		snprintf(dl->why, sizeof(dl->why), "%s", slw_diag_str(&d, r));
		return r;
	}
	dl->state = "done";
	return 0;
}

int
cmd_cert_revoke(struct cli *c)
{
	struct revoke_req q;
	struct revoke_result res;
	struct revoke_delivery dl;
	struct fleet_crl_opts fo;
	struct inventory *inv = NULL;
	struct store *s = NULL;
	struct slw_diag d;
	uint8_t serial[SERIAL_LEN];
	const char *serial_s = NULL, *node = NULL, *reason_s = NULL, *args[1];
	char note[700], hex[2 * SERIAL_LEN + 1], t[32], cmd[64];
	size_t nargs = 0;
	int force = 0, deliver = 0, no_deliver = 0, etcd = 0;
	const struct cli_opt opts[] = {
		OPT_ARGS("SERIAL", args, &nargs, 0, 1,
		    "give one SERIAL (as cert list shows it) or --node NAME"),
		OPT_STR("node", &node),
		OPT_STR("reason", &reason_s),
		OPT_FLAG("force", &force),
		OPT_FLAG("deliver", &deliver),
		OPT_FLAG("no-deliver", &no_deliver),
		OPT_FLAG("plan", &fo.plan_only),
		OPT_INT("connect-timeout", &fo.op.fleet.connect_timeout_s, 1, 600,
		    "--connect-timeout must be 1 to 600 seconds"),
		OPT_FLAG("quiet", &fo.op.fleet.quiet),
		OPT_END,
	};
	size_t i;
	int r, ret = EXIT_FAIL;

	memset(&q, 0, sizeof(q));
	memset(&res, 0, sizeof(res));
	memset(&dl, 0, sizeof(dl));
	memset(&fo, 0, sizeof(fo));
	dl.state = "not-needed";
	slw_diag_clear(&d);
	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if (nargs == 1)
		serial_s = args[0];
	if (deliver && (serial_s != NULL || node != NULL || reason_s != NULL ||
	    force || no_deliver))
		return cli_usage(c, "--deliver takes nothing else: it delivers the "
		    "etcd CA's current CRL to every etcd member");
	if (fo.plan_only && !deliver)
		return cli_usage(c, "--plan goes with --deliver");
	if (serial_s != NULL && node != NULL)
		return cli_usage(c, "give a SERIAL or --node NAME, not both");
	if (serial_s == NULL && node == NULL && !deliver)
		return cli_usage(c, "give a SERIAL (as cert list shows it) or "
		    "--node NAME");
	q.reason = CRL_REASON_UNSPECIFIED;
	if (reason_s != NULL && crl_reason_parse(reason_s, &q.reason) != 0) {
		snprintf(note, sizeof(note), "unknown --reason '%.40s' (RFC 5280 "
		    "names: %s)", reason_s, crl_reason_list());
		return cli_usage(c, note);
	}
	if (serial_s != NULL && certdb_serial_parse(serial_s, serial) != 0)
		return cli_usage(c, "SERIAL must be the 32 hex digits cert list "
		    "shows");
	if (node != NULL && (node[0] == '\0' || strlen(node) >= INV_NAME_MAX))
		return cli_usage(c, "--node needs a node name");
	snprintf(cmd, sizeof(cmd), "slipway cert revoke --deliver");
	fo.op.state = c->state;
	fo.op.command = cmd;
	fo.op.audit_action = "crl.deliver";
	fo.op.fleet.actor = cli_actor();
	fo.op.fleet.json = c->json;
	if (c->json && !deliver)
		fo.op.fleet.quiet = 1;	/* one JSON document */
	if (cli_open(c, !fo.plan_only, &s) != 0)
		return EXIT_FAIL;
	if ((r = cluster_load(s, &inv, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if (deliver) {
		if ((r = revoke_deliver(s, inv, &fo, &dl)) != 0) {
			ret = cli_fail(c, "%s", dl.why);
			goto out;
		}
		if (strcmp(dl.state, "skipped") == 0)
			printf("not delivered: %s\n", dl.why);
		else if (!fo.plan_only && !c->json)
			printf("CRL delivered to every etcd member (operation "
			    "%s)\n", dl.op);
		ret = EXIT_OK;
		goto out;
	}
	q.serial = serial_s != NULL ? serial : NULL;
	q.node = node;
	q.force = force;
	q.now = slw_now();
	q.actor = cli_actor();
	if ((r = revoke_run(s, inv, &q, &res, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	revoke_note(&res, note, sizeof(note));
	if (!c->json) {
		for (i = 0; i < res.n; i++) {
			const struct cert_rec *rr = &res.certs[i].rec;

			hex_encode(rr->serial, SERIAL_LEN, hex);
			printf("revoked %s  %s  %s  %s/%u  %s  (%s)\n", hex,
			    certdb_rec_node(rr), rr->purpose[0] ? rr->purpose : "-",
			    rr->ca, rr->ca_gen, rr->subject,
			    crl_reason_name(rr->reason));
		}
		for (i = 0; i < res.n_crls; i++) {
			cli_time(res.crls[i].next_update, t);
			printf("CRL %s/%u: number %llu, %zu revoked, next update %s "
			    "(GET /v1/crl/%s.pem)\n", res.crls[i].ca,
			    res.crls[i].gen, (unsigned long long)res.crls[i].number,
			    res.crls[i].n_entries, t, res.crls[i].ca);
		}
		if (note[0] != '\0')
			printf("note: %s\n", note);
		fflush(stdout);
	}
	/* etcd enforces it once its members have the new CRL: deliver it */
	for (i = 0; i < res.n; i++)
		etcd |= res.certs[i].etcd;
	r = 0;
	if (etcd && no_deliver) {
		dl.state = "skipped";
		snprintf(dl.why, sizeof(dl.why), "--no-deliver: run 'slipway "
		    "cert revoke --deliver'");
	} else if (etcd)
		r = revoke_deliver(s, inv, &fo, &dl);
	if (c->json) {
		ret = revoke_json(&res, note, &dl) == 0 && r == 0 ? EXIT_OK :
		    EXIT_FAIL;
		if (r != 0)
			fprintf(stderr, "slipway: revoked (recorded), but %s\n",
			    dl.why);
		goto out;
	}
	if (r != 0) {
		ret = cli_fail(c, "revoked (recorded), but %s", dl.why);
		goto out;
	}
	if (strcmp(dl.state, "skipped") == 0)
		printf("CRL not delivered: %s\n", dl.why);
	else if (strcmp(dl.state, "done") == 0)
		printf("CRL delivered to every etcd member (operation %s): etcd "
		    "reads it at every connection\n", dl.op);
	ret = EXIT_OK;
 out:
	revoke_result_free(&res);
	inventory_free(inv);
	store_close(s);
	return ret;
}

/*
 * cert renew [--node N] [--within 30d] [--all] [--plan]: re-issues the
 * node certificates that are due and delivers them (renew.h); resumed by
 * running it again. --due is what serve runs: renewAt, quietly.
 */
int
cmd_cert_renew(struct cli *c)
{
	struct fleet_renew_opts o;
	struct store *s = NULL;
	struct inventory *inv = NULL;
	struct slw_diag d;
	const char *within = NULL;
	size_t n = 0;
	int due = 0, r, ret = EXIT_FAIL;
	const struct cli_opt opts[] = {
		OPT_STR("node", &o.node),
		OPT_STR("within", &within),
		OPT_FLAG("all", &o.all),
		OPT_FLAG("due", &due),
		OPT_FLAG("plan", &o.plan_only),
		OPT_FLAG("accept-new-host-keys", &o.op.fleet.accept_new_host_keys),
		OPT_INT("parallel", &o.op.parallel, 1, 256,
		    "--parallel must be 1 to 256"),
		OPT_FLAG("quiet", &o.op.fleet.quiet),
		OPT_END,
	};

	memset(&o, 0, sizeof(o));
	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if (within != NULL && duration_parse_seconds(within, &o.within_s) != 0)
		return cli_usage(c, "--within must be a duration like 30d or 720h");
	if ((o.all != 0) + (within != NULL) + (due != 0) > 1)
		return cli_usage(c, "--all, --within and --due exclude each other");
	o.op.state = c->state;
	o.op.command = "slipway cert renew";
	o.op.audit_action = "cert.renew.run";
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
	    (r = fleet_renew_run(s, inv, &o, &n, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if (!o.op.fleet.quiet && !c->json && !o.plan_only)
		printf("cert renew: %s\n", d.msg[0] ? d.msg : "done");
	ret = EXIT_OK;
 out:
	inventory_free(inv);
	store_close(s);
	return ret;
}
