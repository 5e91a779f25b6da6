// SPDX-License-Identifier: Apache-2.0
/*
 * keyset.c: generations of the service-account and encryption keys and
 * their rotation steps (keyset.h). Each step checks the phase it starts
 * from and changes the record and the sealed keys in the caller's
 * transaction; a key that still signs or encrypts is never deleted, and
 * keys never leave this file except unsealed into the caller's buffers.
 */
#include "keyset.h"
#include "rand.h"
#include "rec.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/platform_util.h>

enum {
	T_ACTIVE = 1, T_PENDING, T_PREVIOUS, T_MAX, T_BEGUN, T_ADVANCED,
};

const char *
keyset_phase_name(enum keyset_phase p)
{
	switch (p) {
	case KEYSET_IDLE: return "idle";
	case KEYSET_PENDING: return "pending";
	case KEYSET_ADVANCED: return "advanced";
	default: return "unknown";
	}
}

int
keyset_known(const char *name)
{
	return name != NULL && (strcmp(name, KEYSET_SA) == 0 ||
	    strcmp(name, KEYSET_ENC) == 0);
}

/* The DB_SECRETS name of a generation's key. */
static int
secret_name(const char *set, uint32_t gen, char *out, size_t len)
{
	const char *base = strcmp(set, KEYSET_SA) == 0 ? "service-account-key" :
	    "encryption-key";
	int n = gen <= 1 ? snprintf(out, len, "%s", base) :
	    snprintf(out, len, "%s/%u", base, gen);

	return n < 0 || (size_t)n >= len ? SLW_ERR_INTERNAL : 0;
}

static int
rec_key(const char *name, char *out, size_t len)
{
	int n = snprintf(out, len, "keyset/%s", name);

	return n < 0 || (size_t)n >= len ? SLW_ERR_INTERNAL : 0;
}

int
keyset_status(struct store_txn *t, const char *name, struct keyset_status *st)
{
	char k[KEYSET_NAME_MAX + 8];
	struct buf v = { 0 };
	uint64_t x;
	int r;

	memset(st, 0, sizeof(*st));
	if (!keyset_known(name))
		return slw_diag(store_txn_diag(t), SLW_ERR_NOTFOUND,
		    "no key set named '%s'", name ? name : "");
	snprintf(st->name, sizeof(st->name), "%s", name);
	if ((r = rec_key(name, k, sizeof(k))) != 0)
		return r;
	r = store_get(t, DB_META, k, strlen(k), &v);
	if (r == SLW_ERR_NOTFOUND) {	/* init's generation, never rotated */
		st->active_gen = st->max_gen = 1;
		return 0;
	}
	if (r != 0)
		return r;
	r = SLW_ERR_CORRUPT;
	if (rec_valid(v.data, v.len) != 0 ||
	    rec_get_u64(v.data, v.len, T_ACTIVE, &x) != 0 || x == 0 ||
	    x > UINT32_MAX)
		goto out;
	st->active_gen = (uint32_t)x;
	if (rec_get_u64(v.data, v.len, T_PENDING, &x) == 0)
		st->pending_gen = (uint32_t)x;
	if (rec_get_u64(v.data, v.len, T_PREVIOUS, &x) == 0)
		st->previous_gen = (uint32_t)x;
	if (rec_get_u64(v.data, v.len, T_MAX, &x) != 0 || x > UINT32_MAX)
		goto out;
	st->max_gen = (uint32_t)x;
	if (rec_get_u64(v.data, v.len, T_BEGUN, &x) == 0)
		st->begun = (time_t)x;
	if (rec_get_u64(v.data, v.len, T_ADVANCED, &x) == 0)
		st->advanced = (time_t)x;
	if ((st->pending_gen && st->previous_gen) ||
	    st->max_gen < st->active_gen || st->max_gen < st->pending_gen)
		goto out;
	st->phase = st->pending_gen ? KEYSET_PENDING :
	    st->previous_gen ? KEYSET_ADVANCED : KEYSET_IDLE;
	r = 0;
 out:
	buf_free(&v);
	if (r == SLW_ERR_CORRUPT)
		slw_diag(store_txn_diag(t), r, "the record of key set %s is "
		    "damaged", name);
	return r;
}

static int
put_status(struct store_txn *t, const struct keyset_status *st)
{
	struct rec rc = { { 0 }, 0 };
	char k[KEYSET_NAME_MAX + 8];
	int r;

	if ((r = rec_key(st->name, k, sizeof(k))) != 0)
		return r;
	rec_put_u64(&rc, T_ACTIVE, st->active_gen);
	if (st->pending_gen)
		rec_put_u64(&rc, T_PENDING, st->pending_gen);
	if (st->previous_gen)
		rec_put_u64(&rc, T_PREVIOUS, st->previous_gen);
	rec_put_u64(&rc, T_MAX, st->max_gen);
	rec_put_u64(&rc, T_BEGUN, (uint64_t)st->begun);
	rec_put_u64(&rc, T_ADVANCED, (uint64_t)st->advanced);
	r = rc.err ? rc.err : store_put(t, DB_META, k, strlen(k), rc.b.data,
	    rc.b.len, 0);
	rec_free(&rc);
	return r;
}

static int
need_phase(struct store_txn *t, const char *name, struct keyset_status *st,
    enum keyset_phase want, const char *step)
{
	int r;

	if ((r = keyset_status(t, name, st)) != 0)
		return r;
	if (st->phase != want)
		return slw_diag(store_txn_diag(t), SLW_ERR_INVALID, "cannot %s: "
		    "rotation of the %s key is %s (%s expected)", step, name,
		    keyset_phase_name(st->phase), keyset_phase_name(want));
	return 0;
}

