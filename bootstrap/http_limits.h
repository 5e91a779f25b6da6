/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_limits.h: the endpoint's defences that need memory across requests
 * (ratelim.c, inflight.c, conntrack.c):
 *
 *  - ratelim: failed token attempts per source address (IPv4 address or
 *    IPv6 /64), a token bucket of `burst` failures refilled at `burst` per
 *    `window` seconds; an address with an empty bucket gets 429 before its
 *    token is even looked at. Bounded table; an attacker cannot grow it.
 *  - inflight: token ids being redeemed right now, so that 20 clients racing
 *    for one token do not all render a bundle (correctness still comes from
 *    the consuming transaction).
 *  - conntrack: a deadline per connection for receiving a whole request
 *    (headers and body); a sweeper shuts down connections past it, which
 *    bounds slowloris-style clients that the idle timeout alone would not.
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

int conntrack_new(struct conntrack **out);
void conntrack_free(struct conntrack *ct);
/* A new connection: its deadline for a complete request is now + secs. */
struct conn_entry *conntrack_add(struct conntrack *ct, int fd, time_t deadline);
/* Gone (called before its socket is closed). */
void conntrack_del(struct conntrack *ct, struct conn_entry *e);
/* A whole request has arrived: no deadline while it is answered. */
void conntrack_busy(struct conntrack *ct, struct conn_entry *e);
/* The answer is sent: the next request must arrive by deadline. */
void conntrack_idle(struct conntrack *ct, struct conn_entry *e,
    time_t deadline);
/* Shuts down every connection past its deadline; returns how many. */
size_t conntrack_sweep(struct conntrack *ct, time_t now);
size_t conntrack_count(struct conntrack *ct);

#endif
