// SPDX-License-Identifier: Apache-2.0
/*
 * anchor.c: the file rollback anchor (anchor.h): two MAC'd slots written
 * alternately in place, under flock. Must never move an anchor backwards,
 * trust a slot whose MAC does not verify, or keep its key past _free.
 */
#include "anchor.h"
#include "rand.h"
#include "rec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

#define SLOT (ANCHOR_FILE_SIZE / 2)
#define SLOT_BODY (SLOT - 32)
#define MAGIC "SLWANC1"		/* 8 bytes with its NUL */
#define KEY_LABEL "slipway rollback anchor v1"

struct anchor_file {
	int fd;			/* -1: no file (and not to be made) */
	int readonly;
	uint8_t key[32];
	char path[4096];
};

static int
slot_mac(const uint8_t key[32], const uint8_t *body, uint8_t out[32])
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

	return md != NULL && mbedtls_md_hmac(md, key, 32, body, SLOT_BODY,
	    out) == 0 ? 0 : SLW_ERR_CRYPTO;
}

int
anchor_slot_write(const struct anchor_state *st, const uint8_t key[32],
    uint8_t out[SLOT])
{
	memset(out, 0, SLOT);
	memcpy(out, MAGIC, sizeof(MAGIC));
	rec_be64_put(out + 8, st->generation);
	if (st->has_head) {
		memcpy(out + 16, st->head, 32);
		out[48] = 1;
	}
	return slot_mac(key, out, out + SLOT_BODY);
}

static int
slot_read(const uint8_t *p, const uint8_t key[32], struct anchor_state *st)
{
	uint8_t m[32];
	size_t i;

	if (memcmp(p, MAGIC, sizeof(MAGIC)) != 0 || p[48] > 1)
		return SLW_ERR_CORRUPT;
	for (i = 49; i < SLOT_BODY; i++)
		if (p[i] != 0)
			return SLW_ERR_CORRUPT;
	if (slot_mac(key, p, m) != 0)
		return SLW_ERR_CRYPTO;
	if (slw_memeq_ct(m, p + SLOT_BODY, 32) != 0)
		return SLW_ERR_CORRUPT;
	memset(st, 0, sizeof(*st));
	st->generation = rec_be64_get(p + 8);
	st->has_head = p[48];
	if (st->has_head)
		memcpy(st->head, p + 16, 32);
	return 0;
}

int
anchor_parse(const uint8_t *buf, size_t len, const uint8_t key[32],
    struct anchor_state *st, int *slot)
{
	struct anchor_state s;
	int i, found = 0;

	memset(st, 0, sizeof(*st));
	*slot = -1;
	if (len == 0)
		return SLW_ERR_NOTFOUND;
	if (len != SLOT && len != ANCHOR_FILE_SIZE)
		return SLW_ERR_CORRUPT;
	for (i = 0; (size_t)(i + 1) * SLOT <= len; i++) {
		if (slot_read(buf + (size_t)i * SLOT, key, &s) != 0)
			continue;
		if (!found || s.generation > st->generation) {
			*st = s;
			*slot = i;
		}
		found = 1;
	}
	return found ? 0 : SLW_ERR_CORRUPT;
}

int
anchor_file_open(const char *path, const struct kek *k, int create,
    int readonly, struct anchor_file **out, struct slw_diag *d)
{
	struct anchor_file *a;
	struct stat sb;
	int r;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return SLW_ERR_NOMEM;
	a->fd = -1;
	a->readonly = readonly;
	if (snprintf(a->path, sizeof(a->path), "%s", path) >=
	    (int)sizeof(a->path)) {
		r = slw_diag(d, SLW_ERR_INVALID, "anchor path too long");
		goto out;
	}
	if ((r = kek_derive(k, KEY_LABEL, a->key)) != 0)
		goto out;
	a->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC |
	    O_NOFOLLOW | (create && !readonly ? O_CREAT : 0), 0600);
	if (a->fd < 0 && errno == EACCES && !create)
		a->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (a->fd < 0 && errno != ENOENT) {
		r = slw_diag(d, errno == EACCES || errno == EROFS ?
		    SLW_ERR_PERM : SLW_ERR_IO, "cannot open the rollback anchor %s: %s",
		    path, strerror(errno));
		goto out;
	}
	if (a->fd >= 0 && (fstat(a->fd, &sb) != 0 || !S_ISREG(sb.st_mode))) {
		r = slw_diag(d, SLW_ERR_IO, "the rollback anchor %s is not a file",
		    path);
		goto out;
	}
	*out = a;
	a = NULL;
	r = 0;
 out:
	anchor_file_free(a);
	return r;
}

