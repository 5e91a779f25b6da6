// SPDX-License-Identifier: Apache-2.0
/*
 * issue.c: key generation plus signing for one leaf, and the parallel
 * runner. Keys made here are wiped by issued_free on every path.
 */
#include "issue.h"
#include "certdb.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
issued_free(struct issued *i)
{
	if (i == NULL)
		return;
	key_free(i->key);
	i->key = NULL;
	buf_free(&i->der);
}

int
issue_leaf(const struct cert_template *t, enum key_type kt,
    const struct key *subject_pub, const struct signer *ca, time_t now,
    struct issued *out, struct slw_diag *d)
{
	const struct key *subj;
	int r;

	memset(out, 0, sizeof(*out));
	if (subject_pub == NULL) {
		if ((r = key_generate(kt, &out->key)) != 0)
			return slw_diag(d, r, "key generation failed");
		subj = out->key;
	} else
		subj = subject_pub;
	if ((r = certdb_serial_new(out->serial)) != 0)
		goto out;
	r = cert_sign(t, subj, ca, out->serial, now, &out->der, d);
 out:
	if (r != 0)
		issued_free(out);
	return r;
}

struct par {
	size_t n, next;
	int (*fn)(void *, size_t);
	void *arg;
	int result;
	pthread_mutex_t mu;
};

static void *
par_worker(void *p)
{
	struct par *par = p;
	size_t i;
	int r;

	for (;;) {
		pthread_mutex_lock(&par->mu);
		i = par->next++;
		pthread_mutex_unlock(&par->mu);
		if (i >= par->n)
			return NULL;
		r = par->fn(par->arg, i);
		if (r != 0) {
			pthread_mutex_lock(&par->mu);
			if (par->result == 0)
				par->result = r;
			pthread_mutex_unlock(&par->mu);
		}
	}
}

int
par_for(size_t n, unsigned int nthreads, int (*fn)(void *arg, size_t i),
    void *arg)
{
	struct par par = { n, 0, fn, arg, 0, PTHREAD_MUTEX_INITIALIZER };
	pthread_t th[64];
	unsigned int i, started = 0;
	long cpus;

	if (nthreads == 0) {
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		nthreads = cpus > 0 ? (unsigned int)cpus : 1;
	}
	if (nthreads > 64)
		nthreads = 64;
	if (nthreads > n)
		nthreads = (unsigned int)n;
	for (i = 1; i < nthreads; i++)
		if (pthread_create(&th[started], NULL, par_worker, &par) == 0)
			started++;
	par_worker(&par);
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&par.mu);
	return par.result;
}
