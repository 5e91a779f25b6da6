// SPDX-License-Identifier: Apache-2.0
/*
 * parallel.c: bounded parallelism over nodes: at most par threads, each
 * taking the next node until none is left. Knows nothing about what is
 * done on a node; never more threads than FLEET_PARALLEL_MAX or nodes.
 */
#include "fleet.h"

#include <stdlib.h>
#include <string.h>

#define FLEET_PARALLEL_MAX 256

struct pool {
	const struct inv_node *const *nodes;
	size_t n, next;
	pthread_mutex_t mu;
	void (*fn)(void *arg, const struct inv_node *node);
	void *arg;
};

static void *
pool_worker(void *arg)
{
	struct pool *pl = arg;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&pl->mu);
		i = pl->next < pl->n ? pl->next++ : pl->n;
		pthread_mutex_unlock(&pl->mu);
		if (i >= pl->n)
			return NULL;
		pl->fn(pl->arg, pl->nodes[i]);
	}
}

int
fleet_parallel(const struct inv_node *const *nodes, size_t n, int par,
    void (*fn)(void *arg, const struct inv_node *node), void *arg)
{
	pthread_t th[FLEET_PARALLEL_MAX];
	struct pool pl;
	size_t i, nth;

	memset(&pl, 0, sizeof(pl));
	pl.nodes = nodes;
	pl.n = n;
	pl.fn = fn;
	pl.arg = arg;
	pthread_mutex_init(&pl.mu, NULL);
	if (par < 1)
		par = 1;
	if (par > FLEET_PARALLEL_MAX)
		par = FLEET_PARALLEL_MAX;
	nth = n < (size_t)par ? n : (size_t)par;
	for (i = 0; i < nth; i++)
		if (pthread_create(&th[i], NULL, pool_worker, &pl) != 0)
			break;
	/* no thread at all: this one does the work */
	if (i == 0 && nth > 0)
		pool_worker(&pl);
	nth = i;
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&pl.mu);
	return 0;
}
