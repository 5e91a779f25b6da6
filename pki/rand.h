/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rand.h: crypto start-up, the random source, and the clock seam.
 */
#ifndef SLW_RAND_H
#define SLW_RAND_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Initialises PSA crypto once; safe to call many times, from any thread. */
int slw_crypto_init(void);
/* Fills p with len cryptographically secure random bytes. */
int slw_random(void *p, size_t len);
/* mbedTLS RNG callback (p_rng is ignored). */
int slw_rng(void *p_rng, unsigned char *out, size_t len);

/* Seconds since the epoch; tests may replace the clock. */
time_t slw_now(void);
/* Test seam: fn == NULL restores the real clock. */
void slw_clock_set(time_t (*fn)(void));

/* Constant-time comparison: 0 if equal. */
int slw_memeq_ct(const void *a, const void *b, size_t len);

#endif
