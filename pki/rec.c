// SPDX-License-Identifier: Apache-2.0
/*
 * rec.c: tag-length-value records. Every read is bounds-checked against
 * the record length; a malformed record is an error, never a crash.
 */
#include "rec.h"
#include "err.h"

#include <string.h>

void
rec_be64_put(uint8_t out[8], uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		out[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

uint64_t
rec_be64_get(const uint8_t in[8])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | in[i];
	return v;
}

void
rec_put_bytes(struct rec *r, uint8_t tag, const void *p, size_t len)
{
	uint8_t h[5];

	if (r->err != 0)
		return;
	if (len > UINT32_MAX) {
		r->err = SLW_ERR_TOOBIG;
		return;
	}
	h[0] = tag;
	h[1] = (uint8_t)(len >> 24);
	h[2] = (uint8_t)(len >> 16);
	h[3] = (uint8_t)(len >> 8);
	h[4] = (uint8_t)len;
	if ((r->err = buf_append(&r->b, h, sizeof(h))) == 0)
		r->err = buf_append(&r->b, p, len);
}

void
rec_put_str(struct rec *r, uint8_t tag, const char *s)
{
	rec_put_bytes(r, tag, s, strlen(s));
}

void
rec_put_u64(struct rec *r, uint8_t tag, uint64_t v)
{
	uint8_t b[8];

	rec_be64_put(b, v);
	rec_put_bytes(r, tag, b, 8);
}

void
rec_free(struct rec *r)
{
	buf_free(&r->b);
	r->err = 0;
}

static int
walk(const uint8_t *p, size_t len, int want, const uint8_t **v, size_t *vlen)
{
	size_t off = 0, fl;

	while (off < len) {
		if (len - off < 5)
			return SLW_ERR_CORRUPT;
		fl = (size_t)p[off + 1] << 24 | (size_t)p[off + 2] << 16 |
		    (size_t)p[off + 3] << 8 | p[off + 4];
		if (fl > len - off - 5)
			return SLW_ERR_CORRUPT;
		if (want >= 0 && p[off] == want) {
			*v = p + off + 5;
			*vlen = fl;
			return 0;
		}
		off += 5 + fl;
	}
	return want >= 0 ? SLW_ERR_NOTFOUND : 0;
}

int
rec_valid(const uint8_t *p, size_t len)
{
	return walk(p, len, -1, NULL, NULL);
}

int
rec_get(const uint8_t *p, size_t len, uint8_t tag, const uint8_t **v,
    size_t *vlen)
{
	return walk(p, len, tag, v, vlen);
}

int
rec_get_u64(const uint8_t *p, size_t len, uint8_t tag, uint64_t *out)
{
	const uint8_t *v;
	size_t vl;
	int r;

	if ((r = rec_get(p, len, tag, &v, &vl)) != 0)
		return r;
	if (vl != 8)
		return SLW_ERR_CORRUPT;
	*out = rec_be64_get(v);
	return 0;
}

int
rec_get_str(const uint8_t *p, size_t len, uint8_t tag, char *out,
    size_t outlen)
{
	const uint8_t *v;
	size_t vl;
	int r;

	if ((r = rec_get(p, len, tag, &v, &vl)) != 0)
		return r;
	if (vl >= outlen || memchr(v, '\0', vl) != NULL)
		return SLW_ERR_CORRUPT;
	memcpy(out, v, vl);
	out[vl] = '\0';
	return 0;
}

int
rec_get_buf(const uint8_t *p, size_t len, uint8_t tag, struct buf *out)
{
	const uint8_t *v;
	size_t vl;
	int r;

	if ((r = rec_get(p, len, tag, &v, &vl)) != 0)
		return r;
	return buf_set(out, v, vl);
}
