// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_init.c: `slipway init`. Generates every CA and cluster secret in
 * memory, then writes them all in the one transaction that creates the
 * state. With --sealed (the appliance) the KEK is kept only wrapped
 * (docs/appliance.md): the store is created with it in memory, and the
 * recovery passphrase is printed once or written where told. Never prints
 * or writes a key outside the sealed store.
 */
#include "audit.h"
#include "ca.h"
#include "certdb.h"
#include "cli.h"
#include "cluster.h"
#include "identity.h"
#include "issue.h"
#include "rand.h"
#include "unseal.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

#define ENC_KEY_LEN 32

struct new_ca {
	const char *name;
	const char *cn;
	struct key *key;
	struct buf der;
	struct slw_diag d;
	int r;
};

struct init_arg {
	struct inventory *inv;
	struct buf yaml;
	enum key_type kt;
	int single;
	time_t now;
	struct new_ca cas[3];
	size_t n_cas;
	struct key *sa;
	uint8_t enc[ENC_KEY_LEN];
};

static int
make_one(void *arg, size_t i)
{
	struct init_arg *a = arg;
	struct new_ca *ca;
	struct dn subj;

	if (i == a->n_cas)	/* the service-account key pair */
		return key_generate(a->kt, &a->sa);
	ca = &a->cas[i];
	identity_ca_subject(a->inv, ca->cn, &subj);
	ca->r = ca_make_root(&subj, a->kt, a->inv->ca_hours, a->now, &ca->key,
	    &ca->der, &ca->d);
	return ca->r;
}

static int
populate(struct store_txn *t, void *arg)
{
	struct init_arg *a = arg;
	struct buf sa_der = { 0 };
	char detail[256], nb[32];
	size_t i;
	int r;

	if ((r = store_put(t, DB_META, CLUSTER_META_KEY,
	    strlen(CLUSTER_META_KEY), a->yaml.data, a->yaml.len, 0)) != 0)
		return r;
	if ((r = store_put(t, DB_META, CLUSTER_KEY_TYPE_KEY,
	    strlen(CLUSTER_KEY_TYPE_KEY), key_type_name(a->kt),
	    strlen(key_type_name(a->kt)), 0)) != 0)
		return r;
	if ((r = store_put(t, DB_META, "ca-layout", 9,
	    a->single ? "single" : "separate", a->single ? 6 : 8, 0)) != 0)
		return r;
	snprintf(detail, sizeof(detail),
	    "cluster %s, %zu nodes, %s CA layout, %s keys", a->inv->cluster_name,
	    a->inv->n_nodes, a->single ? "single" : "separate",
	    key_type_name(a->kt));
	if ((r = audit_append(t, cli_actor(), "init", a->inv->cluster_name,
	    detail)) != 0)
		return r;
	for (i = 0; i < a->n_cas; i++) {
		struct ca_rec rec;
		struct cert_rec cr;
		struct cert_info info;

		if ((r = cert_info_der(a->cas[i].der.data, a->cas[i].der.len,
		    &info)) != 0)
			return r;
		memset(&rec, 0, sizeof(rec));
		snprintf(rec.name, sizeof(rec.name), "%s", a->cas[i].name);
		rec.gen = 1;
		rec.state = CA_ACTIVE;
		rec.created = a->now;
		rec.not_after = info.not_after;
		rec.key_type = a->kt;
		rec.der = a->cas[i].der;	/* borrowed */
		if ((r = ca_put(t, &rec, a->cas[i].key)) != 0 ||
		    (r = ca_set_current(t, rec.name, 1)) != 0)
			return r;
		memset(&cr, 0, sizeof(cr));
		memcpy(cr.serial, info.serial, SERIAL_LEN);
		snprintf(cr.ca, sizeof(cr.ca), "%s", rec.name);
		cr.ca_gen = 1;
		snprintf(cr.profile, sizeof(cr.profile), "ca");
		snprintf(cr.purpose, sizeof(cr.purpose), "ca");
		cr.der = a->cas[i].der;		/* borrowed */
		if ((r = certdb_add(t, &cr)) != 0)
			return r;
		cli_time(info.not_after, nb);
		snprintf(detail, sizeof(detail), "generation 1, serial %s, %s, "
		    "not after %s", info.serial_hex, key_type_name(a->kt), nb);
		if ((r = audit_append(t, cli_actor(), "ca.create", rec.name,
		    detail)) != 0)
			return r;
	}
	if ((r = key_write_der(a->sa, &sa_der)) != 0)
		return r;
	r = store_secret_put(t, "service-account-key", sa_der.data, sa_der.len);
	buf_free(&sa_der);
	if (r != 0)
		return r;
	if ((r = store_secret_put(t, "encryption-key", a->enc,
	    sizeof(a->enc))) != 0)
		return r;
	return audit_append(t, cli_actor(), "secret.create",
	    "service-account-key, encryption-key", "generated at init");
}

