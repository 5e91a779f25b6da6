// SPDX-License-Identifier: Apache-2.0
/*
 * audit.c: keyed hash chain over audit records. A record is
 * body || (tag 8, HMAC-SHA256(audit key, body)), where the body holds the
 * sequence number, time, actor, action, object, detail and the previous MAC.
 * The head (last seq and MAC) is kept in the meta database, so removing
 * records from the end is detected too, and anchored outside it with the
 * store's generation (store_gen.c), so is an older copy of the database.
 */
#include "audit.h"
#include "rand.h"
#include "rec.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/md.h>

enum {
	T_SEQ = 1, T_TIME, T_ACTOR, T_ACTION, T_OBJECT, T_DETAIL, T_PREV,
	T_MAC,
};

#define HEAD_KEY "audit-head"
#define MAC_FIELD (5 + 32)

static int
mac(const struct kek *k, const uint8_t *p, size_t len, uint8_t out[32])
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

	return mbedtls_md_hmac(md, k->audit_key, sizeof(k->audit_key), p, len,
	    out) == 0 ? 0 : SLW_ERR_CRYPTO;
}

static int
head_get(struct store_txn *t, uint64_t *seq, uint8_t last[32])
{
	const uint8_t *v, *m;
	size_t vl, ml;
	int r;

	r = store_get_ref(t, DB_META, HEAD_KEY, strlen(HEAD_KEY), &v, &vl);
	if (r == SLW_ERR_NOTFOUND) {
		*seq = 0;
		memset(last, 0, 32);
		return 0;
	}
	if (r != 0)
		return r;
	if (rec_get_u64(v, vl, T_SEQ, seq) != 0 ||
	    rec_get(v, vl, T_MAC, &m, &ml) != 0 || ml != 32)
		return SLW_ERR_CORRUPT;
	memcpy(last, m, 32);
	return 0;
}

