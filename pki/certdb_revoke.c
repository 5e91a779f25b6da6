// SPDX-License-Identifier: Apache-2.0
/*
 * certdb_revoke.c: revocation of issued certificates: the record, the
 * CA generation's revocation list and the audit entry in one transaction.
 * Never revokes a CA certificate, never un-revokes, never signs.
 */
#include "certdb_revoke.h"
#include "audit.h"
#include "crl.h"
#include "crl_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
fmt_time(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Revokes the record c (already read); refusals as certdb_revoke.h says. */
static int
revoke_rec(struct store_txn *t, struct cert_rec *c, int reason, time_t now,
    const char *actor)
{
	char serial[2 * SERIAL_LEN + 1], when[32], detail[AUDIT_DETAIL_MAX];
	const char *rn = crl_reason_name(reason);
	int r;

	hex_encode(c->serial, SERIAL_LEN, serial);
	if (rn == NULL)
		return slw_diag(store_txn_diag(t), SLW_ERR_INVALID,
		    "unknown revocation reason code %d", reason);
	if (certdb_rec_is_ca(c))
		return slw_diag(store_txn_diag(t), SLW_ERR_DENIED,
		    "%s is the certificate of CA %s generation %u: a CA is "
		    "replaced by rotation (ca rotate), not revoked", serial,
		    c->ca, c->ca_gen);
	if (c->status == CERT_REVOKED) {
		fmt_time(c->status_time, when);
		return slw_diag(store_txn_diag(t), SLW_ERR_EXISTS,
		    "certificate %s is already revoked (%s, %s)", serial,
		    crl_reason_name(c->reason) ? crl_reason_name(c->reason) :
		    "?", when);
	}
	c->status = CERT_REVOKED;
	c->status_time = now;
	c->reason = reason;
	if ((r = certdb_put(t, c)) != 0 || (r = crl_store_add(t, c)) != 0)
		return r;
	snprintf(detail, sizeof(detail), "serial %s, reason %s, CA %s/%u, "
	    "node %s, purpose %s", serial, rn, c->ca, c->ca_gen,
	    certdb_rec_node(c), c->purpose[0] ? c->purpose : "-");
	return audit_append(t, actor, "cert.revoke", c->subject, detail);
}

int
certdb_revoke(struct store_txn *t, const uint8_t serial[SERIAL_LEN],
    int reason, time_t now, const char *actor, struct cert_rec *out)
{
	struct cert_rec c;
	char hex[2 * SERIAL_LEN + 1];
	int r;

	if ((r = certdb_get(t, serial, &c)) == SLW_ERR_NOTFOUND) {
		hex_encode(serial, SERIAL_LEN, hex);
		return slw_diag(store_txn_diag(t), r,
		    "no certificate with serial %s was issued by slipway", hex);
	}
	if (r != 0)
		return r;
	if ((r = revoke_rec(t, &c, reason, now, actor)) == 0 && out != NULL) {
		*out = c;
		memset(&out->der, 0, sizeof(out->der));
	}
	certdb_rec_free(&c);
	return r;
}

struct node_arg {
	const char *node;
	time_t drop_before;
	struct buf serials;	/* SERIAL_LEN bytes each */
	size_t any;
};

static int
node_one(void *arg, const struct cert_rec *c)
{
	struct node_arg *a = arg;

	if (strcmp(c->node, a->node) != 0)
		return 0;
	a->any++;
	if (c->status == CERT_REVOKED || c->not_after < a->drop_before ||
	    certdb_rec_is_ca(c))
		return 0;
	return buf_append(&a->serials, c->serial, SERIAL_LEN) == 0 ? 0 :
	    SLW_ERR_NOMEM;
}

int
certdb_revoke_node(struct store_txn *t, const char *node, int reason,
    time_t now, const char *actor,
    int (*cb)(void *arg, const struct cert_rec *rec), void *cbarg,
    size_t *count)
{
	struct node_arg a;
	struct cert_rec c;
	size_t i, n;
	int r;

	*count = 0;
	memset(&a, 0, sizeof(a));
	if (node == NULL || node[0] == '\0' || node[0] == '(')
		return slw_diag(store_txn_diag(t), SLW_ERR_INVALID,
		    "a node name is needed");
	a.node = node;
	a.drop_before = now - CRL_LIFETIME_SECS;
	/* collect first: the records change under the expiry index walk */
	if ((r = certdb_foreach(t, node_one, &a)) != 0)
		goto out;
	if ((n = a.serials.len / SERIAL_LEN) == 0) {
		r = slw_diag(store_txn_diag(t), SLW_ERR_NOTFOUND, a.any ?
		    "node %.64s has no certificate left to revoke (all revoked "
		    "or long expired)" : "node %.64s has no certificate issued "
		    "by slipway", node);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((r = certdb_get(t, a.serials.data + i * SERIAL_LEN, &c)) != 0)
			goto out;
		r = revoke_rec(t, &c, reason, now, actor);
		if (r == 0 && cb != NULL)
			r = cb(cbarg, &c);
		certdb_rec_free(&c);
		if (r != 0)
			goto out;
	}
	*count = n;
	r = 0;
 out:
	buf_free(&a.serials);
	return r;
}
