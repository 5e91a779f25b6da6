// SPDX-License-Identifier: Apache-2.0
/*
 * http_head_test.c: http_head, the framing check in front of
 * libmicrohttpd: what it lets through (pipelined requests, bodies by
 * length and chunked), what it refuses and with which status, the same
 * verdict whichever way the bytes are split; http_guard's answer and that
 * gnutls_record_recv really is the guard's in a binary linked like slipway.
 */
#include "testutil.h"

#include "http_guard.h"
#include "http_head.h"

#include <stdio.h>
#include <stdlib.h>

#define BODY_MAX 65536

struct tcase {
	const char *name;
	const char *in;
	unsigned int status;	/* 0: accepted */
	int idle;		/* accepted: 1 if it ends between messages */
};

static const struct tcase cases[] = {
	{ "GET", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 0, 1 },
	{ "empty lines first", "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 0,
	  1 },
	{ "HTTP/1.0 without Host", "GET /v1/ca.pem HTTP/1.0\r\n\r\n", 0, 1 },
	{ "field values: tabs, obs-text, empty",
	  "GET /?node=a&b=c HTTP/1.1\r\nHost:\tx \r\nX-A: \x80\xff\t\r\n"
	  "X-B:\r\nAuthorization: Bearer ab.cd\r\n\r\n", 0, 1 },
	{ "body by length", "POST /v1/enroll HTTP/1.1\r\nHost: x\r\n"
	  "content-length: 5\r\n\r\nhello", 0, 1 },
	{ "half a body", "POST /v1/enroll HTTP/1.1\r\nHost: x\r\n"
	  "Content-Length: 10\r\n\r\nhello", 0, 0 },
	{ "chunked", "POST /v1/enroll HTTP/1.1\r\nHost: x\r\n"
	  "Transfer-Encoding: Chunked\r\n\r\n5;a=b\r\nhello\r\nA\r\n"
	  "0123456789\r\n0\r\n\r\n", 0, 1 },
	{ "pipelined", "GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST / HTTP/1.1\r\n"
	  "Host: x\r\nContent-Length: 2\r\n\r\nokGET /x HTTP/1.1\r\nHost: y"
	  "\r\n\r\n", 0, 1 },
	{ "a head not finished", "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaa",
	  0, 0 },
	{ "no version", "GET /\r\n\r\n", 400, 0 },
	{ "HTTP/0.9 style", "GET\r\n\r\n", 400, 0 },
	{ "two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, 0 },
	{ "not a token method", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, 0 },
	{ "space in target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400, 0 },
	{ "lowercase version", "GET / http/1.1\r\nHost: x\r\n\r\n", 400, 0 },
	{ "HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, 0 },
	{ "HTTP/1.2", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505, 0 },
	{ "HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", 505, 0 },
	{ "garbage", "\x16\x03\x01\x02\x00\x01", 400, 0 },
	{ "no Host", "GET / HTTP/1.1\r\nX: y\r\n\r\n", 400, 0 },
	{ "two Hosts", "GET / HTTP/1.1\r\nHost: x\r\nhost: y\r\n\r\n", 400,
	  0 },
	{ "bare LF", "GET / HTTP/1.1\nHost: x\n\n", 400, 0 },
	{ "bare LF in a field", "GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n",
	  400, 0 },
	{ "bare CR", "GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", 400, 0 },
	{ "NUL in a value", "GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n",
	  400, 0 },
	{ "no colon", "GET / HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n", 400, 0 },
	{ "space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400,
	  0 },
	{ "folded", "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400,
	  0 },
	{ "Content-Length: -1", "GET / HTTP/1.1\r\nHost: x\r\n"
	  "Content-Length: -1\r\n\r\n", 400, 0 },
	{ "Content-Length: +1", "GET / HTTP/1.1\r\nHost: x\r\n"
	  "Content-Length: +1\r\n\r\n", 400, 0 },
	{ "Content-Length empty", "GET / HTTP/1.1\r\nHost: x\r\n"
	  "Content-Length: \r\n\r\n", 400, 0 },
	{ "Content-Length, trailing space", "GET / HTTP/1.1\r\nHost: x\r\n"
	  "Content-Length: 1 \r\n\r\nx", 400, 0 },
	{ "Content-Length list", "GET / HTTP/1.1\r\nHost: x\r\n"
	  "Content-Length: 1,1\r\n\r\nx", 400, 0 },
	{ "two Content-Lengths", "GET / HTTP/1.1\r\nHost: x\r\n"
	  "Content-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400, 0 },
	{ "Content-Length too large", "GET / HTTP/1.1\r\nHost: x\r\n"
	  "Content-Length: 99999999999999999999999\r\n\r\n", 413, 0 },
	{ "Transfer-Encoding gzip", "POST / HTTP/1.1\r\nHost: x\r\n"
	  "Transfer-Encoding: gzip, chunked\r\n\r\n", 501, 0 },
	{ "Transfer-Encoding chunked, chunked", "POST / HTTP/1.1\r\n"
	  "Host: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 501, 0 },
	{ "both lengths", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3"
	  "\r\nTransfer-Encoding: chunked\r\n\r\n", 400, 0 },
	{ "chunked in HTTP/1.0", "POST / HTTP/1.0\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n", 400, 0 },
	{ "chunk size not hex", "POST / HTTP/1.1\r\nHost: x\r\n"
	  "Transfer-Encoding: chunked\r\n\r\nxyz\r\n", 400, 0 },
	{ "chunk without CRLF", "POST / HTTP/1.1\r\nHost: x\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", 400, 0 },
	{ "trailer field", "POST / HTTP/1.1\r\nHost: x\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n\r\n", 400, 0 },
	{ "chunks over the cap", "POST / HTTP/1.1\r\nHost: x\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n8000\r\n", 0, 0 },
	{ "a chunk over the cap", "POST / HTTP/1.1\r\nHost: x\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n10001\r\n", 413, 0 },
	{ "a huge chunk", "POST / HTTP/1.1\r\nHost: x\r\n"
	  "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n", 413,
	  0 },
	{ "a bad second request", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	  "GET / HTTP/7.0\r\n", 505, 0 },
};

/* One verdict, fed in pieces of `step` bytes (0: all at once). */
static unsigned int
run(const char *in, size_t len, size_t step, int *idle)
{
	struct http_head h;
	unsigned int status = 0;
	const char *msg = NULL;
	size_t off, n;

	http_head_init(&h, BODY_MAX);
	for (off = 0; off < len; off += n) {
		n = step == 0 || len - off < step ? len - off : step;
		if (http_head_feed(&h, (const uint8_t *)in + off, n, &status,
		    &msg) != 0) {
			assert_non_null(msg);
			assert_true(strlen(msg) > 0 && strlen(msg) < 100);
			*idle = 0;
			return status;
		}
	}
	*idle = http_head_idle(&h);
	return 0;
}

static size_t
case_len(const struct tcase *c)
{
	/* "NUL in a value" holds a NUL: its length is known */
	if (strcmp(c->name, "NUL in a value") == 0)
		return strlen(c->in) + 1 + strlen(c->in + strlen(c->in) + 1);
	return strlen(c->in);
}

static void
test_cases(void **s)
{
	size_t i, step;
	int idle, failed = 0;

	(void)s;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		size_t len = case_len(c);

		for (step = 0; step <= len; step++) {
			unsigned int got = run(c->in, len, step, &idle);

			if (got != c->status || (got == 0 && idle != c->idle)) {
				print_error("%s (pieces of %zu): %u idle %d, "
				    "want %u idle %d\n", c->name, step, got,
				    idle, c->status, c->idle);
				failed++;
				break;
			}
		}
	}
	assert_int_equal(failed, 0);
}

/* The caps, at their edges. */
static void
test_caps(void **s)
{
	char *b = malloc(3 * HTTP_HEAD_MAX);
	size_t n;
	int i, idle;

	(void)s;
	assert_non_null(b);
	/* a request line of HTTP_LINE_MAX bytes with its CRLF is fine */
	n = (size_t)snprintf(b, 64, "GET /");
	memset(b + n, 'a', HTTP_LINE_MAX - n - 11);
	n = HTTP_LINE_MAX - 11;
	n += (size_t)sprintf(b + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(run(b, n, 0, &idle), 0);
	n = (size_t)snprintf(b, 64, "GET /");
	memset(b + n, 'a', HTTP_LINE_MAX - n - 10);
	n = HTTP_LINE_MAX - 10;
	n += (size_t)sprintf(b + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(run(b, n, 0, &idle), 414);
	/* HTTP_ARGS_MAX '&' in a query, then one more */
	n = (size_t)sprintf(b, "GET /?a");
	for (i = 0; i < HTTP_ARGS_MAX; i++)
		n += (size_t)sprintf(b + n, "&a");
	strcpy(b + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(run(b, strlen(b), 0, &idle), 0);
	n = (size_t)sprintf(b + n, "&a HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(run(b, strlen(b), 0, &idle), 414);
	/* HTTP_FIELDS_MAX fields, then one more */
	n = (size_t)sprintf(b, "GET / HTTP/1.1\r\nHost: x\r\n");
	for (i = 1; i < HTTP_FIELDS_MAX; i++)
		n += (size_t)sprintf(b + n, "X-%d: y\r\n", i);
	strcpy(b + n, "\r\n");
	assert_int_equal(run(b, strlen(b), 0, &idle), 0);
	strcpy(b + n, "X: y\r\n\r\n");
	assert_int_equal(run(b, strlen(b), 0, &idle), 431);
	/* HTTP_HEAD_MAX bytes of head in all, then one more */
	n = (size_t)sprintf(b, "GET / HTTP/1.1\r\nHost: x\r\nX: ");
	memset(b + n, 'v', HTTP_HEAD_MAX - n - 4);
	strcpy(b + HTTP_HEAD_MAX - 4, "\r\n\r\n");
	assert_int_equal(run(b, HTTP_HEAD_MAX, 0, &idle), 0);
	assert_int_equal(idle, 1);
	memset(b + n, 'v', HTTP_HEAD_MAX - n - 3);
	strcpy(b + HTTP_HEAD_MAX - 3, "\r\n\r\n");
	assert_int_equal(run(b, HTTP_HEAD_MAX + 1, 0, &idle), 431);
	/* empty lines count too: an endless stream of them is cut */
	for (i = 0; i < HTTP_HEAD_MAX / 2 + 1; i++)
		memcpy(b + 2 * i, "\r\n", 2);
	assert_int_equal(run(b, HTTP_HEAD_MAX + 2, 0, &idle), 431);
	/* cookies: HTTP_COOKIES_MAX separators, then one more */
	n = (size_t)sprintf(b, "GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1");
	for (i = 0; i < HTTP_COOKIES_MAX; i++)
		n += (size_t)sprintf(b + n, ";b=2");
	strcpy(b + n, "\r\n\r\n");
	assert_int_equal(run(b, strlen(b), 0, &idle), 0);
	strcpy(b + n, ",c\r\n\r\n");
	assert_int_equal(run(b, strlen(b), 0, &idle), 431);
	free(b);
	/* chunked: exactly BODY_MAX bytes of data, then one more */
	b = malloc(BODY_MAX + 256);
	assert_non_null(b);
	n = (size_t)sprintf(b, "POST / HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n8000\r\n");
	memset(b + n, 'd', 0x8000);
	n += 0x8000;
	n += (size_t)sprintf(b + n, "\r\n8000\r\n");
	assert_int_equal(run(b, n, 0, &idle), 0);	/* 64 KiB so far */
	assert_int_equal(idle, 0);
	memset(b + n, 'd', 0x8000);
	n += 0x8000;
	n += (size_t)sprintf(b + n, "\r\n1\r\n");
	assert_int_equal(run(b, n, 0, &idle), 413);
	free(b);
}

/* After a failure, every call fails the same way; messages are static. */
static void
test_failure_sticks(void **s)
{
	struct http_head h;
	unsigned int st1 = 0, st2 = 0;
	const char *m1 = NULL, *m2 = NULL;

	(void)s;
	http_head_init(&h, BODY_MAX);
	assert_int_equal(http_head_feed(&h, (const uint8_t *)"GET / HTTP/3.0\r",
	    15, &st1, &m1), SLW_ERR_PARSE);
	assert_int_equal(http_head_feed(&h, (const uint8_t *)"\n", 1, &st2,
	    &m2), SLW_ERR_PARSE);
	assert_int_equal(st1, 505);
	assert_int_equal(st2, 505);
	assert_ptr_equal(m1, m2);
	assert_false(http_head_idle(&h));
}

static void
test_guard_answer(void **s)
{
	char out[768];
	size_t n;

	(void)s;
	assert_int_equal(http_guard_answer(431, "request header fields too "
	    "large", "Thu, 01 Jan 1970 00:00:00 GMT", out, sizeof(out), &n), 0);
	assert_int_equal(n, strlen(out));
	assert_string_equal(out,
	    "HTTP/1.1 431 Request Header Fields Too Large\r\n"
	    "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
	    "Connection: close\r\n"
	    "Content-Type: application/json\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Cache-Control: no-store\r\n"
	    "Content-Length: 44\r\n"
	    "\r\n"
	    "{\"error\":\"request header fields too large\"}\n");
	assert_int_equal(http_guard_answer(400, "x", NULL, out, 10, &n),
	    SLW_ERR_TOOBIG);
	/* a binary linked like slipway reads TLS through the guard */
	assert_true(http_guard_live());
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_failure_sticks),
		cmocka_unit_test(test_guard_answer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
