// SPDX-License-Identifier: Apache-2.0
/*
 * crl_bench.c: signing a CRL of 10,000 and 100,000 revoked serials.
 * For each size, with the same CA key and the same revoked serials, dates
 * and reasons, in the same run:
 *   write    crl_write alone (DER encoding + hash + signature)
 *   store    crl_store_refresh in a temporary store: read every revoked
 *            entry from LMDB, write, sign, store the CRL, audit, commit
 *   openssl  `openssl ca -gencrl` over an index.txt of the same entries
 *            (the reference: it reads its index, encodes and signs)
 * Prints the median of the runs, the CRL sizes, and the ratio of the
 * reference's time to slipway's. Never asserts a time.
 *
 * usage: crl_bench [--sizes 10000,100000] [--runs 3]
 *        [--key-type ecdsa-p256|rsa-2048]
 */
#include "audit.h"
#include "benchutil.h"
#include "ca.h"
#include "pem.h"
#include "crl.h"
#include "crl_store.h"
#include "rand.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNS 9

static void
die(const char *what, int r)
{
	fprintf(stderr, "crl_bench: %s failed: %s\n", what, slw_strerror(r));
	exit(1);
}

static void
write_file(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "crl_bench: cannot write %s\n", path);
		exit(1);
	}
}

/* reasons both slipway and openssl's index.txt know (openssl's has no
 * privilegeWithdrawn and aACompromise) */
static const int reasons[] = { 0, 1, 2, 3, 4, 5 };
static const char *const ossl_reason[] = {
	"unspecified", "keyCompromise", "CACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation",
};

struct fill {
	struct crl_entry *e;
	size_t n;
	time_t not_after;
};

static int
fill_txn(struct store_txn *t, void *arg)
{
	struct fill *f = arg;
	struct cert_rec c;
	size_t i;
	int r;

	for (i = 0; i < f->n; i++) {
		memset(&c, 0, sizeof(c));
		memcpy(c.serial, f->e[i].serial, SERIAL_LEN);
		snprintf(c.ca, sizeof(c.ca), "etcd");
		c.ca_gen = 1;
		c.status = CERT_REVOKED;
		c.status_time = f->e[i].revoked_at;
		c.reason = f->e[i].reason;
		c.not_after = f->not_after;
		if ((r = crl_store_add(t, &c)) != 0)
			return r;
	}
	return audit_append(t, "bench", "init", "", "");
}

struct refresh {
	const struct signer *ca;
	time_t now;
};

static int
refresh_txn(struct store_txn *t, void *arg)
{
	struct refresh *a = arg;

	return crl_store_refresh(t, a->ca, "etcd", 1, a->now, 1, "bench", NULL);
}

