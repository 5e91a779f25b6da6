// SPDX-License-Identifier: Apache-2.0
/*
 * buf.c: owned byte buffers with a capacity (amortised O(1) appends) and
 * whole-file I/O. Files are written through a temporary name and renamed,
 * so a reader never sees a partial file; a buffer's block is wiped before
 * its memory is returned, on growth as on free. Never realloc.
 */
#include "buf.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

/* The block's size: cap, or len + 1 for a buf filled by hand. */
static size_t
room(const struct buf *b)
{
	if (b->data == NULL)
		return 0;
	return b->cap > b->len ? b->cap : b->len + 1;
}

static void
wipe(uint8_t *p, size_t n)
{
#if defined(__SANITIZE_ADDRESS__)
	/* mbedTLS is not instrumented: let ASan see the bytes that every
	 * struct buf must own. */
	memset(p, 0, n);
#endif
	mbedtls_platform_zeroize(p, n);
}

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	if (b->data != NULL) {
		wipe(b->data, room(b));
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
buf_reset(struct buf *b)
{
	if (b->data == NULL)
		return;
	wipe(b->data, b->len);
	b->cap = room(b);
	b->len = 0;
	b->data[0] = '\0';
}

int
buf_set(struct buf *b, const void *p, size_t len)
{
	uint8_t *n;

	if (len == SIZE_MAX)
		return SLW_ERR_TOOBIG;
	if ((n = malloc(len + 1)) == NULL)
		return SLW_ERR_NOMEM;
	if (len > 0)
		memcpy(n, p, len);
	n[len] = '\0';
	buf_free(b);
	b->data = n;
	b->len = len;
	b->cap = len + 1;
	return 0;
}

/*
 * Grows the block to hold need bytes (NUL included): at least double the
 * old size, so n appends cost O(n) copies in all. The old block is copied,
 * wiped and freed (never realloc, which may leave it behind unwiped).
 */
static int
grow(struct buf *b, size_t need)
{
	size_t have = room(b), nc;
	uint8_t *n;

	if (need <= have)
		return 0;
	nc = have < 64 ? 64 : have;
	while (nc < need)
		nc = nc > SIZE_MAX / 2 ? need : nc * 2;
	if ((n = malloc(nc)) == NULL)
		return SLW_ERR_NOMEM;
	if (b->data != NULL) {
		memcpy(n, b->data, b->len + 1);
		wipe(b->data, have);
		free(b->data);
	} else
		n[0] = '\0';
	b->data = n;
	b->cap = nc;
	return 0;
}

int
buf_reserve(struct buf *b, size_t len)
{
	if (len > SIZE_MAX - b->len - 1)
		return SLW_ERR_TOOBIG;
	return grow(b, b->len + len + 1);
}

int
buf_append(struct buf *b, const void *p, size_t len)
{
	int r;

	if ((r = buf_reserve(b, len)) != 0)
		return r;
	if (len > 0)
		memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_appendf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[512], *big = NULL;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return SLW_ERR_INTERNAL;
	if ((size_t)n < sizeof(small)) {
		r = buf_append(b, small, (size_t)n);
		mbedtls_platform_zeroize(small, sizeof(small));
		return r;
	}
	mbedtls_platform_zeroize(small, sizeof(small));
	if ((big = malloc((size_t)n + 1)) == NULL)
		return SLW_ERR_NOMEM;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	r = buf_append(b, big, (size_t)n);
	mbedtls_platform_zeroize(big, (size_t)n + 1);
	free(big);
	return r;
}

void
buf_move(struct buf *dst, struct buf *src)
{
	buf_free(dst);
	*dst = *src;
	src->data = NULL;
	src->len = 0;
	src->cap = 0;
}

int
buf_read_file(struct buf *b, const char *path, size_t max)
{
	struct stat st;
	uint8_t *p = NULL;
	size_t off = 0;
	ssize_t n;
	int fd, r = SLW_ERR_IO;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? SLW_ERR_NOTFOUND :
		    errno == EACCES ? SLW_ERR_PERM : SLW_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	if ((size_t)st.st_size > max) {
		r = SLW_ERR_TOOBIG;
		goto out;
	}
	if ((p = malloc((size_t)st.st_size + 1)) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, p + off, (size_t)st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		off += (size_t)n;
	}
	p[off] = '\0';
	buf_free(b);
	b->data = p;
	b->len = off;
	b->cap = (size_t)st.st_size + 1;
	p = NULL;
	r = 0;
 out:
	if (p != NULL) {
		mbedtls_platform_zeroize(p, (size_t)st.st_size + 1);
		free(p);
	}
	close(fd);
	return r;
}

/* A full filesystem is its own error: callers say "disk full". */
static int
write_err(int e)
{
	return e == ENOSPC || e == EDQUOT ? SLW_ERR_NOSPACE : SLW_ERR_IO;
}

int
buf_write_file(const char *path, const void *p, size_t len, unsigned int mode,
    int excl)
{
	char tmp[4096];
	const uint8_t *c = p;
	size_t off = 0;
	ssize_t n;
	int fd = -1, r = SLW_ERR_IO;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return SLW_ERR_INVALID;
	if (excl && access(path, F_OK) == 0)
		return SLW_ERR_EXISTS;
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777);
	if (fd < 0)
		return errno == EACCES || errno == EROFS ? SLW_ERR_PERM :
		    write_err(errno);
	if (fchmod(fd, mode & 07777) != 0)
		goto out;
	while (off < len) {
		n = write(fd, c + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? write_err(errno) : SLW_ERR_NOSPACE;
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0) {
		r = write_err(errno);
		goto out;
	}
	if (close(fd) != 0) {
		r = write_err(errno);
		fd = -1;
		goto out;
	}
	fd = -1;
	if (excl) {
		/* link() fails if the target exists: no overwrite race. */
		if (link(tmp, path) != 0) {
			r = errno == EEXIST ? SLW_ERR_EXISTS : SLW_ERR_IO;
			goto out;
		}
		(void)unlink(tmp);
	} else if (rename(tmp, path) != 0)
		goto out;
	r = 0;
 out:
	if (fd >= 0)
		close(fd);
	if (r != 0)
		(void)unlink(tmp);
	return r;
}
