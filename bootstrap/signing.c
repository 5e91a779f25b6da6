// SPDX-License-Identifier: Apache-2.0
/*
 * signing.c: the in-process implementation of the signing interface. The
 * unsealed CA keys stay inside this object; callers get certificates only.
 * Must never hand out a struct signer or a key.
 */
#include "signing.h"
#include "certdb.h"
#include "crl_store.h"
#include "signer_set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct signing {
	struct signer_set ss;
	struct buf trust[ROLE_CA__COUNT];
	uint64_t epoch;
};

static const char *const role_names[ROLE_CA__COUNT] = {
	CA_KUBERNETES, CA_ETCD, CA_FRONT_PROXY,
};

struct load_arg {
	struct signing *sg;
};

static int
load_txn(struct store_txn *t, void *arg)
{
	struct signing *sg = ((struct load_arg *)arg)->sg;
	size_t i;
	int r;

	if ((r = ca_epoch(t, &sg->epoch)) != 0)
		return r;
	if ((r = signer_set_load_txn(t, &sg->ss)) != 0)
		return r;
	for (i = 0; i < ROLE_CA__COUNT; i++)
		if ((r = ca_trust_pem(t, role_names[i], &sg->trust[i])) != 0)
			return r;
	return 0;
}

void
signing_free(struct signing *sg)
{
	size_t i;

	if (sg == NULL)
		return;
	signer_set_free(&sg->ss);
	for (i = 0; i < ROLE_CA__COUNT; i++)
		buf_free(&sg->trust[i]);
	free(sg);
}

int
signing_local_new(struct store *s, struct signing **out, struct slw_diag *d)
{
	struct load_arg a;
	int r;

	*out = NULL;
	if ((a.sg = calloc(1, sizeof(*a.sg))) == NULL)
		return SLW_ERR_NOMEM;
	if ((r = store_read(s, load_txn, &a, d)) != 0) {
		signing_free(a.sg);
		return r;
	}
	*out = a.sg;
	return 0;
}

static int
epoch_txn(struct store_txn *t, void *arg)
{
	return ca_epoch(t, arg);
}

int
signing_refresh(struct signing *sg, struct store *s, int *reloaded,
    struct slw_diag *d)
{
	struct signing *fresh = NULL;
	uint64_t e;
	size_t i;
	int r;

	if (reloaded != NULL)
		*reloaded = 0;
	if ((r = store_read(s, epoch_txn, &e, d)) != 0)
		return r;
	if (e == sg->epoch)
		return 0;
	if ((r = signing_local_new(s, &fresh, d)) != 0)
		return r;
	/* swap the contents; the old signers are wiped with fresh */
	signer_set_free(&sg->ss);
	for (i = 0; i < ROLE_CA__COUNT; i++)
		buf_move(&sg->trust[i], &fresh->trust[i]);
	sg->ss = fresh->ss;
	memset(&fresh->ss, 0, sizeof(fresh->ss));
	sg->epoch = fresh->epoch;
	signing_free(fresh);
	if (reloaded != NULL)
		*reloaded = 1;
	return 0;
}

int
signing_sign(struct signing *sg, const struct signing_request *req,
    struct signing_result *out, struct slw_diag *d)
{
	const struct signer *signer;
	const char *name;
	uint32_t gen;
	int r;

	memset(out, 0, sizeof(*out));
	if (req == NULL || req->t == NULL || req->subject == NULL ||
	    req->ca_role == NULL)
		return SLW_ERR_INVALID;
	if ((signer = signer_set_get(&sg->ss, req->ca_role, &name, &gen)) ==
	    NULL)
		return slw_diag(d, SLW_ERR_INVALID, "unknown CA role '%s'",
		    req->ca_role);
	if ((r = certdb_serial_new(out->serial)) != 0)
		return r;
	if ((r = cert_sign(req->t, req->subject, signer, out->serial,
	    req->now, &out->der, d)) != 0)
		return r;
	snprintf(out->ca_name, sizeof(out->ca_name), "%s", name);
	out->ca_gen = gen;
	snprintf(out->profile, sizeof(out->profile), "%s",
	    req->t->profile->name);
	return 0;
}

