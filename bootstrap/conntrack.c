// SPDX-License-Identifier: Apache-2.0
/*
 * conntrack.c: which connections the endpoint accepts (a cap per address,
 * a cap in all and, at that cap, room made by evicting from the address
 * that holds the most) and their deadlines (request head, whole request;
 * the sweeper shuts down those past them). Holds file descriptors,
 * addresses and times only, nothing a client sent.
 */
#include "http_limits.h"
#include "rand.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct conn_entry {
	int fd;
	uint8_t key[RATELIM_KEY];	/* its address (ratelim_key) */
	time_t since;		/* connected, or its last answer sent */
	time_t deadline;	/* 0: busy (a request is being answered) */
	int shut;		/* shut down: no longer counted */
	struct conn_entry *prev, *next;	/* oldest first */
};

struct addr_slot {
	uint8_t key[RATELIM_KEY];
	uint8_t used;
	uint32_t n;		/* its connections not shut down */
};

struct conntrack {
	pthread_mutex_t mu;
	struct conn_entry *head, *tail;
	size_t n;		/* entries */
	size_t live;		/* entries not shut down */
	unsigned int max_conns, max_per_addr, head_timeout, request_timeout;
	struct addr_slot *slots;
	size_t mask;		/* slots - 1, a power of two minus one */
	uint64_t seed;
};

static size_t
slot_home(const struct conntrack *ct, const uint8_t key[RATELIM_KEY])
{
	return (size_t)ratelim_key_hash(key, ct->seed) & ct->mask;
}

/* Linear probing; the table is at most half full, so a free slot ends it. */
static struct addr_slot *
slot_find(struct conntrack *ct, const uint8_t key[RATELIM_KEY], int insert)
{
	size_t i = slot_home(ct, key);

	while (ct->slots[i].used) {
		if (memcmp(ct->slots[i].key, key, RATELIM_KEY) == 0)
			return &ct->slots[i];
		i = (i + 1) & ct->mask;
	}
	if (!insert)
		return NULL;
	memcpy(ct->slots[i].key, key, RATELIM_KEY);
	ct->slots[i].used = 1;
	ct->slots[i].n = 0;
	return &ct->slots[i];
}

/* Removes slot i, moving later entries of its run back (no tombstones). */
static void
slot_del(struct conntrack *ct, size_t i)
{
	size_t j = i, k;

	ct->slots[i].used = 0;
	for (;;) {
		j = (j + 1) & ct->mask;
		if (!ct->slots[j].used)
			return;
		k = slot_home(ct, ct->slots[j].key);
		/* stays if its home lies cyclically in (i, j] */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		ct->slots[i] = ct->slots[j];
		ct->slots[j].used = 0;
		i = j;
	}
}

/* e no longer counts: shut down, or gone. */
static void
uncount(struct conntrack *ct, struct conn_entry *e)
{
	struct addr_slot *a;

	if (e->shut)
		return;
	e->shut = 1;
	ct->live--;
	if ((a = slot_find(ct, e->key, 0)) != NULL && --a->n == 0)
		slot_del(ct, (size_t)(a - ct->slots));
}

static void
entry_key(const struct sockaddr *sa, uint8_t key[RATELIM_KEY])
{
	if (ratelim_key(sa, key) != 0)
		memset(key, 0, RATELIM_KEY);	/* not IP: one shared key */
}

int
conntrack_new(unsigned int max_conns, unsigned int max_per_addr,
    unsigned int head_timeout, unsigned int request_timeout,
    struct conntrack **out)
{
	struct conntrack *ct;
	size_t slots = 64;

	*out = NULL;
	if (max_conns == 0 || max_conns > (1u << 20) || max_per_addr == 0)
		return SLW_ERR_INVALID;
	/* room for every connection libmicrohttpd may hold (http_server.c
	 * lets it hold up to twice max_conns), at most half full */
	while (slots < 4 * ((size_t)max_conns + 64))
		slots *= 2;
	if ((ct = calloc(1, sizeof(*ct))) == NULL)
		return SLW_ERR_NOMEM;
	if ((ct->slots = calloc(slots, sizeof(*ct->slots))) == NULL ||
	    slw_random(&ct->seed, sizeof(ct->seed)) != 0) {
		free(ct->slots);
		free(ct);
		return SLW_ERR_NOMEM;
	}
	ct->mask = slots - 1;
	ct->max_conns = max_conns;
	ct->max_per_addr = max_per_addr;
	ct->head_timeout = head_timeout;
	ct->request_timeout = request_timeout;
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
	free(ct->slots);
	free(ct);
}

