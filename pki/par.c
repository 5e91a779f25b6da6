// SPDX-License-Identifier: Apache-2.0
/*
 * par.c: a parallel for over n items with a fixed number of threads
 * (slow RSA key generation at init, bundles of many nodes).
 */
#include "issue.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
