// SPDX-License-Identifier: Apache-2.0
/*
 * kekwrap.c: the wrapped-KEK file (kekwrap.h): its parser and writer,
 * and wrapping the KEK under a passphrase with Argon2id (libargon2) and
 * AES-256-GCM. Never writes the KEK or a passphrase anywhere but the
 * caller's memory; wipes every derived key and temporary copy.
 */
#include "kekwrap.h"
#include "rand.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <argon2.h>
#include <mbedtls/gcm.h>
#include <mbedtls/platform_util.h>

#define MAGIC "SWKW"
#define VERSION 1
#define PW_BODY_LEN (12 + KEKWRAP_SALT_LEN + 12 + KEK_LEN + 16)
#define AAD_LEN (4 + 1 + 12 + KEKWRAP_SALT_LEN)

const struct kekwrap_cost kekwrap_cost_default = { 3, 65536, 2 };

/* Crockford's base32 letters, lower case: no i, l, o, u */
static const char recovery_alpha[] = "0123456789abcdefghjkmnpqrstvwxyz";

static void
be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int
cost_ok(const struct kekwrap_cost *c)
{
	return c->t_cost >= 1 && c->t_cost <= 16 && c->m_cost_kib >= 8192 &&
	    c->m_cost_kib <= 1048576 && c->lanes >= 1 && c->lanes <= 8 &&
	    c->m_cost_kib >= 8 * c->lanes;
}

void
kekwrap_wipe(struct kekwrap *w)
{
	if (w != NULL)
		mbedtls_platform_zeroize(w, sizeof(*w));
}

/* ---- parsing and writing ---- */

static int
parse_pw(const uint8_t *p, size_t len, struct kekwrap_pw *pw,
    const char *what, struct slw_diag *d)
{
	if (len != PW_BODY_LEN)
		return slw_diag(d, SLW_ERR_PARSE, "wrapped KEK: %s slot is %zu "
		    "bytes, not %d", what, len, PW_BODY_LEN);
	pw->cost.t_cost = be32_get(p);
	pw->cost.m_cost_kib = be32_get(p + 4);
	pw->cost.lanes = be32_get(p + 8);
	if (!cost_ok(&pw->cost))
		return slw_diag(d, SLW_ERR_PARSE, "wrapped KEK: %s slot has "
		    "Argon2id costs out of bounds (t %u, m %u KiB, lanes %u)",
		    what, pw->cost.t_cost, pw->cost.m_cost_kib, pw->cost.lanes);
	p += 12;
	memcpy(pw->salt, p, KEKWRAP_SALT_LEN);
	p += KEKWRAP_SALT_LEN;
	memcpy(pw->nonce, p, 12);
	memcpy(pw->wrapped, p + 12, KEK_LEN);
	memcpy(pw->tag, p + 12 + KEK_LEN, 16);
	return 0;
}

static int
parse_tpm(const uint8_t *p, size_t len, struct kekwrap_tpm *t,
    struct slw_diag *d)
{
	size_t off = 4, n;

	if (len < 4 + 2 + 1 + 2 + 1)
		return slw_diag(d, SLW_ERR_PARSE, "wrapped KEK: tpm slot too short");
	t->pcr_mask = be32_get(p);
	if (t->pcr_mask >> 24 != 0)
		return slw_diag(d, SLW_ERR_PARSE, "wrapped KEK: tpm slot names "
		    "a PCR above 23");
	n = (size_t)p[off] << 8 | p[off + 1];
	off += 2;
	if (n == 0 || n > KEKWRAP_TPM_BLOB_MAX || n > len - off - 2)
		return slw_diag(d, SLW_ERR_PARSE, "wrapped KEK: tpm public area "
		    "length %zu out of bounds", n);
	memcpy(t->pub, p + off, n);
	t->pub_len = n;
	off += n;
	n = (size_t)p[off] << 8 | p[off + 1];
	off += 2;
	if (n == 0 || n > KEKWRAP_TPM_BLOB_MAX || n != len - off)
		return slw_diag(d, SLW_ERR_PARSE, "wrapped KEK: tpm private area "
		    "length %zu does not fill the slot", n);
	memcpy(t->priv, p + off, n);
	t->priv_len = n;
	return 0;
}

