// SPDX-License-Identifier: Apache-2.0
/*
 * bundle_bench.c: renders the bundle of every node of generated
 * inventories (3 masters that are also etcd members and workers, the rest
 * workers) of 100, 1,000 and 10,000 nodes, with one signing object and
 * every core (par_for over nodes), and prints the time per node and the
 * ratio of each size's per-node time to the smallest size's (linear
 * scaling: ratios near 1). Never asserts a time.
 *
 * usage: bundle_bench [--sizes 100,1000,10000] [--key-type ecdsa-p256]
 *        [--targz]   (also builds each bundle's tar.gz, timed separately)
 */
#define _XOPEN_SOURCE 700	/* nftw */
#include "bundle.h"
#include "cli.h"
#include "cluster.h"
#include "issue.h"
#include "rand.h"
#include "signing.h"

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct run {
	const struct inventory *inv;
	struct signing *sg;
	struct buf sa, enc, crl;
	char (*tokens)[24];
	int targz;
	size_t files, certs, bytes;
	pthread_mutex_t mu;
};

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The 1-minute load average, as a string, for the reader of the figures */
static const char *
loadavg(void)
{
	static char s[32];
	FILE *f = fopen("/proc/loadavg", "r");

	snprintf(s, sizeof(s), "unknown");
	if (f != NULL) {
		if (fscanf(f, "%31s", s) != 1)
			snprintf(s, sizeof(s), "unknown");
		fclose(f);
	}
	return s;
}

/* CPU seconds of the whole process (every thread) */
static double
cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int
rm_one(const char *p, const struct stat *st, int fl, struct FTW *f)
{
	(void)st;
	(void)fl;
	(void)f;
	return remove(p);
}

static int
write_inventory(const char *path, size_t n)
{
	FILE *f = fopen(path, "w");
	size_t i;

	if (f == NULL)
		return -1;
	fprintf(f, "apiVersion: slipway/v1\nkind: Cluster\n"
	    "cluster: {name: bench, kubernetesVersion: v1.36.0}\n"
	    "network: {serviceCIDR: 10.254.0.0/16, clusterCIDR: 172.30.0.0/16, "
	    "nodePortRange: 8400-9000, dnsServiceIP: 10.254.0.2, "
	    "dnsDomain: cluster.local., proxyMode: iptables}\n"
	    "apiserver: {vip: 192.168.255.250, vipPort: 8443, "
	    "vipInterface: eth0, securePort: 6443}\n"
	    "certificates: {keyType: ecdsa-p256}\n"
	    "nodes:\n");
	for (i = 0; i < n; i++)
		fprintf(f, "  - {name: node%05zu, ip: 10.%zu.%zu.%zu, roles: [%s]}\n",
		    i, 1 + i / 62500, (i / 250) % 250, 1 + i % 250,
		    i < 3 ? "etcd, master, worker" : "worker");
	return fclose(f);
}

static int
init_state(const char *state, const char *inv)
{
	char *argv[] = { "init", "--cluster", (char *)inv, NULL };
	struct cli c;
	int r, saved = dup(1);
	FILE *devnull = fopen("/dev/null", "w");

	memset(&c, 0, sizeof(c));
	c.state = state;
	c.cmdname = "init";
	c.argv = argv;
	c.argc = 3;
	fflush(stdout);
	if (devnull != NULL)
		dup2(fileno(devnull), 1);
	r = cmd_init(&c);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	if (devnull != NULL)
		fclose(devnull);
	return r;
}

struct secrets {
	struct buf *sa, *enc;
};

static int
secrets_txn(struct store_txn *t, void *arg)
{
	struct secrets *s = arg;
	int r;

	if ((r = store_secret_get(t, "service-account-key", s->sa)) != 0)
		return r;
	return store_secret_get(t, "encryption-key", s->enc);
}

static int
render_one(void *arg, size_t i)
{
	struct run *run = arg;
	struct bundle_input in;
	struct bundle *b = NULL;
	struct buf tgz = { 0 };
	struct slw_diag d;
	size_t k, bytes = 0;
	int r;

	slw_diag_clear(&d);
	memset(&in, 0, sizeof(in));
	in.inv = run->inv;
	in.node = &run->inv->nodes[i];
	in.sg = run->sg;
	in.kubelet_token = run->tokens[i];
	in.sa_key = &run->sa;
	in.enc_key = &run->enc;
	if (in.node->roles & ROLE_ETCD)
		in.etcd_crl = &run->crl;
	in.threads = 1;		/* the nodes are already spread over cores */
	if ((r = bundle_render(&in, &b, &d)) != 0) {
		fprintf(stderr, "bundle_bench: %s: %s\n", in.node->name,
		    slw_diag_str(&d, r));
		return r;
	}
	if (run->targz && (r = bundle_write_targz(b, &tgz, &d)) != 0) {
		bundle_free(b);
		return r;
	}
	for (k = 0; k < b->n_files; k++)
		bytes += b->files[k].data.len;
	pthread_mutex_lock(&run->mu);
	run->files += b->n_files;
	run->certs += b->n_certs;
	run->bytes += run->targz ? tgz.len : bytes;
	pthread_mutex_unlock(&run->mu);
	buf_free(&tgz);
	bundle_free(b);
	return 0;
}