void
anchor_file_free(struct anchor_file *a)
{
	if (a == NULL)
		return;
	if (a->fd >= 0)
		close(a->fd);
	mbedtls_platform_zeroize(a, sizeof(*a));
	free(a);
}

const char *
anchor_file_path(const struct anchor_file *a)
{
	return a->path;
}

/* Reads both slots; the caller holds the lock. */
static int
file_read(struct anchor_file *a, struct anchor_state *st, int *slot,
    struct slw_diag *d)
{
	uint8_t buf[ANCHOR_FILE_SIZE + 1];
	ssize_t n;
	int r;

	if (a->fd < 0) {
		memset(st, 0, sizeof(*st));
		*slot = -1;
		return SLW_ERR_NOTFOUND;
	}
	do
		n = pread(a->fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return slw_diag(d, SLW_ERR_IO, "cannot read the rollback anchor %s: %s",
		    a->path, strerror(errno));
	r = anchor_parse(buf, (size_t)n, a->key, st, slot);
	if (r == SLW_ERR_CORRUPT)
		return slw_diag(d, r, "the rollback anchor %s is damaged or was "
		    "written under another key-encryption key", a->path);
	return r;
}

static int
file_load(void *ctx, struct anchor_state *st, struct slw_diag *d)
{
	struct anchor_file *a = ctx;
	int slot, r;

	if (a->fd >= 0 && flock(a->fd, LOCK_SH) != 0)
		return slw_diag(d, SLW_ERR_IO, "cannot lock %s", a->path);
	r = file_read(a, st, &slot, d);
	if (a->fd >= 0)
		(void)flock(a->fd, LOCK_UN);
	return r;
}

static int
write_slots(struct anchor_file *a, const struct anchor_state *st, int first,
    int count, int durable, struct slw_diag *d)
{
	uint8_t slot[SLOT];
	ssize_t n;
	int i, r;

	if ((r = anchor_slot_write(st, a->key, slot)) != 0)
		return r;
	for (i = first; i < first + count; i++) {
		do
			n = pwrite(a->fd, slot, SLOT, (off_t)i * SLOT);
		while (n < 0 && errno == EINTR);
		if (n != SLOT)
			return slw_diag(d, n < 0 && (errno == ENOSPC ||
			    errno == EDQUOT) ? SLW_ERR_NOSPACE : SLW_ERR_IO,
			    "cannot write the rollback anchor %s: %s", a->path,
			    n < 0 ? strerror(errno) : "short write");
	}
	if (durable && fdatasync(a->fd) != 0)
		return slw_diag(d, SLW_ERR_IO, "cannot write the rollback anchor "
		    "%s: %s", a->path, strerror(errno));
	return 0;
}

static int
file_update(struct anchor_file *a, const struct anchor_state *st, int reset,
    int durable, struct slw_diag *d)
{
	struct anchor_state cur;
	int slot, r;

	if (a->readonly)
		return slw_diag(d, SLW_ERR_PERM, "the rollback anchor %s is "
		    "open read-only", a->path);
	if (a->fd < 0)
		return slw_diag(d, SLW_ERR_NOTFOUND, "the rollback anchor %s is "
		    "missing", a->path);
	if (flock(a->fd, LOCK_EX) != 0)
		return slw_diag(d, SLW_ERR_IO, "cannot lock %s", a->path);
	r = file_read(a, &cur, &slot, d);
	if (reset || r == SLW_ERR_NOTFOUND)
		r = write_slots(a, st, 0, 2, 1, d);	/* both: a fresh file */
	else if (r == 0 && cur.generation < st->generation)
		r = write_slots(a, st, slot == 0 ? 1 : 0, 1, durable, d);
	(void)flock(a->fd, LOCK_UN);
	return r;
}

static int
file_advance(void *ctx, const struct anchor_state *st, int durable,
    struct slw_diag *d)
{
	return file_update(ctx, st, 0, durable, d);
}

static int
file_reset(void *ctx, const struct anchor_state *st, struct slw_diag *d)
{
	return file_update(ctx, st, 1, 1, d);
}

void
anchor_file_ops(struct anchor_file *a, struct anchor_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->name = a->path;
	ops->load = file_load;
	ops->advance = file_advance;
	ops->reset = file_reset;
	ops->ctx = a;
}
