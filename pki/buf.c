// SPDX-License-Identifier: Apache-2.0
/*
 * buf.c: owned byte buffers and whole-file I/O. Files are written through a
 * temporary name and renamed, so a reader never sees a partial file; a
 * buffer is wiped before its memory is returned.
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

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	if (b->data != NULL) {
#if defined(__SANITIZE_ADDRESS__)
		/* mbedTLS is not instrumented: let ASan see the len + 1 bytes
		 * that every struct buf must own. */
		memset(b->data, 0, b->len + 1);
#endif
		mbedtls_platform_zeroize(b->data, b->len + 1);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
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
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t len)
{
	uint8_t *n;
	size_t nl;

	if (len > SIZE_MAX - b->len - 1)
		return SLW_ERR_TOOBIG;
	nl = b->len + len;
	if ((n = malloc(nl + 1)) == NULL)
		return SLW_ERR_NOMEM;
	if (b->len > 0)
		memcpy(n, b->data, b->len);
	if (len > 0)
		memcpy(n + b->len, p, len);
	n[nl] = '\0';
	buf_free(b);
	b->data = n;
	b->len = nl;
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
	if ((size_t)n < sizeof(small))
		return buf_append(b, small, (size_t)n);
	if ((big = malloc((size_t)n + 1)) == NULL)
		return SLW_ERR_NOMEM;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	r = buf_append(b, big, (size_t)n);
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