int
kekwrap_parse(const uint8_t *buf, size_t len, struct kekwrap *out,
    struct slw_diag *d)
{
	struct kekwrap w;
	size_t off = 6, i, nslots, blen;
	int r = SLW_ERR_PARSE;

	memset(&w, 0, sizeof(w));
	if (buf == NULL || len > KEKWRAP_MAX) {
		r = slw_diag(d, SLW_ERR_PARSE, "wrapped KEK: over %d bytes",
		    KEKWRAP_MAX);
		goto out;
	}
	if (len < 6 || memcmp(buf, MAGIC, 4) != 0) {
		r = slw_diag(d, SLW_ERR_PARSE, "not a slipway wrapped-KEK file");
		goto out;
	}
	if (buf[4] != VERSION) {
		r = slw_diag(d, SLW_ERR_PARSE, "wrapped KEK: version %u is not "
		    "supported (expects %d)", buf[4], VERSION);
		goto out;
	}
	nslots = buf[5];
	if (nslots < 1 || nslots > 3) {
		r = slw_diag(d, SLW_ERR_PARSE, "wrapped KEK: %zu slots (1 to 3)",
		    nslots);
		goto out;
	}
	for (i = 0; i < nslots; i++) {
		uint8_t kind;

		if (len - off < 4) {
			r = slw_diag(d, SLW_ERR_PARSE, "wrapped KEK: slot %zu "
			    "truncated", i + 1);
			goto out;
		}
		kind = buf[off];
		blen = (size_t)buf[off + 2] << 8 | buf[off + 3];
		if (buf[off + 1] != 0 || blen > len - off - 4) {
			r = slw_diag(d, SLW_ERR_PARSE, "wrapped KEK: slot %zu "
			    "malformed", i + 1);
			goto out;
		}
		off += 4;
		switch (kind) {
		case KEKWRAP_PASSPHRASE:
			if (w.has_pw)
				goto dup;
			if ((r = parse_pw(buf + off, blen, &w.pw, "passphrase",
			    d)) != 0)
				goto out;
			w.has_pw = 1;
			break;
		case KEKWRAP_RECOVERY:
			if (w.has_recovery)
				goto dup;
			if ((r = parse_pw(buf + off, blen, &w.recovery,
			    "recovery", d)) != 0)
				goto out;
			w.has_recovery = 1;
			break;
		case KEKWRAP_TPM:
			if (w.has_tpm)
				goto dup;
			if ((r = parse_tpm(buf + off, blen, &w.tpm, d)) != 0)
				goto out;
			w.has_tpm = 1;
			break;
		default:
			r = slw_diag(d, SLW_ERR_PARSE, "wrapped KEK: slot %zu has "
			    "unknown kind %u", i + 1, kind);
			goto out;
		}
		off += blen;
	}
	if (off != len) {
		r = slw_diag(d, SLW_ERR_PARSE, "wrapped KEK: %zu bytes after "
		    "the last slot", len - off);
		goto out;
	}
	*out = w;
	r = 0;
	goto out;
 dup:
	r = slw_diag(d, SLW_ERR_PARSE, "wrapped KEK: slot %zu repeats a kind",
	    i + 1);
 out:
	kekwrap_wipe(&w);
	return r;
}

static int
put_slot_head(struct buf *b, uint8_t kind, size_t blen)
{
	uint8_t h[4] = { kind, 0, (uint8_t)(blen >> 8), (uint8_t)blen };

	return buf_append(b, h, 4);
}

static int
put_pw(struct buf *b, uint8_t kind, const struct kekwrap_pw *pw)
{
	uint8_t body[PW_BODY_LEN], *p = body;
	int r;

	be32_put(p, pw->cost.t_cost);
	be32_put(p + 4, pw->cost.m_cost_kib);
	be32_put(p + 8, pw->cost.lanes);
	p += 12;
	memcpy(p, pw->salt, KEKWRAP_SALT_LEN);
	p += KEKWRAP_SALT_LEN;
	memcpy(p, pw->nonce, 12);
	memcpy(p + 12, pw->wrapped, KEK_LEN);
	memcpy(p + 12 + KEK_LEN, pw->tag, 16);
	if ((r = put_slot_head(b, kind, sizeof(body))) == 0)
		r = buf_append(b, body, sizeof(body));
	return r;
}

