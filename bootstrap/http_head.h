/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_head.h: slipway's own reading of the HTTP/1.1 message framing of a
 * connection (RFC 9112), byte by byte, before libmicrohttpd parses it.
 *
 * It follows one connection's plaintext stream: request line, header
 * fields, then the body (Content-Length bytes, or chunked), then the next
 * request. It keeps no bytes, only counters, and refuses anything outside
 * a strict subset of HTTP/1.1 with the status and one-line reason the
 * client is answered with (http_guard.h sends it as {"error": ...}). Every
 * message it lets through is one libmicrohttpd 0.9.75 parses without an
 * error of its own (whose answers would be HTML), within a 32 KiB
 * per-connection memory pool:
 *
 *  - request line `METHOD SP TARGET SP HTTP/1.x CRLF`; method a token,
 *    target visible ASCII, at most HTTP_LINE_MAX bytes (414), at most
 *    HTTP_ARGS_MAX '&' in its query (414); HTTP/1.0 and 1.1 only (505 for
 *    another HTTP/d.d, 400 for anything else);
 *  - header fields `name: value CRLF`, name a token, no space before the
 *    colon, no obsolete line folding, no control bytes, CRLF only (a bare
 *    LF or CR is 400); at most HTTP_FIELDS_MAX fields and HTTP_HEAD_MAX
 *    bytes from the request line to the empty line (431); a Cookie field
 *    with at most HTTP_COOKIES_MAX separators (431);
 *  - HTTP/1.1 has exactly one Host field, 1.0 at most one (400);
 *  - Content-Length: digits only, once, at most HTTP_LENGTH_MAX (413
 *    above); Transfer-Encoding: exactly "chunked" (501 otherwise), once,
 *    not with Content-Length and not in HTTP/1.0 (400);
 *  - a chunked body: hex sizes (extensions allowed, at most
 *    HTTP_CHUNK_LINE_MAX bytes a line), CRLF after every chunk, at most
 *    body_max data bytes in all (413), no trailer fields (400).
 *
 * No I/O; fuzzed by tests/fuzz/http_head.c.
 */
#ifndef SLW_HTTP_HEAD_H
#define SLW_HTTP_HEAD_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_HEAD_MAX 8192	/* request line + header fields + CRLFs */
#define HTTP_LINE_MAX 2048	/* the request line with its CRLF */
#define HTTP_FIELDS_MAX 64
#define HTTP_ARGS_MAX 16	/* '&' in the query string */
#define HTTP_COOKIES_MAX 16	/* ';' and ',' in a Cookie field */
#define HTTP_LENGTH_MAX (1ull << 40)	/* a declared Content-Length */
#define HTTP_CHUNK_LINE_MAX 256	/* a chunk-size line with its extensions */

struct http_head {
	uint64_t body_max;	/* chunked bodies: the most data bytes */
	/* the rest is private */
	uint64_t remaining;	/* body or chunk bytes still to skip */
	uint64_t body_seen;	/* chunked data bytes so far */
	uint64_t clen;
	uint32_t head_len, line_len, fields, args, cookies;
	uint16_t st;		/* where in the message */
	uint8_t kind;		/* of the field being read */
	uint8_t name_len, name[20];	/* its name, lowercase, first bytes */
	uint8_t vlen;		/* bytes of value seen (capped) */
	uint8_t ver[8], ver_len;
	uint8_t in_query, has_host, has_clen, has_te, te_ok, clen_digits;
	uint8_t http10, value_started, chunk_digits;
	unsigned int fail_status;
	const char *fail_msg;
};

/* Ready for the first request of a connection. */
void http_head_init(struct http_head *h, uint64_t body_max);

/*
 * The next len bytes of the connection. 0 while they are acceptable;
 * SLW_ERR_PARSE on the first byte that is not, with the status code and a
 * message for the client (static strings, no request data in them). After
 * a failure every call fails the same way.
 */
int http_head_feed(struct http_head *h, const uint8_t *buf, size_t len,
    unsigned int *status, const char **msg);

/* 1 between two messages (nothing of the next one read yet). */
int http_head_idle(const struct http_head *h);

#endif
