/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ca.h: certificate authorities in the store. Each CA has generations
 * (for rotation); one is current. Private keys are sealed with the record id
 * "ca/<name>/<gen>" as associated data and never leave the appliance.
 */
#ifndef SLW_CA_H
#define SLW_CA_H

#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "cert.h"
#include "key.h"
#include "name.h"
#include "store.h"

#define CA_NAME_MAX 32

/* The three roles; in the single-CA layout all resolve to "kubernetes". */
#define CA_KUBERNETES "kubernetes"
#define CA_ETCD "etcd"
#define CA_FRONT_PROXY "front-proxy"

enum ca_state {
	CA_ACTIVE = 1,	/* signs new certificates */
	CA_PENDING = 2,	/* trusted, not yet signing (rotation) */
	CA_RETIRED = 3,	/* neither */
	CA_PREVIOUS = 4,/* trusted, no longer signing (rotation) */
};

struct ca_rec {
	char name[CA_NAME_MAX];
	uint32_t gen;
	int state;
	time_t created;
	time_t not_after;
	enum key_type key_type;
	struct buf der;
};

/* Generates a key and a self-signed CA certificate. */
int ca_make_root(const struct dn *subject, enum key_type kt, uint32_t hours,
    time_t now, struct key **key, struct buf *der, struct slw_diag *d);

/* Stores a CA generation (sealing key); refuses to overwrite one. */
int ca_put(struct store_txn *t, const struct ca_rec *rec, const struct key *key);
int ca_set_current(struct store_txn *t, const char *name, uint32_t gen);
int ca_set_state(struct store_txn *t, const char *name, uint32_t gen,
    int state);
/* Maps a role to the CA that serves it (single layout: "kubernetes"). */
int ca_resolve(struct store_txn *t, const char *role, char out[CA_NAME_MAX]);
int ca_current(struct store_txn *t, const char *name, uint32_t *gen);
int ca_get(struct store_txn *t, const char *name, uint32_t gen,
    struct ca_rec *rec);
/* Unseals the current (gen 0) or given generation of a role's CA. */
int ca_signer(struct store_txn *t, const char *role, uint32_t gen,
    struct signer **out, uint32_t *gen_out, char name_out[CA_NAME_MAX]);
int ca_foreach(struct store_txn *t,
    int (*cb)(void *arg, const struct ca_rec *rec), void *arg);
/* PEM trust bundle of every non-retired generation of role (NULL: all). */
int ca_trust_pem(struct store_txn *t, const char *role, struct buf *pem);
/* A counter bumped by every change of which CA generations sign or are
 * trusted, so long-running processes know when to reload their signers. */
int ca_epoch(struct store_txn *t, uint64_t *epoch);
int ca_epoch_bump(struct store_txn *t);
void ca_rec_free(struct ca_rec *rec);
const char *ca_state_name(int state);
int ca_name_valid(const char *name);

#endif