static int
put_tpm(struct buf *b, const struct kekwrap_tpm *t)
{
	uint8_t h[6];
	int r;

	if (t->pub_len == 0 || t->pub_len > KEKWRAP_TPM_BLOB_MAX ||
	    t->priv_len == 0 || t->priv_len > KEKWRAP_TPM_BLOB_MAX)
		return SLW_ERR_INVALID;
	if ((r = put_slot_head(b, KEKWRAP_TPM, 4 + 2 + t->pub_len + 2 +
	    t->priv_len)) != 0)
		return r;
	be32_put(h, t->pcr_mask);
	h[4] = (uint8_t)(t->pub_len >> 8);
	h[5] = (uint8_t)t->pub_len;
	if ((r = buf_append(b, h, 6)) != 0 ||
	    (r = buf_append(b, t->pub, t->pub_len)) != 0)
		return r;
	h[0] = (uint8_t)(t->priv_len >> 8);
	h[1] = (uint8_t)t->priv_len;
	if ((r = buf_append(b, h, 2)) != 0)
		return r;
	return buf_append(b, t->priv, t->priv_len);
}

int
kekwrap_write(const struct kekwrap *w, struct buf *out)
{
	struct buf b = { 0 };
	uint8_t h[6] = { 'S', 'W', 'K', 'W', VERSION, 0 };
	int r;

	h[5] = (uint8_t)(!!w->has_pw + !!w->has_recovery + !!w->has_tpm);
	if (h[5] == 0)
		return SLW_ERR_INVALID;
	if ((r = buf_append(&b, h, 6)) != 0 ||
	    (w->has_pw && (r = put_pw(&b, KEKWRAP_PASSPHRASE, &w->pw)) != 0) ||
	    (w->has_recovery && (r = put_pw(&b, KEKWRAP_RECOVERY,
	    &w->recovery)) != 0) ||
	    (w->has_tpm && (r = put_tpm(&b, &w->tpm)) != 0))
		goto out;
	buf_move(out, &b);
	r = 0;
 out:
	buf_free(&b);
	return r;
}

/* ---- passphrases ---- */

int
kekwrap_pass_check(const char *pass, size_t plen, struct slw_diag *d)
{
	size_t i;

	if (pass == NULL || plen < KEKWRAP_PASS_MIN)
		return slw_diag(d, SLW_ERR_INVALID, "a passphrase needs at least "
		    "%d characters", KEKWRAP_PASS_MIN);
	if (plen > KEKWRAP_PASS_MAX)
		return slw_diag(d, SLW_ERR_INVALID, "a passphrase has at most %d "
		    "bytes", KEKWRAP_PASS_MAX);
	for (i = 0; i < plen; i++)
		if ((unsigned char)pass[i] < 0x20 || pass[i] == 0x7f)
			return slw_diag(d, SLW_ERR_INVALID, "a passphrase may not "
			    "hold control characters");
	return 0;
}

/* The AES key from Argon2id over the passphrase and the slot's salt. */
static int
derive_key(const struct kekwrap_pw *pw, const char *pass, size_t plen,
    uint8_t key[32])
{
	if (argon2id_hash_raw(pw->cost.t_cost, pw->cost.m_cost_kib,
	    pw->cost.lanes, pass, plen, pw->salt, KEKWRAP_SALT_LEN, key,
	    32) != ARGON2_OK) {
		mbedtls_platform_zeroize(key, 32);
		return SLW_ERR_CRYPTO;
	}
	return 0;
}

static void
slot_aad(const struct kekwrap_pw *pw, uint8_t kind, uint8_t aad[AAD_LEN])
{
	memcpy(aad, MAGIC, 4);
	aad[4] = kind;
	be32_put(aad + 5, pw->cost.t_cost);
	be32_put(aad + 9, pw->cost.m_cost_kib);
	be32_put(aad + 13, pw->cost.lanes);
	memcpy(aad + 17, pw->salt, KEKWRAP_SALT_LEN);
}

