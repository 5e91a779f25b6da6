// SPDX-License-Identifier: Apache-2.0
/*
 * privsep_io.c: one privsep frame at a time over a blocking stream
 * socket (privsep_msg.h), with at most one descriptor beside it
 * (SCM_RIGHTS: an artifact's file). The length is checked against the
 * caller's cap before anything is allocated; the bytes go to
 * privsep_msg_parse. Must never raise SIGPIPE, never leave a token in a
 * buffer it frees, and never keep a descriptor nobody asked for.
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

/* The frame's first bytes with the descriptor, then the rest. */
static int
write_with_fd(int fd, const uint8_t *p, size_t n, int pass_fd)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *c;
	ssize_t w;

	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = (void *)p;
	iov.iov_len = n;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.space;
	mh.msg_controllen = sizeof(cm.space);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	do
		w = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w <= 0)
		return SLW_ERR_IO;
	return write_all(fd, p + w, n - (size_t)w);
}

int
privsep_io_send(int fd, const struct privsep_msg *m)
{
	return privsep_io_send_fd(fd, m, -1);
}

int
privsep_io_send_fd(int fd, const struct privsep_msg *m, int pass_fd)
{
	struct buf b = { 0 };
	int r;

	if ((r = privsep_msg_write(m, &b)) == 0)
		r = pass_fd >= 0 ? write_with_fd(fd, b.data, b.len, pass_fd) :
		    write_all(fd, b.data, b.len);
	buf_free(&b);
	return r;
}

/*
 * The frame's length field, and the descriptors that came with it (they
 * arrive with the first byte of the frame that carried them).
 */
static int
read_head(int fd, uint8_t hdr[4], int *got)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(4 * sizeof(int))];
	} cm;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *c;
	ssize_t n;
	int bad = 0;

	*got = -1;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = hdr;
	iov.iov_len = 4;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.space;
	mh.msg_controllen = sizeof(cm.space);
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return SLW_ERR_IO;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		size_t k, cnt;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < cnt; k++) {
			int x;

			memcpy(&x, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
			if (*got < 0 && !bad)
				*got = x;
			else {
				close(x);
				bad = 1;
			}
		}
	}
	if (bad || (mh.msg_flags & MSG_CTRUNC)) {
		if (*got >= 0)
			close(*got);
		*got = -1;
		return SLW_ERR_PARSE;
	}
	if ((size_t)n < 4)
		return read_all(fd, hdr + n, 4 - (size_t)n);
	return 0;
}

int
privsep_io_recv(int fd, size_t max, struct privsep_msg *m, struct slw_diag *d)
{
	return privsep_io_recv_fd(fd, max, m, NULL, d);
}

int
privsep_io_recv_fd(int fd, size_t max, struct privsep_msg *m, int *got,
    struct slw_diag *d)
{
	uint8_t hdr[4], *p = NULL;
	size_t n;
	int r, passed = -1;

	privsep_msg_init(m, 0);
	if (got != NULL)
		*got = -1;
	r = read_head(fd, hdr, &passed);
	if (r == 0 && got == NULL && passed >= 0) {
		close(passed);	/* nobody asked for one */
		passed = -1;
	}
	if (r != 0)
		return r == SLW_ERR_PARSE ? slw_diag(d, r, "a frame with more "
		    "than one descriptor") : r;
	r = 0;
	if (got != NULL) {
		*got = passed;
		passed = -1;
	}
	n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 |
	    hdr[3];
	if (n == 0 || n > max) {
		r = slw_diag(d, n == 0 ? SLW_ERR_PARSE : SLW_ERR_TOOBIG,
		    "message of %zu bytes (at most %zu)", n, max);
		goto out;
	}
	if ((p = malloc(n)) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	if ((r = read_all(fd, p, n)) == 0)
		r = privsep_msg_parse(p, n, m, d);
	mbedtls_platform_zeroize(p, n);
	free(p);
 out:
	if (r != 0 && got != NULL && *got >= 0) {
		close(*got);
		*got = -1;
	}
	return r;
}
