// SPDX-License-Identifier: Apache-2.0
/*
 * conntrack.c: the endpoint's per-connection request deadlines (a list of
 * open connections the sweeper shuts when their deadline passes). Holds
 * file descriptors and times only, nothing a client sent.
 */
#include "http_limits.h"
#include "rand.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct conn_entry {
	int fd;
	time_t deadline;	/* 0: busy (a request is being answered) */
	int shut;
	struct conn_entry *prev, *next;
};

struct conntrack {
	pthread_mutex_t mu;
	struct conn_entry *head;
	size_t n;
};

int
conntrack_new(struct conntrack **out)
{
	struct conntrack *ct;

	*out = NULL;
	if ((ct = calloc(1, sizeof(*ct))) == NULL)
		return SLW_ERR_NOMEM;
	pthread_mutex_init(&ct->mu, NULL);
	*out = ct;
	return 0;
}

void
conntrack_free(struct conntrack *ct)
{
	struct conn_entry *e, *next;

	if (ct == NULL)
		return;
	for (e = ct->head; e != NULL; e = next) {
		next = e->next;
		free(e);
	}
	pthread_mutex_destroy(&ct->mu);
	free(ct);
}

struct conn_entry *
conntrack_add(struct conntrack *ct, int fd, time_t deadline)
{
	struct conn_entry *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->fd = fd;
	e->deadline = deadline;
	pthread_mutex_lock(&ct->mu);
	e->next = ct->head;
	if (ct->head != NULL)
		ct->head->prev = e;
	ct->head = e;
	ct->n++;
	pthread_mutex_unlock(&ct->mu);
	return e;
}

void
conntrack_del(struct conntrack *ct, struct conn_entry *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&ct->mu);
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		ct->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	ct->n--;
	pthread_mutex_unlock(&ct->mu);
	free(e);
}

void
conntrack_busy(struct conntrack *ct, struct conn_entry *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&ct->mu);
	e->deadline = 0;
	pthread_mutex_unlock(&ct->mu);
}

void
conntrack_idle(struct conntrack *ct, struct conn_entry *e, time_t deadline)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&ct->mu);
	e->deadline = deadline;
	pthread_mutex_unlock(&ct->mu);
}

size_t
conntrack_sweep(struct conntrack *ct, time_t now)
{
	struct conn_entry *e;
	size_t n = 0;

	pthread_mutex_lock(&ct->mu);
	for (e = ct->head; e != NULL; e = e->next)
		if (e->deadline != 0 && now >= e->deadline && !e->shut) {
			/* The event loop sees EOF and closes it the usual way;
			 * the entry (and so the fd) stays ours until then. */
			shutdown(e->fd, SHUT_RDWR);
			e->shut = 1;
			n++;
		}
	pthread_mutex_unlock(&ct->mu);
	return n;
}

size_t
conntrack_count(struct conntrack *ct)
{
	size_t n;

	pthread_mutex_lock(&ct->mu);
	n = ct->n;
	pthread_mutex_unlock(&ct->mu);
	return n;
}