int
keyset_generate(const char *name, enum key_type kt, struct buf *out)
{
	struct key *k = NULL;
	uint8_t raw[KEYSET_ENC_LEN];
	int r;

	buf_free(out);
	if (name != NULL && strcmp(name, KEYSET_ENC) == 0) {
		if ((r = slw_random(raw, sizeof(raw))) == 0)
			r = buf_set(out, raw, sizeof(raw));
		mbedtls_platform_zeroize(raw, sizeof(raw));
		return r;
	}
	if (name == NULL || strcmp(name, KEYSET_SA) != 0)
		return SLW_ERR_INVALID;
	if ((r = key_generate(kt, &k)) != 0)
		return r;
	r = key_write_der(k, out);
	key_free(k);
	return r;
}

int
keyset_key_type(struct store_txn *t, const char *name, enum key_type *kt)
{
	struct keyset_status st;
	struct key *k = NULL;
	struct buf v = { 0 };
	char sn[64];
	int r;

	*kt = KEY_NONE;
	if ((r = keyset_status(t, name, &st)) != 0)
		return r;
	if (strcmp(name, KEYSET_SA) != 0)
		return 0;
	if ((r = secret_name(name, st.active_gen, sn, sizeof(sn))) != 0 ||
	    (r = store_secret_get(t, sn, &v)) != 0)
		return r;
	if ((r = key_parse(v.data, v.len, &k, NULL)) == 0)
		*kt = k->type;
	key_free(k);
	buf_free(&v);
	return r;
}

int
keyset_begin(struct store_txn *t, const char *name, const struct buf *secret,
    uint32_t gen, time_t now)
{
	struct keyset_status st;
	char sn[64];
	int r;

	if ((r = need_phase(t, name, &st, KEYSET_IDLE, "begin")) != 0)
		return r;
	if (gen != st.max_gen + 1)
		return slw_diag(store_txn_diag(t), SLW_ERR_INVALID, "the %s key: "
		    "next generation is %u", name, st.max_gen + 1);
	if (secret == NULL || secret->len == 0 ||
	    (strcmp(name, KEYSET_ENC) == 0 && secret->len != KEYSET_ENC_LEN))
		return SLW_ERR_INVALID;
	if ((r = secret_name(name, gen, sn, sizeof(sn))) != 0 ||
	    (r = store_secret_put(t, sn, secret->data, secret->len)) != 0)
		return r;
	st.pending_gen = gen;
	st.max_gen = gen;
	st.begun = now;
	return put_status(t, &st);
}

int
keyset_advance(struct store_txn *t, const char *name, time_t now)
{
	struct keyset_status st;
	int r;

	if ((r = need_phase(t, name, &st, KEYSET_PENDING, "advance")) != 0)
		return r;
	st.previous_gen = st.active_gen;
	st.active_gen = st.pending_gen;
	st.pending_gen = 0;
	st.advanced = now;
	return put_status(t, &st);
}

static int
drop_key(struct store_txn *t, const char *name, uint32_t gen)
{
	char sn[64];
	int r;

	if ((r = secret_name(name, gen, sn, sizeof(sn))) != 0)
		return r;
	r = store_del(t, DB_SECRETS, sn, strlen(sn));
	return r == SLW_ERR_NOTFOUND ? 0 : r;
}

int
keyset_finish(struct store_txn *t, const char *name)
{
	struct keyset_status st;
	uint32_t old;
	int r;

	if ((r = need_phase(t, name, &st, KEYSET_ADVANCED, "finish")) != 0)
		return r;
	old = st.previous_gen;
	st.previous_gen = 0;
	if ((r = put_status(t, &st)) != 0)
		return r;
	/* a retired key never verifies or decrypts again: drop it */
	return drop_key(t, name, old);
}

int
keyset_abort(struct store_txn *t, const char *name)
{
	struct keyset_status st;
	uint32_t gen;
	int r;

	if ((r = keyset_status(t, name, &st)) != 0)
		return r;
	switch (st.phase) {
	case KEYSET_ADVANCED:	/* the old key signs / encrypts again */
		st.pending_gen = st.active_gen;
		st.active_gen = st.previous_gen;
		st.previous_gen = 0;
		return put_status(t, &st);
	case KEYSET_PENDING:	/* forget the new key */
		gen = st.pending_gen;
		st.pending_gen = 0;
		if ((r = put_status(t, &st)) != 0)
			return r;
		return drop_key(t, name, gen);
	default:
		return slw_diag(store_txn_diag(t), SLW_ERR_INVALID, "no rotation "
		    "of the %s key to abort", name);
	}
}

int
keyset_load(struct store_txn *t, const char *name, struct keyset_keys *out)
{
	struct keyset_status st;
	uint32_t gens[2];
	char sn[64];
	size_t i, n = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = keyset_status(t, name, &st)) != 0)
		return r;
	gens[n++] = st.active_gen;
	if (st.pending_gen)
		gens[n++] = st.pending_gen;
	else if (st.previous_gen)
		gens[n++] = st.previous_gen;
	for (i = 0; i < n; i++) {
		if ((r = secret_name(name, gens[i], sn, sizeof(sn))) != 0 ||
		    (r = store_secret_get(t, sn, &out->key[i])) != 0) {
			keyset_keys_free(out);
			return slw_diag(store_txn_diag(t), r, "cannot unseal "
			    "generation %u of the %s key", gens[i], name);
		}
		out->gen[i] = gens[i];
		out->n = i + 1;
	}
	return 0;
}

void
keyset_keys_free(struct keyset_keys *k)
{
	size_t i;

	if (k == NULL)
		return;
	for (i = 0; i < 2; i++)
		buf_free(&k->key[i]);
	memset(k, 0, sizeof(*k));
}
