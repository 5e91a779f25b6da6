// SPDX-License-Identifier: Apache-2.0
/*
 * crl_store.c: per CA generation, the revoked certificates and the cached
 * signed CRL, written in the caller's transaction. Holds public data only;
 * a CA key is unsealed here only for the length of one signing and wiped.
 */
#include "crl_store.h"
#include "audit.h"
#include "rec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { C_NUMBER = 1, C_THIS, C_NEXT, C_STALE, C_DER, C_COUNT };
enum { E_AT = 1, E_REASON, E_NA };

#define ENTRY_PREFIX_MAX (CA_NAME_MAX + 32)

static int
state_key(char *out, size_t len, const char *ca, uint32_t gen)
{
	int n = snprintf(out, len, "crl/%s/%08u", ca, gen);

	return n < 0 || (size_t)n >= len ? SLW_ERR_INVALID : 0;
}

static int
entry_prefix(uint8_t *out, size_t len, const char *ca, uint32_t gen,
    size_t *plen)
{
	int n = snprintf((char *)out, len, "crl-entry/%s/%08u/", ca, gen);

	if (n < 0 || (size_t)n + SERIAL_LEN > len)
		return SLW_ERR_INVALID;
	*plen = (size_t)n;
	return 0;
}

void
crl_store_state_free(struct crl_state *st)
{
	if (st != NULL)
		buf_free(&st->der);
}

static int
resolve_gen(struct store_txn *t, const char *ca, uint32_t *gen)
{
	if (!ca_name_valid(ca))
		return SLW_ERR_INVALID;
	return *gen == 0 ? ca_current(t, ca, gen) : 0;
}

int
crl_store_get(struct store_txn *t, const char *ca, uint32_t gen,
    struct crl_state *st)
{
	char k[ENTRY_PREFIX_MAX];
	const uint8_t *v;
	size_t vl;
	uint64_t u;
	int r;

	memset(st, 0, sizeof(*st));
	if ((r = resolve_gen(t, ca, &gen)) != 0 ||
	    (r = state_key(k, sizeof(k), ca, gen)) != 0)
		return r;
	if ((r = store_get_ref(t, DB_META, k, strlen(k), &v, &vl)) != 0)
		return r;
	if (rec_valid(v, vl) != 0 || rec_get_u64(v, vl, C_NUMBER, &st->number))
		return SLW_ERR_CORRUPT;
	if (rec_get_u64(v, vl, C_THIS, &u) != 0)
		return SLW_ERR_CORRUPT;
	st->this_update = (time_t)u;
	if (rec_get_u64(v, vl, C_NEXT, &u) != 0)
		return SLW_ERR_CORRUPT;
	st->next_update = (time_t)u;
	if (rec_get_u64(v, vl, C_STALE, &u) != 0)
		return SLW_ERR_CORRUPT;
	st->stale = u != 0;
	if (rec_get_u64(v, vl, C_COUNT, &u) != 0)
		return SLW_ERR_CORRUPT;
	st->n_entries = (size_t)u;
	/* a number without a CRL: a revocation came before the first one */
	if (rec_get_buf(v, vl, C_DER, &st->der) != 0 && st->this_update != 0)
		return SLW_ERR_CORRUPT;
	return 0;
}

static int
state_put(struct store_txn *t, const char *ca, uint32_t gen,
    const struct crl_state *st)
{
	char k[ENTRY_PREFIX_MAX];
	struct rec w = { 0 };
	int r;

	if ((r = state_key(k, sizeof(k), ca, gen)) != 0)
		return r;
	rec_put_u64(&w, C_NUMBER, st->number);
	rec_put_u64(&w, C_THIS, (uint64_t)st->this_update);
	rec_put_u64(&w, C_NEXT, (uint64_t)st->next_update);
	rec_put_u64(&w, C_STALE, (uint64_t)st->stale);
	rec_put_u64(&w, C_COUNT, (uint64_t)st->n_entries);
	if (st->der.len > 0)
		rec_put_bytes(&w, C_DER, st->der.data, st->der.len);
	if ((r = w.err) == 0)
		r = store_put(t, DB_META, k, strlen(k), w.b.data, w.b.len, 0);
	rec_free(&w);
	return r;
}

