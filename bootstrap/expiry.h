/* SPDX-License-Identifier: Apache-2.0 */
/*
 * expiry.h: the fleet-wide expiry view: every CA generation and every
 * recorded certificate, grouped by owner (a node, the appliance, an
 * operator) and purpose, with which one is in use, which expire within the
 * warning window, and when each is due for renewal. `slipway status` and
 * the metrics listener read the same view.
 *
 * "In use" is the newest (latest notBefore) valid certificate of each
 * owner and purpose: what that owner holds now. Superseded and revoked
 * certificates are listed but never in use. Two kinds of record are never
 * in use either: the appliance's own session credentials (no owner and a
 * lifetime of at most EXPIRY_SESSION_SECONDS: made fresh for each run) and
 * certificates of nodes that are no longer in the inventory.
 *
 * The admin kubeconfigs are owned by "(admin:NAME)", NAME the operator
 * they were handed to (`slipway kubeconfig admin --for NAME`); each
 * operator's newest one is in use, since they live off the appliance.
 */
#ifndef SLW_EXPIRY_H
#define SLW_EXPIRY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "ca.h"
#include "certdb.h"
#include "inventory.h"
#include "store.h"

#define EXPIRY_SESSION_SECONDS CERTDB_SESSION_SECONDS	/* at most: a session credential */
#define EXPIRY_KUBECONFIG_PURPOSE "admin-kubeconfig"
#define EXPIRY_ADMIN_OWNER "(admin:"	/* "(admin:NAME)" */

enum expiry_flag {
	EXP_IN_USE = 0x01,	/* the newest valid one of its owner and purpose */
	EXP_WARN = 0x02,	/* in use and ends within the warning window */
	EXP_EXPIRED = 0x04,	/* notAfter has passed */
	EXP_DUE = 0x08,		/* in use and past its renewal time */
	EXP_SESSION = 0x10,	/* the appliance's session credential */
	EXP_KUBECONFIG = 0x20,	/* an admin kubeconfig */
	EXP_GONE = 0x40,	/* its node is not in the inventory */
};

struct expiry_policy {
	time_t now;
	uint64_t warn_seconds;		/* the warning window */
	uint32_t renew_num, renew_den;	/* renew after num/den of lifetime */
};

struct expiry_cert {
	uint8_t serial[SERIAL_LEN];
	char ca[CA_NAME_MAX];
	uint32_t ca_gen;
	char owner[64];			/* cert_rec.node as recorded */
	char purpose[64];
	time_t not_before, not_after;
	time_t status_time;		/* superseded or revoked at */
	time_t renew_at;		/* not_before + lifetime * num / den */
	int status;			/* enum cert_status */
	int reason;			/* enum crl_reason, if revoked */
	unsigned int flags;		/* EXP_* */
};

struct expiry_ca {
	char name[CA_NAME_MAX];
	uint32_t gen;
	int state;			/* enum ca_state */
	time_t not_after;
	char serial_hex[65];		/* "" if its certificate did not parse */
	unsigned int flags;		/* EXP_IN_USE (not retired), WARN, EXPIRED */
};

struct expiry_view {
	struct expiry_policy pol;
	struct expiry_cert *certs;	/* by owner, purpose, newest first */
	size_t n, cap;
	struct expiry_ca *cas;		/* by name, generation */
	size_t n_ca, cap_ca;
	/* after expiry_view_finish */
	size_t in_use, warn, expired, due, revoked, superseded, sessions;
	size_t ca_warn;
	ssize_t soonest;		/* in-use certificate ending first, or -1 */
	ssize_t next_renewal;		/* in-use one due next (not yet), or -1 */
	const struct inventory *inv;	/* borrowed; NULL: every node known */
};

/* When a certificate of this lifetime is due for renewal. */
time_t expiry_renew_at(time_t not_before, time_t not_after, uint32_t num,
    uint32_t den);
/* The policy of an inventory (its warning window and renewal fraction). */
void expiry_policy_of(const struct inventory *inv, time_t now,
    struct expiry_policy *out);

int expiry_view_new(const struct expiry_policy *pol,
    const struct inventory *inv, struct expiry_view **out);
/* Adds one record (CA certificates' own records are skipped). */
int expiry_view_add_cert(struct expiry_view *v, const struct cert_rec *rec);
int expiry_view_add_ca(struct expiry_view *v, const struct ca_rec *rec);
/* Sorts, groups and marks; fills the counts. Call once, after the adds. */
void expiry_view_finish(struct expiry_view *v);
/* All of the above from one read transaction. */
int expiry_view_load(struct store_txn *t, const struct inventory *inv,
    time_t now, struct expiry_view **out);
void expiry_view_free(struct expiry_view *v);

/* 1 if a and b have the same owner and purpose (one group). */
int expiry_same_group(const struct expiry_cert *a, const struct expiry_cert *b);
/* The operator an admin kubeconfig went to ("-" if not recorded). */
const char *expiry_kubeconfig_holder(const struct expiry_cert *c, char *out,
    size_t len);
/* Whole days left, rounded towards minus infinity (-1 the day after). */
long expiry_days_left(time_t not_after, time_t now);

#endif
