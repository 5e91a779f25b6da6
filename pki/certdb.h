/* SPDX-License-Identifier: Apache-2.0 */
/*
 * certdb.h: the record of every certificate slipway issued, by serial, with
 * an index by expiry. Serials are 128 random bits; the store refuses a
 * serial it has seen before.
 */
#ifndef SLW_CERTDB_H
#define SLW_CERTDB_H

#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "cert.h"
#include "store.h"

enum cert_status {
	CERT_VALID = 1,
	CERT_REVOKED = 2,
	CERT_SUPERSEDED = 3,
};

struct cert_rec {
	uint8_t serial[SERIAL_LEN];
	char ca[32];		/* issuing CA name */
	uint32_t ca_gen;	/* and generation */
	char profile[PROFILE_NAME_MAX];
	char subject[512];
	char node[64];		/* owning node, "" if none */
	char purpose[64];	/* "etcd-server", "kubelet-client", "seed:admin" */
	time_t not_before;
	time_t not_after;
	int status;
	time_t status_time;	/* when superseded or revoked; 0 if valid */
	int reason;		/* enum crl_reason, if revoked */
	struct buf der;
};

/* 16 random bytes, first byte non-zero (a minimal positive INTEGER). */
int certdb_serial_new(uint8_t serial[SERIAL_LEN]);
/*
 * Records an issued certificate (subject and dates are read from der).
 * SLW_ERR_EXISTS if the serial is already used. A certificate with a node
 * and a purpose replaces the one that node held for that purpose: earlier
 * valid ones are marked CERT_SUPERSEDED.
 */
int certdb_add(struct store_txn *t, struct cert_rec *rec);
int certdb_get(struct store_txn *t, const uint8_t serial[SERIAL_LEN],
    struct cert_rec *rec);
/*
 * Marks a certificate superseded (or valid again); a revoked certificate
 * stays revoked (SLW_ERR_DENIED): revocation is final and only
 * certdb_revoke sets it.
 */
int certdb_set_status(struct store_txn *t, const uint8_t serial[SERIAL_LEN],
    int status, time_t when);
/* Rewrites a record (same serial) as given, e.g. after a revocation. */
int certdb_put(struct store_txn *t, const struct cert_rec *rec);
/* In order of expiry, soonest first. cb gets a record valid for the call. */
int certdb_foreach(struct store_txn *t,
    int (*cb)(void *arg, const struct cert_rec *rec), void *arg);
/*
 * Counts valid (not expired, not superseded) certificates issued by one
 * CA generation; fills example with one of them if any. The appliance's
 * own session credentials are not counted: no owner and a lifetime of at
 * most CERTDB_SESSION_SECONDS (the approver's and the fleet's API and etcd
 * clients, made afresh from the signing generation for each session).
 */
#define CERTDB_SESSION_SECONDS 86400
int certdb_count_valid_by_ca(struct store_txn *t, const char *ca,
    uint32_t gen, time_t now, size_t *n, struct cert_rec *example);
void certdb_rec_free(struct cert_rec *rec);
const char *certdb_status_name(int status);
/* The owning node, or "-" for the appliance's and operators' own
 * certificates (no node, or an owner such as serve's "(serve)"). */
const char *certdb_rec_node(const struct cert_rec *rec);
/* 1 for a CA certificate's record (CA generations are recorded too). */
int certdb_rec_is_ca(const struct cert_rec *rec);
/* 32 hex digits (either case, ':' separators allowed) to a serial. */
int certdb_serial_parse(const char *hex, uint8_t serial[SERIAL_LEN]);

#endif