static void
clip(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

int
audit_append(struct store_txn *t, const char *actor, const char *action,
    const char *object, const char *detail)
{
	const struct kek *k = store_kek(store_txn_store(t));
	struct audit_entry e;
	struct rec body = { 0 }, head = { 0 };
	uint8_t prev[32], m[32], key[8];
	uint64_t seq;
	int r;

	if (k == NULL)
		return slw_diag(store_txn_diag(t), SLW_ERR_NOKEK,
		    "the key-encryption key is needed to write the audit log");
	if ((r = head_get(t, &seq, prev)) != 0)
		return slw_diag(store_txn_diag(t), r, "audit head is corrupt");
	memset(&e, 0, sizeof(e));
	clip(e.actor, sizeof(e.actor), actor);
	clip(e.action, sizeof(e.action), action);
	clip(e.object, sizeof(e.object), object);
	clip(e.detail, sizeof(e.detail), detail);
	seq++;
	rec_put_u64(&body, T_SEQ, seq);
	rec_put_u64(&body, T_TIME, (uint64_t)slw_now());
	rec_put_str(&body, T_ACTOR, e.actor);
	rec_put_str(&body, T_ACTION, e.action);
	rec_put_str(&body, T_OBJECT, e.object);
	rec_put_str(&body, T_DETAIL, e.detail);
	rec_put_bytes(&body, T_PREV, prev, 32);
	if ((r = body.err) != 0)
		goto out;
	if ((r = mac(k, body.b.data, body.b.len, m)) != 0)
		goto out;
	rec_put_bytes(&body, T_MAC, m, 32);
	rec_put_u64(&head, T_SEQ, seq);
	rec_put_bytes(&head, T_MAC, m, 32);
	if ((r = body.err) != 0 || (r = head.err) != 0)
		goto out;
	rec_be64_put(key, seq);
	if ((r = store_put(t, DB_AUDIT, key, 8, body.b.data, body.b.len,
	    STORE_NOOVERWRITE | STORE_APPEND)) != 0)
		goto out;
	r = store_put(t, DB_META, HEAD_KEY, strlen(HEAD_KEY), head.b.data,
	    head.b.len, 0);
 out:
	rec_free(&body);
	rec_free(&head);
	return r;
}

static int
decode(const uint8_t *v, size_t vl, struct audit_entry *e)
{
	uint64_t tm;

	memset(e, 0, sizeof(*e));
	if (rec_valid(v, vl) != 0 ||
	    rec_get_u64(v, vl, T_SEQ, &e->seq) != 0 ||
	    rec_get_u64(v, vl, T_TIME, &tm) != 0 ||
	    rec_get_str(v, vl, T_ACTOR, e->actor, sizeof(e->actor)) != 0 ||
	    rec_get_str(v, vl, T_ACTION, e->action, sizeof(e->action)) != 0 ||
	    rec_get_str(v, vl, T_OBJECT, e->object, sizeof(e->object)) != 0 ||
	    rec_get_str(v, vl, T_DETAIL, e->detail, sizeof(e->detail)) != 0)
		return SLW_ERR_CORRUPT;
	e->time = (time_t)tm;
	return 0;
}

struct verify_state {
	const struct kek *k;
	uint64_t expect;
	uint8_t prev[32];
	struct slw_diag *d;
	int first_is_init;
};

static int
verify_one(void *arg, const uint8_t *key, size_t kl, const uint8_t *v,
    size_t vl)
{
	struct verify_state *vs = arg;
	struct audit_entry e;
	const uint8_t *p;
	uint8_t m[32];
	size_t pl;
	uint64_t kseq;

	if (kl != 8)
		return slw_diag(vs->d, SLW_ERR_CORRUPT, "audit log has a bad key");
	kseq = rec_be64_get(key);
	if (kseq != vs->expect)
		return slw_diag(vs->d, SLW_ERR_CORRUPT,
		    "audit record %llu is missing (next record is %llu)",
		    (unsigned long long)vs->expect, (unsigned long long)kseq);
	if (vl < MAC_FIELD || v[vl - MAC_FIELD] != T_MAC ||
	    decode(v, vl - MAC_FIELD, &e) != 0 || e.seq != kseq)
		return slw_diag(vs->d, SLW_ERR_CORRUPT,
		    "audit record %llu is malformed", (unsigned long long)kseq);
	if (mac(vs->k, v, vl - MAC_FIELD, m) != 0)
		return SLW_ERR_CRYPTO;
	if (slw_memeq_ct(m, v + vl - 32, 32) != 0)
		return slw_diag(vs->d, SLW_ERR_CORRUPT,
		    "audit record %llu was changed (its MAC does not match)",
		    (unsigned long long)kseq);
	if (rec_get(v, vl - MAC_FIELD, T_PREV, &p, &pl) != 0 || pl != 32 ||
	    memcmp(p, vs->prev, 32) != 0)
		return slw_diag(vs->d, SLW_ERR_CORRUPT,
		    "audit record %llu does not follow record %llu (chain broken)",
		    (unsigned long long)kseq, (unsigned long long)kseq - 1);
	if (kseq == 1)
		vs->first_is_init = strcmp(e.action, "init") == 0;
	memcpy(vs->prev, m, 32);
	vs->expect++;
	return 0;
}

struct verify_arg {
	struct verify_state vs;
	uint64_t count;
};

static int
verify_txn(struct store_txn *t, void *arg)
{
	struct verify_arg *va = arg;
	uint8_t hmac_last[32];
	uint64_t hseq;
	int r;

	va->vs.d = store_txn_diag(t);
	if ((r = store_iter(t, DB_AUDIT, NULL, 0, 0, verify_one, &va->vs)) != 0)
		return r;
	va->count = va->vs.expect - 1;
	if ((r = head_get(t, &hseq, hmac_last)) != 0)
		return slw_diag(va->vs.d, SLW_ERR_CORRUPT,
		    "audit head is corrupt");
	if (hseq != va->count)
		return slw_diag(va->vs.d, SLW_ERR_CORRUPT,
		    "audit log ends at record %llu but its head says %llu (records removed)",
		    (unsigned long long)va->count, (unsigned long long)hseq);
	if (va->count > 0 && memcmp(hmac_last, va->vs.prev, 32) != 0)
		return slw_diag(va->vs.d, SLW_ERR_CORRUPT,
		    "the last audit record does not match the audit head");
	if (va->count == 0 || !va->vs.first_is_init)
		return slw_diag(va->vs.d, SLW_ERR_CORRUPT,
		    "audit log does not start with the init record");
	return 0;
}

int
audit_verify(struct store *s, uint64_t *count, struct slw_diag *d)
{
	struct verify_arg va;
	int r;

	memset(&va, 0, sizeof(va));
	if ((va.vs.k = store_kek(s)) == NULL)
		return slw_diag(d, SLW_ERR_NOKEK,
		    "the key-encryption key is needed to verify the audit log");
	va.vs.expect = 1;
	r = store_read(s, verify_txn, &va, d);
	*count = va.count;
	return r;
}

struct foreach_arg {
	int (*cb)(void *, const struct audit_entry *);
	void *arg;
};

static int
foreach_one(void *arg, const uint8_t *k, size_t kl, const uint8_t *v,
    size_t vl)
{
	struct foreach_arg *fa = arg;
	struct audit_entry e;

	(void)k;
	(void)kl;
	if (vl < MAC_FIELD || decode(v, vl - MAC_FIELD, &e) != 0)
		return SLW_ERR_CORRUPT;
	return fa->cb(fa->arg, &e);
}

int
audit_foreach(struct store_txn *t,
    int (*cb)(void *arg, const struct audit_entry *e), void *arg)
{
	struct foreach_arg fa = { cb, arg };

	return store_iter(t, DB_AUDIT, NULL, 0, 0, foreach_one, &fa);
}