int
crl_store_add(struct store_txn *t, const struct cert_rec *c)
{
	struct crl_state st;
	uint8_t k[ENTRY_PREFIX_MAX + SERIAL_LEN];
	struct rec w = { 0 };
	size_t plen;
	int r;

	if (c->status != CERT_REVOKED || crl_reason_name(c->reason) == NULL)
		return SLW_ERR_INVALID;
	if ((r = entry_prefix(k, sizeof(k), c->ca, c->ca_gen, &plen)) != 0)
		return r;
	memcpy(k + plen, c->serial, SERIAL_LEN);
	rec_put_u64(&w, E_AT, (uint64_t)c->status_time);
	rec_put_u64(&w, E_REASON, (uint64_t)c->reason);
	rec_put_u64(&w, E_NA, (uint64_t)c->not_after);
	if ((r = w.err) != 0 || (r = store_put(t, DB_META, k, plen + SERIAL_LEN,
	    w.b.data, w.b.len, STORE_NOOVERWRITE)) != 0)
		goto out;
	r = crl_store_get(t, c->ca, c->ca_gen, &st);
	if (r == SLW_ERR_NOTFOUND) {
		memset(&st, 0, sizeof(st));
		r = 0;
	}
	if (r != 0)
		goto out;
	st.stale = 1;
	r = state_put(t, c->ca, c->ca_gen, &st);
	crl_store_state_free(&st);
 out:
	rec_free(&w);
	return r;
}

int
crl_store_due(struct store_txn *t, const char *ca, uint32_t gen, time_t now)
{
	struct crl_state st;
	int r;

	r = crl_store_get(t, ca, gen, &st);
	if (r == SLW_ERR_NOTFOUND)
		return 1;
	if (r != 0)
		return r;
	r = st.stale || st.der.len == 0 ||
	    st.next_update - now < CRL_LIFETIME_SECS / 2;
	crl_store_state_free(&st);
	return r;
}

struct collect {
	struct store_txn *t;
	size_t plen;
	time_t drop_before;	/* not-after older than this: off the CRL */
	struct buf e;		/* struct crl_entry each */
	struct buf gone;	/* SERIAL_LEN bytes each */
};

static int
collect_one(void *arg, const uint8_t *k, size_t kl, const uint8_t *v,
    size_t vl)
{
	struct collect *a = arg;
	struct crl_entry ce;
	uint64_t at, reason, na;

	if (kl != a->plen + SERIAL_LEN || rec_valid(v, vl) != 0 ||
	    rec_get_u64(v, vl, E_AT, &at) != 0 ||
	    rec_get_u64(v, vl, E_REASON, &reason) != 0 ||
	    rec_get_u64(v, vl, E_NA, &na) != 0)
		return SLW_ERR_CORRUPT;
	if ((time_t)na < a->drop_before)
		return buf_append(&a->gone, k + a->plen, SERIAL_LEN) == 0 ? 0 :
		    SLW_ERR_NOMEM;
	memset(&ce, 0, sizeof(ce));
	memcpy(ce.serial, k + a->plen, SERIAL_LEN);
	ce.revoked_at = (time_t)at;
	ce.reason = (int)reason;
	return buf_append(&a->e, &ce, sizeof(ce)) == 0 ? 0 : SLW_ERR_NOMEM;
}

