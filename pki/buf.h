/* SPDX-License-Identifier: Apache-2.0 */
/*
 * buf.h: an owned byte buffer with its length. buf_free always wipes, so a
 * buffer that held a secret can be released the same way as any other.
 */
#ifndef SLW_BUF_H
#define SLW_BUF_H

#include <stddef.h>
#include <stdint.h>

/* data holds len bytes and a NUL after them (len + 1 allocated). */
struct buf {
	uint8_t *data;
	size_t len;
};

/* Wipes and frees b->data; leaves b empty. Accepts NULL. */
void buf_free(struct buf *b);
/* Copies len bytes into a new buffer (one extra NUL byte is appended). */
int buf_set(struct buf *b, const void *p, size_t len);
/* Appends bytes, growing as needed; keeps a trailing NUL after len. */
int buf_append(struct buf *b, const void *p, size_t len);
int buf_appendf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Moves src into dst (dst is freed first). */
void buf_move(struct buf *dst, struct buf *src);

/* Reads a whole file (at most max bytes) into b. */
int buf_read_file(struct buf *b, const char *path, size_t max);
/*
 * Writes a file atomically (temporary file, fsync, rename) with the given
 * mode. Fails with SLW_ERR_EXISTS if excl and the path exists, and with
 * SLW_ERR_NOSPACE (nothing left behind) if the filesystem is full.
 */
int buf_write_file(const char *path, const void *p, size_t len,
    unsigned int mode, int excl);

#endif
