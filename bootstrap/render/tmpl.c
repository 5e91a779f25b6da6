// SPDX-License-Identifier: Apache-2.0
/*
 * tmpl.c: text building for the renderers (see tmpl.h). No I/O; the only
 * secret handling is that a builder is wiped when freed.
 */
#include "tmpl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/platform_util.h>

void
tmpl_init(struct tmpl *t)
{
	memset(t, 0, sizeof(*t));
}

void
tmpl_free(struct tmpl *t)
{
	if (t != NULL)
		buf_free(&t->b);
}

void
tmpl_write(struct tmpl *t, const void *p, size_t len)
{
	int r;

	if (t->err != 0 || len == 0)
		return;
	if ((r = buf_append(&t->b, p, len)) != 0)
		t->err = r;
}

void
tmpl_puts(struct tmpl *t, const char *s)
{
	tmpl_write(t, s, strlen(s));
}

static void
tmpl_vprintf(struct tmpl *t, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
tmpl_vprintf(struct tmpl *t, const char *fmt, va_list ap)
{
	char small[512], *big;
	va_list cp;
	int n;

	if (t->err != 0)
		return;
	va_copy(cp, ap);
	n = vsnprintf(small, sizeof(small), fmt, cp);
	va_end(cp);
	if (n < 0) {
		t->err = SLW_ERR_INTERNAL;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		tmpl_write(t, small, (size_t)n);
		mbedtls_platform_zeroize(small, sizeof(small));
		return;
	}
	if ((big = malloc((size_t)n + 1)) == NULL) {
		t->err = SLW_ERR_NOMEM;
		return;
	}
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	tmpl_write(t, big, (size_t)n);
	mbedtls_platform_zeroize(big, (size_t)n + 1);
	free(big);
}

void
tmpl_printf(struct tmpl *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tmpl_vprintf(t, fmt, ap);
	va_end(ap);
}

void
tmpl_base64(struct tmpl *t, const void *p, size_t len)
{
	unsigned char *out;
	size_t olen = 0, cap = 4 * ((len + 2) / 3) + 1;

	if (t->err != 0)
		return;
	if ((out = malloc(cap)) == NULL) {
		t->err = SLW_ERR_NOMEM;
		return;
	}
	if (mbedtls_base64_encode(out, cap, &olen, p, len) != 0)
		t->err = SLW_ERR_INTERNAL;
	else
		tmpl_write(t, out, olen);
	mbedtls_platform_zeroize(out, cap);
	free(out);
}

int
tmpl_finish(struct tmpl *t, struct buf *out)
{
	if (t->err != 0) {
		tmpl_free(t);
		return t->err;
	}
	if (t->b.data == NULL && buf_set(&t->b, "", 0) != 0)
		return SLW_ERR_NOMEM;
	buf_move(out, &t->b);
	return 0;
}

void
tmpl_exec(struct tmpl *t, const char *key, const char *bin)
{
	tmpl_printf(t, "%s=%s", key, bin);
}

void
tmpl_arg(struct tmpl *t, const char *fmt, ...)
{
	va_list ap;

	tmpl_puts(t, " \\\n  ");
	va_start(ap, fmt);
	tmpl_vprintf(t, fmt, ap);
	va_end(ap);
}

void
tmpl_exec_end(struct tmpl *t)
{
	tmpl_puts(t, "\n");
}

int
tmpl_safe(const char *s)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/,=@+-";

	return s != NULL && s[0] != '\0' && strspn(s, ok) == strlen(s);
}

void
tmpl_host(const char *ip, char *out, size_t len)
{
	if (strchr(ip, ':') != NULL)
		snprintf(out, len, "[%s]", ip);
	else
		snprintf(out, len, "%s", ip);
}
