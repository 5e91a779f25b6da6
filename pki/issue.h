/* SPDX-License-Identifier: Apache-2.0 */
/*
 * issue.h: one leaf issuance in memory: a fresh key pair, a random serial
 * and a signed certificate, ready to be recorded in the store. Also a small
 * parallel runner so independent issuances use every core.
 */
#ifndef SLW_ISSUE_H
#define SLW_ISSUE_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "cert.h"
#include "key.h"

struct issued {
	struct key *key;	/* the new private key (NULL if the caller's) */
	uint8_t serial[SERIAL_LEN];
	struct buf der;
};

/*
 * Generates a key of type kt (unless subject_pub is given, e.g. from a CSR)
 * and signs t with ca.
 */
int issue_leaf(const struct cert_template *t, enum key_type kt,
    const struct key *subject_pub, const struct signer *ca, time_t now,
    struct issued *out, struct slw_diag *d);
void issue_free(struct issued *i);

/*
 * Runs fn(arg, i) for i in [0, n) on up to nthreads threads (0: number of
 * online CPUs; par.c). Returns the first non-zero result, after all have run.
 */
int par_for(size_t n, unsigned int nthreads, int (*fn)(void *arg, size_t i),
    void *arg);

#endif
