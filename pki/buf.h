/* SPDX-License-Identifier: Apache-2.0 */
/*
 * buf.h: an owned byte buffer with its length. buf_free always wipes, so a
 * buffer that held a secret can be released the same way as any other.
 */
#ifndef SLW_BUF_H
#define SLW_BUF_H

#include <stddef.h>
#include <stdint.h>

/*
 * data holds len bytes and a NUL after them, in a block of cap bytes
 * (cap >= len + 1). Appending grows the block geometrically (amortised
 * O(1) per byte) by copying into a new block and wiping the old one, so a
 * secret never stays behind in freed memory. A buf filled by hand (data
 * and len set, cap left 0) owns len + 1 bytes: the functions below take
 * that as its capacity.
 */
struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

/* Wipes the whole block and frees it; leaves b empty. Accepts NULL. */
void buf_free(struct buf *b);
/* Wipes the bytes in use and makes len 0; keeps the block for reuse. */
void buf_reset(struct buf *b);
/* Copies len bytes into a new buffer (one extra NUL byte is appended). */
int buf_set(struct buf *b, const void *p, size_t len);
/* Appends bytes, growing as needed; keeps a trailing NUL after len. */
int buf_append(struct buf *b, const void *p, size_t len);
/* Formats and appends; the formatted copy it made is wiped. */
int buf_appendf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Room for at least len more bytes (and the NUL) without growing again. */
int buf_reserve(struct buf *b, size_t len);
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
