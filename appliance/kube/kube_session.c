// SPDX-License-Identifier: Apache-2.0
/*
 * kube_session.c: slipway's own API credentials, made fresh for each
 * session: a new key in memory, a certificate from the kubernetes CA through
 * signing.h (recorded, with its audit entry), never written to disk. Must
 * never keep the key beyond the client that uses it.
 */
#include "kube_session.h"

#include <stdio.h>
#include <string.h>

#include "ca.h"
#include "cert.h"
#include "key.h"
#include "profile.h"
#include "rand.h"
#include "signing.h"

struct rec_arg {
	const struct signing_result *res;
	const char *actor;
};

static int
record_txn(struct store_txn *t, void *arg)
{
	struct rec_arg *a = arg;

	return signing_result_record(t, a->res, "", KUBE_SESSION_PURPOSE,
	    a->actor);
}

int
kube_session_open(struct store *s, const struct inventory *inv,
    const char *apiserver, const char *actor, struct kube **out,
    time_t *not_after, struct slw_diag *d)
{
	struct signing *sg = NULL;
	struct key *key = NULL;
	struct profile prof;
	struct cert_template t;
	struct signing_request req;
	struct signing_result res;
	struct cert_info info;
	struct buf ca = { 0 }, cert = { 0 }, kpem = { 0 };
	struct kube_config kc;
	struct rec_arg ra;
	char url[300];
	time_t now = slw_now();
	int r;

	*out = NULL;
	memset(&res, 0, sizeof(res));
	if (apiserver != NULL)
		snprintf(url, sizeof(url), "%s", apiserver);
	else
		inventory_apiserver_url(inv, url, sizeof(url));
	if ((r = signing_local_new(s, &sg, d)) != 0)
		goto out;
	if ((r = signing_trust_pem(sg, CA_KUBERNETES, &ca)) != 0) {
		r = slw_diag(d, r, "no kubernetes trust bundle");
		goto out;
	}
	if ((r = key_generate(KEY_EC_P256, &key)) != 0) {
		r = slw_diag(d, r, "cannot generate the API client key");
		goto out;
	}
	if ((r = profile_builtin("client", &prof)) != 0)
		goto out;
	memset(&t, 0, sizeof(t));
	t.profile = &prof;
	t.hours = KUBE_SESSION_HOURS;
	snprintf(t.subject.cn, sizeof(t.subject.cn), "%s", KUBE_SESSION_CN);
	if ((r = dn_add_o(&t.subject, KUBE_SESSION_GROUP)) != 0)
		goto out;
	memset(&req, 0, sizeof(req));
	req.ca_role = CA_KUBERNETES;
	req.t = &t;
	req.subject = key;
	req.now = now;
	if ((r = signing_sign(sg, &req, &res, d)) != 0)
		goto out;
	ra.res = &res;
	ra.actor = actor;
	if ((r = store_submit(s, record_txn, &ra, d)) != 0)
		goto out;
	if ((r = cert_pem_append(&cert, res.der.data, res.der.len)) != 0 ||
	    (r = key_write_pem(key, &kpem)) != 0 ||
	    (r = cert_info_der(res.der.data, res.der.len, &info)) != 0)
		goto out;
	memset(&kc, 0, sizeof(kc));
	kc.url = url;
	kc.ca_pem = &ca;
	kc.cert_pem = &cert;
	kc.key_pem = &kpem;
	if ((r = kube_new(&kc, out, d)) != 0)
		goto out;
	if (not_after != NULL)
		*not_after = info.not_after;
 out:
	buf_free(&kpem);
	buf_free(&cert);
	buf_free(&ca);
	signing_result_free(&res);
	key_free(key);
	signing_free(sg);
	return r;
}
