// SPDX-License-Identifier: Apache-2.0
/*
 * revoke.c: a cluster's revocations (revoke.h): the etcd peer refusal, the
 * revocation and the CRLs in one transaction, and which revocations etcd
 * enforces. Never delivers anything to a node and never prints.
 */
#include "revoke.h"
#include "certdb_revoke.h"
#include "crl_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * bundle_render.c's etcd identities, the seed set's ("seed:" + identity
 * file) and the fleet engine's own etcd client (appliance/fleet/id.c).
 */
static const char *const etcd_purposes[] = {
	"etcd-member", "etcd-client", "flanneld", "apiserver-etcd-client",
	"seed:etcd", "seed:flanneld", "rollout etcd client",
};

int
revoke_purpose_etcd(const char *purpose)
{
	size_t i;

	for (i = 0; i < sizeof(etcd_purposes) / sizeof(etcd_purposes[0]); i++)
		if (strcmp(purpose, etcd_purposes[i]) == 0)
			return 1;
	return 0;
}

void
revoke_result_free(struct revoke_result *r)
{
	if (r == NULL)
		return;
	free(r->certs);
	memset(r, 0, sizeof(*r));
}

/* The certificate an etcd member presents to its peers (and serves with):
 * a member's own, or the seed's one certificate shared by every member. */
static int
etcd_peer(const struct cert_rec *r, const struct inventory *inv,
    const char **member)
{
	const struct inv_node *n;

	*member = NULL;
	if (strcmp(r->purpose, "seed:etcd") == 0) {
		*member = "every member of a seed-style cluster";
		return 1;
	}
	if (strcmp(r->purpose, "etcd-member") != 0)
		return 0;
	n = inventory_node(inv, r->node);
	if (n == NULL || !(n->roles & ROLE_ETCD))
		return 0;
	*member = n->name;
	return 1;
}

struct run_arg {
	const struct revoke_req *q;
	const struct inventory *inv;
	struct revoke_result *out;
	size_t cap;
	struct store_txn *t;
};

/*
 * Before anything changes: a member's current peer certificate (not one it
 * was already given a successor for) is refused unless forced.
 */
static int
peer_one(void *arg, const struct cert_rec *rec)
{
	struct run_arg *a = arg;
	const struct revoke_req *q = a->q;
	const char *member;
	char hex[2 * SERIAL_LEN + 1];

	if (rec->status != CERT_VALID || (q->serial != NULL &&
	    memcmp(rec->serial, q->serial, SERIAL_LEN) != 0) ||
	    (q->node != NULL && strcmp(rec->node, q->node) != 0) ||
	    !etcd_peer(rec, a->inv, &member))
		return 0;
	hex_encode(rec->serial, SERIAL_LEN, hex);
	return slw_diag(store_txn_diag(a->t), SLW_ERR_DENIED,
	    "%s is the etcd peer certificate of %s: its peers would refuse it "
	    "at their next connection (--peer-crl-file), cutting it off from "
	    "the cluster; give it a new certificate first (bundle render), or "
	    "use --force", hex, member);
}

/* Each revoked record, kept for the caller, and its CA generation. */
static int
take(void *arg, const struct cert_rec *rec)
{
	struct run_arg *a = arg;
	struct revoke_result *o = a->out;
	struct revoke_cert *c;
	void *np;
	size_t i;

	if (o->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 16;
		if ((np = realloc(o->certs, a->cap * sizeof(*o->certs))) == NULL)
			return SLW_ERR_NOMEM;
		o->certs = np;
	}
	c = &o->certs[o->n++];
	c->rec = *rec;
	memset(&c->rec.der, 0, sizeof(c->rec.der));
	c->etcd = revoke_purpose_etcd(rec->purpose);
	for (i = 0; i < o->n_crls; i++)
		if (strcmp(o->crls[i].ca, rec->ca) == 0 &&
		    o->crls[i].gen == rec->ca_gen)
			return 0;
	if (o->n_crls < REVOKE_MAX_CRLS) {
		snprintf(o->crls[o->n_crls].ca, CA_NAME_MAX, "%s", rec->ca);
		o->crls[o->n_crls].gen = rec->ca_gen;
		o->n_crls++;
	}
	return 0;
}

static int
run_txn(struct store_txn *t, void *arg)
{
	struct run_arg *a = arg;
	const struct revoke_req *q = a->q;
	struct crl_state st;
	struct cert_rec rec;
	size_t i, count;
	int r;

	a->t = t;
	if (!q->force && (r = certdb_foreach(t, peer_one, a)) != 0)
		return r;
	if (q->node != NULL)
		r = certdb_revoke_node(t, q->node, q->reason, q->now, q->actor,
		    take, a, &count);
	else if ((r = certdb_revoke(t, q->serial, q->reason, q->now,
	    q->actor, &rec)) == 0)
		r = take(a, &rec);
	if (r != 0)
		return r;
	/* the revocations and the CRLs that list them: one commit */
	if ((r = crl_store_refresh_all(t, q->now, q->actor, NULL)) != 0)
		return r;
	for (i = 0; i < a->out->n_crls; i++) {
		struct revoke_crl *c = &a->out->crls[i];

		if ((r = crl_store_get(t, c->ca, c->gen, &st)) != 0)
			return r;
		c->number = st.number;
		c->n_entries = st.n_entries;
		c->next_update = st.next_update;
		crl_store_state_free(&st);
	}
	return 0;
}

int
revoke_run(struct store *s, const struct inventory *inv,
    const struct revoke_req *q, struct revoke_result *out,
    struct slw_diag *d)
{
	struct run_arg a;
	int r;

	memset(out, 0, sizeof(*out));
	if (q == NULL || inv == NULL || (q->serial == NULL) == (q->node == NULL))
		return SLW_ERR_INVALID;
	memset(&a, 0, sizeof(a));
	a.q = q;
	a.inv = inv;
	a.out = out;
	if ((r = store_write(s, run_txn, &a, d)) != 0)
		revoke_result_free(out);
	return r;
}
