// SPDX-License-Identifier: Apache-2.0
/*
 * inflight.c: the endpoint's in-flight redemption guard: one redemption
 * per token id at a time, in a fixed-size table. Keeps public token ids
 * only, never a token secret.
 */
#include "http_limits.h"
#include "rand.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct inflight {
	pthread_mutex_t mu;
	char (*ids)[TOKEN_ID_LEN + 1];
	size_t max, n;
};

int
inflight_new(size_t max, struct inflight **out)
{
	struct inflight *f;

	*out = NULL;
	if (max == 0 || max > 65536)
		return SLW_ERR_INVALID;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return SLW_ERR_NOMEM;
	if ((f->ids = calloc(max, sizeof(*f->ids))) == NULL) {
		free(f);
		return SLW_ERR_NOMEM;
	}
	f->max = max;
	pthread_mutex_init(&f->mu, NULL);
	*out = f;
	return 0;
}

void
inflight_free(struct inflight *f)
{
	if (f == NULL)
		return;
	pthread_mutex_destroy(&f->mu);
	free(f->ids);
	free(f);
}

int
inflight_claim(struct inflight *f, const char id[TOKEN_ID_LEN + 1])
{
	size_t i;
	int r = 0;

	pthread_mutex_lock(&f->mu);
	for (i = 0; i < f->n; i++)
		if (memcmp(f->ids[i], id, TOKEN_ID_LEN) == 0) {
			r = SLW_ERR_BUSY;
			goto out;
		}
	if (f->n == f->max) {
		r = SLW_ERR_LIMIT;
		goto out;
	}
	memcpy(f->ids[f->n], id, TOKEN_ID_LEN);
	f->ids[f->n][TOKEN_ID_LEN] = '\0';
	f->n++;
 out:
	pthread_mutex_unlock(&f->mu);
	return r;
}

void
inflight_release(struct inflight *f, const char id[TOKEN_ID_LEN + 1])
{
	size_t i;

	pthread_mutex_lock(&f->mu);
	for (i = 0; i < f->n; i++)
		if (memcmp(f->ids[i], id, TOKEN_ID_LEN) == 0) {
			f->n--;
			if (i != f->n)
				memcpy(f->ids[i], f->ids[f->n], sizeof(f->ids[i]));
			break;
		}
	pthread_mutex_unlock(&f->mu);
}

size_t
inflight_count(struct inflight *f)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = f->n;
	pthread_mutex_unlock(&f->mu);
	return n;
}

