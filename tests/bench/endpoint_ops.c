// SPDX-License-Identifier: Apache-2.0
/*
 * endpoint_ops.c: per-operation cost of a worker-bundle redemption, on one
 * core, against a real state: P-256 key generation, one signature through
 * the signing interface, bundle_render of a worker node (keys + certs +
 * files), bundle_write_targz, and the consuming commit (token consume +
 * certificate records + issuance record + audit) through store_submit,
 * alone and from 8 threads (group commit). Prints JSON; asserts nothing.
 *
 *   endpoint_ops STATE NODE [SECONDS_PER_OP]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bundle.h"
#include "cluster.h"
#include "http_redeem.h"
#include "identity.h"
#include "key.h"
#include "nodetoken.h"
#include "rand.h"
#include "signing.h"
#include "store.h"
#include "token.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct store *st;
static struct inventory *inv;
static struct signing *sg;
static const struct inv_node *node;
static char ktok[24];
static struct buf crl;

static int
ktok_txn(struct store_txn *t, void *arg)
{
	struct node_token tok;
	int r;

	(void)arg;
	if ((r = nodetoken_get_or_create(t, node->name, 86400, &tok)) != 0)
		return r;
	nodetoken_format(&tok, ktok);
	nodetoken_wipe(&tok);
	return 0;
}

static struct bundle *
render(void)
{
	struct bundle_input in;
	struct bundle *b = NULL;

	memset(&in, 0, sizeof(in));
	in.inv = inv;
	in.node = node;
	in.sg = sg;
	in.kubelet_token = ktok;
	if (node->roles & ROLE_ETCD)
		in.etcd_crl = &crl;
	in.now = slw_now();
	in.threads = 1;
	if (bundle_render(&in, &b, NULL) != 0) {
		fprintf(stderr, "bundle_render failed\n");
		exit(1);
	}
	return b;
}

struct commit_arg {
	struct token_new tok;
	struct bundle *b;
};

static int
commit_txn(struct store_txn *t, void *arg)
{
	struct commit_arg *a = arg;
	struct token_want w = { NULL, "127.0.0.1", slw_now() };
	struct token_info ti;
	struct issuance is;
	enum token_fail why;
	size_t i;
	int r;

	if ((r = token_consume(t, a->tok.token, strlen(a->tok.token), &w,
	    "bundle", &ti, &why)) != 0 ||
	    (r = bundle_record(t, a->b, "bench")) != 0)
		return r;
	memset(&is, 0, sizeof(is));
	snprintf(is.node, sizeof(is.node), "%s", ti.node);
	snprintf(is.endpoint, sizeof(is.endpoint), "bundle");
	is.time = w.now;
	for (i = 0; i < a->b->n_certs && i < REDEEM_MAX_CERTS; i++) {
		memcpy(is.iss.serial[i], a->b->certs[i].r.serial, SERIAL_LEN);
		snprintf(is.iss.purpose[i], 64, "%s", a->b->certs[i].purpose);
	}
	is.iss.n = i;
	return redeem_issuance_put(t, &ti, &is);
}

static int
put_txn(struct store_txn *t, void *arg)
{
	return token_put(t, arg);
}

/* n prepared commits (token + rendered bundle) */
static struct commit_arg *
prepare(size_t n)
{
	struct commit_arg *a = calloc(n, sizeof(*a));
	size_t i;

	for (i = 0; i < n; i++) {
		if (token_make(node->name, 900, NULL, "bench", slw_now(),
		    &a[i].tok, NULL) != 0 ||
		    store_write(st, put_txn, &a[i].tok, NULL) != 0)
			exit(1);
		a[i].b = render();
	}
	return a;
}

struct thr {
	struct commit_arg *a;
	size_t n;
};

