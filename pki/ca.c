// SPDX-License-Identifier: Apache-2.0
/*
 * ca.c: CA creation and CA records. A CA private key exists unsealed only
 * in memory of the process that signs with it, and is wiped on free.
 */
#include "ca.h"
#include "certdb.h"
#include "rec.h"

#include <stdio.h>
#include <string.h>

enum { T_NAME = 1, T_GEN, T_STATE, T_CREATED, T_NA, T_KT, T_DER };

int
ca_name_valid(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n >= CA_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '-'))
			return 0;
	return 1;
}

const char *
ca_state_name(int state)
{
	switch (state) {
	case CA_ACTIVE: return "active";
	case CA_PENDING: return "pending";
	case CA_RETIRED: return "retired";
	case CA_PREVIOUS: return "previous";
	default: return "unknown";
	}
}

void
ca_rec_free(struct ca_rec *rec)
{
	if (rec != NULL)
		buf_free(&rec->der);
}

int
ca_make_root(const struct dn *subject, enum key_type kt, uint32_t hours,
    time_t now, struct key **key, struct buf *der, struct slw_diag *d)
{
	struct cert_template t;
	struct profile p;
	struct key *k = NULL;
	uint8_t serial[SERIAL_LEN];
	int r;

	*key = NULL;
	memset(&t, 0, sizeof(t));
	profile_builtin("ca", &p);
	p.hours = hours;
	t.profile = &p;
	t.subject = *subject;
	if ((r = key_generate(kt, &k)) != 0)
		return slw_diag(d, r, "CA key generation failed");
	if ((r = certdb_serial_new(serial)) != 0)
		goto out;
	if ((r = cert_sign(&t, k, NULL, serial, now, der, d)) != 0)
		goto out;
	*key = k;
	k = NULL;
 out:
	key_free(k);
	return r;
}

static int
rec_key(char *out, size_t len, const char *name, uint32_t gen)
{
	int n = snprintf(out, len, "%s/%08u", name, gen);

	return n < 0 || (size_t)n >= len ? SLW_ERR_INVALID : 0;
}

static int
encode(const struct ca_rec *c, struct rec *w)
{
	rec_put_str(w, T_NAME, c->name);
	rec_put_u64(w, T_GEN, c->gen);
	rec_put_u64(w, T_STATE, (uint64_t)c->state);
	rec_put_u64(w, T_CREATED, (uint64_t)c->created);
	rec_put_u64(w, T_NA, (uint64_t)c->not_after);
	rec_put_u64(w, T_KT, (uint64_t)c->key_type);
	rec_put_bytes(w, T_DER, c->der.data, c->der.len);
	return w->err;
}

static int
decode(const uint8_t *v, size_t vl, struct ca_rec *c)
{
	uint64_t u;

	memset(c, 0, sizeof(*c));
	if (rec_valid(v, vl) != 0 ||
	    rec_get_str(v, vl, T_NAME, c->name, sizeof(c->name)) != 0 ||
	    rec_get_u64(v, vl, T_GEN, &u) != 0)
		return SLW_ERR_CORRUPT;
	c->gen = (uint32_t)u;
	if (rec_get_u64(v, vl, T_STATE, &u) != 0)
		return SLW_ERR_CORRUPT;
	c->state = (int)u;
	if (rec_get_u64(v, vl, T_CREATED, &u) != 0)
		return SLW_ERR_CORRUPT;
	c->created = (time_t)u;
	if (rec_get_u64(v, vl, T_NA, &u) != 0)
		return SLW_ERR_CORRUPT;
	c->not_after = (time_t)u;
	if (rec_get_u64(v, vl, T_KT, &u) != 0)
		return SLW_ERR_CORRUPT;
	c->key_type = (enum key_type)u;
	if (rec_get_buf(v, vl, T_DER, &c->der) != 0)
		return SLW_ERR_CORRUPT;
	return 0;
}

