// SPDX-License-Identifier: Apache-2.0
/*
 * kube_session.c: slipway's own API credentials, made fresh for each
 * session: a new key in memory, a certificate from the kubernetes CA through
 * signing.h (recorded, with its audit entry), never written to disk. In two
 * halves, so that the CSR approver process can hold the key while the
 * monitor certifies it. Must never keep the key beyond the client that
 * uses it.
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
kube_session_issue(struct signing *sg, struct store *s, const struct key *pub,
    const char *actor, struct buf *cert_pem, struct buf *trust_pem,
    time_t *not_after, struct slw_diag *d)
{
	struct profile prof;
	struct cert_template t;
	struct signing_request req;
	struct signing_result res;
	struct cert_info info;
	struct rec_arg ra;
	int r;

	memset(&res, 0, sizeof(res));
	if (sg == NULL || s == NULL || pub == NULL || cert_pem == NULL ||
	    trust_pem == NULL)
		return SLW_ERR_INVALID;
	if ((r = signing_trust_pem(sg, CA_KUBERNETES, trust_pem)) != 0) {
		r = slw_diag(d, r, "no kubernetes trust bundle");
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
	req.subject = pub;
	req.now = slw_now();
	if ((r = signing_sign(sg, &req, &res, d)) != 0)
		goto out;
	ra.res = &res;
	ra.actor = actor;
	if ((r = store_submit(s, record_txn, &ra, d)) != 0 ||
	    (r = cert_pem_append(cert_pem, res.der.data, res.der.len)) != 0 ||
	    (r = cert_info_der(res.der.data, res.der.len, &info)) != 0)
		goto out;
	if (not_after != NULL)
		*not_after = info.not_after;
 out:
	if (r != 0) {
		buf_free(cert_pem);
		buf_free(trust_pem);
	}
	signing_result_free(&res);
	return r;
}

int
kube_session_connect(const char *url, const struct buf *trust_pem,
    const struct buf *cert_pem, const struct buf *key_pem, struct kube **out,
    struct slw_diag *d)
{
	struct kube_config kc;

	memset(&kc, 0, sizeof(kc));
	kc.url = url;
	kc.ca_pem = trust_pem;
	kc.cert_pem = cert_pem;
	kc.key_pem = key_pem;
	return kube_new(&kc, out, d);
}

int
kube_session_open(struct store *s, const struct inventory *inv,
    const char *apiserver, const char *actor, struct kube **out,
    time_t *not_after, struct slw_diag *d)
{
	struct signing *sg = NULL;
	struct key *key = NULL;
	struct buf ca = { 0 }, cert = { 0 }, kpem = { 0 };
	char url[300];
	int r;

	*out = NULL;
	if (apiserver != NULL)
		snprintf(url, sizeof(url), "%s", apiserver);
	else
		inventory_apiserver_url(inv, url, sizeof(url));
	if ((r = signing_local_new(s, &sg, d)) != 0)
		goto out;
	if ((r = key_generate(KEY_EC_P256, &key)) != 0) {
		r = slw_diag(d, r, "cannot generate the API client key");
		goto out;
	}
	if ((r = kube_session_issue(sg, s, key, actor, &cert, &ca, not_after,
	    d)) != 0 || (r = key_write_pem(key, &kpem)) != 0)
		goto out;
	r = kube_session_connect(url, &ca, &cert, &kpem, out, d);
 out:
	buf_free(&kpem);
	buf_free(&cert);
	buf_free(&ca);
	key_free(key);
	signing_free(sg);
	return r;
}
