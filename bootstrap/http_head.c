// SPDX-License-Identifier: Apache-2.0
/*
 * http_head.c: a byte-at-a-time reading of HTTP/1.1 message framing
 * (request line, header fields, Content-Length or chunked body) that
 * refuses, with a status and a reason, whatever libmicrohttpd would answer
 * with its own HTML error. No I/O, no allocation, keeps no request bytes.
 */
#include "http_head.h"
#include "err.h"

#include <string.h>

enum {
	S_START, S_START_LF, S_METHOD, S_TARGET, S_VERSION, S_RL_LF,
	S_FIELD, S_NAME, S_VALUE, S_FIELD_LF, S_END_LF,
	S_BODY, S_CHUNK_SIZE, S_CHUNK_EXT, S_CHUNK_SIZE_LF, S_CHUNK_DATA,
	S_CHUNK_CR, S_CHUNK_LF, S_TRAILER, S_TRAILER_LF, S_FAILED
};

enum { K_OTHER, K_CLEN, K_TE, K_HOST, K_COOKIE };

#define CR '\r'
#define LF '\n'

static int
tchar(uint8_t c)
{
	/* RFC 9110 5.6.2 */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-.^_`|~",
	    c) != NULL);
}

static uint8_t
lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

static int
hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
fail(struct http_head *h, unsigned int status, const char *msg)
{
	h->st = S_FAILED;
	h->fail_status = status;
	h->fail_msg = msg;
	return -1;
}

static int
bad(struct http_head *h, const char *msg)
{
	return fail(h, 400, msg);
}

/* Between messages: everything but the configuration starts over. */
static void
next_message(struct http_head *h)
{
	uint64_t body_max = h->body_max;

	memset(h, 0, sizeof(*h));
	h->body_max = body_max;
	h->st = S_START;
}

void
http_head_init(struct http_head *h, uint64_t body_max)
{
	memset(h, 0, sizeof(*h));
	h->body_max = body_max;
	next_message(h);
}

int
http_head_idle(const struct http_head *h)
{
	return h->st == S_START && h->head_len == 0;
}

static int
version(struct http_head *h)
{
	const uint8_t *v = h->ver;

	/* RFC 9112 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT */
	if (h->ver_len != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' ||
	    v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
		return bad(h, "malformed request line");
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return fail(h, 505, "HTTP version not supported");
	h->http10 = v[7] == '0';
	return 0;
}

/* The colon after a field name: what the field is, and no repeats. */
static int
field_kind(struct http_head *h)
{
	static const struct {
		const char *name;
		uint8_t kind;
	} known[] = {
		{ "content-length", K_CLEN },
		{ "transfer-encoding", K_TE },
		{ "host", K_HOST },
		{ "cookie", K_COOKIE },
	};
	size_t i;

	h->kind = K_OTHER;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (h->name_len == strlen(known[i].name) &&
		    memcmp(h->name, known[i].name, h->name_len) == 0)
			h->kind = known[i].kind;
	switch (h->kind) {
	case K_CLEN:
		/* RFC 9112 6.3: several lengths are an unrecoverable error */
		if (h->has_clen)
			return bad(h, "more than one Content-Length field");
		h->has_clen = 1;
		break;
	case K_TE:
		if (h->has_te)
			return bad(h, "more than one Transfer-Encoding field");
		h->has_te = 1;
		h->te_ok = 1;
		break;
	case K_HOST:
		/* RFC 9112 3.2: more than one Host field is a 400 */
		if (h->has_host)
			return bad(h, "more than one Host field");
		h->has_host = 1;
		break;
	}
	h->value_started = 0;
	h->vlen = 0;
	return 0;
}

/* One byte of a field value (not CR). */
static int
value_byte(struct http_head *h, uint8_t c)
{
	int ows = c == ' ' || c == '\t';

	/* RFC 9110 5.5: field-vchar, SP, HTAB; no other control bytes */
	if (c < 0x20 ? c != '\t' : c == 0x7f)
		return bad(h, "control character in a header field");
	if (!h->value_started && ows)
		return 0;	/* leading OWS */
	h->value_started = 1;
	switch (h->kind) {
	case K_CLEN:
		/* RFC 9110 8.6: Content-Length = 1*DIGIT */
		if (c < '0' || c > '9')
			return bad(h, "malformed Content-Length");
		h->clen = h->clen * 10 + (uint64_t)(c - '0');
		h->clen_digits = 1;
		if (h->clen > HTTP_LENGTH_MAX)
			return fail(h, 413, "declared request body too large");
		break;
	case K_TE:
		/* only "chunked" (RFC 9112 6.1: 501 for a coding not known) */
		if (h->vlen >= 7 || lower(c) != (uint8_t)"chunked"[h->vlen])
			return fail(h, 501, "Transfer-Encoding other than "
			    "chunked is not supported");
		break;
	case K_COOKIE:
		if ((c == ';' || c == ',') && ++h->cookies > HTTP_COOKIES_MAX)
			return fail(h, 431, "request header fields too large");
		break;
	}
	if (h->vlen < 255)
		h->vlen++;
	return 0;
}

/* The CR at the end of a field value. */
static int
value_end(struct http_head *h)
{
	if (h->kind == K_CLEN && !h->clen_digits)
		return bad(h, "malformed Content-Length");
	if (h->kind == K_TE && h->vlen != 7)
		return fail(h, 501, "Transfer-Encoding other than chunked is "
		    "not supported");
	return 0;
}

/* The empty line after the header fields. */
static int
head_end(struct http_head *h)
{
	if (!h->http10 && !h->has_host)
		return bad(h, "an HTTP/1.1 request needs a Host field");
	if (h->has_te && h->has_clen)
		return bad(h, "both Content-Length and Transfer-Encoding");
	if (h->has_te && h->http10)
		return bad(h, "Transfer-Encoding in an HTTP/1.0 request");
	if (h->has_te) {
		h->st = S_CHUNK_SIZE;
		h->remaining = 0;
		h->line_len = 0;
		h->chunk_digits = 0;
	} else if (h->clen > 0) {
		h->st = S_BODY;
		h->remaining = h->clen;
	} else
		next_message(h);
	return 0;
}

/* The request line and the header fields. */
static int
head_byte(struct http_head *h, uint8_t c)
{
	if (++h->head_len > HTTP_HEAD_MAX)
		return fail(h, 431, "request header fields too large");
	if (h->st >= S_METHOD && h->st <= S_RL_LF &&
	    ++h->line_len > HTTP_LINE_MAX)
		return fail(h, 414, "request line too long");
	switch (h->st) {
	case S_START:
		/* RFC 9112 2.2: empty lines before the request line */
		if (c == CR) {
			h->st = S_START_LF;
			return 0;
		}
		if (!tchar(c))
			return bad(h, "malformed request line");
		h->st = S_METHOD;
		h->line_len = 1;
		return 0;
	case S_START_LF:
		if (c != LF)
			return bad(h, "lines must end with CRLF");
		h->st = S_START;
		return 0;
	case S_METHOD:
		if (c == ' ') {
			h->st = S_TARGET;
			h->vlen = 0;
			return 0;
		}
		return tchar(c) ? 0 : bad(h, "malformed request line");
	case S_TARGET:
		if (c == ' ') {
			if (h->vlen == 0)
				return bad(h, "malformed request line");
			h->st = S_VERSION;
			return 0;
		}
		if (c < 0x21 || c > 0x7e)
			return bad(h, "malformed request line");
		if (h->vlen < 255)
			h->vlen++;
		if (c == '?')
			h->in_query = 1;
		else if (c == '&' && h->in_query &&
		    ++h->args > HTTP_ARGS_MAX)
			return fail(h, 414, "too many query arguments");
		return 0;
	case S_VERSION:
		if (c == CR) {
			if (version(h) != 0)
				return -1;
			h->st = S_RL_LF;
			return 0;
		}
		if (c == LF)
			return bad(h, "lines must end with CRLF");
		if (h->ver_len == sizeof(h->ver))
			return bad(h, "malformed request line");
		h->ver[h->ver_len++] = c;
		return 0;
	case S_RL_LF:
	case S_FIELD_LF:
		if (c != LF)
			return bad(h, "lines must end with CRLF");
		h->st = S_FIELD;
		return 0;
	case S_FIELD:
		if (c == CR) {
			h->st = S_END_LF;
			return 0;
		}
		if (c == ' ' || c == '\t')	/* RFC 9112 5.2 */
			return bad(h, "header fields folded over lines are "
			    "not accepted");
		if (!tchar(c))
			return bad(h, "malformed header field");
		if (++h->fields > HTTP_FIELDS_MAX)
			return fail(h, 431, "request header fields too large");
		h->name[0] = lower(c);
		h->name_len = 1;
		h->st = S_NAME;
		return 0;
	case S_NAME:
		if (c == ':') {
			if (field_kind(h) != 0)
				return -1;
			h->st = S_VALUE;
			return 0;
		}
		if (c == ' ' || c == '\t')	/* RFC 9112 5.1 */
			return bad(h, "whitespace before the colon of a "
			    "header field");
		if (!tchar(c))
			return bad(h, "malformed header field");
		if (h->name_len < sizeof(h->name))
			h->name[h->name_len] = lower(c);
		if (h->name_len < 255)
			h->name_len++;
		return 0;
	case S_VALUE:
		if (c == CR) {
			if (value_end(h) != 0)
				return -1;
			h->st = S_FIELD_LF;
			return 0;
		}
		return value_byte(h, c);
	case S_END_LF:
		if (c != LF)
			return bad(h, "lines must end with CRLF");
		return head_end(h);
	default:
		return bad(h, "malformed request");
	}
}

/* A chunked body, but for the data (RFC 9112 7.1). */
static int
chunk_byte(struct http_head *h, uint8_t c)
{
	int v;

	switch (h->st) {
	case S_CHUNK_SIZE:
		if ((v = hexval(c)) >= 0) {
			if (++h->chunk_digits > 10)
				return fail(h, 413, "request body too large");
			h->remaining = h->remaining * 16 + (uint64_t)v;
			return 0;
		}
		if (h->chunk_digits == 0 || (c != ';' && c != CR))
			return bad(h, "malformed chunked body");
		h->st = c == ';' ? S_CHUNK_EXT : S_CHUNK_SIZE_LF;
		return 0;
	case S_CHUNK_EXT:
		if (c == CR) {
			h->st = S_CHUNK_SIZE_LF;
			return 0;
		}
		if (++h->line_len > HTTP_CHUNK_LINE_MAX ||
		    (c < 0x20 && c != '\t') || c == 0x7f)
			return bad(h, "malformed chunked body");
		return 0;
	case S_CHUNK_SIZE_LF:
		if (c != LF)
			return bad(h, "malformed chunked body");
		if (h->remaining == 0) {
			h->st = S_TRAILER;
			return 0;
		}
		h->body_seen += h->remaining;
		if (h->body_seen > h->body_max)
			return fail(h, 413, "request body too large");
		h->st = S_CHUNK_DATA;
		return 0;
	case S_CHUNK_CR:
		if (c != CR)
			return bad(h, "malformed chunked body");
		h->st = S_CHUNK_LF;
		return 0;
	case S_CHUNK_LF:
		if (c != LF)
			return bad(h, "malformed chunked body");
		h->st = S_CHUNK_SIZE;
		h->chunk_digits = 0;
		h->line_len = 0;
		h->remaining = 0;
		return 0;
	case S_TRAILER:
		if (c != CR)
			return bad(h, "trailer fields are not accepted");
		h->st = S_TRAILER_LF;
		return 0;
	case S_TRAILER_LF:
		if (c != LF)
			return bad(h, "malformed chunked body");
		next_message(h);
		return 0;
	default:
		return bad(h, "malformed request");
	}
}

int
http_head_feed(struct http_head *h, const uint8_t *buf, size_t len,
    unsigned int *status, const char **msg)
{
	size_t i = 0, n;
	int r;

	while (h->st != S_FAILED && i < len) {
		if (h->st == S_BODY || h->st == S_CHUNK_DATA) {
			n = len - i;
			if (n > h->remaining)
				n = (size_t)h->remaining;
			i += n;
			h->remaining -= n;
			if (h->remaining == 0) {
				if (h->st == S_BODY)
					next_message(h);
				else
					h->st = S_CHUNK_CR;
			}
			continue;
		}
		if (h->st >= S_CHUNK_SIZE)
			r = chunk_byte(h, buf[i]);
		else
			r = head_byte(h, buf[i]);
		if (r != 0)
			break;
		i++;
	}
	if (h->st != S_FAILED)
		return 0;
	*status = h->fail_status;
	*msg = h->fail_msg;
	return SLW_ERR_PARSE;
}
