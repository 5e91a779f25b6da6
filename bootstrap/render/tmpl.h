/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tmpl.h: the small text builder the renderers share: a buffer that keeps
 * its first error (so a template is a straight list of appends with one
 * check at the end), systemd ExecStart lines, base64, and the check that a
 * value is safe to place unquoted into a unit, a YAML scalar or a shell
 * script.
 */
#ifndef SLW_TMPL_H
#define SLW_TMPL_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

struct tmpl {
	struct buf b;
	int err;
};

void tmpl_init(struct tmpl *t);
/* Wipes (the text may hold a secret). */
void tmpl_free(struct tmpl *t);
void tmpl_puts(struct tmpl *t, const char *s);
void tmpl_printf(struct tmpl *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void tmpl_write(struct tmpl *t, const void *p, size_t len);
/* Base64 (no line breaks) of p. */
void tmpl_base64(struct tmpl *t, const void *p, size_t len);
/* Moves the text into out; returns the first error (out untouched then). */
int tmpl_finish(struct tmpl *t, struct buf *out);

/*
 * systemd ExecStart: tmpl_exec starts "ExecStart=BIN", each tmpl_arg adds
 * " \\\n  ARG" (one flag per line, as the seed wrote them) and
 * tmpl_exec_end closes the line.
 */
void tmpl_exec(struct tmpl *t, const char *key, const char *bin);
void tmpl_arg(struct tmpl *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void tmpl_exec_end(struct tmpl *t);

/*
 * 1 if s is non-empty and made only of [A-Za-z0-9._:/,=@+-]: such a value
 * needs no quoting in a unit file, a YAML plain scalar, a shell word or an
 * haproxy/keepalived token.
 */
int tmpl_safe(const char *s);

/* "[addr]" for IPv6 literals, addr otherwise (for URLs and host:port). */
void tmpl_host(const char *ip, char *out, size_t len);

#endif
