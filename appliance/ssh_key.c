// SPDX-License-Identifier: Apache-2.0
/*
 * ssh_key.c: the keys of slipway's SSH client: the appliance's own key
 * (sealed in the store, made on first need) and host key lines (parsed,
 * compared, fingerprinted). Must never print, log or return the private
 * key except to the caller that hands it to libssh2.
 */
#include "ssh.h"
#include "audit.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>

static const char *const hostkey_types[] = {
	"ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
	"ecdsa-sha2-nistp521", "ssh-rsa",
};

static int
is_space(char c)
{
	return c == ' ' || c == '\t';
}

int
ssh_hostkey_parse(const char *line, size_t len, struct ssh_hostkey *out,
    struct slw_diag *d)
{
	char b64[SSH_KEYLINE_MAX + 1];
	size_t i = 0, ts, tl, bs, bl, olen = 0;
	uint32_t nl;
	int known = 0;

	memset(out, 0, sizeof(*out));
	if (line == NULL || len == 0)
		return slw_diag(d, SLW_ERR_INVALID, "empty host key");
	if (len > SSH_KEYLINE_MAX)
		return slw_diag(d, SLW_ERR_TOOBIG, "host key line longer than %d bytes",
		    SSH_KEYLINE_MAX);
	while (i < len && is_space(line[i]))
		i++;
	ts = i;
	while (i < len && !is_space(line[i]) && line[i] != '\0')
		i++;
	tl = i - ts;
	while (i < len && is_space(line[i]))
		i++;
	bs = i;
	while (i < len && !is_space(line[i]) && line[i] != '\0' &&
	    line[i] != '\n' && line[i] != '\r')
		i++;
	bl = i - bs;
	if (tl == 0 || tl >= SSH_TYPE_MAX || bl == 0)
		return slw_diag(d, SLW_ERR_PARSE, "host key must be 'TYPE BASE64' "
		    "as in an OpenSSH .pub file");
	memcpy(out->type, line + ts, tl);
	out->type[tl] = '\0';
	for (i = 0; i < sizeof(hostkey_types) / sizeof(hostkey_types[0]); i++)
		if (strcmp(out->type, hostkey_types[i]) == 0)
			known = 1;
	if (!known)
		return slw_diag(d, SLW_ERR_UNSUPPORTED, "unsupported host key type "
		    "'%s'", out->type);
	memcpy(b64, line + bs, bl);
	b64[bl] = '\0';
	if (mbedtls_base64_decode(out->blob, sizeof(out->blob), &olen,
	    (const unsigned char *)b64, bl) != 0 || olen < 4)
		return slw_diag(d, SLW_ERR_PARSE, "host key: invalid base64");
	out->len = olen;
	nl = (uint32_t)out->blob[0] << 24 | (uint32_t)out->blob[1] << 16 |
	    (uint32_t)out->blob[2] << 8 | out->blob[3];
	if (nl != tl || 4 + (size_t)nl > olen ||
	    memcmp(out->blob + 4, out->type, tl) != 0)
		return slw_diag(d, SLW_ERR_PARSE, "host key: the key blob is not "
		    "of type %s", out->type);
	return 0;
}

int
ssh_hostkey_format(const struct ssh_hostkey *k, char *out, size_t len)
{
	unsigned char b64[SSH_HOSTKEY_BLOB_MAX * 4 / 3 + 8];
	size_t olen = 0;
	int n;

	if (mbedtls_base64_encode(b64, sizeof(b64), &olen, k->blob, k->len) != 0)
		return SLW_ERR_TOOBIG;
	n = snprintf(out, len, "%s %.*s", k->type, (int)olen, (char *)b64);
	return n < 0 || (size_t)n >= len ? SLW_ERR_TOOBIG : 0;
}

