// SPDX-License-Identifier: Apache-2.0
/*
 * unseal_msg.c: the unseal socket's messages (unseal_msg.h): parser and
 * writer side by side, and frame I/O. The parser refuses anything over a
 * cap, malformed or left over; passphrases and keys are wiped on every
 * path. Never logs.
 */
#include "unseal_msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

void
unseal_msg_init(struct unseal_msg *m, enum unseal_type type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
}

void
unseal_msg_free(struct unseal_msg *m)
{
	if (m != NULL)
		mbedtls_platform_zeroize(m, sizeof(*m));
}

/* ---- reading ---- */

struct rd {
	const uint8_t *p;
	size_t left;
	int bad;
};

static uint32_t
rd_u32(struct rd *r)
{
	uint32_t v;

	if (r->bad || r->left < 4) {
		r->bad = 1;
		return 0;
	}
	v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	    (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->left -= 4;
	return v;
}

static void
rd_bytes(struct rd *r, void *out, size_t n)
{
	if (r->bad || r->left < n) {
		r->bad = 1;
		return;
	}
	memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
}

/* A u16-length string of 1..max bytes without NUL into out (max + 1). */
static void
rd_str(struct rd *r, char *out, size_t *len, size_t max, int empty_ok)
{
	uint8_t h[2];
	size_t n;

	rd_bytes(r, h, 2);
	n = (size_t)h[0] << 8 | h[1];
	if (r->bad || n > max || (n == 0 && !empty_ok) || n > r->left) {
		r->bad = 1;
		return;
	}
	rd_bytes(r, out, n);
	out[n] = '\0';
	if (memchr(out, '\0', n) != NULL)
		r->bad = 1;
	if (len != NULL)
		*len = n;
}

int
unseal_msg_parse(const uint8_t *buf, size_t len, struct unseal_msg *m,
    struct slw_diag *d)
{
	struct rd r = { buf, len, 0 };
	uint8_t t = 0, hk = 0;
	size_t i;

	unseal_msg_init(m, 0);
	if (buf == NULL || len == 0 || len > UNSEAL_FRAME_MAX)
		return slw_diag(d, SLW_ERR_PARSE, "unseal: frame of %zu bytes "
		    "(1 to %d)", len, UNSEAL_FRAME_MAX);
	rd_bytes(&r, &t, 1);
	m->type = t;
	switch (t) {
	case UNSEAL_STATUS:
	case UNSEAL_GET_KEK:
		break;
	case UNSEAL_PASSPHRASE:
		rd_str(&r, m->pass, &m->pass_len, KEKWRAP_PASS_MAX, 0);
		break;
	case UNSEAL_KEK:
		rd_bytes(&r, m->kek, KEK_LEN);
		m->has_kek = 1;
		break;
	case UNSEAL_CHANGE:
		rd_str(&r, m->pass, &m->pass_len, KEKWRAP_PASS_MAX, 0);
		rd_str(&r, m->new_pass, &m->new_pass_len, KEKWRAP_PASS_MAX, 0);
		break;
	case UNSEAL_ANSWER:
		m->rc = (int32_t)rd_u32(&r);
		m->state = rd_u32(&r);
		m->retry_after = rd_u32(&r);
		rd_str(&r, m->text, NULL, UNSEAL_TEXT_MAX, 1);
		rd_bytes(&r, &hk, 1);
		if (!r.bad && hk == 1) {
			rd_bytes(&r, m->kek, KEK_LEN);
			m->has_kek = 1;
		}
		if (!r.bad && (m->rc > 0 || m->rc < SLW_ERR_LAST ||
		    m->state > UNSEAL_UNSEALED || m->retry_after > 86400 ||
		    hk > 1 || (m->has_kek && m->rc != 0)))
			r.bad = 1;
		for (i = 0; !r.bad && m->text[i] != '\0'; i++)
			if ((unsigned char)m->text[i] < 0x20 || m->text[i] == 0x7f)
				r.bad = 1;
		break;
	default:
		unseal_msg_free(m);
		return slw_diag(d, SLW_ERR_PARSE, "unseal: unknown message type "
		    "%u", t);
	}
	if (r.bad || r.left != 0) {
		unseal_msg_free(m);
		return slw_diag(d, SLW_ERR_PARSE, "unseal: malformed message of "
		    "type %u", t);
	}
	return 0;
}

/* ---- writing ---- */

static int
wr_u32(struct buf *b, uint32_t v)
{
	uint8_t p[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v };

	return buf_append(b, p, 4);
}

static int
wr_str(struct buf *b, const char *s, size_t n)
{
	uint8_t h[2] = { (uint8_t)(n >> 8), (uint8_t)n };
	int r;

	if (n > 0xffff)
		return SLW_ERR_TOOBIG;
	if ((r = buf_append(b, h, 2)) != 0)
		return r;
	return n > 0 ? buf_append(b, s, n) : 0;
}

int
unseal_msg_write(const struct unseal_msg *m, struct buf *out)
{
	struct buf b = { 0 };
	uint8_t t = (uint8_t)m->type, hk = m->has_kek ? 1 : 0;
	int r;

	/* the length, filled in below */
	if ((r = wr_u32(&b, 0)) != 0 || (r = buf_append(&b, &t, 1)) != 0)
		goto out;
	switch (m->type) {
	case UNSEAL_STATUS:
	case UNSEAL_GET_KEK:
		break;
	case UNSEAL_PASSPHRASE:
		r = wr_str(&b, m->pass, m->pass_len);
		break;
	case UNSEAL_KEK:
		r = buf_append(&b, m->kek, KEK_LEN);
		break;
	case UNSEAL_CHANGE:
		if ((r = wr_str(&b, m->pass, m->pass_len)) == 0)
			r = wr_str(&b, m->new_pass, m->new_pass_len);
		break;
	case UNSEAL_ANSWER:
		if ((r = wr_u32(&b, (uint32_t)m->rc)) != 0 ||
		    (r = wr_u32(&b, m->state)) != 0 ||
		    (r = wr_u32(&b, m->retry_after)) != 0 ||
		    (r = wr_str(&b, m->text, strlen(m->text))) != 0 ||
		    (r = buf_append(&b, &hk, 1)) != 0)
			break;
		if (hk)
			r = buf_append(&b, m->kek, KEK_LEN);
		break;
	default:
		r = SLW_ERR_INVALID;
	}
	if (r != 0)
		goto out;
	if (b.len - 4 > UNSEAL_FRAME_MAX) {
		r = SLW_ERR_TOOBIG;
		goto out;
	}
	b.data[0] = (uint8_t)((b.len - 4) >> 24);
	b.data[1] = (uint8_t)((b.len - 4) >> 16);
	b.data[2] = (uint8_t)((b.len - 4) >> 8);
	b.data[3] = (uint8_t)(b.len - 4);
	r = buf_append(out, b.data, b.len);
 out:
	buf_free(&b);
	return r;
}

/* ---- frames on a socket ---- */

static int
full_io(int fd, void *p, size_t n, int wr)
{
	uint8_t *c = p;
	ssize_t k;

	while (n > 0) {
		/* a peer that closed early is an error, not a SIGPIPE */
		k = wr ? send(fd, c, n, MSG_NOSIGNAL) : read(fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return SLW_ERR_IO;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

int
unseal_send(int fd, const struct unseal_msg *m)
{
	struct buf b = { 0 };
	int r;

	if ((r = unseal_msg_write(m, &b)) == 0)
		r = full_io(fd, b.data, b.len, 1);
	buf_free(&b);
	return r;
}

int
unseal_recv(int fd, struct unseal_msg *m, struct slw_diag *d)
{
	uint8_t h[4], *p = NULL;
	size_t n;
	int r;

	unseal_msg_init(m, 0);
	if ((r = full_io(fd, h, 4, 0)) != 0)
		return slw_diag(d, r, "unseal: the other end closed the socket");
	n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
	if (n == 0 || n > UNSEAL_FRAME_MAX)
		return slw_diag(d, SLW_ERR_PARSE, "unseal: frame of %zu bytes "
		    "(1 to %d)", n, UNSEAL_FRAME_MAX);
	if ((p = malloc(n)) == NULL)
		return SLW_ERR_NOMEM;
	if ((r = full_io(fd, p, n, 0)) != 0)
		r = slw_diag(d, r, "unseal: the other end closed the socket");
	else
		r = unseal_msg_parse(p, n, m, d);
	mbedtls_platform_zeroize(p, n);
	free(p);
	return r;
}
