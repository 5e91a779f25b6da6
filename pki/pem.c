// SPDX-License-Identifier: Apache-2.0
/*
 * pem.c: PEM encoding and a strict first-block decoder. Operates on
 * (buf, len) only, does no I/O, and never reads past len.
 */
#include "pem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/platform_util.h>

int
pem_append(struct buf *out, const char *label, const uint8_t *der, size_t len)
{
	size_t b64len = 0, i;
	unsigned char *b64 = NULL;
	int r;

	(void)mbedtls_base64_encode(NULL, 0, &b64len, der, len);
	if ((b64 = malloc(b64len + 1)) == NULL)
		return SLW_ERR_NOMEM;
	if (mbedtls_base64_encode(b64, b64len + 1, &b64len, der, len) != 0) {
		r = SLW_ERR_INTERNAL;
		goto out;
	}
	if ((r = buf_appendf(out, "-----BEGIN %s-----\n", label)) != 0)
		goto out;
	for (i = 0; i < b64len; i += 64) {
		size_t n = b64len - i < 64 ? b64len - i : 64;

		if ((r = buf_append(out, b64 + i, n)) != 0 ||
		    (r = buf_append(out, "\n", 1)) != 0)
			goto out;
	}
	r = buf_appendf(out, "-----END %s-----\n", label);
 out:
	mbedtls_platform_zeroize(b64, b64len);
	free(b64);
	return r;
}

static const uint8_t *
memfind(const uint8_t *h, size_t hlen, const char *n)
{
	size_t nlen = strlen(n), i;

	if (nlen > hlen)
		return NULL;
	for (i = 0; i + nlen <= hlen; i++)
		if (h[i] == (uint8_t)n[0] && memcmp(h + i, n, nlen) == 0)
			return h + i;
	return NULL;
}

int
pem_next(const uint8_t *buf, size_t len, char label[PEM_LABEL_MAX],
    struct buf *der, size_t *used, struct slw_diag *d)
{
	static const char begin[] = "-----BEGIN ", dashes[] = "-----";
	const uint8_t *p, *lab, *labend, *body, *end, *q;
	char footer[PEM_LABEL_MAX + 32];
	uint8_t *clean = NULL, *out = NULL;
	size_t llen, clen = 0, olen = 0;
	int r = SLW_ERR_PARSE;

	label[0] = '\0';
	if ((p = memfind(buf, len, begin)) == NULL)
		return slw_diag(d, SLW_ERR_NOTFOUND, "no PEM block found");
	lab = p + sizeof(begin) - 1;
	labend = memfind(lab, len - (size_t)(lab - buf), dashes);
	if (labend == NULL)
		return slw_diag(d, SLW_ERR_PARSE, "unterminated PEM header");
	llen = (size_t)(labend - lab);
	if (llen == 0 || llen >= PEM_LABEL_MAX || memchr(lab, '\n', llen))
		return slw_diag(d, SLW_ERR_PARSE, "bad PEM label");
	memcpy(label, lab, llen);
	label[llen] = '\0';
	body = labend + sizeof(dashes) - 1;
	snprintf(footer, sizeof(footer), "-----END %s-----", label);
	end = memfind(body, len - (size_t)(body - buf), footer);
	if (end == NULL)
		return slw_diag(d, SLW_ERR_PARSE, "PEM block '%s' has no END line",
		    label);
	if ((clean = malloc((size_t)(end - body) + 1)) == NULL)
		return SLW_ERR_NOMEM;
	for (q = body; q < end; q++) {
		if (*q == '\r' || *q == '\n' || *q == ' ' || *q == '\t')
			continue;
		if (*q == ':') { /* RFC 1421 headers are not accepted */
			r = slw_diag(d, SLW_ERR_PARSE,
			    "PEM headers are not supported");
			goto out;
		}
		clean[clen++] = *q;
	}
	if (clen == 0) {
		r = slw_diag(d, SLW_ERR_PARSE, "empty PEM block '%s'", label);
		goto out;
	}
	(void)mbedtls_base64_decode(NULL, 0, &olen, clean, clen);
	if (olen == 0 || (out = malloc(olen)) == NULL) {
		r = olen == 0 ? slw_diag(d, SLW_ERR_PARSE,
		    "PEM block '%s' is not valid base64", label) : SLW_ERR_NOMEM;
		goto out;
	}
	if (mbedtls_base64_decode(out, olen, &olen, clean, clen) != 0) {
		r = slw_diag(d, SLW_ERR_PARSE, "PEM block '%s' is not valid base64",
		    label);
		goto out;
	}
	if ((r = buf_set(der, out, olen)) != 0)
		goto out;
	*used = (size_t)(end - buf) + strlen(footer);
	r = 0;
 out:
	if (clean != NULL) {
		mbedtls_platform_zeroize(clean, clen);
		free(clean);
	}
	if (out != NULL) {
		mbedtls_platform_zeroize(out, olen);
		free(out);
	}
	return r;
}

int
pem_sniff(const uint8_t *buf, size_t len)
{
	static const char tag[] = "-----BEGIN ";
	size_t i, lim = len < 256 ? len : 256;

	for (i = 0; i + sizeof(tag) - 1 <= lim; i++)
		if (memcmp(buf + i, tag, sizeof(tag) - 1) == 0)
			return 1;
	return 0;
}
