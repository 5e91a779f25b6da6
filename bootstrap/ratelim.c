// SPDX-License-Identifier: Apache-2.0
/*
 * ratelim.c: the endpoint's per-address limit on failed token attempts
 * (a token bucket per address in a fixed-size, set-associative table:
 * nothing a client sends can make it grow). Keeps addresses only, never
 * a token.
 */
#include "http_limits.h"
#include "rand.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define RL_WAYS 4
#define MILLI 1000u

struct rl_entry {
	uint8_t key[RATELIM_KEY];
	uint8_t used;
	uint32_t milli;		/* tokens left, in thousandths */
	time_t last;
};

struct ratelim {
	pthread_mutex_t mu;
	struct rl_entry *e;
	size_t sets;
	uint64_t seed;
	uint32_t cap;		/* burst * MILLI */
	uint32_t per_sec;	/* refill, thousandths per second */
	unsigned int burst;
};

int
ratelim_new(unsigned int burst, unsigned int window, size_t slots,
    struct ratelim **out)
{
	struct ratelim *rl;

	*out = NULL;
	if (window == 0)
		window = 60;
	if (burst > 1000000 || slots > (1u << 24))
		return SLW_ERR_INVALID;
	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		return SLW_ERR_NOMEM;
	rl->burst = burst;
	rl->sets = slots / RL_WAYS > 0 ? slots / RL_WAYS : 1;
	rl->cap = burst * MILLI;
	rl->per_sec = (uint32_t)(((uint64_t)burst * MILLI + window - 1) / window);
	if (rl->per_sec == 0)
		rl->per_sec = 1;
	if ((rl->e = calloc(rl->sets * RL_WAYS, sizeof(*rl->e))) == NULL ||
	    slw_random(&rl->seed, sizeof(rl->seed)) != 0) {
		free(rl->e);
		free(rl);
		return SLW_ERR_NOMEM;
	}
	pthread_mutex_init(&rl->mu, NULL);
	*out = rl;
	return 0;
}

void
ratelim_free(struct ratelim *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->mu);
	free(rl->e);
	free(rl);
}

int
ratelim_key(const struct sockaddr *sa, uint8_t key[RATELIM_KEY])
{
	memset(key, 0, RATELIM_KEY);
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
			key[0] = 4;
			memcpy(key + 1, &a->sin6_addr.s6_addr[12], 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, &a->sin6_addr, 8);
		}
		return 0;
	}
	return -1;
}

uint64_t
ratelim_key_hash(const uint8_t key[RATELIM_KEY], uint64_t seed)
{
	uint64_t h = 1469598103934665603ull ^ seed;	/* FNV-1a, seeded */
	size_t i;

	for (i = 0; i < RATELIM_KEY; i++) {
		h ^= key[i];
		h *= 1099511628211ull;
	}
	return h ^ (h >> 29);
}

static size_t
rl_set(const struct ratelim *rl, const uint8_t key[RATELIM_KEY])
{
	return (size_t)(ratelim_key_hash(key, rl->seed) % rl->sets);
}

static void
refill(const struct ratelim *rl, struct rl_entry *e, time_t now)
{
	uint64_t add;

	if (now > e->last) {
		add = (uint64_t)(now - e->last) * rl->per_sec;
		e->milli = add + e->milli >= rl->cap ? rl->cap :
		    (uint32_t)(e->milli + add);
		e->last = now;
	}
}

static struct rl_entry *
rl_find(struct ratelim *rl, const uint8_t key[RATELIM_KEY], int insert, time_t now)
{
	struct rl_entry *set = rl->e + rl_set(rl, key) * RL_WAYS, *victim = NULL;
	size_t i;

	for (i = 0; i < RL_WAYS; i++)
		if (set[i].used && memcmp(set[i].key, key, RATELIM_KEY) == 0) {
			refill(rl, &set[i], now);
			return &set[i];
		}
	if (!insert)
		return NULL;
	/* Evict the least penalised entry (a free one first). */
	for (i = 0; i < RL_WAYS; i++) {
		if (!set[i].used) {
			victim = &set[i];
			break;
		}
		refill(rl, &set[i], now);
		if (victim == NULL || set[i].milli > victim->milli ||
		    (set[i].milli == victim->milli && set[i].last < victim->last))
			victim = &set[i];
	}
	memcpy(victim->key, key, RATELIM_KEY);
	victim->used = 1;
	victim->milli = rl->cap;
	victim->last = now;
	return victim;
}

int
ratelim_blocked(struct ratelim *rl, const struct sockaddr *sa, time_t now,
    unsigned int *retry_after)
{
	uint8_t key[RATELIM_KEY];
	struct rl_entry *e;
	int blocked = 0;

	*retry_after = 0;
	if (rl == NULL || rl->burst == 0 || ratelim_key(sa, key) != 0)
		return 0;
	pthread_mutex_lock(&rl->mu);
	if ((e = rl_find(rl, key, 0, now)) != NULL && e->milli < MILLI) {
		blocked = 1;
		*retry_after = (MILLI - e->milli + rl->per_sec - 1) / rl->per_sec;
		if (*retry_after == 0)
			*retry_after = 1;
	}
	pthread_mutex_unlock(&rl->mu);
	return blocked;
}

void
ratelim_fail(struct ratelim *rl, const struct sockaddr *sa, time_t now)
{
	uint8_t key[RATELIM_KEY];
	struct rl_entry *e;

	if (rl == NULL || rl->burst == 0 || ratelim_key(sa, key) != 0)
		return;
	pthread_mutex_lock(&rl->mu);
	if ((e = rl_find(rl, key, 1, now)) != NULL)
		e->milli = e->milli >= MILLI ? e->milli - MILLI : 0;
	pthread_mutex_unlock(&rl->mu);
}

