// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_seedset.c: `slipway cert seed-set`: the seed's certificate set,
 * issued by slipway's CAs in one logical operation. Writes ca.pem (and the
 * other CA certificates in the separate layout), never a CA key.
 */
#include "audit.h"
#include "cli.h"
#include "cluster.h"
#include "commands.h"
#include "identity.h"
#include "signer_set.h"
#include "outfile.h"
#include "rand.h"

#include <errno.h>
#include <stdlib.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "key-type", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	struct seed_arg *a = NULL;
	struct inventory *inv = NULL;
	struct store *s = NULL;
	struct signer_set ss;
	struct slw_diag d;
	struct stat st;
	const char *out = NULL, *kts = NULL;
	char prefix[PATH_MAX], why[512];
	size_t i;
	int ch, r, ret = EXIT_FAIL, single;

	memset(&ss, 0, sizeof(ss));
	slw_diag_clear(&d);
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(c->argc, c->argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'o': out = optarg; break;
		case 'k': kts = optarg; break;
		default: return cli_usage(c, "unknown or incomplete option");
		}
	}
	if (optind != c->argc)
		return cli_usage(c, "unexpected argument");
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