int
signing_trust_pem(struct signing *sg, const char *role, struct buf *pem)
{
	size_t i;

	for (i = 0; i < ROLE_CA__COUNT; i++)
		if (strcmp(role, role_names[i]) == 0)
			return buf_set(pem, sg->trust[i].data, sg->trust[i].len);
	return SLW_ERR_INVALID;
}

void
signing_result_free(struct signing_result *r)
{
	if (r != NULL)
		buf_free(&r->der);
}

int
signing_result_record(struct store_txn *t, const struct signing_result *r,
    const char *node, const char *purpose, const char *actor)
{
	struct issued iss;

	memset(&iss, 0, sizeof(iss));
	memcpy(iss.serial, r->serial, SERIAL_LEN);
	iss.der = r->der;	/* borrowed */
	return signer_set_record(t, &iss, r->ca_name, r->ca_gen, r->profile, node,
	    purpose, actor);
}

struct crl_arg {
	time_t now;
	const char *actor, *role;
	size_t n;
	int due, der;
	struct buf *pem;	/* or DER */
};

static int
crl_refresh_txn(struct store_txn *t, void *arg)
{
	struct crl_arg *a = arg;

	return crl_store_refresh_all(t, a->now, a->actor, &a->n);
}

static int
crl_due_txn(struct store_txn *t, void *arg)
{
	struct crl_arg *a = arg;

	a->due = crl_store_any_due(t, a->now);
	return a->due < 0 ? a->due : 0;
}

int
signing_crl_refresh(struct store *s, time_t now, const char *actor,
    size_t *n_signed, struct slw_diag *d)
{
	struct crl_arg a;
	int r;

	memset(&a, 0, sizeof(a));
	a.now = now;
	a.actor = actor;
	if (n_signed != NULL)
		*n_signed = 0;
	/* a read first: most calls find nothing due and write nothing */
	if ((r = store_read(s, crl_due_txn, &a, d)) != 0 || !a.due)
		return r;
	r = store_write(s, crl_refresh_txn, &a, d);
	if (n_signed != NULL)
		*n_signed = r == 0 ? a.n : 0;
	return r;
}

static int
crl_read_txn(struct store_txn *t, void *arg)
{
	struct crl_arg *a = arg;
	struct crl_state st;
	char name[CA_NAME_MAX];
	int r;

	if ((r = ca_resolve(t, a->role, name)) != 0)
		return r;
	if ((a->due = crl_store_any_due(t, a->now)) < 0)
		return a->due;
	if (a->due)
		return 0;
	buf_free(a->pem);
	if (!a->der)
		return crl_store_pem(t, a->role, a->pem);
	if ((r = crl_store_get(t, name, 0, &st)) != 0)
		return r;
	buf_move(a->pem, &st.der);
	crl_store_state_free(&st);
	return a->pem->len > 0 ? 0 : SLW_ERR_NOTFOUND;
}

static int
crl_get(struct store *s, const char *role, time_t now, const char *actor,
    int der, struct buf *out, struct slw_diag *d)
{
	struct crl_arg a;
	int r, tries;

	memset(&a, 0, sizeof(a));
	a.now = now;
	a.actor = actor;
	a.role = role;
	a.pem = out;
	a.der = der;
	if (!ca_name_valid(role))
		return SLW_ERR_NOTFOUND;
	/* read; if something is due, sign it and read again */
	for (tries = 0; tries < 2; tries++) {
		if ((r = store_read(s, crl_read_txn, &a, d)) != 0 || !a.due)
			return r;
		if ((r = signing_crl_refresh(s, now, actor, NULL, d)) != 0)
			return r;
	}
	return slw_diag(d, SLW_ERR_BUSY, "the CRLs of %s keep changing", role);
}

int
signing_crl_pem(struct store *s, const char *role, time_t now,
    const char *actor, struct buf *pem, struct slw_diag *d)
{
	return crl_get(s, role, now, actor, 0, pem, d);
}

int
signing_crl_der(struct store *s, const char *role, time_t now,
    const char *actor, struct buf *der, struct slw_diag *d)
{
	return crl_get(s, role, now, actor, 1, der, d);
}