void
ssh_hostkey_fingerprint(const struct ssh_hostkey *k, char out[SSH_FP_MAX])
{
	uint8_t h[32];
	unsigned char b64[64];
	size_t olen = 0;

	mbedtls_sha256(k->blob, k->len, h, 0);
	if (mbedtls_base64_encode(b64, sizeof(b64), &olen, h, sizeof(h)) != 0)
		olen = 0;
	while (olen > 0 && b64[olen - 1] == '=')
		olen--;
	snprintf(out, SSH_FP_MAX, "SHA256:%.*s", (int)olen, (char *)b64);
}

int
ssh_hostkey_equal(const struct ssh_hostkey *a, const struct ssh_hostkey *b)
{
	return a->len == b->len && strcmp(a->type, b->type) == 0 &&
	    memcmp(a->blob, b->blob, a->len) == 0;
}

int
ssh_key_get(struct store_txn *t, struct buf *pem)
{
	return store_secret_get(t, SSH_KEY_SECRET, pem);
}

int
ssh_key_get_or_create(struct store_txn *t, const char *actor,
    struct buf *pem, int *created)
{
	struct key *k = NULL;
	struct buf p = { 0 };
	char line[SSH_KEYLINE_MAX], fp[SSH_FP_MAX], detail[128];
	struct ssh_hostkey hk;
	int r;

	*created = 0;
	if ((r = ssh_key_get(t, pem)) != SLW_ERR_NOTFOUND)
		return r;
	if (!store_txn_writable(t))
		return SLW_ERR_NOTFOUND;
	if ((r = key_generate(KEY_EC_P256, &k)) != 0 ||
	    (r = key_write_pem(k, &p)) != 0)
		goto out;
	if ((r = store_secret_put(t, SSH_KEY_SECRET, p.data, p.len)) != 0)
		goto out;
	/* The audit record names the public key only. */
	if ((r = ssh_key_publine(&p, NULL, line, sizeof(line))) != 0 ||
	    (r = ssh_hostkey_parse(line, strlen(line), &hk, NULL)) != 0)
		goto out;
	ssh_hostkey_fingerprint(&hk, fp);
	snprintf(detail, sizeof(detail), "ecdsa-sha2-nistp256 %s", fp);
	if ((r = audit_append(t, actor, "ssh.key.create", "appliance",
	    detail)) != 0)
		goto out;
	buf_move(pem, &p);
	*created = 1;
 out:
	buf_free(&p);
	key_free(k);
	return r;
}

static size_t
put_string(uint8_t *p, const void *s, size_t len)
{
	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	memcpy(p + 4, s, len);
	return 4 + len;
}

int
ssh_key_publine(const struct buf *pem, const char *comment, char *out,
    size_t len)
{
	static const char type[] = "ecdsa-sha2-nistp256", curve[] = "nistp256";
	struct key *k = NULL;
	uint8_t pt[160], *p = pt + sizeof(pt), blob[256];
	unsigned char b64[400];
	size_t n = 0, olen = 0;
	int r, w;

	if ((r = key_parse(pem->data, pem->len, &k, NULL)) != 0)
		return r;
	if (k->type != KEY_EC_P256) {
		r = SLW_ERR_UNSUPPORTED;
		goto out;
	}
	if ((w = mbedtls_pk_write_pubkey(&p, pt, &k->pk)) != 65 || p[0] != 0x04) {
		r = SLW_ERR_CRYPTO;
		goto out;
	}
	n += put_string(blob + n, type, sizeof(type) - 1);
	n += put_string(blob + n, curve, sizeof(curve) - 1);
	n += put_string(blob + n, p, (size_t)w);
	if (mbedtls_base64_encode(b64, sizeof(b64), &olen, blob, n) != 0) {
		r = SLW_ERR_INTERNAL;
		goto out;
	}
	w = snprintf(out, len, "%s %.*s%s%s", type, (int)olen, (char *)b64,
	    comment != NULL && comment[0] != '\0' ? " " : "",
	    comment != NULL ? comment : "");
	r = w < 0 || (size_t)w >= len ? SLW_ERR_TOOBIG : 0;
 out:
	key_free(k);
	return r;
}
