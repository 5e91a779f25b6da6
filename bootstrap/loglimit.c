// SPDX-License-Identifier: Apache-2.0
/*
 * loglimit.c: a limit on the log lines a client can cause at will (a few
 * of each kind per window, the rest counted and summed up once the window
 * is over), so that no flood can fill the log. Keeps labels and counts
 * only, never a line's text.
 */
#include "http_limits.h"

#include <stdlib.h>

#define LL_KINDS 32

struct ll_kind {
	const char *label;
	unsigned int shown;
	unsigned long held;
};

struct loglimit {
	pthread_mutex_t mu;
	unsigned int per_window, window;
	time_t start;
	struct ll_kind k[LL_KINDS];
};

int
loglimit_new(unsigned int per_window, unsigned int window, time_t now,
    struct loglimit **out)
{
	struct loglimit *ll;

	*out = NULL;
	if (window == 0)
		return SLW_ERR_INVALID;
	if ((ll = calloc(1, sizeof(*ll))) == NULL)
		return SLW_ERR_NOMEM;
	ll->per_window = per_window;
	ll->window = window;
	ll->start = now;
	pthread_mutex_init(&ll->mu, NULL);
	*out = ll;
	return 0;
}

void
loglimit_free(struct loglimit *ll)
{
	if (ll == NULL)
		return;
	pthread_mutex_destroy(&ll->mu);
	free(ll);
}

int
loglimit_allow(struct loglimit *ll, const char *label)
{
	struct ll_kind *k = NULL;
	size_t i;
	int r;

	pthread_mutex_lock(&ll->mu);
	for (i = 0; i < LL_KINDS; i++)
		if (ll->k[i].label == label || ll->k[i].label == NULL) {
			k = &ll->k[i];
			break;
		}
	if (k == NULL)		/* more kinds than slots: the last one shares */
		k = &ll->k[LL_KINDS - 1];
	else if (k->label == NULL)
		k->label = label;
	if (k->shown < ll->per_window) {
		k->shown++;
		r = 1;
	} else {
		k->held++;
		r = 0;
	}
	pthread_mutex_unlock(&ll->mu);
	return r;
}

void
loglimit_flush(struct loglimit *ll, time_t now,
    void (*emit)(void *cls, const char *label, unsigned long held,
    unsigned int window), void *cls)
{
	struct {
		const char *label;
		unsigned long held;
	} out[LL_KINDS];
	size_t i, n = 0;
	unsigned int window;

	pthread_mutex_lock(&ll->mu);
	if (now < ll->start + (time_t)ll->window) {
		pthread_mutex_unlock(&ll->mu);
		return;
	}
	window = (unsigned int)(now - ll->start);
	for (i = 0; i < LL_KINDS; i++) {
		if (ll->k[i].held > 0) {
			out[n].label = ll->k[i].label;
			out[n].held = ll->k[i].held;
			n++;
		}
		ll->k[i].shown = 0;
		ll->k[i].held = 0;
	}
	ll->start = now;
	pthread_mutex_unlock(&ll->mu);
	for (i = 0; i < n; i++)
		emit(cls, out[i].label, out[i].held, window);
}
