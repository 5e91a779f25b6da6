// SPDX-License-Identifier: Apache-2.0
/*
 * rand.c: PSA crypto initialisation, random bytes and the clock seam.
 * Must never fall back to a weak random source: a PSA failure is an error.
 */
#include "rand.h"
#include "err.h"

#include <pthread.h>
#include <psa/crypto.h>
#include <mbedtls/psa_util.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static psa_status_t init_status = PSA_ERROR_BAD_STATE;
static time_t (*clock_fn)(void);

static void
do_init(void)
{
	init_status = psa_crypto_init();
}

int
slw_crypto_init(void)
{
	pthread_once(&init_once, do_init);
	return init_status == PSA_SUCCESS ? 0 : SLW_ERR_CRYPTO;
}

int
slw_random(void *p, size_t len)
{
	if (slw_crypto_init() != 0)
		return SLW_ERR_CRYPTO;
	if (psa_generate_random(p, len) != PSA_SUCCESS)
		return SLW_ERR_CRYPTO;
	return 0;
}

int
slw_rng(void *p_rng, unsigned char *out, size_t len)
{
	(void)p_rng;
	return mbedtls_psa_get_random(MBEDTLS_PSA_RANDOM_STATE, out, len);
}

time_t
slw_now(void)
{
	if (clock_fn != NULL)
		return clock_fn();
	return time(NULL);
}

void
slw_clock_set(time_t (*fn)(void))
{
	clock_fn = fn;
}

int
slw_memeq_ct(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;
	size_t i;

	for (i = 0; i < len; i++)
		d |= x[i] ^ y[i];
	return d != 0;
}