int
ca_put(struct store_txn *t, const struct ca_rec *c, const struct key *key)
{
	char k[CA_NAME_MAX + 16], aad[CA_NAME_MAX + 24];
	struct buf kder = { 0 };
	struct rec w = { 0 };
	int r;

	if (!ca_name_valid(c->name) || c->gen == 0)
		return SLW_ERR_INVALID;
	if ((r = rec_key(k, sizeof(k), c->name, c->gen)) != 0)
		return r;
	snprintf(aad, sizeof(aad), "ca/%s/%u", c->name, c->gen);
	if ((r = encode(c, &w)) != 0)
		goto out;
	if ((r = store_put(t, DB_CA, k, strlen(k), w.b.data, w.b.len,
	    STORE_NOOVERWRITE)) != 0)
		goto out;
	if ((r = key_write_der(key, &kder)) != 0)
		goto out;
	r = store_put_sealed(t, DB_SECRETS, aad, strlen(aad), aad, kder.data,
	    kder.len);
 out:
	buf_free(&kder);
	rec_free(&w);
	return r;
}

int
ca_get(struct store_txn *t, const char *name, uint32_t gen, struct ca_rec *c)
{
	char k[CA_NAME_MAX + 16];
	const uint8_t *v;
	size_t vl;
	int r;

	if (!ca_name_valid(name))
		return SLW_ERR_INVALID;
	if (gen == 0 && (r = ca_current(t, name, &gen)) != 0)
		return r;
	if ((r = rec_key(k, sizeof(k), name, gen)) != 0)
		return r;
	if ((r = store_get_ref(t, DB_CA, k, strlen(k), &v, &vl)) != 0)
		return r;
	if ((r = decode(v, vl, c)) != 0)
		ca_rec_free(c);
	return r;
}

int
ca_set_state(struct store_txn *t, const char *name, uint32_t gen, int state)
{
	char k[CA_NAME_MAX + 16];
	struct ca_rec c;
	struct rec w = { 0 };
	int r;

	if ((r = ca_get(t, name, gen, &c)) != 0)
		return r;
	c.state = state;
	if ((r = rec_key(k, sizeof(k), name, c.gen)) == 0 &&
	    (r = encode(&c, &w)) == 0)
		r = store_put(t, DB_CA, k, strlen(k), w.b.data, w.b.len, 0);
	rec_free(&w);
	ca_rec_free(&c);
	return r;
}

int
ca_set_current(struct store_txn *t, const char *name, uint32_t gen)
{
	uint8_t v[8];

	if (!ca_name_valid(name))
		return SLW_ERR_INVALID;
	rec_be64_put(v, gen);
	return store_put(t, DB_CA, name, strlen(name), v, 8, 0);
}

int
ca_current(struct store_txn *t, const char *name, uint32_t *gen)
{
	const uint8_t *v;
	size_t vl;
	int r;

	if ((r = store_get_ref(t, DB_CA, name, strlen(name), &v, &vl)) != 0)
		return r;
	if (vl != 8)
		return SLW_ERR_CORRUPT;
	*gen = (uint32_t)rec_be64_get(v);
	return 0;
}

int
ca_resolve(struct store_txn *t, const char *role, char out[CA_NAME_MAX])
{
	const uint8_t *v;
	size_t vl;
	uint32_t g;
	int r;

	if (!ca_name_valid(role))
		return SLW_ERR_INVALID;
	if (ca_current(t, role, &g) == 0) {
		snprintf(out, CA_NAME_MAX, "%s", role);
		return 0;
	}
	r = store_get_ref(t, DB_META, "ca-layout", 9, &v, &vl);
	if (r == 0 && vl == 6 && memcmp(v, "single", 6) == 0 &&
	    (strcmp(role, CA_ETCD) == 0 || strcmp(role, CA_FRONT_PROXY) == 0)) {
		snprintf(out, CA_NAME_MAX, "%s", CA_KUBERNETES);
		return 0;
	}
	return SLW_ERR_NOTFOUND;
}

