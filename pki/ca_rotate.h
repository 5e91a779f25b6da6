/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ca_rotate.h: rotating a CA without downtime, in steps an operator takes
 * one at a time, each one transaction:
 *
 *   idle      one generation, active
 *   begin  -> pending: a new generation is trusted (in every trust bundle)
 *             but does not sign yet; distribute the bundles
 *   advance-> advanced: the new generation signs, the old one stays
 *             trusted ("previous"); re-issue the leaves
 *   finish -> idle: the old generation is retired, out of every bundle;
 *             refused while it still has valid leaves, unless forced
 *   abort     steps back one phase (advanced -> pending -> idle)
 */
#ifndef SLW_CA_ROTATE_H
#define SLW_CA_ROTATE_H

#include "ca.h"
#include "certdb.h"

enum rotate_phase {
	ROTATE_IDLE = 0,
	ROTATE_PENDING,
	ROTATE_ADVANCED,
};

struct rotate_status {
	char name[CA_NAME_MAX];
	enum rotate_phase phase;
	uint32_t active_gen;
	uint32_t pending_gen;	/* 0 if none */
	uint32_t previous_gen;	/* 0 if none */
	uint32_t max_gen;
	size_t active_valid;	/* valid leaves signed by each */
	size_t pending_valid;
	size_t previous_valid;
	struct cert_rec example;	/* a leaf still on the previous gen */
};

const char *ca_rotate_phase_name(enum rotate_phase p);
int ca_rotate_status(struct store_txn *t, const char *name,
    struct rotate_status *st);
/* Subject of generation gen of a CA whose first subject is base. */
int ca_rotate_subject(const mbedtls_x509_crt *current, uint32_t gen,
    struct dn *out);
int ca_rotate_begin(struct store_txn *t, const char *name,
    const struct key *key, const struct buf *der, uint32_t gen);
/*
 * begin in a write transaction of its own, with its audit record: a new
 * key (the current generation's type) and a self-signed certificate valid
 * hours, named after the current one ("-genN"), sealed in the store.
 * *gen gets the new generation.
 */
int ca_rotate_begin_store(struct store *s, const char *name, uint32_t hours,
    const char *actor, uint32_t *gen, struct slw_diag *d);
int ca_rotate_advance(struct store_txn *t, const char *name);
int ca_rotate_finish(struct store_txn *t, const char *name, int force);
int ca_rotate_abort(struct store_txn *t, const char *name);

#endif