/*
 * Whom to evict for a newcomer whose address holds `mine` connections:
 * the oldest connection that is not being answered, of the address that
 * holds the most (the oldest such on a tie), if that address holds at
 * least two more than the newcomer's, or any at all when the newcomer's
 * holds none. So a flood from any set of addresses loses its own
 * connections first, an address that holds nothing always gets in (from
 * more addresses than there are slots too: the flood's oldest goes, and a
 * new connection is the last in line), and addresses holding about as
 * many as each other do not evict each other in turn (a refusal costs
 * nothing; an eviction, a TLS handshake).
 */
static struct conn_entry *
victim(struct conntrack *ct, uint32_t mine)
{
	struct conn_entry *e, *best = NULL;
	struct addr_slot *a;
	uint32_t best_n = 0;

	for (e = ct->head; e != NULL; e = e->next) {
		if (e->shut || e->deadline == 0)
			continue;
		if ((a = slot_find(ct, e->key, 0)) != NULL && a->n > best_n) {
			best_n = a->n;
			best = e;
		}
	}
	if (best == NULL || best_n < (mine == 0 ? 1 : mine + 2))
		return NULL;
	return best;
}

int
conntrack_admit(struct conntrack *ct, const struct sockaddr *sa)
{
	uint8_t key[RATELIM_KEY];
	struct addr_slot *a;
	struct conn_entry *v;
	uint32_t mine;
	int r;

	entry_key(sa, key);
	pthread_mutex_lock(&ct->mu);
	a = slot_find(ct, key, 0);
	mine = a != NULL ? a->n : 0;
	if (mine >= ct->max_per_addr)
		r = CT_REFUSED_ADDR;
	else if (ct->live < ct->max_conns)
		r = CT_ADMIT;
	else if ((v = victim(ct, mine)) != NULL) {
		/* its event loop sees EOF and closes it the usual way */
		shutdown(v->fd, SHUT_RDWR);
		uncount(ct, v);
		r = CT_EVICTED;
	} else
		r = CT_REFUSED_FULL;
	pthread_mutex_unlock(&ct->mu);
	return r;
}

struct conn_entry *
conntrack_add(struct conntrack *ct, int fd, const struct sockaddr *sa,
    time_t now)
{
	struct conn_entry *e;
	struct addr_slot *a;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->fd = fd;
	entry_key(sa, e->key);
	e->since = now;
	e->deadline = now + ct->head_timeout;
	pthread_mutex_lock(&ct->mu);
	if (ct->n >= (ct->mask + 1) / 2 ||
	    (a = slot_find(ct, e->key, 1)) == NULL) {
		pthread_mutex_unlock(&ct->mu);
		free(e);
		return NULL;
	}
	a->n++;
	ct->live++;
	ct->n++;
	e->prev = ct->tail;
	if (ct->tail != NULL)
		ct->tail->next = e;
	else
		ct->head = e;
	ct->tail = e;
	pthread_mutex_unlock(&ct->mu);
	return e;
}

void
conntrack_del(struct conntrack *ct, struct conn_entry *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&ct->mu);
	uncount(ct, e);
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		ct->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		ct->tail = e->prev;
	ct->n--;
	pthread_mutex_unlock(&ct->mu);
	free(e);
}

void
conntrack_head(struct conntrack *ct, struct conn_entry *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&ct->mu);
	if (e->deadline != 0)
		e->deadline = e->since + ct->request_timeout;
	pthread_mutex_unlock(&ct->mu);
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
conntrack_idle(struct conntrack *ct, struct conn_entry *e, time_t now)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&ct->mu);
	e->since = now;
	e->deadline = now + ct->head_timeout;
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
			uncount(ct, e);
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
	n = ct->live;
	pthread_mutex_unlock(&ct->mu);
	return n;
}
