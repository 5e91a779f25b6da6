// SPDX-License-Identifier: Apache-2.0
/*
 * certdb.c: certificate records and the expiry index, written in the
 * caller's transaction. Stores public data only.
 */
#include "certdb.h"
#include "rand.h"
#include "rec.h"

#include <stdio.h>
#include <string.h>

enum {
	T_SERIAL = 1, T_CA, T_CAGEN, T_PROFILE, T_SUBJECT, T_NODE, T_PURPOSE,
	T_NB, T_NA, T_STATUS, T_DER, T_STATUS_AT, T_REASON,
};

int
certdb_serial_new(uint8_t serial[SERIAL_LEN])
{
	int r;

	do {
		if ((r = slw_random(serial, SERIAL_LEN)) != 0)
			return r;
	} while (serial[0] == 0);
	return 0;
}

void
certdb_rec_free(struct cert_rec *rec)
{
	if (rec != NULL)
		buf_free(&rec->der);
}

const char *
certdb_rec_node(const struct cert_rec *rec)
{
	return rec->node[0] == '\0' || rec->node[0] == '(' ? "-" : rec->node;
}

int
certdb_rec_is_ca(const struct cert_rec *rec)
{
	return strcmp(rec->purpose, "ca") == 0 || strcmp(rec->profile, "ca") == 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
certdb_serial_parse(const char *hex, uint8_t serial[SERIAL_LEN])
{
	size_t n = 0;
	int hi = -1, v;

	if (hex == NULL)
		return SLW_ERR_INVALID;
	for (; *hex != '\0'; hex++) {
		if (*hex == ':' && hi < 0)
			continue;
		if ((v = hexval(*hex)) < 0 || n >= SERIAL_LEN)
			return SLW_ERR_INVALID;
		if (hi < 0)
			hi = v;
		else {
			serial[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n == SERIAL_LEN && hi < 0 ? 0 : SLW_ERR_INVALID;
}

const char *
certdb_status_name(int status)
{
	switch (status) {
	case CERT_VALID: return "valid";
	case CERT_REVOKED: return "revoked";
	case CERT_SUPERSEDED: return "superseded";
	default: return "unknown";
	}
}

static int
encode(const struct cert_rec *c, struct rec *w)
{
	rec_put_bytes(w, T_SERIAL, c->serial, SERIAL_LEN);
	rec_put_str(w, T_CA, c->ca);
	rec_put_u64(w, T_CAGEN, c->ca_gen);
	rec_put_str(w, T_PROFILE, c->profile);
	rec_put_str(w, T_SUBJECT, c->subject);
	rec_put_str(w, T_NODE, c->node);
	rec_put_str(w, T_PURPOSE, c->purpose);
	rec_put_u64(w, T_NB, (uint64_t)c->not_before);
	rec_put_u64(w, T_NA, (uint64_t)c->not_after);
	rec_put_u64(w, T_STATUS, (uint64_t)c->status);
	rec_put_bytes(w, T_DER, c->der.data, c->der.len);
	if (c->status != CERT_VALID)
		rec_put_u64(w, T_STATUS_AT, (uint64_t)c->status_time);
	if (c->status == CERT_REVOKED)
		rec_put_u64(w, T_REASON, (uint64_t)c->reason);
	return w->err;
}

static int
decode(const uint8_t *v, size_t vl, struct cert_rec *c, int with_der)
{
	const uint8_t *p;
	size_t pl;
	uint64_t u;

	memset(c, 0, sizeof(*c));
	if (rec_valid(v, vl) != 0 ||
	    rec_get(v, vl, T_SERIAL, &p, &pl) != 0 || pl != SERIAL_LEN)
		return SLW_ERR_CORRUPT;
	memcpy(c->serial, p, SERIAL_LEN);
	if (rec_get_str(v, vl, T_CA, c->ca, sizeof(c->ca)) != 0 ||
	    rec_get_u64(v, vl, T_CAGEN, &u) != 0)
		return SLW_ERR_CORRUPT;
	c->ca_gen = (uint32_t)u;
	if (rec_get_str(v, vl, T_PROFILE, c->profile, sizeof(c->profile)) ||
	    rec_get_str(v, vl, T_SUBJECT, c->subject, sizeof(c->subject)) ||
	    rec_get_str(v, vl, T_NODE, c->node, sizeof(c->node)) ||
	    rec_get_str(v, vl, T_PURPOSE, c->purpose, sizeof(c->purpose)))
		return SLW_ERR_CORRUPT;
	if (rec_get_u64(v, vl, T_NB, &u) != 0)
		return SLW_ERR_CORRUPT;
	c->not_before = (time_t)u;
	if (rec_get_u64(v, vl, T_NA, &u) != 0)
		return SLW_ERR_CORRUPT;
	c->not_after = (time_t)u;
	if (rec_get_u64(v, vl, T_STATUS, &u) != 0)
		return SLW_ERR_CORRUPT;
	c->status = (int)u;
	/* added later: absent in older records */
	if (rec_get_u64(v, vl, T_STATUS_AT, &u) == 0)
		c->status_time = (time_t)u;
	if (rec_get_u64(v, vl, T_REASON, &u) == 0)
		c->reason = (int)u;
	if (with_der && rec_get_buf(v, vl, T_DER, &c->der) != 0)
		return SLW_ERR_CORRUPT;
	return 0;
}

/* node \0 purpose \0 serial */
static int
owner_key(uint8_t *key, size_t len, const char *node, const char *purpose,
    const uint8_t *serial, size_t *klen)
{
	size_t nl = strlen(node), pl = strlen(purpose);

	if (nl + pl + 2 + SERIAL_LEN > len)
		return SLW_ERR_INVALID;
	memcpy(key, node, nl + 1);
	memcpy(key + nl + 1, purpose, pl + 1);
	if (serial != NULL)
		memcpy(key + nl + pl + 2, serial, SERIAL_LEN);
	*klen = nl + pl + 2 + (serial != NULL ? SERIAL_LEN : 0);
	return 0;
}

struct supersede_arg {
	struct store_txn *t;
	size_t plen;
	uint8_t serials[64][SERIAL_LEN];
	size_t n;
};

static int
supersede_one(void *arg, const uint8_t *k, size_t kl, const uint8_t *v,
    size_t vl)
{
	struct supersede_arg *a = arg;

	(void)v;
	(void)vl;
	if (kl != a->plen + SERIAL_LEN)
		return 0;
	if (a->n >= 64)
		return 1;	/* the rest next time */
	memcpy(a->serials[a->n++], k + a->plen, SERIAL_LEN);
	return 0;
}

/* Marks the node's earlier certificates for this purpose superseded
 * (revoked ones stay revoked). */
static int
supersede(struct store_txn *t, const struct cert_rec *c, time_t when)
{
	struct supersede_arg a;
	uint8_t prefix[256], key[256];
	size_t klen, i;
	int r;

	if (c->node[0] == '\0' || c->purpose[0] == '\0')
		return 0;
	memset(&a, 0, sizeof(a));
	a.t = t;
	if ((r = owner_key(prefix, sizeof(prefix), c->node, c->purpose, NULL,
	    &a.plen)) != 0)
		return r;
	if ((r = store_iter(t, DB_OWNER, prefix, a.plen, 0, supersede_one,
	    &a)) != 0)
		return r;
	for (i = 0; i < a.n; i++) {
		r = certdb_set_status(t, a.serials[i], CERT_SUPERSEDED, when);
		if (r != 0 && r != SLW_ERR_NOTFOUND && r != SLW_ERR_DENIED)
			return r;
		if ((r = owner_key(key, sizeof(key), c->node, c->purpose,
		    a.serials[i], &klen)) != 0 ||
		    (r = store_del(t, DB_OWNER, key, klen)) != 0)
			return r;
	}
	return 0;
}

static void
expiry_key(uint8_t key[8 + SERIAL_LEN], time_t na, const uint8_t *serial)
{
	rec_be64_put(key, (uint64_t)na);
	memcpy(key + 8, serial, SERIAL_LEN);
}

int
certdb_add(struct store_txn *t, struct cert_rec *c)
{
	struct cert_info info;
	struct rec w = { 0 };
	uint8_t ek[8 + SERIAL_LEN];
	int r;

	if ((r = cert_info_der(c->der.data, c->der.len, &info)) != 0)
		return r;
	if (info.serial_len != SERIAL_LEN ||
	    memcmp(info.serial, c->serial, SERIAL_LEN) != 0)
		return SLW_ERR_INVALID;
	snprintf(c->subject, sizeof(c->subject), "%s", info.subject);
	c->not_before = info.not_before;
	c->not_after = info.not_after;
	if (c->status == 0)
		c->status = CERT_VALID;
	if ((r = encode(c, &w)) != 0)
		goto out;
	if ((r = supersede(t, c, slw_now())) != 0)
		goto out;
	if ((r = store_put(t, DB_CERTS, c->serial, SERIAL_LEN, w.b.data,
	    w.b.len, STORE_NOOVERWRITE)) != 0)
		goto out;
	expiry_key(ek, c->not_after, c->serial);
	if ((r = store_put(t, DB_EXPIRY, ek, sizeof(ek), "", 0, 0)) != 0)
		goto out;
	if (c->node[0] != '\0' && c->purpose[0] != '\0') {
		uint8_t ok[256];
		size_t oklen;

		if ((r = owner_key(ok, sizeof(ok), c->node, c->purpose, c->serial,
		    &oklen)) != 0)
			goto out;
		r = store_put(t, DB_OWNER, ok, oklen, "", 0, 0);
	}
 out:
	rec_free(&w);
	return r;
}

int
certdb_get(struct store_txn *t, const uint8_t serial[SERIAL_LEN],
    struct cert_rec *c)
{
	const uint8_t *v;
	size_t vl;
	int r;

	if ((r = store_get_ref(t, DB_CERTS, serial, SERIAL_LEN, &v, &vl)) != 0)
		return r;
	if ((r = decode(v, vl, c, 1)) != 0)
		certdb_rec_free(c);
	return r;
}

int
certdb_put(struct store_txn *t, const struct cert_rec *c)
{
	struct rec w = { 0 };
	int r;

	if ((r = encode(c, &w)) == 0)
		r = store_put(t, DB_CERTS, c->serial, SERIAL_LEN, w.b.data,
		    w.b.len, 0);
	rec_free(&w);
	return r;
}

int
certdb_set_status(struct store_txn *t, const uint8_t serial[SERIAL_LEN],
    int status, time_t when)
{
	struct cert_rec c;
	int r;

	if (status != CERT_VALID && status != CERT_SUPERSEDED)
		return SLW_ERR_INVALID;
	if ((r = certdb_get(t, serial, &c)) != 0)
		return r;
	if (c.status == CERT_REVOKED) {
		certdb_rec_free(&c);
		return SLW_ERR_DENIED;
	}
	c.status = status;
	c.status_time = status == CERT_VALID ? 0 : when;
	r = certdb_put(t, &c);
	certdb_rec_free(&c);
	return r;
}

struct foreach_arg {
	struct store_txn *t;
	int (*cb)(void *, const struct cert_rec *);
	void *arg;
};

static int
foreach_one(void *arg, const uint8_t *k, size_t kl, const uint8_t *v,
    size_t vl)
{
	struct foreach_arg *fa = arg;
	struct cert_rec c;
	const uint8_t *cv;
	size_t cvl;
	int r;

	(void)v;
	(void)vl;
	if (kl != 8 + SERIAL_LEN)
		return SLW_ERR_CORRUPT;
	if ((r = store_get_ref(fa->t, DB_CERTS, k + 8, SERIAL_LEN, &cv,
	    &cvl)) != 0)
		return r == SLW_ERR_NOTFOUND ? SLW_ERR_CORRUPT : r;
	if ((r = decode(cv, cvl, &c, 0)) != 0)
		return r;
	r = fa->cb(fa->arg, &c);
	certdb_rec_free(&c);
	return r;
}

int
certdb_foreach(struct store_txn *t,
    int (*cb)(void *arg, const struct cert_rec *rec), void *arg)
{
	struct foreach_arg fa = { t, cb, arg };

	return store_iter(t, DB_EXPIRY, NULL, 0, 0, foreach_one, &fa);
}

struct count_arg {
	const char *ca;
	uint32_t gen;
	time_t now;
	size_t n;
	struct cert_rec *example;
};

static int
count_one(void *arg, const struct cert_rec *c)
{
	struct count_arg *a = arg;

	if (c->status != CERT_VALID || c->not_after <= a->now ||
	    c->ca_gen != a->gen || strcmp(c->ca, a->ca) != 0 ||
	    strcmp(c->purpose, "ca") == 0)
		return 0;
	/* the appliance's own session credentials (no owner, at most a day:
	 * made afresh by the next session from the signing generation) */
	if (c->node[0] == '\0' && c->not_after - c->not_before <=
	    CERTDB_SESSION_SECONDS)
		return 0;
	if (a->n++ == 0 && a->example != NULL) {
		*a->example = *c;
		a->example->der.data = NULL;
		a->example->der.len = 0;
	}
	return 0;
}

int
certdb_count_valid_by_ca(struct store_txn *t, const char *ca, uint32_t gen,
    time_t now, size_t *n, struct cert_rec *example)
{
	struct count_arg a = { ca, gen, now, 0, example };
	int r;

	if (example != NULL)
		memset(example, 0, sizeof(*example));
	r = certdb_foreach(t, count_one, &a);
	*n = a.n;
	return r;
}
