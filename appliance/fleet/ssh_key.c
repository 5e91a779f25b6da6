// SPDX-License-Identifier: Apache-2.0
/*
 * ssh_key.c: the appliance's own SSH key (ECDSA P-256), sealed in the store
 * and made on first need (audited), and its authorized_keys line. Must
 * never print, log or return the private key except to the caller that
 * hands it to libssh2.
 */
#include "ssh.h"
#include "audit.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/pk.h>

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
