// SPDX-License-Identifier: Apache-2.0
/*
 * store_gen.c: the store's generation and its rollback anchors (anchor.h).
 * Every commit raises the generation, authenticated under the KEK with the
 * audit head, and then moves the anchors; an open compares. Must never let
 * a database older than an anchor open with its KEK, nor move an anchor
 * before the commit it names is durable.
 */
#include "store_int.h"
#include "rand.h"
#include "rec.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#define GEN_KEY "generation"
#define GEN_LEN (8 + 32)
#define HEAD_KEY "audit-head"	/* pki/audit.c's record, read as bytes */
#define HOW "restore a backup with 'slipway restore --rollback FILE'"

/* SHA-256 of the audit head record as stored (zeros before the first). */
static int
head_digest(struct store_txn *t, uint8_t out[32])
{
	const uint8_t *v;
	size_t vl;
	int r;

	r = store_get_ref(t, DB_META, HEAD_KEY, strlen(HEAD_KEY), &v, &vl);
	if (r == SLW_ERR_NOTFOUND) {
		memset(out, 0, 32);
		return 0;
	}
	if (r != 0)
		return r;
	return mbedtls_sha256(v, vl, out, 0) == 0 ? 0 : SLW_ERR_CRYPTO;
}

static int
gen_mac(const struct store *s, uint64_t gen, const uint8_t head[32],
    uint8_t out[32])
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	uint8_t msg[8 + 32];

	rec_be64_put(msg, gen);
	memcpy(msg + 8, head, 32);
	return md != NULL && mbedtls_md_hmac(md, s->gen_key, 32, msg,
	    sizeof(msg), out) == 0 ? 0 : SLW_ERR_CRYPTO;
}

/*
 * The database's generation and audit head; *present 0 for a store made
 * before generations existed. SLW_ERR_CORRUPT if the record does not
 * authenticate (edited, or moved from another copy).
 */
static int
gen_read(struct store_txn *t, struct anchor_state *st, int *present)
{
	struct store *s = t->s;
	const uint8_t *v;
	uint8_t m[32];
	size_t vl;
	int r;

	memset(st, 0, sizeof(*st));
	*present = 0;
	if ((r = head_digest(t, st->head)) != 0)
		return r;
	st->has_head = 1;
	r = store_get_ref(t, DB_META, GEN_KEY, strlen(GEN_KEY), &v, &vl);
	if (r == SLW_ERR_NOTFOUND)
		return 0;
	if (r != 0)
		return r;
	if (vl != GEN_LEN)
		return slw_diag(t->d, SLW_ERR_CORRUPT, "the store in %s has a "
		    "malformed generation record", s->dir);
	st->generation = rec_be64_get(v);
	if ((r = gen_mac(s, st->generation, st->head, m)) != 0)
		return r;
	if (slw_memeq_ct(m, v + 8, 32) != 0)
		return slw_diag(t->d, SLW_ERR_CORRUPT, "the store in %s fails "
		    "its generation check (its records were edited or mixed "
		    "from another copy); %s", s->dir, HOW);
	*present = 1;
	return 0;
}

int
store_gen_bump(struct store_txn *t, struct anchor_state *st)
{
	struct store *s = t->s;
	uint8_t rec[GEN_LEN];
	const uint8_t *v;
	size_t vl;
	int r;

	if (!s->have_kek)
		return slw_diag(t->d, SLW_ERR_NOKEK, "the key-encryption key is "
		    "needed to change the store in %s", s->dir);
	memset(st, 0, sizeof(*st));
	r = store_get_ref(t, DB_META, GEN_KEY, strlen(GEN_KEY), &v, &vl);
	if (r == 0 && vl == GEN_LEN)
		st->generation = rec_be64_get(v);
	else if (r != 0 && r != SLW_ERR_NOTFOUND)
		return r;
	st->generation++;
	if ((r = head_digest(t, st->head)) != 0)
		return r;
	st->has_head = 1;
	rec_be64_put(rec, st->generation);
	if ((r = gen_mac(s, st->generation, st->head, rec + 8)) != 0)
		return r;
	return store_put(t, DB_META, GEN_KEY, strlen(GEN_KEY), rec, GEN_LEN, 0);
}

static void
anchor_all(struct store *s, const struct anchor_state *st, int durable)
{
	size_t i;

	for (i = 0; i < s->n_anchors; i++)
		if (s->anchors[i].advance(s->anchors[i].ctx, st, durable,
		    NULL) != 0)
			atomic_fetch_add(&s->anchor_errors, 1);
}

void
store_gen_anchor(struct store *s, const struct anchor_state *st)
{
	anchor_all(s, st, 0);
}

int
store_gen_setup(struct store *s, int create, struct slw_diag *d)
{
	int r;

	store_gen_free(s);
	if ((r = kek_derive(&s->kek, STORE_GEN_LABEL, s->gen_key)) != 0)
		return r;
	if ((r = anchor_file_open(s->anchor_path, &s->kek, create, s->readonly,
	    &s->af, d)) != 0)
		return r;
	anchor_file_ops(s->af, &s->anchors[0]);
	s->n_anchors = 1;
	if (s->extra.load != NULL && s->extra.advance != NULL)
		s->anchors[s->n_anchors++] = s->extra;
	return 0;
}

