// SPDX-License-Identifier: Apache-2.0
/*
 * status_bench.c: `slipway status --json` (and its text form) on a
 * generated inventory of 1,000 and 10,000 nodes whose certificates are
 * recorded as bundles would record them: ten purposes per node (the
 * seed's set), and for every tenth node an older, superseded generation of
 * each. The records are written straight into the store: ten certificates
 * of different lifetimes are made once and copied with a new serial each
 * (their signatures no longer verify, which nothing in `status` checks),
 * so setting up 100,000 records takes seconds, not the hours of signing.
 * Prints the median of the runs, the records, the output size, and the
 * growth ratio 10,000 / 1,000 nodes (linear: 10). Never asserts a time.
 *
 * usage: status_bench SLIPWAY [--sizes 1000,10000] [--runs 3]
 */
#include "ca.h"
#include "certdb.h"
#include "rand.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNS 9
#define N_PURPOSES 10

static const char *const purposes[N_PURPOSES] = {
	"apiserver-etcd-client", "apiserver-kubelet-client", "etcd-client",
	"etcd-member", "flanneld", "front-proxy-client", "kube-apiserver",
	"kube-controller-manager", "kube-proxy", "kube-scheduler",
};

struct tmpl {
	struct buf der;
	size_t serial_off;
};

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
die(const char *what, int r)
{
	fprintf(stderr, "status_bench: %s: %s\n", what, slw_strerror(r));
	exit(1);
}

/* Ten certificates with lifetimes of 1 to 10 years, their serials found. */
static void
make_templates(struct tmpl *t)
{
	struct dn subj;
	struct cert_info info;
	struct key *k = NULL;
	size_t i, j;
	int r;

	memset(&subj, 0, sizeof(subj));
	snprintf(subj.cn, sizeof(subj.cn), "bench");
	for (i = 0; i < N_PURPOSES; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		if ((r = ca_make_root(&subj, KEY_EC_P256, (uint32_t)(8760 *
		    (i + 1)), slw_now(), &k, &t[i].der, NULL)) != 0)
			die("ca_make_root", r);
		key_free(k);
		k = NULL;
		if ((r = cert_info_der(t[i].der.data, t[i].der.len, &info)) != 0 ||
		    info.serial_len != SERIAL_LEN)
			die("cert_info_der", r ? r : SLW_ERR_INTERNAL);
		for (j = 0; j + SERIAL_LEN <= t[i].der.len; j++)
			if (memcmp(t[i].der.data + j, info.serial, SERIAL_LEN) == 0)
				break;
		t[i].serial_off = j;
	}
}

struct fill {
	const struct tmpl *t;
	size_t first, last;	/* nodes [first, last) */
	int old;		/* the superseded generation of each tenth */
};

static int
fill_txn(struct store_txn *txn, void *arg)
{
	struct fill *f = arg;
	struct cert_rec rec;
	uint8_t der[2048];
	size_t n, p;
	int r;

	for (n = f->first; n < f->last; n++) {
		if (f->old && n % 10 != 0)
			continue;
		for (p = 0; p < N_PURPOSES; p++) {
			const struct tmpl *t = &f->t[(p + n) % N_PURPOSES];

			memset(&rec, 0, sizeof(rec));
			if ((r = certdb_serial_new(rec.serial)) != 0)
				return r;
			memcpy(der, t->der.data, t->der.len);
			memcpy(der + t->serial_off, rec.serial, SERIAL_LEN);
			rec.der.data = der;
			rec.der.len = t->der.len;
			snprintf(rec.ca, sizeof(rec.ca), "%s", p == 5 ?
			    "front-proxy" : p == 0 || (p >= 2 && p <= 4) ?
			    "etcd" : "kubernetes");
			rec.ca_gen = 1;
			snprintf(rec.profile, sizeof(rec.profile), "peer");
			snprintf(rec.node, sizeof(rec.node), "n%05zu", n);
			snprintf(rec.purpose, sizeof(rec.purpose), "%s",
			    purposes[p]);
			if ((r = certdb_add(txn, &rec)) != 0)
				return r;
		}
	}
	return 0;
}

/* ok1: exit status 1 is fine too (status: something warns) */
static void
run(const char *cmd, int ok1)
{
	int st = system(cmd);

	if (st == -1 || !WIFEXITED(st) || (WEXITSTATUS(st) != 0 &&
	    !(ok1 && WEXITSTATUS(st) == 1))) {
		fprintf(stderr, "status_bench: failed: %s\n", cmd);
		exit(1);
	}
}

struct result {
	size_t nodes, records;
	double json_s, text_s;
	long json_bytes;
};