int
cmd_init(struct cli *c)
{
	struct init_arg a;
	struct store_opts so;
	struct slw_diag d;
	struct unseal_wrap_opts wo;
	struct kek kek;
	char pass[KEKWRAP_PASS_MAX + 1], recovery[KEKWRAP_RECOVERY_LEN + 1];
	char wrapped[4200];
	const char *cluster = NULL, *kt = NULL, *pass_file = NULL;
	const char *rec_out = NULL, *tpm = NULL;
	size_t i;
	int r, ret = EXIT_FAIL, single = 0, sealed = 0, to_tpm = 0;
	int made_wrapped = 0, made_rec = 0;
	const struct cli_opt opts[] = {
		OPT_STR("cluster", &cluster),
		OPT_STR("key-type", &kt),
		OPT_FLAG("single-ca", &single),
		OPT_FLAG("sealed", &sealed),
		OPT_STR("passphrase-file", &pass_file),
		OPT_STR("recovery-out", &rec_out),
		OPT_STR("tpm", &tpm),
		OPT_END,
	};

	memset(&a, 0, sizeof(a));
	memset(&wo, 0, sizeof(wo));
	memset(&kek, 0, sizeof(kek));
	recovery[0] = '\0';
	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if (cluster == NULL)
		return cli_usage(c, "--cluster FILE is required");
	if (!sealed && (pass_file != NULL || rec_out != NULL || tpm != NULL))
		return cli_usage(c, "--passphrase-file, --recovery-out and --tpm "
		    "go with --sealed");
	if (sealed && c->kek != NULL)
		return cli_usage(c, "--sealed keeps the KEK only wrapped: no "
		    "--kek (or $SLIPWAY_KEK)");
	if (tpm != NULL) {
		if (strcmp(tpm, "auto") == 0)
			wo.tpm = UNSEAL_TPM_AUTO;
		else if (strcmp(tpm, "on") == 0)
			wo.tpm = UNSEAL_TPM_ON;
		else if (strcmp(tpm, "off") == 0)
			wo.tpm = UNSEAL_TPM_OFF;
		else
			return cli_usage(c, "--tpm must be auto, on or off");
	}
	slw_diag_clear(&d);
	if (pass_file != NULL) {
		if ((r = unseal_pass_read(pass_file, pass, &wo.pass_len, &d)) != 0)
			return cli_fail(c, "--passphrase-file: %s",
			    slw_diag_str(&d, r));
		wo.pass = pass;
	}
	if ((r = inventory_load(cluster, &a.inv, &d)) != 0)
		return cli_fail_err(c, r, &d);
	if ((r = buf_read_file(&a.yaml, cluster, INV_MAX_BYTES)) != 0) {
		ret = cli_fail(c, "cannot read %s", cluster);
		goto out;
	}
	a.kt = a.inv->key_type;
	if (kt != NULL && key_type_parse(kt, &a.kt) != 0) {
		ret = cli_usage(c, "--key-type must be ecdsa-p256, ecdsa-p384, "
		    "rsa-2048, rsa-3072 or rsa-4096");
		goto out;
	}
	a.single = single || a.inv->single_ca;
	a.now = slw_now();
	a.cas[a.n_cas++] = (struct new_ca){ .name = CA_KUBERNETES,
	    .cn = "kubernetes" };
	if (!a.single) {
		a.cas[a.n_cas++] = (struct new_ca){ .name = CA_ETCD,
		    .cn = "etcd-ca" };
		a.cas[a.n_cas++] = (struct new_ca){ .name = CA_FRONT_PROXY,
		    .cn = "front-proxy-ca" };
	}
	if (store_exists(c->state)) {
		ret = cli_fail(c, "%s is already initialised; refusing to "
		    "overwrite it", c->state);
		goto out;
	}
	/* CAs and the service-account key in parallel: RSA keys are slow. */
	if ((r = par_for(a.n_cas + 1, 0, make_one, &a)) != 0) {
		for (i = 0; i < a.n_cas; i++)
			if (a.cas[i].r != 0)
				d = a.cas[i].d;
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if ((r = slw_random(a.enc, sizeof(a.enc))) != 0) {
		ret = cli_fail(c, "no randomness");
		goto out;
	}
	memset(&so, 0, sizeof(so));
	so.kek_path = c->kek;
	if (sealed) {
		snprintf(wrapped, sizeof(wrapped), "%s/%s", c->state,
		    UNSEAL_WRAPPED_NAME);
		if ((r = unseal_wrap_new(c->state, &wo, &kek, recovery, &to_tpm,
		    &d)) != 0) {
			ret = cli_fail_err(c, r, &d);
			goto out;
		}
		made_wrapped = 1;
		/* shown once: on the console, or where first boot keeps it
		 * in RAM for the console; written before the store exists */
		if (rec_out != NULL) {
			char line[KEKWRAP_RECOVERY_LEN + 2];

			snprintf(line, sizeof(line), "%s\n", recovery);
			r = buf_write_file(rec_out, line, strlen(line), 0600, 1);
			mbedtls_platform_zeroize(line, sizeof(line));
			if (r != 0) {
				ret = cli_fail(c, "cannot write the recovery "
				    "passphrase to %s: %s", rec_out,
				    slw_strerror(r));
				goto out;
			}
			made_rec = 1;
		}
		so.kek = &kek;
	}
	if ((r = store_create(c->state, &so, populate, &a, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	made_wrapped = made_rec = 0;
	printf("initialised %s: cluster %s, %zu nodes\n", c->state,
	    a.inv->cluster_name, a.inv->n_nodes);
	for (i = 0; i < a.n_cas; i++)
		printf("  CA %-12s %s, generation 1\n", a.cas[i].name,
		    key_type_name(a.kt));
	if (sealed) {
		printf("  key-encryption key: only wrapped, in %s: by the "
		    "recovery passphrase%s%s\n", wrapped, wo.pass != NULL ?
		    ", by the operator passphrase" : "", to_tpm ?
		    ", sealed to this machine's TPM" : "");
		if (rec_out != NULL)
			printf("  recovery passphrase: in %s (show it once, then "
			    "remove it)\n", rec_out);
		else
			printf("  recovery passphrase (shown this once; write it "
			    "down): %s\n", recovery);
		if (wo.pass == NULL)
			printf("  set the operator passphrase: slipway unseal "
			    "--change-passphrase\n");
	} else {
		char kekp[4096];

		store_kek_path(c->state, c->kek, kekp, sizeof(kekp));
		printf("  key-encryption key: %s (0600; keep a copy offline)\n",
		    kekp);
	}
	ret = EXIT_OK;
 out:
	if (made_wrapped)
		(void)unlink(wrapped);
	if (made_rec)
		(void)unlink(rec_out);
	kek_wipe(&kek);
	mbedtls_platform_zeroize(pass, sizeof(pass));
	mbedtls_platform_zeroize(recovery, sizeof(recovery));
	for (i = 0; i < a.n_cas; i++) {
		key_free(a.cas[i].key);
		buf_free(&a.cas[i].der);
	}
	key_free(a.sa);
	mbedtls_platform_zeroize(a.enc, sizeof(a.enc));
	buf_free(&a.yaml);
	inventory_free(a.inv);
	return ret;
}
