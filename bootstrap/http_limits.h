/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_limits.h: the endpoint's defences that need memory across requests
 * (ratelim.c, inflight.c, conntrack.c, loglimit.c):
 *
 *  - ratelim: failed token attempts per source address (IPv4 address or
 *    IPv6 /64), a token bucket of `burst` failures refilled at `burst` per
 *    `window` seconds; an address with an empty bucket gets 429 before its
 *    token is even looked at. Bounded table; an attacker cannot grow it.
 *  - inflight: token ids being redeemed right now, so that 20 clients racing
 *    for one token do not all render a bundle (correctness still comes from
 *    the consuming transaction).
 *  - conntrack: which connections to accept (a cap per address, a cap in
 *    all, and when that is reached, room made by evicting from the address
 *    that holds the most) and a deadline per connection for its request
 *    head and for the whole request; a sweeper shuts down connections past
 *    it, which bounds slowloris-style clients that the idle timeout alone
 *    would not.
 *  - loglimit: lines a client can cause, a few of each kind per window,
 *    the rest counted.
 */
#ifndef SLW_HTTP_LIMITS_H
#define SLW_HTTP_LIMITS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "token.h"

struct ratelim;

#define RATELIM_KEY 17	/* family byte + up to 16 address bytes */

/*
 * The key of a client address for the per-address limits: an IPv4
 * address (IPv4-mapped IPv6 too), or an IPv6 /64 (one host usually owns a
 * /64). -1 for anything else.
 */
int ratelim_key(const struct sockaddr *sa, uint8_t key[RATELIM_KEY]);
/* A hash of such a key, seeded (a random seed per table). */
uint64_t ratelim_key_hash(const uint8_t key[RATELIM_KEY], uint64_t seed);

/* burst 0 disables the limiter (every call says "not blocked"). */
int ratelim_new(unsigned int burst, unsigned int window, size_t slots,
    struct ratelim **out);
void ratelim_free(struct ratelim *rl);
/* 1 if sa may not present a token now; *retry_after gets seconds to wait. */
int ratelim_blocked(struct ratelim *rl, const struct sockaddr *sa, time_t now,
    unsigned int *retry_after);
/* Counts one failed token attempt from sa. */
void ratelim_fail(struct ratelim *rl, const struct sockaddr *sa, time_t now);

struct inflight;

int inflight_new(size_t max, struct inflight **out);
void inflight_free(struct inflight *f);
/* 0: claimed; SLW_ERR_BUSY: already being redeemed; SLW_ERR_LIMIT: full. */
int inflight_claim(struct inflight *f, const char id[TOKEN_ID_LEN + 1]);
void inflight_release(struct inflight *f, const char id[TOKEN_ID_LEN + 1]);
size_t inflight_count(struct inflight *f);

struct conntrack;
struct conn_entry;

/* conntrack_admit: */
enum {
	CT_ADMIT,		/* room for it */
	CT_EVICTED,		/* room made: another connection was shut down */
	CT_REFUSED_ADDR,	/* its address holds max_per_addr already */
	CT_REFUSED_FULL,	/* max_conns held, nobody to evict */
};

/*
 * max_conns connections in all, max_per_addr per address (IPv4 address or
 * IPv6 /64); a connection's request head must arrive within head_timeout
 * seconds of its start (connect, or the previous answer), the whole
 * request within request_timeout.
 */
int conntrack_new(unsigned int max_conns, unsigned int max_per_addr,
    unsigned int head_timeout, unsigned int request_timeout,
    struct conntrack **out);
void conntrack_free(struct conntrack *ct);
/*
 * May a connection from sa be accepted? When all max_conns are held, it
 * makes room by shutting down the oldest connection not being answered of
 * the address that holds the most, provided that holds at least two more
 * than sa's address, or sa's holds none (else CT_REFUSED_FULL). Counts
 * nothing: the accepted connection counts from conntrack_add.
 */
int conntrack_admit(struct conntrack *ct, const struct sockaddr *sa);
/* A new connection (NULL: no room, or no memory: refuse it). */
struct conn_entry *conntrack_add(struct conntrack *ct, int fd,
    const struct sockaddr *sa, time_t now);
/* Gone (called before its socket is closed). */
void conntrack_del(struct conntrack *ct, struct conn_entry *e);
/* Its request head has arrived: the rest by since + request_timeout. */
void conntrack_head(struct conntrack *ct, struct conn_entry *e);
/* A whole request has arrived: no deadline while it is answered. */
void conntrack_busy(struct conntrack *ct, struct conn_entry *e);
/* The answer is sent: the next request head by now + head_timeout. */
void conntrack_idle(struct conntrack *ct, struct conn_entry *e, time_t now);
/* Shuts down every connection past its deadline; returns how many. */
size_t conntrack_sweep(struct conntrack *ct, time_t now);
/* Connections counted (not shut down). */
size_t conntrack_count(struct conntrack *ct);

struct loglimit;

/*
 * Log lines a client can cause, by kind (label: a string that outlives the
 * limiter; kinds are told apart by its address): at most per_window lines
 * of each kind every `window` seconds; the rest are counted, and
 * loglimit_flush hands over the counts once the window is over.
 */
int loglimit_new(unsigned int per_window, unsigned int window, time_t now,
    struct loglimit **out);
void loglimit_free(struct loglimit *ll);
/* 1: write the line; 0: counted instead. */
int loglimit_allow(struct loglimit *ll, const char *label);
/* After each window: emit(cls, label, lines held back, window seconds). */
void loglimit_flush(struct loglimit *ll, time_t now,
    void (*emit)(void *cls, const char *label, unsigned long held,
    unsigned int window), void *cls);

#endif