static void
fmt_time(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
crl_store_refresh(struct store_txn *t, const struct signer *s, const char *ca,
    uint32_t gen, time_t now, int force, const char *actor, int *resigned)
{
	struct crl_state st;
	struct collect a;
	uint8_t k[ENTRY_PREFIX_MAX + SERIAL_LEN];
	char obj[ENTRY_PREFIX_MAX], detail[AUDIT_DETAIL_MAX], nu[32];
	size_t i, n;
	int r;

	memset(&a, 0, sizeof(a));
	memset(&st, 0, sizeof(st));
	if (resigned != NULL)
		*resigned = 0;
	if ((r = resolve_gen(t, ca, &gen)) != 0)
		return r;
	if (!force && (r = crl_store_due(t, ca, gen, now)) <= 0)
		return r;
	r = crl_store_get(t, ca, gen, &st);
	if (r != 0 && r != SLW_ERR_NOTFOUND)
		return r;
	if ((r = entry_prefix(k, sizeof(k), ca, gen, &a.plen)) != 0)
		goto out;
	a.t = t;
	a.drop_before = now - CRL_LIFETIME_SECS;
	if ((r = store_iter(t, DB_META, k, a.plen, 0, collect_one, &a)) != 0)
		goto out;
	for (i = 0; i < a.gone.len / SERIAL_LEN; i++) {
		memcpy(k + a.plen, a.gone.data + i * SERIAL_LEN, SERIAL_LEN);
		if ((r = store_del(t, DB_META, k, a.plen + SERIAL_LEN)) != 0)
			goto out;
	}
	buf_free(&st.der);
	st.number++;
	st.this_update = now;
	st.next_update = now + CRL_LIFETIME_SECS;
	st.stale = 0;
	n = a.e.len / sizeof(struct crl_entry);
	st.n_entries = n;
	/* the block is malloc's, aligned for any type */
	if ((r = crl_write(s, (const struct crl_entry *)(void *)a.e.data, n,
	    st.number, st.this_update,
	    st.next_update, &st.der, store_txn_diag(t))) != 0)
		goto out;
	if ((r = state_put(t, ca, gen, &st)) != 0)
		goto out;
	snprintf(obj, sizeof(obj), "%s/%u", ca, gen);
	fmt_time(st.next_update, nu);
	snprintf(detail, sizeof(detail), "CRL number %llu, %zu revoked, "
	    "next update %s", (unsigned long long)st.number, n, nu);
	if ((r = audit_append(t, actor, "crl.sign", obj, detail)) != 0)
		goto out;
	if (resigned != NULL)
		*resigned = 1;
 out:
	buf_free(&a.e);
	buf_free(&a.gone);
	crl_store_state_free(&st);
	return r;
}

struct gens {
	struct {
		char name[CA_NAME_MAX];
		uint32_t gen;
		int current;
	} g[64];
	size_t n;
	const char *only;	/* one CA's generations, or all */
	uint32_t current_of_only;
};

static int
gens_one(void *arg, const struct ca_rec *c)
{
	struct gens *g = arg;

	if (c->state == CA_RETIRED ||
	    (g->only != NULL && strcmp(g->only, c->name) != 0))
		return 0;
	if (g->n >= sizeof(g->g) / sizeof(g->g[0]))
		return SLW_ERR_LIMIT;
	snprintf(g->g[g->n].name, CA_NAME_MAX, "%s", c->name);
	g->g[g->n].gen = c->gen;
	g->g[g->n].current = c->state == CA_ACTIVE;
	g->n++;
	return 0;
}

int
crl_store_refresh_all(struct store_txn *t, time_t now, const char *actor,
    size_t *n_signed)
{
	struct gens g;
	struct signer *s = NULL;
	size_t i;
	int r, due, did;

	memset(&g, 0, sizeof(g));
	if (n_signed != NULL)
		*n_signed = 0;
	if ((r = ca_foreach(t, gens_one, &g)) != 0)
		return r;
	for (i = 0; i < g.n; i++) {
		if ((due = crl_store_due(t, g.g[i].name, g.g[i].gen, now)) < 0)
			return due;
		if (!due)
			continue;
		if ((r = ca_signer(t, g.g[i].name, g.g[i].gen, &s, NULL,
		    NULL)) != 0)
			return r;
		r = crl_store_refresh(t, s, g.g[i].name, g.g[i].gen, now, 1,
		    actor, &did);
		signer_free(s);
		s = NULL;
		if (r != 0)
			return r;
		if (did && n_signed != NULL)
			(*n_signed)++;
	}
	return 0;
}

int
crl_store_any_due(struct store_txn *t, time_t now)
{
	struct gens g;
	size_t i;
	int r;

	memset(&g, 0, sizeof(g));
	if ((r = ca_foreach(t, gens_one, &g)) != 0)
		return r;
	for (i = 0; i < g.n; i++)
		if ((r = crl_store_due(t, g.g[i].name, g.g[i].gen, now)) != 0)
			return r;
	return 0;
}

int
crl_store_pem(struct store_txn *t, const char *role, struct buf *pem)
{
	char name[CA_NAME_MAX];
	struct crl_state st;
	struct gens g;
	size_t i;
	int pass, r;

	if ((r = ca_resolve(t, role, name)) != 0)
		return r;
	memset(&g, 0, sizeof(g));
	g.only = name;
	if ((r = ca_foreach(t, gens_one, &g)) != 0)
		return r;
	/* the signing generation first: readers that take one CRL (etcd,
	 * Go's x509.ParseCRL) get the one for the certificates in use */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < g.n; i++) {
			if (g.g[i].current != (pass == 0))
				continue;
			if ((r = crl_store_get(t, name, g.g[i].gen, &st)) != 0)
				return r;
			if (st.der.len == 0)
				r = SLW_ERR_NOTFOUND;
			else
				r = crl_pem_append(pem, st.der.data, st.der.len);
			crl_store_state_free(&st);
			if (r != 0)
				return r;
		}
	return 0;
}
