// SPDX-License-Identifier: Apache-2.0
/*
 * checksums.c: sha256sum/sha512sum files (checksums.h), parsed from
 * (buf, len) with hard caps and no I/O. Must never read past len, accept
 * a digest of another length, or let one name carry two digests.
 */
#include "checksums.h"

#include <stdlib.h>
#include <string.h>

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int
checksums_hex_digest(const char *hex, size_t len, uint8_t digest[64],
    enum csum_alg *alg)
{
	size_t i;

	if (len != 64 && len != 128)
		return SLW_ERR_PARSE;
	for (i = 0; i < len; i += 2) {
		int hi = hexval((unsigned char)hex[i]),
		    lo = hexval((unsigned char)hex[i + 1]);

		if (hi < 0 || lo < 0)
			return SLW_ERR_PARSE;
		digest[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*alg = len == 64 ? CSUM_SHA256 : CSUM_SHA512;
	return 0;
}

const char *
checksums_alg_name(enum csum_alg alg)
{
	return alg == CSUM_SHA512 ? "sha512" : "sha256";
}

void
checksums_free(struct checksums *c)
{
	if (c == NULL)
		return;
	free(c->e);
	c->e = NULL;
	c->n = 0;
}

/* Length of the run of hex digits at p (at most max). */
static size_t
hexrun(const char *p, size_t max)
{
	size_t n = 0;

	while (n < max && hexval((unsigned char)p[n]) >= 0)
		n++;
	return n;
}

static int
name_ok(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || n > CHECKSUMS_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return 0;
	return 1;
}

/* Adds (name, alg, digest) unless the same entry is there already. */
static int
add(struct checksums *c, size_t *cap, const char *name, size_t nlen,
    enum csum_alg alg, const uint8_t *dg, size_t line, struct slw_diag *d)
{
	struct csum_entry *e;
	size_t i;

	/* "./name" and "name" are the same file */
	while (nlen >= 2 && name[0] == '.' && name[1] == '/') {
		name += 2;
		nlen -= 2;
	}
	if (nlen > 0 && !name_ok(name, nlen))
		return slw_diag(d, SLW_ERR_PARSE, "line %zu: a file name must be "
		    "1-%d printable bytes", line, CHECKSUMS_NAME_MAX);
	for (i = 0; i < c->n; i++) {
		e = &c->e[i];
		if (e->alg != alg || strlen(e->name) != nlen ||
		    memcmp(e->name, name, nlen) != 0)
			continue;
		if (memcmp(e->digest, dg, alg) == 0)
			return 0;
		return slw_diag(d, SLW_ERR_PARSE, "line %zu: '%.*s' is listed "
		    "again with another %s digest", line, (int)(nlen > 64 ?
		    64 : nlen), name, checksums_alg_name(alg));
	}
	if (c->n == CHECKSUMS_ENTRIES_MAX)
		return slw_diag(d, SLW_ERR_TOOBIG, "more than %d digests",
		    CHECKSUMS_ENTRIES_MAX);
	if (c->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;

		if ((e = realloc(c->e, nc * sizeof(*e))) == NULL)
			return SLW_ERR_NOMEM;
		c->e = e;
		*cap = nc;
	}
	e = &c->e[c->n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->name, name, nlen);
	e->alg = alg;
	memcpy(e->digest, dg, alg);
	return 0;
}

/* "SHA256 (name) = hex" */
static int
line_bsd(struct checksums *c, size_t *cap, const char *p, size_t n,
    size_t line, struct slw_diag *d)
{
	const char *name, *hex;
	enum csum_alg want, alg;
	uint8_t dg[64];
	size_t i, nlen, hlen;

	if (n > 8 && memcmp(p, "SHA256 (", 8) == 0)
		want = CSUM_SHA256;
	else if (n > 8 && memcmp(p, "SHA512 (", 8) == 0)
		want = CSUM_SHA512;
	else
		return 1;	/* not this form */
	name = p + 8;
	/* the last ") = " ends the name (a name may hold parentheses) */
	for (i = n; i >= 4 + 8; i--)
		if (memcmp(p + i - 4, ") = ", 4) == 0)
			break;
	if (i < 4 + 8)
		return slw_diag(d, SLW_ERR_PARSE, "line %zu: a BSD-style line "
		    "must read 'SHA256 (NAME) = DIGEST'", line);
	nlen = (size_t)(p + i - 4 - name);
	hex = p + i;
	hlen = n - i;
	if (checksums_hex_digest(hex, hlen, dg, &alg) != 0 || alg != want)
		return slw_diag(d, SLW_ERR_PARSE, "line %zu: not a %s digest",
		    line, want == CSUM_SHA256 ? "SHA-256" : "SHA-512");
	if (nlen == 0)
		return slw_diag(d, SLW_ERR_PARSE, "line %zu: no file name", line);
	return add(c, cap, name, nlen, alg, dg, line, d);
}

/* "hex  name", "hex *name", "hex name" or a bare "hex". */
static int
line_gnu(struct checksums *c, size_t *cap, const char *p, size_t n,
    size_t line, struct slw_diag *d)
{
	enum csum_alg alg;
	uint8_t dg[64];
	size_t h = hexrun(p, n), off;

	if (h != 64 && h != 128)
		return slw_diag(d, SLW_ERR_PARSE, "line %zu: not a SHA-256 or "
		    "SHA-512 digest followed by a file name", line);
	if (h < n && p[h] != ' ' && p[h] != '\t')
		return slw_diag(d, SLW_ERR_PARSE, "line %zu: not a SHA-256 or "
		    "SHA-512 digest followed by a file name", line);
	if (checksums_hex_digest(p, h, dg, &alg) != 0)
		return SLW_ERR_INTERNAL;
	off = h;
	/* a bare digest, perhaps with trailing blanks */
	while (off < n && (p[off] == ' ' || p[off] == '\t'))
		off++;
	if (off == n)
		return add(c, cap, "", 0, alg, dg, line, d);
	/* GNU: one space, then the mode (' ' text, '*' binary), the name */
	off = h + 1;
	if (off < n && (p[off] == ' ' || p[off] == '*'))
		off++;
	return add(c, cap, p + off, n - off, alg, dg, line, d);
}

int
checksums_parse(const uint8_t *buf, size_t len, struct checksums *out,
    struct slw_diag *d)
{
	struct checksums c = { NULL, 0 };
	size_t cap = 0, pos = 0, line = 0, i, bare = 0;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (buf == NULL && len != 0)
		return SLW_ERR_INVALID;
	if (len > CHECKSUMS_MAX)
		return slw_diag(d, SLW_ERR_TOOBIG, "a checksums file of %zu "
		    "bytes (at most %u)", len, CHECKSUMS_MAX);
	if (len > 0 && memchr(buf, '\0', len) != NULL)
		return slw_diag(d, SLW_ERR_PARSE, "a checksums file holds text, "
		    "not NUL bytes");
	while (pos < len) {
		const char *p = (const char *)buf + pos;
		const uint8_t *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - (buf + pos)) : len - pos;

		pos += n + (nl != NULL);
		line++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 0 || p[0] == '#')
			continue;
		if (p[0] == '\\') {
			r = slw_diag(d, SLW_ERR_PARSE, "line %zu: escaped file "
			    "names are not supported", line);
			goto fail;
		}
		if ((r = line_bsd(&c, &cap, p, n, line, d)) == 1)
			r = line_gnu(&c, &cap, p, n, line, d);
		if (r != 0)
			goto fail;
	}
	for (i = 0; i < c.n; i++)
		bare += c.e[i].name[0] == '\0';
	if (c.n == 0) {
		r = slw_diag(d, SLW_ERR_INVALID, "no digest in the checksums "
		    "file");
		goto fail;
	}
	if (bare > 0 && bare != c.n) {
		r = slw_diag(d, SLW_ERR_PARSE, "a checksums file has either "
		    "named digests or one bare digest, not both");
		goto fail;
	}
	*out = c;
	return 0;
 fail:
	checksums_free(&c);
	return r;
}

static const char *
base(const char *s)
{
	const char *b = strrchr(s, '/');

	return b != NULL ? b + 1 : s;
}

const struct csum_entry *
checksums_find(const struct checksums *c, const char *name, int only_file)
{
	const struct csum_entry *best = NULL;
	const char *want = base(name);
	size_t i;

	if (c == NULL || name == NULL)
		return NULL;
	for (i = 0; i < c->n; i++) {
		const struct csum_entry *e = &c->e[i];
		int match = e->name[0] == '\0' ? only_file :
		    strcmp(base(e->name), want) == 0;

		if (!match)
			continue;
		/* two paths with this base name and different digests */
		if (best != NULL && best->alg == e->alg &&
		    memcmp(best->digest, e->digest, e->alg) != 0)
			return NULL;
		if (best == NULL || e->alg > best->alg)
			best = e;
	}
	return best;
}
