/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signer_set.h: the narrow signing interface of the appliance: the current
 * signers of the three CA roles, and recording an issuance (certificate
 * record + audit entry) in the caller's transaction. Code that parses
 * network input talks to this, never to CA keys directly, so the signers
 * can move into a separate process without touching it.
 */
#ifndef SLW_SIGNER_SET_H
#define SLW_SIGNER_SET_H

#include "ca.h"
#include "issue.h"
#include "store.h"

enum { ROLE_CA_KUBERNETES, ROLE_CA_ETCD, ROLE_CA_FRONT_PROXY, ROLE_CA__COUNT };

struct signer_set {
	struct signer *s[ROLE_CA__COUNT];
	char name[ROLE_CA__COUNT][CA_NAME_MAX];
	uint32_t gen[ROLE_CA__COUNT];
};

int signer_set_load(struct store *s, struct signer_set *out,
    struct slw_diag *d);
int signer_set_load_txn(struct store_txn *t, struct signer_set *out);
/* role: CA_KUBERNETES, CA_ETCD or CA_FRONT_PROXY. NULL if unknown. */
const struct signer *signer_set_get(const struct signer_set *ss,
    const char *role, const char **name, uint32_t *gen);
void signer_set_free(struct signer_set *ss);

/* Records one issued certificate and its audit entry. */
int signer_set_record(struct store_txn *t, const struct issued *iss,
    const char *ca_name, uint32_t ca_gen, const char *profile,
    const char *node, const char *purpose, const char *actor);

#endif