static void *
commit_thread(void *arg)
{
	struct thr *t = arg;
	size_t i;

	for (i = 0; i < t->n; i++)
		if (store_submit(st, commit_txn, &t->a[i], NULL) != 0)
			exit(1);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct store_opts o;
	double secs = argc > 3 ? atof(argv[3]) : 1.0, t0, t;
	size_t n, i;
	struct key *k;
	struct identity id;
	struct signing_request req;
	struct signing_result sr;
	struct bundle *b;
	struct buf tgz = { 0 };
	double keygen, sign, rend, targz, commit1, commit8;

	if (argc < 3) {
		fprintf(stderr, "usage: endpoint_ops STATE NODE [SECONDS]\n");
		return 2;
	}
	slw_crypto_init();
	memset(&o, 0, sizeof(o));
	o.need_kek = 1;
	if (store_open(argv[1], &o, &st, NULL) != 0 ||
	    cluster_load(st, &inv, NULL) != 0 ||
	    signing_local_new(st, &sg, NULL) != 0 ||
	    (node = inventory_node(inv, argv[2])) == NULL) {
		fprintf(stderr, "cannot open %s / node %s\n", argv[1], argv[2]);
		return 1;
	}
	store_write(st, ktok_txn, NULL, NULL);
	if (signing_crl_der(st, CA_ETCD, slw_now(), "bench", &crl, NULL) != 0) {
		fprintf(stderr, "no CRL for the etcd CA\n");
		return 1;
	}

#define TIMEIT(var, body) do { \
	n = 0; t0 = now_s(); \
	do { body; n++; } while ((t = now_s() - t0) < secs); \
	var = t / (double)n * 1e3; \
} while (0)

	TIMEIT(keygen, { key_generate(KEY_EC_P256, &k); key_free(k); });
	key_generate(KEY_EC_P256, &k);
	identity_get(inv, ID_KUBE_PROXY, node, 0, &id, NULL);
	memset(&req, 0, sizeof(req));
	req.ca_role = id.ca_role;
	req.t = &id.t;
	req.subject = k;
	req.now = slw_now();
	TIMEIT(sign, { signing_sign(sg, &req, &sr, NULL); signing_result_free(&sr); });
	key_free(k);
	TIMEIT(rend, { b = render(); bundle_free(b); });
	b = render();
	TIMEIT(targz, { bundle_write_targz(b, &tgz, NULL); buf_free(&tgz); });
	bundle_write_targz(b, &tgz, NULL);
	{
		size_t nb = tgz.len, nc = b->n_certs, nf = b->n_files;

		buf_free(&tgz);
		bundle_free(b);
		/* commits: 64 alone, then 8 threads x 64 */
		{
			struct commit_arg *a = prepare(64);
			struct thr th = { a, 64 };

			t0 = now_s();
			commit_thread(&th);
			commit1 = (now_s() - t0) / 64 * 1e3;
			for (i = 0; i < 64; i++)
				bundle_free(a[i].b);
			free(a);
		}
		{
			struct commit_arg *a = prepare(512);
			struct thr th[8];
			pthread_t p[8];

			t0 = now_s();
			for (i = 0; i < 8; i++) {
				th[i].a = a + i * 64;
				th[i].n = 64;
				pthread_create(&p[i], NULL, commit_thread, &th[i]);
			}
			for (i = 0; i < 8; i++)
				pthread_join(p[i], NULL);
			commit8 = (now_s() - t0) / 512 * 1e3;
			for (i = 0; i < 512; i++)
				bundle_free(a[i].b);
			free(a);
		}
		printf("{\"node\": \"%s\", \"certificates\": %zu, \"files\": %zu, "
		    "\"targz_bytes\": %zu, \"ms\": {\"p256_keygen\": %.3f, "
		    "\"sign\": %.3f, \"bundle_render\": %.3f, \"targz\": %.3f, "
		    "\"commit_alone\": %.3f, \"commit_8_threads\": %.3f}}\n",
		    node->name, nc, nf, nb, keygen, sign, rend, targz, commit1,
		    commit8);
	}
	signing_free(sg);
	inventory_free(inv);
	store_close(st);
	return 0;
}
