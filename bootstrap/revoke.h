/* SPDX-License-Identifier: Apache-2.0 */
/*
 * revoke.h: revoking certificates of a cluster: pki's revocation
 * (certdb_revoke.h) plus what needs the inventory: which revocations etcd
 * enforces, and the refusal to cut an etcd member off. One write
 * transaction: the records, their audit records and the re-signed CRLs.
 */
#ifndef SLW_REVOKE_H
#define SLW_REVOKE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ca.h"
#include "certdb.h"
#include "inventory.h"
#include "store.h"

struct revoke_req {
	const uint8_t *serial;	/* one certificate (SERIAL_LEN bytes), or */
	const char *node;	/* every certificate of a node */
	int reason;		/* enum crl_reason */
	int force;		/* an etcd member's current peer certificate too */
	time_t now;
	const char *actor;
};

struct revoke_cert {
	struct cert_rec rec;	/* as revoked; without its DER */
	int etcd;		/* presented to etcd: its CRL files enforce it */
};

struct revoke_crl {
	char ca[CA_NAME_MAX];
	uint32_t gen;
	uint64_t number;
	size_t n_entries;
	time_t next_update;
};

#define REVOKE_MAX_CRLS 16

struct revoke_result {
	struct revoke_cert *certs;
	size_t n;
	struct revoke_crl crls[REVOKE_MAX_CRLS];	/* the CRLs that list them */
	size_t n_crls;
};

/*
 * Revokes q's certificate(s) and re-signs every due CRL, in one write
 * transaction. Refused with one line in d, nothing changed: what
 * certdb_revoke and certdb_revoke_node refuse, and (unless q->force) an
 * etcd member's current peer certificate: its peers check --peer-crl-file
 * and would cut it off at their next connection.
 */
int revoke_run(struct store *s, const struct inventory *inv,
    const struct revoke_req *q, struct revoke_result *out,
    struct slw_diag *d);
void revoke_result_free(struct revoke_result *r);
/*
 * 1 for the purposes of certificates presented to etcd (the bundles', the
 * seed set's, the fleet engine's etcd client), whose revocation etcd's
 * CRL files enforce; every other certificate goes to Kubernetes
 * components or to slipway, which check no CRL.
 */
int revoke_purpose_etcd(const char *purpose);

#endif