int
main(int argc, char **argv)
{
	size_t sizes[8] = { 100, 1000, 10000 }, n_sizes = 3, s;
	double per_node[8], base = 0, cpu_base = 0;
	char dir[] = "/tmp/slw-bundle-bench-XXXXXX", path[4200], state[4200];
	int i, targz = 0, rc = 1;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--targz") == 0)
			targz = 1;
		else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
			char *p = argv[++i], *end;

			n_sizes = 0;
			while (*p && n_sizes < 8) {
				sizes[n_sizes++] = strtoul(p, &end, 10);
				p = *end == ',' ? end + 1 : end;
				if (end == p && *p)
					break;
			}
		} else {
			fprintf(stderr, "usage: bundle_bench [--sizes N,N,...] "
			    "[--targz]\n");
			return 2;
		}
	}
	if (slw_crypto_init() != 0 || mkdtemp(dir) == NULL)
		return 1;
	printf("bundle_bench: rendering every node's bundle (P-256 keys, "
	    "%ld CPUs, one signing object)%s\n", cpus,
	    targz ? ", plus its tar.gz" : "");
	printf("%7s %7s %7s %7s %9s %9s %7s %9s %10s %7s\n", "nodes", "certs",
	    "files", "MB", "wall s", "ms/node", "ratio", "cpu s",
	    "cpu ms/nd", "ratio");
	for (s = 0; s < n_sizes; s++) {
		struct run run;
		struct inventory *inv = NULL;
		struct store *st = NULL;
		struct store_opts o;
		struct secrets sec;
		struct slw_diag d;
		size_t k;
		double t0, t1, c0, c1;
		int r;

		memset(&run, 0, sizeof(run));
		pthread_mutex_init(&run.mu, NULL);
		slw_diag_clear(&d);
		snprintf(path, sizeof(path), "%s/cluster-%zu.yaml", dir, sizes[s]);
		snprintf(state, sizeof(state), "%s/state-%zu", dir, sizes[s]);
		if (write_inventory(path, sizes[s]) != 0 ||
		    init_state(state, path) != 0)
			goto out;
		memset(&o, 0, sizeof(o));
		o.need_kek = 1;
		sec.sa = &run.sa;
		sec.enc = &run.enc;
		if ((r = store_open(state, &o, &st, &d)) != 0 ||
		    (r = cluster_load(st, &inv, &d)) != 0 ||
		    (r = signing_local_new(st, &run.sg, &d)) != 0 ||
		    (r = store_read(st, secrets_txn, &sec, &d)) != 0 ||
		    (r = signing_crl_der(st, CA_ETCD, slw_now(), "bench",
		    &run.crl, &d)) != 0) {
			fprintf(stderr, "bundle_bench: %s\n", slw_diag_str(&d, r));
			goto out;
		}
		run.inv = inv;
		run.targz = targz;
		/* bootstrap tokens are made by the caller; any well-formed
		 * token will do for rendering */
		if ((run.tokens = calloc(inv->n_nodes, sizeof(*run.tokens))) ==
		    NULL)
			goto out;
		for (k = 0; k < inv->n_nodes; k++)
			snprintf(run.tokens[k], 24, "%06u.%016u", (unsigned)(k % 1000000),
			    (unsigned)k);
		c0 = cpu();
		t0 = mono();
		r = par_for(inv->n_nodes, 0, render_one, &run);
		t1 = mono();
		c1 = cpu();
		if (r != 0)
			goto out;
		per_node[s] = (t1 - t0) * 1000.0 / (double)inv->n_nodes;
		if (s == 0) {
			base = per_node[0];
			cpu_base = (c1 - c0) / (double)inv->n_nodes;
		}
		printf("%7zu %7zu %7zu %7.1f %9.3f %9.4f %7.2f %9.3f %10.4f %7.2f\n",
		    inv->n_nodes, run.certs, run.files,
		    (double)run.bytes / 1e6, t1 - t0, per_node[s],
		    per_node[s] / base, c1 - c0,
		    (c1 - c0) * 1000.0 / (double)inv->n_nodes,
		    (c1 - c0) / (double)inv->n_nodes / cpu_base);
		fflush(stdout);
		free(run.tokens);
		buf_free(&run.sa);
		buf_free(&run.crl);
		buf_free(&run.enc);
		signing_free(run.sg);
		inventory_free(inv);
		store_close(st);
		pthread_mutex_destroy(&run.mu);
	}
	printf("ratio = ms/node at this size / ms/node at %zu nodes (1.00 = "
	    "linear), wall and CPU;\ncpu = CPU time of all threads (wall time "
	    "also depends on what else runs on the machine: load %s)\n",
	    sizes[0], loadavg());
	rc = 0;
 out:
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