static void
run_size(const char *tmp, enum key_type kt, size_t n, int runs)
{
	struct signer *ca = NULL;
	struct key *k = NULL;
	struct buf ca_der = { 0 }, der = { 0 }, pem = { 0 };
	struct crl_entry *e;
	struct dn subj;
	struct fill fl;
	struct refresh rf;
	struct store *s = NULL;
	struct stat sb;
	double tw[MAX_RUNS], ts[MAX_RUNS], to[MAX_RUNS], t0;
	char path[4096], state[4096], cmd[16384];
	time_t now = slw_now();
	size_t i, store_len = 0;
	FILE *f;
	int r, j;

	memset(&subj, 0, sizeof(subj));
	snprintf(subj.cn, sizeof(subj.cn), "bench etcd CA");
	if ((r = key_generate(kt, &k)) != 0)
		die("key_generate", r);
	{
		/* the CA certificate, self-signed with k (kept for openssl) */
		struct key *ck = NULL;

		if ((r = ca_make_root(&subj, kt, 24 * 3650, now, &ck, &ca_der,
		    NULL)) != 0)
			die("ca_make_root", r);
		key_free(k);
		k = ck;
	}
	if ((r = key_write_pem(k, &pem)) != 0)
		die("key_write_pem", r);
	snprintf(path, sizeof(path), "%s/ca-key.pem", tmp);
	write_file(path, pem.data, pem.len);
	buf_free(&pem);
	if ((r = pem_append(&pem, "CERTIFICATE", ca_der.data, ca_der.len)) != 0)
		die("pem_append", r);
	snprintf(path, sizeof(path), "%s/ca.pem", tmp);
	write_file(path, pem.data, pem.len);
	buf_free(&pem);
	if ((r = signer_new(ca_der.data, ca_der.len, k, &ca, NULL)) != 0)
		die("signer_new", r);

	/* the entries, sorted by serial like the store's index */
	if ((e = calloc(n, sizeof(*e))) == NULL)
		die("calloc", SLW_ERR_NOMEM);
	for (i = 0; i < n; i++) {
		slw_random(e[i].serial, SERIAL_LEN);
		e[i].serial[0] = (uint8_t)(0x10 + i * 0xe0 / n);
		e[i].revoked_at = now - 86400 + (time_t)(i % 86400);
		e[i].reason = reasons[i % 6];
	}
	for (i = 1; i < n; i++) {	/* insertion by bucket: nearly sorted */
		struct crl_entry x = e[i];
		size_t m = i;

		while (m > 0 && memcmp(e[m - 1].serial, x.serial,
		    SERIAL_LEN) > 0) {
			e[m] = e[m - 1];
			m--;
		}
		e[m] = x;
	}

	/* openssl's index: R, expiry, revocation date[,reason], serial */
	snprintf(path, sizeof(path), "%s/index.txt", tmp);
	if ((f = fopen(path, "w")) == NULL)
		die("fopen index", SLW_ERR_IO);
	for (i = 0; i < n; i++) {
		char hex[2 * SERIAL_LEN + 1], rd[32];
		struct tm tm;
		size_t c;

		hex_encode(e[i].serial, SERIAL_LEN, hex);
		for (c = 0; hex[c]; c++)
			if (hex[c] >= 'a')
				hex[c] = (char)(hex[c] - 32);
		gmtime_r(&e[i].revoked_at, &tm);
		snprintf(rd, sizeof(rd), "%02d%02d%02d%02d%02d%02dZ",
		    tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		fprintf(f, "R\t351231000000Z\t%s%s%s\t%s\tunknown\t/CN=leaf%zu\n",
		    rd, e[i].reason ? "," : "",
		    e[i].reason ? ossl_reason[i % 6] : "", hex, i);
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s/ca.cnf", tmp);
	snprintf(cmd, sizeof(cmd),
	    "[ ca ]\ndefault_ca = d\n[ d ]\ndatabase = %s/index.txt\n"
	    "crlnumber = %s/crlnumber\ndefault_md = %s\ndefault_crl_days = 7\n"
	    "crl_extensions = x\n[ x ]\nauthorityKeyIdentifier = keyid:always\n",
	    tmp, tmp, kt == KEY_EC_P384 ? "sha384" : "sha256");
	write_file(path, cmd, strlen(cmd));

	/* a store holding the same entries */
	snprintf(state, sizeof(state), "%s/state-%zu", tmp, n);
	fl.e = e;
	fl.n = n;
	fl.not_after = now + 86400 * 365;
	if ((r = store_create(state, NULL, fill_txn, &fl, NULL)) != 0)
		die("store_create", r);
	if ((r = store_open(state, NULL, &s, NULL)) != 0)
		die("store_open", r);
	rf.ca = ca;
	rf.now = now;

	for (j = 0; j < runs; j++) {
		buf_free(&der);
		t0 = bench_now();
		if ((r = crl_write(ca, e, n, (uint64_t)j + 1, now,
		    now + CRL_LIFETIME_SECS, &der, NULL)) != 0)
			die("crl_write", r);
		tw[j] = bench_now() - t0;

		t0 = bench_now();
		if ((r = store_write(s, refresh_txn, &rf, NULL)) != 0)
			die("crl_store_refresh", r);
		ts[j] = bench_now() - t0;

		snprintf(path, sizeof(path), "%s/crlnumber", tmp);
		write_file(path, "1000\n", 5);
		snprintf(cmd, sizeof(cmd), "openssl ca -config %s/ca.cnf -gencrl "
		    "-keyfile %s/ca-key.pem -cert %s/ca.pem -out %s/ossl.pem "
		    ">%s/ossl.log 2>&1", tmp, tmp, tmp, tmp, tmp);
		t0 = bench_now();
		if (system(cmd) != 0) {
			fprintf(stderr, "crl_bench: %s failed:\n", cmd);
			snprintf(cmd, sizeof(cmd), "cat %s/ossl.log >&2", tmp);
			(void)!system(cmd);
			exit(1);
		}
		to[j] = bench_now() - t0;
	}
	/* the reference's size in DER, and slipway's CRL read back */
	snprintf(cmd, sizeof(cmd), "openssl crl -in %s/ossl.pem -outform DER "
	    "-out %s/ossl.der", tmp, tmp);
	if (system(cmd) != 0)
		die("openssl crl -outform DER", SLW_ERR_IO);
	snprintf(path, sizeof(path), "%s/ossl.der", tmp);
	if (stat(path, &sb) != 0)
		die("stat", SLW_ERR_IO);
	{
		struct crl_info info;

		if ((r = crl_info_der(der.data, der.len, &info, NULL, NULL)) != 0 ||
		    info.n_entries != n)
			die("crl_info_der of the written CRL", r ? r : SLW_ERR_PARSE);
		store_len = der.len;
	}
	snprintf(path, sizeof(path), "%s/mine.der", tmp);
	write_file(path, der.data, der.len);
	snprintf(cmd, sizeof(cmd), "openssl crl -inform DER -in %s/mine.der "
	    "-CAfile %s/ca.pem -verify -noout 2>&1 | grep -qx 'verify OK'",
	    tmp, tmp);
	if (system(cmd) != 0)
		die("openssl crl -verify of slipway's CRL", SLW_ERR_VERIFY);

	{
		double mw = bench_median(tw, runs), ms = bench_median(ts, runs),
		    mo = bench_median(to, runs);

		printf("%7zu revoked  %-10s  write %8.1f ms  store %8.1f ms  "
		    "openssl ca -gencrl %8.1f ms  |  size %8zu B (%.1f B/entry)"
		    "  openssl %8lld B  |  openssl/write %.1fx  "
		    "openssl/store %.1fx\n", n, key_type_name(kt), mw * 1e3,
		    ms * 1e3, mo * 1e3, store_len, (double)store_len / (double)n,
		    (long long)sb.st_size, mo / mw, mo / ms);
	}
	store_close(s);
	free(e);
	buf_free(&der);
	buf_free(&ca_der);
	signer_free(ca);
}

int
main(int argc, char **argv)
{
	const char *sizes = "10000,100000";
	enum key_type kt = KEY_EC_P256;
	char tmpl[] = "/tmp/crl_bench.XXXXXX", *tmp, cmd[4200], *sp, *tok,
	    *save = NULL, sbuf[256];
	int runs = 3, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc)
			sizes = argv[++i];
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--key-type") == 0 && i + 1 < argc) {
			if (key_type_parse(argv[++i], &kt) != 0) {
				fprintf(stderr, "crl_bench: bad --key-type\n");
				return 2;
			}
		} else {
			fprintf(stderr, "usage: crl_bench [--sizes N,...] "
			    "[--runs R] [--key-type T]\n");
			return 2;
		}
	}
	if (runs < 1 || runs > MAX_RUNS)
		runs = 3;
	slw_crypto_init();
	if ((tmp = mkdtemp(tmpl)) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	{
		char la[64] = "?";
		FILE *f = fopen("/proc/loadavg", "r");

		if (f != NULL) {
			if (fgets(la, sizeof(la), f) != NULL)
				la[strcspn(la, " ")] = '\0';
			fclose(f);
		}
		printf("CRL signing, median of %d runs (1-min load %s)\n",
		    runs, la);
	}
	snprintf(sbuf, sizeof(sbuf), "%s", sizes);
	for (sp = sbuf; (tok = strtok_r(sp, ",", &save)) != NULL; sp = NULL)
		run_size(tmp, kt, (size_t)strtoul(tok, NULL, 10), runs);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : 1;
}
