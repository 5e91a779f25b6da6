// SPDX-License-Identifier: Apache-2.0
/*
 * ssh_hostkey.c: the host keys slipway's SSH client pins: OpenSSH key
 * lines parsed from the inventory or the journal (untrusted: capped, no
 * I/O), formatted, compared and fingerprinted (ssh_key.c: the appliance's
 * own key).
 */
#include "ssh.h"

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
