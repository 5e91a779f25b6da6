// SPDX-License-Identifier: Apache-2.0
/*
 * redact.c: what keeps tokens out of the journal: redaction of commands
 * and remote output (bearer tokens, the one-liner's token, bytes that are
 * not printable UTF-8). A pure function over (buf, len), no I/O, fuzzable.
 */
#include "redact.h"

#include <string.h>

#define REDACTED "[redacted]"

/* Length of a valid UTF-8 sequence at p (1..4), 0 if invalid. */
static size_t
utf8_len(const uint8_t *p, size_t left)
{
	size_t n, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static int
tok_char(uint8_t c)
{
	return c > 0x20 && c < 0x7f && c != '\'' && c != '"' && c != '\\' &&
	    c != '&' && c != ';' && c != '|';
}

/* Length of a marker that introduces a token at p, 0 if none. */
static size_t
marker_at(const uint8_t *p, size_t left)
{
	static const char *const markers[] = {
		"Bearer ", "bearer ", "token=", "TOKEN=", "--token ",
		"--token=",
	};
	size_t i, ml;

	for (i = 0; i < sizeof(markers) / sizeof(markers[0]); i++) {
		ml = strlen(markers[i]);
		if (left >= ml && memcmp(p, markers[i], ml) == 0)
			return ml;
	}
	return 0;
}

int
redact_text(const uint8_t *in, size_t len, const char *secret, size_t max,
    struct buf *out)
{
	size_t i = 0, sl = secret != NULL ? strlen(secret) : 0, n;
	int r;

	buf_free(out);
	if ((r = buf_set(out, "", 0)) != 0)
		return r;
	if (in == NULL)
		return 0;
	if (len > max)
		len = max;
	while (i < len) {
		if (sl >= 8 && len - i >= sl && memcmp(in + i, secret, sl) == 0) {
			if ((r = buf_append(out, REDACTED, strlen(REDACTED))) != 0)
				return r;
			i += sl;
			continue;
		}
		if ((n = marker_at(in + i, len - i)) != 0) {
			if ((r = buf_append(out, in + i, n)) != 0)
				return r;
			i += n;
			if (i < len && tok_char(in[i])) {
				while (i < len && tok_char(in[i]))
					i++;
				if ((r = buf_append(out, REDACTED,
				    strlen(REDACTED))) != 0)
					return r;
			}
			continue;
		}
		if (in[i] == '\n' || in[i] == '\t' ||
		    (in[i] >= 0x20 && in[i] < 0x7f)) {
			if ((r = buf_append(out, in + i, 1)) != 0)
				return r;
			i++;
			continue;
		}
		if (in[i] >= 0x80 && (n = utf8_len(in + i, len - i)) != 0) {
			if ((r = buf_append(out, in + i, n)) != 0)
				return r;
			i += n;
			continue;
		}
		if ((r = buf_append(out, "?", 1)) != 0)
			return r;
		i++;
	}
	return 0;
}