int
kekwrap_set_pass(struct kekwrap *w, enum kekwrap_kind kind,
    const struct kek *k, const char *pass, size_t plen,
    const struct kekwrap_cost *cost, struct slw_diag *d)
{
	struct kekwrap_pw pw;
	mbedtls_gcm_context g;
	uint8_t key[32], aad[AAD_LEN];
	int r;

	if (kind != KEKWRAP_PASSPHRASE && kind != KEKWRAP_RECOVERY)
		return SLW_ERR_INVALID;
	if ((r = kekwrap_pass_check(pass, plen, d)) != 0)
		return r;
	if (cost == NULL)
		cost = &kekwrap_cost_default;
	if (!cost_ok(cost))
		return slw_diag(d, SLW_ERR_INVALID, "Argon2id costs out of bounds");
	memset(&pw, 0, sizeof(pw));
	pw.cost = *cost;
	mbedtls_gcm_init(&g);
	if ((r = slw_random(pw.salt, sizeof(pw.salt))) != 0 ||
	    (r = slw_random(pw.nonce, sizeof(pw.nonce))) != 0 ||
	    (r = derive_key(&pw, pass, plen, key)) != 0)
		goto out;
	slot_aad(&pw, (uint8_t)kind, aad);
	r = SLW_ERR_CRYPTO;
	if (mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, key, 256) != 0 ||
	    mbedtls_gcm_crypt_and_tag(&g, MBEDTLS_GCM_ENCRYPT, KEK_LEN,
	    pw.nonce, sizeof(pw.nonce), aad, sizeof(aad), k->key, pw.wrapped,
	    sizeof(pw.tag), pw.tag) != 0)
		goto out;
	if (kind == KEKWRAP_PASSPHRASE) {
		w->pw = pw;
		w->has_pw = 1;
	} else {
		w->recovery = pw;
		w->has_recovery = 1;
	}
	r = 0;
 out:
	mbedtls_gcm_free(&g);
	mbedtls_platform_zeroize(key, sizeof(key));
	mbedtls_platform_zeroize(&pw, sizeof(pw));
	return r;
}

int
kekwrap_open_pass(const struct kekwrap *w, enum kekwrap_kind kind,
    const char *pass, size_t plen, struct kek *out)
{
	const struct kekwrap_pw *pw;
	mbedtls_gcm_context g;
	uint8_t key[32], aad[AAD_LEN], kb[KEK_LEN];
	int r;

	if (kind == KEKWRAP_PASSPHRASE && w->has_pw)
		pw = &w->pw;
	else if (kind == KEKWRAP_RECOVERY && w->has_recovery)
		pw = &w->recovery;
	else
		return SLW_ERR_NOTFOUND;
	if (pass == NULL || plen == 0 || plen > KEKWRAP_PASS_MAX)
		return SLW_ERR_KEK;
	mbedtls_gcm_init(&g);
	if ((r = derive_key(pw, pass, plen, key)) != 0)
		goto out;
	slot_aad(pw, (uint8_t)kind, aad);
	r = SLW_ERR_CRYPTO;
	if (mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, key, 256) != 0)
		goto out;
	r = SLW_ERR_KEK;	/* wrong passphrase, or the slot was altered */
	if (mbedtls_gcm_auth_decrypt(&g, KEK_LEN, pw->nonce, sizeof(pw->nonce),
	    aad, sizeof(aad), pw->tag, sizeof(pw->tag), pw->wrapped, kb) != 0)
		goto out;
	r = kek_set(out, kb);
 out:
	mbedtls_gcm_free(&g);
	mbedtls_platform_zeroize(key, sizeof(key));
	mbedtls_platform_zeroize(kb, sizeof(kb));
	return r;
}

/* The canonical recovery passphrase for pass (case, spaces and dashes
 * ignored) into out; 0 if pass does not have its shape. */
static int
recovery_norm(const char *pass, size_t plen, char out[KEKWRAP_RECOVERY_LEN + 1])
{
	size_t i, n = 0;

	for (i = 0; i < plen; i++) {
		char c = pass[i];

		if (c == '-' || c == ' ')
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '\0' || strchr(recovery_alpha, c) == NULL || n == 30)
			return 0;
		if (n > 0 && n % 5 == 0)
			out[n + n / 5 - 1] = '-';
		out[n + n / 5] = c;
		n++;
	}
	if (n != 30)
		return 0;
	out[KEKWRAP_RECOVERY_LEN] = '\0';
	return 1;
}

int
kekwrap_is_recovery(const char *pass, size_t plen)
{
	char norm[KEKWRAP_RECOVERY_LEN + 1];
	int r = recovery_norm(pass, plen, norm);

	mbedtls_platform_zeroize(norm, sizeof(norm));
	return r;
}