void
store_gen_free(struct store *s)
{
	anchor_file_free(s->af);
	s->af = NULL;
	s->n_anchors = 0;
	mbedtls_platform_zeroize(s->gen_key, sizeof(s->gen_key));
}

static int
read_txn(struct store_txn *t, void *arg)
{
	struct { struct anchor_state st; int present; } *a = arg;

	return gen_read(t, &a->st, &a->present);
}

int
store_gen_check(struct store *s, struct slw_diag *d)
{
	struct anchor_state an[STORE_ANCHORS_MAX];
	int missing[STORE_ANCHORS_MAX];
	struct { struct anchor_state st; int present; } db;
	const struct anchor_ops *hi = NULL;
	uint64_t max = 0;
	size_t i;
	int r;

	/* the anchors first: a commit in between only moves the database on */
	for (i = 0; i < s->n_anchors; i++) {
		missing[i] = 0;
		r = s->anchors[i].load(s->anchors[i].ctx, &an[i], d);
		if (r == SLW_ERR_NOTFOUND) {
			memset(&an[i], 0, sizeof(an[i]));
			missing[i] = 1;
		} else if (r != 0)
			return slw_diag(d, r, "the rollback anchor %s cannot be "
			    "read; %s", s->anchors[i].name, HOW);
		if (an[i].generation > max || hi == NULL) {
			max = an[i].generation;
			hi = &s->anchors[i];
		}
	}
	if ((r = store_read(s, read_txn, &db, d)) != 0)
		return r;
	if (!db.present) {
		if (max > 0)
			return slw_diag(d, SLW_ERR_CORRUPT, "the store in %s has no "
			    "generation but its rollback anchor %s is at %llu: its "
			    "data.mdb was replaced by an older copy; %s", s->dir,
			    hi->name, (unsigned long long)max, HOW);
		return 0;	/* made before generations: the next commit anchors */
	}
	if (db.st.generation < max)
		return slw_diag(d, SLW_ERR_CORRUPT, "the store in %s is older than "
		    "its rollback anchor %s (generation %llu < %llu): its data.mdb "
		    "was replaced by an older copy; put the newer one back, or %s",
		    s->dir, hi->name, (unsigned long long)db.st.generation,
		    (unsigned long long)max, HOW);
	for (i = 0; i < s->n_anchors; i++) {
		if (an[i].generation == db.st.generation && an[i].has_head &&
		    memcmp(an[i].head, db.st.head, 32) != 0)
			return slw_diag(d, SLW_ERR_CORRUPT, "the store in %s does "
			    "not match its rollback anchor %s (generation %llu, "
			    "another audit head): its data.mdb was replaced by a "
			    "different copy; %s", s->dir, s->anchors[i].name,
			    (unsigned long long)db.st.generation, HOW);
		if (i == 0 && missing[i])
			return slw_diag(d, SLW_ERR_NOTFOUND, "the rollback anchor "
			    "%s is missing but the store in %s is at generation "
			    "%llu: put the anchor back next to the KEK, or %s",
			    s->anchors[i].name, s->dir,
			    (unsigned long long)db.st.generation, HOW);
	}
	/* ahead of an anchor (a crash after a commit, a restore): it catches
	 * up, durably */
	for (i = 0; i < s->n_anchors && !s->readonly; i++)
		if (an[i].generation < db.st.generation) {
			anchor_all(s, &db.st, 1);
			break;
		}
	return 0;
}

/* A new state: every anchor forgets what it had and takes this one. */
int
store_gen_reset(struct store *s, struct slw_diag *d)
{
	struct { struct anchor_state st; int present; } db;
	size_t i;
	int r;

	if ((r = store_read(s, read_txn, &db, d)) != 0)
		return r;
	for (i = 0; i < s->n_anchors; i++)
		if (s->anchors[i].reset != NULL && (r = s->anchors[i].reset(
		    s->anchors[i].ctx, &db.st, d)) != 0)
			return r;
	return 0;
}

int
store_gen_get(struct store_txn *t, struct anchor_state *st)
{
	int present;

	if (!t->s->have_kek)
		return slw_diag(t->d, SLW_ERR_NOKEK, "the key-encryption key is "
		    "needed to read the store's generation");
	return gen_read(t, st, &present);
}

int
store_gen_anchor_info(struct store *s, struct store_gen_anchor_info *ai,
    struct slw_diag *d)
{
	int r;

	memset(ai, 0, sizeof(*ai));
	snprintf(ai->path, sizeof(ai->path), "%s", s->anchor_path);
	ai->errors = atomic_load(&s->anchor_errors);
	if (s->n_anchors == 0)
		return slw_diag(d, SLW_ERR_NOKEK, "the key-encryption key is "
		    "needed to read the rollback anchor");
	r = s->anchors[0].load(s->anchors[0].ctx, &ai->file, d);
	return r == SLW_ERR_NOTFOUND ? 0 : r;
}
