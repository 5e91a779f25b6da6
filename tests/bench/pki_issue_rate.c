// SPDX-License-Identifier: Apache-2.0
/*
 * pki_issue_rate.c: durable issuances per second: sign a certificate with
 * the CA (P-256), then record it (certificate record + audit entry) in a
 * committed LMDB transaction. Runs with 1..N threads through store_submit
 * (group commit) and, for comparison, one commit per issuance. Prints
 * rates; the ratio against `openssl speed` is printed by the wrapper.
 * Never asserts a time.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "ca.h"
#include "certdb.h"
#include "signer_set.h"
#include "rand.h"
#include "store.h"

struct shared {
	struct store *s;
	struct signer_set ss;
	struct key *subject;
	double deadline;
	int group;
};

struct worker {
	struct shared *sh;
	long done;
	int err;
};

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct rec_arg {
	struct issued *iss;
	const char *ca;
	uint32_t gen;
};

static int
record(struct store_txn *t, void *arg)
{
	struct rec_arg *a = arg;

	return signer_set_record(t, a->iss, a->ca, a->gen, "client", "", "bench",
	    "bench");
}

static void *
run(void *p)
{
	struct worker *w = p;
	struct shared *sh = w->sh;
	struct cert_template t;
	struct profile prof;
	const struct signer *ca;
	struct rec_arg ra;
	struct issued iss;

	memset(&t, 0, sizeof(t));
	profile_builtin("client", &prof);
	t.profile = &prof;
	snprintf(t.subject.cn, sizeof(t.subject.cn), "system:node:bench");
	dn_add_o(&t.subject, "system:nodes");
	ca = signer_set_get(&sh->ss, CA_KUBERNETES, &ra.ca, &ra.gen);
	while (now() < sh->deadline) {
		if ((w->err = issue_leaf(&t, KEY_NONE, sh->subject, ca, slw_now(),
		    &iss, NULL)) != 0)
			return NULL;
		ra.iss = &iss;
		w->err = sh->group ? store_submit(sh->s, record, &ra, NULL) :
		    store_write(sh->s, record, &ra, NULL);
		issue_free(&iss);
		if (w->err != 0)
			return NULL;
		w->done++;
	}
	return NULL;
}

static double
measure(struct shared *sh, int threads, int group, double secs)
{
	pthread_t th[64];
	struct worker w[64];
	double t0, el;
	long total = 0;
	int i;

	sh->group = group;
	memset(w, 0, sizeof(w));
	t0 = now();
	sh->deadline = t0 + secs;
	for (i = 0; i < threads; i++) {
		w[i].sh = sh;
		pthread_create(&th[i], NULL, run, &w[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		if (w[i].err != 0) {
			fprintf(stderr, "issuance failed: %s\n", slw_strerror(w[i].err));
			exit(1);
		}
		total += w[i].done;
	}
	el = now() - t0;
	return (double)total / el;
}

/* Raw signing rate of this library: ECDSA P-256 over a SHA-256 digest. */
static double
raw_sign_rate(const struct key *k, double secs)
{
	unsigned char hash[32] = { 1 }, sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	size_t sl;
	double t0 = now();
	long n = 0;

	while (now() - t0 < secs) {
		mbedtls_pk_sign((mbedtls_pk_context *)&k->pk, MBEDTLS_MD_SHA256,
		    hash, 32, sig, sizeof(sig), &sl, slw_rng, NULL);
		n++;
	}
	return (double)n / (now() - t0);
}

int
main(int argc, char **argv)
{
	struct shared sh;
	struct store_opts o;
	struct slw_diag d;
	double secs = argc > 2 ? atof(argv[2]) : 3.0, r;
	int threads[] = { 1, 2, 4, 8 };
	size_t i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s STATE [SECONDS]\n", argv[0]);
		return 2;
	}
	slw_crypto_init();
	memset(&sh, 0, sizeof(sh));
	memset(&o, 0, sizeof(o));
	o.need_kek = 1;
	slw_diag_clear(&d);
	if (store_open(argv[1], &o, &sh.s, &d) != 0 ||
	    signer_set_load(sh.s, &sh.ss, &d) != 0) {
		fprintf(stderr, "%s\n", d.msg);
		return 1;
	}
	key_generate(KEY_EC_P256, &sh.subject);
	printf("mbedtls_raw_sign_per_s %.0f\n",
	    raw_sign_rate(sh.ss.s[0]->key, secs));
	r = measure(&sh, 1, 0, secs);
	printf("issue_commit_each threads=1 per_s %.0f\n", r);
	for (i = 0; i < sizeof(threads) / sizeof(threads[0]); i++) {
		r = measure(&sh, threads[i], 1, secs);
		printf("issue_group_commit threads=%d per_s %.0f\n", threads[i], r);
	}
	key_free(sh.subject);
	signer_set_free(&sh.ss);
	store_close(sh.s);
	return 0;
}