int
ca_signer(struct store_txn *t, const char *role, uint32_t gen,
    struct signer **out, uint32_t *gen_out, char name_out[CA_NAME_MAX])
{
	char name[CA_NAME_MAX], aad[CA_NAME_MAX + 24];
	struct ca_rec c;
	struct buf kder = { 0 };
	struct key *k = NULL;
	int r;

	*out = NULL;
	if ((r = ca_resolve(t, role, name)) != 0)
		return slw_diag(store_txn_diag(t), r, "no CA for '%s'", role);
	if ((r = ca_get(t, name, gen, &c)) != 0)
		return slw_diag(store_txn_diag(t), r, "CA %s generation %u not found",
		    name, gen);
	snprintf(aad, sizeof(aad), "ca/%s/%u", name, c.gen);
	if ((r = store_get_sealed(t, DB_SECRETS, aad, strlen(aad), aad,
	    &kder)) != 0)
		goto out;
	if ((r = key_parse(kder.data, kder.len, &k, store_txn_diag(t))) != 0)
		goto out;
	if ((r = signer_new(c.der.data, c.der.len, k, out,
	    store_txn_diag(t))) != 0)
		goto out;
	if (gen_out != NULL)
		*gen_out = c.gen;
	if (name_out != NULL)
		snprintf(name_out, CA_NAME_MAX, "%s", name);
 out:
	buf_free(&kder);
	ca_rec_free(&c);
	return r;
}

struct foreach_arg {
	int (*cb)(void *, const struct ca_rec *);
	void *arg;
};

static int
foreach_one(void *arg, const uint8_t *k, size_t kl, const uint8_t *v,
    size_t vl)
{
	struct foreach_arg *fa = arg;
	struct ca_rec c;
	int r;

	if (memchr(k, '/', kl) == NULL)	/* a "current" pointer */
		return 0;
	if ((r = decode(v, vl, &c)) != 0)
		return r;
	r = fa->cb(fa->arg, &c);
	ca_rec_free(&c);
	return r;
}

int
ca_foreach(struct store_txn *t,
    int (*cb)(void *arg, const struct ca_rec *rec), void *arg)
{
	struct foreach_arg fa = { cb, arg };

	return store_iter(t, DB_CA, NULL, 0, 0, foreach_one, &fa);
}

struct trust_arg {
	const char *name;
	struct buf *pem;
};

static int
trust_one(void *arg, const struct ca_rec *c)
{
	struct trust_arg *ta = arg;

	if (c->state == CA_RETIRED)
		return 0;
	if (ta->name != NULL && strcmp(ta->name, c->name) != 0)
		return 0;
	return cert_pem_append(ta->pem, c->der.data, c->der.len);
}

int
ca_trust_pem(struct store_txn *t, const char *role, struct buf *pem)
{
	char name[CA_NAME_MAX];
	struct trust_arg ta = { NULL, pem };
	int r;

	if (role != NULL) {
		if ((r = ca_resolve(t, role, name)) != 0)
			return r;
		ta.name = name;
	}
	return ca_foreach(t, trust_one, &ta);
}

#define EPOCH_KEY "ca-epoch"

int
ca_epoch(struct store_txn *t, uint64_t *epoch)
{
	const uint8_t *v;
	size_t vl;
	int r;

	r = store_get_ref(t, DB_META, EPOCH_KEY, strlen(EPOCH_KEY), &v, &vl);
	if (r == SLW_ERR_NOTFOUND) {
		*epoch = 0;
		return 0;
	}
	if (r != 0)
		return r;
	if (vl != 8)
		return SLW_ERR_CORRUPT;
	*epoch = rec_be64_get(v);
	return 0;
}

int
ca_epoch_bump(struct store_txn *t)
{
	uint64_t e;
	uint8_t v[8];
	int r;

	if ((r = ca_epoch(t, &e)) != 0)
		return r;
	rec_be64_put(v, e + 1);
	return store_put(t, DB_META, EPOCH_KEY, strlen(EPOCH_KEY), v, 8, 0);
}
