// SPDX-License-Identifier: Apache-2.0
/*
 * http_head.c: fuzz target for http_head, the framing check every byte a
 * client sends goes through before libmicrohttpd: the verdict (accepted,
 * or a status in the table and a short printable reason) must not depend
 * on how the bytes arrive (all at once, one at a time, split where the
 * input says), a refusal sticks, and the guard's answer for it is one
 * well-formed HTTP response. Aborts if an invariant breaks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_guard.h"
#include "http_head.h"

struct verdict {
	unsigned int status;	/* 0: accepted so far */
	const char *msg;
	int idle;
};

static struct verdict
feed(const uint8_t *data, size_t size, size_t step)
{
	struct http_head h;
	struct verdict v = { 0, NULL, 0 };
	size_t off, n;

	http_head_init(&h, 65536);
	for (off = 0; off < size; off += n) {
		n = step == 0 || size - off < step ? size - off : step;
		if (http_head_feed(&h, data + off, n, &v.status, &v.msg) != 0) {
			unsigned int again = 0;
			const char *m2 = NULL;

			if (http_head_feed(&h, data, size, &again, &m2) == 0 ||
			    again != v.status || m2 != v.msg)
				abort();	/* a refusal must stick */
			return v;
		}
	}
	v.idle = http_head_idle(&h);
	return v;
}

static void
check_refusal(const struct verdict *v)
{
	static const unsigned int ok[] = { 400, 413, 414, 431, 501, 505 };
	char out[768], *body;
	size_t i, n, len;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (ok[i] == v->status)
			break;
	if (i == sizeof(ok) / sizeof(ok[0]) || v->msg == NULL)
		abort();
	len = strlen(v->msg);
	if (len == 0 || len > 100)
		abort();
	for (i = 0; i < len; i++)
		if (v->msg[i] < 0x20 || v->msg[i] > 0x7e)
			abort();
	if (http_guard_answer(v->status, v->msg, NULL, out, sizeof(out),
	    &n) != 0 || n != strlen(out))
		abort();
	/* one status line, and a body of exactly Content-Length bytes */
	if (strncmp(out, "HTTP/1.1 ", 9) != 0 ||
	    (unsigned int)atoi(out + 9) != v->status ||
	    (body = strstr(out, "\r\n\r\n")) == NULL ||
	    strstr(out, "Content-Length: ") == NULL ||
	    (size_t)atoi(strstr(out, "Content-Length: ") + 16) !=
	    strlen(body + 4))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct verdict all, one, cut;
	size_t step;

	if (size > 3 * HTTP_HEAD_MAX)
		return 0;
	all = feed(data, size, 0);
	one = feed(data, size, 1);
	step = size > 0 ? 1 + data[0] % 64 : 1;
	cut = feed(data, size, step);
	if (one.status != all.status || cut.status != all.status ||
	    one.msg != all.msg || cut.msg != all.msg ||
	    one.idle != all.idle || cut.idle != all.idle)
		abort();
	if (all.status != 0)
		check_refusal(&all);
	return 0;
}