static double
timed(const char *cmd, int runs)
{
	double v[MAX_RUNS], t;
	int i;

	for (i = 0; i < runs; i++) {
		t = mono();
		run(cmd, 1);
		v[i] = mono() - t;
	}
	qsort(v, (size_t)runs, sizeof(v[0]), cmp_d);
	return v[runs / 2];
}

static void
one(const char *slipway, const char *dir, size_t nodes, const struct tmpl *t,
    int runs, struct result *res)
{
	char state[512], yaml[512], cmd[2048], out[600];
	struct store *s = NULL;
	struct fill f;
	struct stat sb;
	FILE *fp;
	size_t i;
	int r;

	snprintf(state, sizeof(state), "%s/state-%zu", dir, nodes);
	snprintf(yaml, sizeof(yaml), "%s/cluster-%zu.yaml", dir, nodes);
	snprintf(out, sizeof(out), "%s/status-%zu.json", dir, nodes);
	if ((fp = fopen(yaml, "w")) == NULL) {
		perror(yaml);
		exit(1);
	}
	fprintf(fp, "apiVersion: slipway/v1\nkind: Cluster\n"
	    "apiserver:\n  vip: 192.168.0.235\nnodes:\n");
	for (i = 0; i < nodes; i++)
		fprintf(fp, "  - { name: n%05zu, ip: 10.%zu.%zu.%zu, roles: [%s] }\n",
		    i, 20 + i / 65536, (i / 256) % 256, i % 256,
		    i < 3 ? "etcd, master, worker" : "worker");
	fclose(fp);
	snprintf(cmd, sizeof(cmd), "'%s' --state '%s' init --cluster '%s' "
	    ">/dev/null", slipway, state, yaml);
	run(cmd, 0);
	if ((r = store_open(state, NULL, &s, NULL)) != 0)
		die("store_open", r);
	memset(&f, 0, sizeof(f));
	f.t = t;
	/* older generations first, so the newer ones supersede them */
	for (f.old = 1; f.old >= 0; f.old--)
		for (f.first = 0; f.first < nodes; f.first += 500) {
			f.last = f.first + 500 < nodes ? f.first + 500 : nodes;
			if ((r = store_write(s, fill_txn, &f, NULL)) != 0)
				die("store_write", r);
		}
	store_close(s);
	res->nodes = nodes;
	res->records = nodes * N_PURPOSES + (nodes + 9) / 10 * N_PURPOSES;
	snprintf(cmd, sizeof(cmd), "'%s' --state '%s' --json status >'%s'",
	    slipway, state, out);
	res->json_s = timed(cmd, runs);
	res->json_bytes = stat(out, &sb) == 0 ? (long)sb.st_size : -1;
	snprintf(cmd, sizeof(cmd), "'%s' --state '%s' status >/dev/null",
	    slipway, state);
	res->text_s = timed(cmd, runs);
	printf("%6zu nodes, %7zu records: status --json %.3f s (%.1f us/node, "
	    "%.1f MiB), text %.3f s\n", res->nodes, res->records, res->json_s,
	    res->json_s * 1e6 / (double)nodes, (double)res->json_bytes /
	    1048576.0, res->text_s);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct result res[4];
	struct tmpl t[N_PURPOSES];
	size_t sizes[4] = { 1000, 10000 }, n_sizes = 2, i;
	char tmpl[] = "/tmp/slw-status-bench-XXXXXX", cmd[600], *dir;
	int runs = 3;

	if (argc < 2) {
		fprintf(stderr, "usage: status_bench SLIPWAY [--sizes A,B] "
		    "[--runs N]\n");
		return 2;
	}
	for (i = 2; i + 1 < (size_t)argc; i += 2) {
		if (strcmp(argv[i], "--runs") == 0)
			runs = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--sizes") == 0 &&
		    sscanf(argv[i + 1], "%zu,%zu", &sizes[0], &sizes[1]) == 2)
			n_sizes = 2;
	}
	if (runs < 1 || runs > MAX_RUNS)
		runs = 3;
	if ((dir = mkdtemp(tmpl)) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	make_templates(t);
	for (i = 0; i < n_sizes; i++)
		one(argv[1], dir, sizes[i], t, runs, &res[i]);
	printf("growth %zu -> %zu nodes (x%.0f): status --json x%.2f, text x%.2f "
	    "(linear: x%.0f)\n", res[0].nodes, res[1].nodes,
	    (double)res[1].nodes / (double)res[0].nodes,
	    res[1].json_s / res[0].json_s, res[1].text_s / res[0].text_s,
	    (double)res[1].nodes / (double)res[0].nodes);
	for (i = 0; i < N_PURPOSES; i++)
		buf_free(&t[i].der);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}
