/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rec.h: the value encoding of store records: a sequence of
 * (tag u8, length u32 big-endian, bytes) fields. Readers look fields up by
 * tag, so records can gain fields without a schema change.
 */
#ifndef SLW_REC_H
#define SLW_REC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct rec {
	struct buf b;
	int err;	/* first error; checked once at the end */
};

void rec_put_bytes(struct rec *r, uint8_t tag, const void *p, size_t len);
void rec_put_str(struct rec *r, uint8_t tag, const char *s);
void rec_put_u64(struct rec *r, uint8_t tag, uint64_t v);
/* Releases the buffer (wiping it). */
void rec_free(struct rec *r);

/* Checks that (p, len) is a well-formed field sequence. */
int rec_valid(const uint8_t *p, size_t len);
/* The first field with tag: SLW_ERR_NOTFOUND if absent. No copy. */
int rec_get(const uint8_t *p, size_t len, uint8_t tag, const uint8_t **v,
    size_t *vlen);
int rec_get_u64(const uint8_t *p, size_t len, uint8_t tag, uint64_t *v);
/* Copies a text field into out (NUL-terminated); rejects embedded NULs. */
int rec_get_str(const uint8_t *p, size_t len, uint8_t tag, char *out,
    size_t outlen);
int rec_get_buf(const uint8_t *p, size_t len, uint8_t tag, struct buf *out);

void rec_be64_put(uint8_t out[8], uint64_t v);
uint64_t rec_be64_get(const uint8_t in[8]);

#endif
