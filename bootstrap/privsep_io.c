// SPDX-License-Identifier: Apache-2.0
/*
 * privsep_io.c: one privsep frame at a time over a blocking stream
 * socket (privsep_msg.h). The length is checked against the caller's cap
 * before anything is allocated; the bytes go to privsep_msg_parse. Must
 * never raise SIGPIPE, and never leave a token in a buffer it frees.
 */
#include "privsep_msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return SLW_ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
read_all(int fd, uint8_t *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return SLW_ERR_IO;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int
privsep_io_send(int fd, const struct privsep_msg *m)
{
	struct buf b = { 0 };
	int r;

	if ((r = privsep_msg_write(m, &b)) == 0)
		r = write_all(fd, b.data, b.len);
	buf_free(&b);
	return r;
}

int
privsep_io_recv(int fd, size_t max, struct privsep_msg *m, struct slw_diag *d)
{
	uint8_t hdr[4], *p = NULL;
	size_t n;
	int r;

	privsep_msg_init(m, 0);
	if ((r = read_all(fd, hdr, sizeof(hdr))) != 0)
		return r;
	n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 |
	    hdr[3];
	if (n == 0 || n > max)
		return slw_diag(d, n == 0 ? SLW_ERR_PARSE : SLW_ERR_TOOBIG,
		    "message of %zu bytes (at most %zu)", n, max);
	if ((p = malloc(n)) == NULL)
		return SLW_ERR_NOMEM;
	if ((r = read_all(fd, p, n)) == 0)
		r = privsep_msg_parse(p, n, m, d);
	mbedtls_platform_zeroize(p, n);
	free(p);
	return r;
}