int
kekwrap_open_any(const struct kekwrap *w, const char *pass, size_t plen,
    struct kek *out, enum kekwrap_kind *which)
{
	char norm[KEKWRAP_RECOVERY_LEN + 1];
	int r = SLW_ERR_KEK;

	if (w->has_recovery && recovery_norm(pass, plen, norm)) {
		r = kekwrap_open_pass(w, KEKWRAP_RECOVERY, norm,
		    KEKWRAP_RECOVERY_LEN, out);
		mbedtls_platform_zeroize(norm, sizeof(norm));
		if (r == 0) {
			*which = KEKWRAP_RECOVERY;
			return 0;
		}
		if (r != SLW_ERR_KEK)
			return r;
	}
	if (w->has_pw) {
		r = kekwrap_open_pass(w, KEKWRAP_PASSPHRASE, pass, plen, out);
		if (r == 0)
			*which = KEKWRAP_PASSPHRASE;
	}
	return r == SLW_ERR_NOTFOUND ? SLW_ERR_KEK : r;
}

int
kekwrap_recovery_new(char out[KEKWRAP_RECOVERY_LEN + 1])
{
	uint8_t rnd[30];
	size_t i, o = 0;
	int r;

	if ((r = slw_random(rnd, sizeof(rnd))) != 0)
		return r;
	for (i = 0; i < 30; i++) {
		if (i > 0 && i % 5 == 0)
			out[o++] = '-';
		out[o++] = recovery_alpha[rnd[i] & 31];	/* 32 | 256: unbiased */
	}
	out[o] = '\0';
	mbedtls_platform_zeroize(rnd, sizeof(rnd));
	return 0;
}

/* ---- the TPM slot ---- */

int
kekwrap_set_tpm(struct kekwrap *w, uint32_t pcr_mask, const uint8_t *pub,
    size_t pub_len, const uint8_t *priv, size_t priv_len)
{
	if (pub == NULL || priv == NULL || pub_len == 0 ||
	    pub_len > KEKWRAP_TPM_BLOB_MAX || priv_len == 0 ||
	    priv_len > KEKWRAP_TPM_BLOB_MAX || pcr_mask >> 24 != 0)
		return SLW_ERR_INVALID;
	memset(&w->tpm, 0, sizeof(w->tpm));
	w->tpm.pcr_mask = pcr_mask;
	memcpy(w->tpm.pub, pub, pub_len);
	w->tpm.pub_len = pub_len;
	memcpy(w->tpm.priv, priv, priv_len);
	w->tpm.priv_len = priv_len;
	w->has_tpm = 1;
	return 0;
}

/* ---- the file ---- */

int
kekwrap_load(const char *path, struct kekwrap *w, struct slw_diag *d)
{
	struct buf b = { 0 };
	struct stat st;
	struct slw_diag pd;
	int r;

	if (stat(path, &st) != 0)
		return slw_diag(d, SLW_ERR_NOKEK, "wrapped key-encryption key "
		    "%s: %s", path, strerror(errno));
	if (st.st_mode & 077)
		return slw_diag(d, SLW_ERR_PERM, "wrapped key-encryption key %s "
		    "is accessible to group or others (mode %04o); it must be "
		    "0600", path, (unsigned)(st.st_mode & 07777));
	if ((r = buf_read_file(&b, path, KEKWRAP_MAX + 1)) != 0)
		return slw_diag(d, SLW_ERR_NOKEK, "wrapped key-encryption key "
		    "%s cannot be read", path);
	slw_diag_clear(&pd);
	if ((r = kekwrap_parse(b.data, b.len, w, &pd)) != 0)
		r = slw_diag(d, r, "%s: %s", path, pd.msg);
	buf_free(&b);
	return r;
}

int
kekwrap_save(const char *path, const struct kekwrap *w, int excl,
    struct slw_diag *d)
{
	struct buf b = { 0 };
	int r;

	if ((r = kekwrap_write(w, &b)) != 0)
		return slw_diag(d, r, "wrapped KEK: nothing to write");
	r = buf_write_file(path, b.data, b.len, 0600, excl);
	buf_free(&b);
	if (r == SLW_ERR_EXISTS)
		return slw_diag(d, r, "wrapped key-encryption key %s already "
		    "exists", path);
	if (r != 0)
		return slw_diag(d, r, "cannot write wrapped key-encryption key %s",
		    path);
	return 0;
}
