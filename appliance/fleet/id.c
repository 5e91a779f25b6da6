// SPDX-License-Identifier: Apache-2.0
/*
 * id.c: the appliance's own client certificates for the fleet's gates and
 * actions (etcd client; admin, O=system:masters), issued through the
 * signing interface once per run, short-lived and recorded. Keys stay in
 * memory (and a memfd, https.c); never printed or journaled.
 */
#include "fleet.h"
#include "identity.h"
#include "rand.h"
#include "https.h"
#include "signing.h"

#include <string.h>

#define ID_HOURS 4		/* the appliance's client certificates */
/* a node that does not accept within this is reported, not waited for */
#define FLEET_CONNECT_TIMEOUT_MS 3000

struct rec_arg {
	const struct signing_result *res;
	const char *purpose, *actor;
};

static int
rec_txn(struct store_txn *t, void *arg)
{
	struct rec_arg *a = arg;

	/* owned by the appliance: a new one supersedes the one before, so a
	 * rotation's finish does not wait for a 4-hour certificate */
	return signing_result_record(t, a->res, "appliance", a->purpose,
	    a->actor);
}

static int
issue_id(struct fleet *f, enum ident which, const char *purpose,
    struct https **slot, struct slw_diag *d)
{
	struct identity id;
	struct key *k = NULL;
	struct signing_request req;
	struct signing_result res;
	struct buf cert = { 0 }, kp = { 0 }, ca = { 0 };
	struct https_config hc;
	struct rec_arg ra;
	int r;

	memset(&res, 0, sizeof(res));
	if (*slot != NULL)
		return 0;
	if (f->sg == NULL && (r = signing_local_new(f->s, &f->sg, d)) != 0)
		return r;
	if ((r = identity_get(f->inv, which, NULL, 0, &id, d)) != 0)
		return r;
	id.t.hours = ID_HOURS;
	id.t.seconds = 0;
	if ((r = key_generate(KEY_EC_P256, &k)) != 0)
		goto out;
	memset(&req, 0, sizeof(req));
	req.ca_role = id.ca_role;
	req.t = &id.t;
	req.subject = k;
	req.now = slw_now();
	if ((r = signing_sign(f->sg, &req, &res, d)) != 0)
		goto out;
	ra.res = &res;
	ra.purpose = purpose;
	ra.actor = f->o->actor;
	if ((r = store_write(f->s, rec_txn, &ra, d)) != 0)
		goto out;
	if ((r = cert_pem_append(&cert, res.der.data, res.der.len)) != 0 ||
	    (r = key_write_pem(k, &kp)) != 0 ||
	    (r = signing_trust_pem(f->sg, id.ca_role, &ca)) != 0)
		goto out;
	memset(&hc, 0, sizeof(hc));
	hc.ca_pem = &ca;
	hc.cert_pem = &cert;
	hc.key_pem = &kp;
	hc.connect_timeout_ms = FLEET_CONNECT_TIMEOUT_MS;
	r = https_new(&hc, slot, d);
 out:
	if (r != 0)
		slw_diag(d, r, "cannot issue the appliance's %s certificate",
		    purpose);
	signing_result_free(&res);
	key_free(k);
	buf_free(&kp);
	buf_free(&cert);
	buf_free(&ca);
	return r;
}

int
fleet_id_etcd(struct fleet *f, struct https **out, struct slw_diag *d)
{
	int r;

	pthread_mutex_lock(&f->mu);
	r = issue_id(f, ID_ETCD_CLIENT, "rollout etcd client", &f->etcd_id, d);
	*out = f->etcd_id;
	pthread_mutex_unlock(&f->mu);
	return r;
}

int
fleet_id_admin(struct fleet *f, struct https **out, struct slw_diag *d)
{
	int r;

	pthread_mutex_lock(&f->mu);
	r = issue_id(f, ID_ADMIN, "rollout admin client", &f->admin_id, d);
	*out = f->admin_id;
	pthread_mutex_unlock(&f->mu);
	return r;
}
