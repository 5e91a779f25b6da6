// SPDX-License-Identifier: Apache-2.0
/*
 * backup.c: sealed backups of a state and their restore (backup.h). Must
 * never change a state before the whole backup verified, restore another
 * appliance's backup, replace a store in use, or let an older backup
 * replace the store unless the caller asked for a rollback.
 */
#define _GNU_SOURCE	/* memfd_create, renameat2 */
#include "backup.h"
#include "anchor.h"
#include "audit.h"
#include "diskspace.h"
#include "rand.h"
#include "rec.h"
#include "store_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#define ID_LABEL "slipway appliance id v1"
#define HDR_LEN (8 + 16 + 4)
#define CHUNK_BLOB_MAX (BACKUP_CHUNK + SEAL_OVERHEAD)

enum {
	M_VERSION = 1, M_ID, M_TIME, M_GEN, M_HEAD, M_AUDIT, M_COUNTS,
	M_SIZE, M_SHA, M_CHUNKS, M_APPLIANCE,
};

static void
hex(const uint8_t *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

int
backup_appliance_id(const struct kek *k, uint8_t id[16], char hx[33])
{
	uint8_t full[32];
	int r;

	if ((r = kek_derive(k, ID_LABEL, full)) != 0)
		return r;
	memcpy(id, full, 16);
	hex(id, 16, hx);
	mbedtls_platform_zeroize(full, sizeof(full));
	return 0;
}

/* ---- the manifest ---- */

static int
manifest_encode(const struct backup_manifest *m, struct rec *w)
{
	uint8_t counts[DB__COUNT * 8];
	int i;

	for (i = 0; i < DB__COUNT; i++)
		rec_be64_put(counts + 8 * i, m->counts[i]);
	rec_put_u64(w, M_VERSION, m->version);
	rec_put_bytes(w, M_ID, m->id, sizeof(m->id));
	rec_put_u64(w, M_TIME, (uint64_t)m->time);
	rec_put_u64(w, M_GEN, m->generation);
	rec_put_bytes(w, M_HEAD, m->head, sizeof(m->head));
	rec_put_u64(w, M_AUDIT, m->audit_records);
	rec_put_bytes(w, M_COUNTS, counts, sizeof(counts));
	rec_put_u64(w, M_SIZE, m->db_size);
	rec_put_bytes(w, M_SHA, m->db_sha256, sizeof(m->db_sha256));
	rec_put_u64(w, M_CHUNKS, m->chunks);
	rec_put_str(w, M_APPLIANCE, m->appliance);
	return w->err;
}

static int
get_fixed(const uint8_t *p, size_t len, uint8_t tag, void *out, size_t n)
{
	const uint8_t *v;
	size_t vl;

	if (rec_get(p, len, tag, &v, &vl) != 0 || vl != n)
		return SLW_ERR_PARSE;
	memcpy(out, v, n);
	return 0;
}

int
backup_manifest_parse(const uint8_t *p, size_t len, struct backup_manifest *m)
{
	const uint8_t *c;
	size_t cl, i;
	uint64_t v, t;

	memset(m, 0, sizeof(*m));
	if (len == 0 || len > BACKUP_MANIFEST_MAX || rec_valid(p, len) != 0)
		return SLW_ERR_PARSE;
	if (rec_get_u64(p, len, M_VERSION, &v) != 0 || v != 1)
		return SLW_ERR_UNSUPPORTED;
	m->version = 1;
	if (get_fixed(p, len, M_ID, m->id, sizeof(m->id)) != 0 ||
	    rec_get_u64(p, len, M_TIME, &t) != 0 ||
	    rec_get_u64(p, len, M_GEN, &m->generation) != 0 ||
	    get_fixed(p, len, M_HEAD, m->head, sizeof(m->head)) != 0 ||
	    rec_get_u64(p, len, M_AUDIT, &m->audit_records) != 0 ||
	    rec_get(p, len, M_COUNTS, &c, &cl) != 0 || cl % 8 != 0 ||
	    cl > 64 * 8 ||
	    rec_get_u64(p, len, M_SIZE, &m->db_size) != 0 ||
	    get_fixed(p, len, M_SHA, m->db_sha256, sizeof(m->db_sha256)) != 0 ||
	    rec_get_u64(p, len, M_CHUNKS, &m->chunks) != 0 ||
	    rec_get_str(p, len, M_APPLIANCE, m->appliance,
	    sizeof(m->appliance)) != 0 || strlen(m->appliance) != 32)
		return SLW_ERR_PARSE;
	if (t > (uint64_t)INT64_MAX)
		return SLW_ERR_PARSE;
	m->time = (time_t)t;
	for (i = 0; i < cl / 8 && i < DB__COUNT; i++)
		m->counts[i] = rec_be64_get(c + 8 * i);
	if (m->db_size == 0 || m->db_size > BACKUP_DB_MAX ||
	    m->chunks != (m->db_size + BACKUP_CHUNK - 1) / BACKUP_CHUNK)
		return SLW_ERR_PARSE;
	return 0;
}

/* ---- reading: a file descriptor or a buffer ---- */

struct src {
	int fd;			/* -1: buf */
	const uint8_t *buf;
	size_t len, off;
};

/* Exactly n bytes: SLW_ERR_PARSE if the input ends first. */
static int
src_get(struct src *s, void *p, size_t n)
{
	uint8_t *o = p;
	ssize_t k;

	if (s->fd < 0) {
		if (s->len - s->off < n)
			return SLW_ERR_PARSE;
		memcpy(o, s->buf + s->off, n);
		s->off += n;
		return 0;
	}
	while (n > 0) {
		k = read(s->fd, o, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return SLW_ERR_IO;
		if (k == 0)
			return SLW_ERR_PARSE;
		o += k;
		n -= (size_t)k;
	}
	return 0;
}

static int
src_at_end(struct src *s)
{
	uint8_t c;

	if (s->fd < 0)
		return s->off == s->len;
	return src_get(s, &c, 1) == SLW_ERR_PARSE;
}

static int
write_all(int fd, const void *p, size_t n, struct slw_diag *d)
{
	const uint8_t *c = p;
	ssize_t k;

	while (n > 0) {
		k = write(fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0 || errno == ENOSPC || errno == EDQUOT)
				return slw_diag(d, SLW_ERR_NOSPACE, "disk full");
			return slw_diag(d, SLW_ERR_IO, "write failed: %s",
			    strerror(errno));
		}
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

static void
chunk_aad(const uint8_t id[16], uint64_t n, int last, char *out, size_t len)
{
	char hx[33];

	hex(id, 16, hx);
	snprintf(out, len, "backup/%s/%llu/%d", hx, (unsigned long long)n, last);
}

/*
 * Reads and verifies a whole backup from in; the copy's bytes go to out_fd
 * (-1: only hashed). The messages say what is wrong with the file.
 */
static int
read_backup(const struct kek *k, struct src *in, int out_fd,
    struct backup_manifest *m, struct slw_diag *d)
{
	mbedtls_sha256_context sha;
	uint8_t hdr[HDR_LEN], mine[16], sum[32], lb[4];
	char myhex[33], theirs[33], aad[96];
	struct buf pt = { 0 };
	uint8_t *blob = NULL;
	uint64_t i, total = 0;
	uint32_t len;
	int r;

	memset(m, 0, sizeof(*m));
	mbedtls_sha256_init(&sha);
	if ((r = src_get(in, hdr, HDR_LEN)) != 0 ||
	    memcmp(hdr, BACKUP_MAGIC, 8) != 0) {
		r = slw_diag(d, r == SLW_ERR_IO ? r : SLW_ERR_PARSE,
		    "not a slipway backup");
		goto out;
	}
	if ((r = backup_appliance_id(k, mine, myhex)) != 0)
		goto out;
	if (memcmp(hdr + 8, mine, 16) != 0) {
		hex(hdr + 8, 16, theirs);
		r = slw_diag(d, SLW_ERR_KEK, "the backup was made by another "
		    "appliance (%s, this is %s): its key-encryption key is not "
		    "this one's", theirs, myhex);
		goto out;
	}
	len = be32_get(hdr + 24);
	if (len < SEAL_OVERHEAD || len > BACKUP_MANIFEST_MAX) {
		r = slw_diag(d, SLW_ERR_PARSE, "the backup's manifest has a bad "
		    "length (%u bytes)", len);
		goto out;
	}
	if ((blob = malloc(CHUNK_BLOB_MAX)) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	if ((r = src_get(in, blob, len)) != 0) {
		r = slw_diag(d, r, "the backup is truncated (in its manifest)");
		goto out;
	}
	snprintf(aad, sizeof(aad), "backup/%s/manifest", myhex);
	if (seal_open(k, aad, blob, len, &pt) != 0) {
		r = slw_diag(d, SLW_ERR_CORRUPT, "the backup's manifest fails its "
		    "integrity check (the file is damaged)");
		goto out;
	}
	if ((r = backup_manifest_parse(pt.data, pt.len, m)) != 0 ||
	    strcmp(m->appliance, myhex) != 0) {
		r = slw_diag(d, r != 0 ? r : SLW_ERR_PARSE, "the backup's "
		    "manifest is malformed");
		goto out;
	}
	buf_free(&pt);
	mbedtls_sha256_starts(&sha, 0);
	for (i = 0; i < m->chunks; i++) {
		if ((r = src_get(in, lb, 4)) != 0) {
			r = slw_diag(d, r, "the backup is truncated (after %llu "
			    "of %llu chunks)", (unsigned long long)i,
			    (unsigned long long)m->chunks);
			goto out;
		}
		len = be32_get(lb);
		if (len < SEAL_OVERHEAD + 1 || len > CHUNK_BLOB_MAX) {
			r = slw_diag(d, SLW_ERR_PARSE, "the backup's chunk %llu "
			    "has a bad length (%u bytes)", (unsigned long long)i,
			    len);
			goto out;
		}
		if ((r = src_get(in, blob, len)) != 0) {
			r = slw_diag(d, r, "the backup is truncated (in chunk "
			    "%llu of %llu)", (unsigned long long)i,
			    (unsigned long long)m->chunks);
			goto out;
		}
		chunk_aad(m->id, i, i + 1 == m->chunks, aad, sizeof(aad));
		if (seal_open(k, aad, blob, len, &pt) != 0) {
			r = slw_diag(d, SLW_ERR_CORRUPT, "the backup's chunk %llu "
			    "fails its integrity check (the file is damaged)",
			    (unsigned long long)i);
			goto out;
		}
		if ((i + 1 < m->chunks && pt.len != BACKUP_CHUNK) ||
		    pt.len > m->db_size - total) {
			r = slw_diag(d, SLW_ERR_CORRUPT, "the backup's chunk %llu "
			    "has the wrong size", (unsigned long long)i);
			goto out;
		}
		total += pt.len;
		mbedtls_sha256_update(&sha, pt.data, pt.len);
		if (out_fd >= 0 && (r = write_all(out_fd, pt.data, pt.len,
		    d)) != 0)
			goto out;
		buf_free(&pt);
	}
	if (total != m->db_size) {
		r = slw_diag(d, SLW_ERR_CORRUPT, "the backup holds %llu bytes, its "
		    "manifest says %llu", (unsigned long long)total,
		    (unsigned long long)m->db_size);
		goto out;
	}
	mbedtls_sha256_finish(&sha, sum);
	if (memcmp(sum, m->db_sha256, 32) != 0) {
		r = slw_diag(d, SLW_ERR_CORRUPT, "the backup's copy does not match "
		    "its manifest's SHA-256");
		goto out;
	}
	if (!src_at_end(in)) {
		r = slw_diag(d, SLW_ERR_PARSE, "the backup has bytes after its "
		    "last chunk");
		goto out;
	}
	r = 0;
 out:
	mbedtls_sha256_free(&sha);
	free(blob);
	buf_free(&pt);
	return r;
}

int
backup_parse_buf(const struct kek *k, const uint8_t *buf, size_t len,
    struct backup_manifest *m, struct slw_diag *d)
{
	struct src in = { -1, buf, len, 0 };

	return read_backup(k, &in, -1, m, d);
}

/* ---- writing ---- */

struct man_arg {
	struct backup_manifest *m;
};

static int
manifest_txn(struct store_txn *t, void *arg)
{
	struct backup_manifest *m = arg;
	struct anchor_state st;
	size_t n;
	int i, r;

	if ((r = store_gen_get(t, &st)) != 0)
		return r;
	m->generation = st.generation;
	memcpy(m->head, st.head, 32);
	for (i = 0; i < DB__COUNT; i++) {
		if ((r = store_count(t, (enum store_db)i, &n)) != 0)
			return r;
		m->counts[i] = n;
	}
	m->audit_records = m->counts[DB_AUDIT];
	return 0;
}

/* Opens a copy held in fd (a memfd or a file) as a read-only store. */
static int
open_copy(int fd, const struct kek *k, struct store **out,
    struct slw_diag *d)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return store_open_raw("the backup's copy", path, 1, 1, k, out, d);
}

static int
sha_fd(int fd, uint64_t size, uint8_t out[32], struct slw_diag *d)
{
	mbedtls_sha256_context sha;
	uint8_t *b;
	uint64_t off = 0;
	ssize_t n;
	int r = 0;

	if ((b = malloc(BACKUP_CHUNK)) == NULL)
		return SLW_ERR_NOMEM;
	mbedtls_sha256_init(&sha);
	mbedtls_sha256_starts(&sha, 0);
	while (off < size) {
		n = pread(fd, b, BACKUP_CHUNK, (off_t)off);
		if (n <= 0) {
			r = slw_diag(d, SLW_ERR_IO, "reading the copy failed");
			break;
		}
		mbedtls_sha256_update(&sha, b, (size_t)n);
		off += (uint64_t)n;
	}
	mbedtls_sha256_finish(&sha, out);
	mbedtls_sha256_free(&sha);
	free(b);
	return r;
}

int
backup_write(struct store *s, int fd, struct backup_manifest *m,
    struct slw_diag *d)
{
	const struct kek *k = store_kek(s);
	struct store *cp = NULL;
	struct rec w = { 0 };
	struct buf blob = { 0 };
	uint8_t hdr[HDR_LEN], lb[4], *chunk = NULL;
	char aad[96];
	struct stat sb;
	uint64_t i, off, audit_n;
	ssize_t n;
	int r, mfd = -1;

	memset(m, 0, sizeof(*m));
	if (k == NULL)
		return slw_diag(d, SLW_ERR_NOKEK, "the key-encryption key is "
		    "needed to seal a backup");
	if ((mfd = memfd_create("slipway-backup", MFD_CLOEXEC)) < 0) {
		r = slw_diag(d, SLW_ERR_IO, "memfd_create: %s", strerror(errno));
		goto out;
	}
	if ((r = store_copy_compact(s, mfd, d)) != 0)
		goto out;
	if (fstat(mfd, &sb) != 0 || sb.st_size <= 0 ||
	    (uint64_t)sb.st_size > BACKUP_DB_MAX) {
		r = slw_diag(d, SLW_ERR_STORE, "the store's copy has a bad size");
		goto out;
	}
	/* what the copy holds, read from the copy itself: one snapshot */
	if ((r = open_copy(mfd, k, &cp, d)) != 0 ||
	    (r = store_read(cp, manifest_txn, m, d)) != 0 ||
	    (r = audit_verify(cp, &audit_n, d)) != 0)
		goto out;
	store_close(cp);
	cp = NULL;
	m->version = 1;
	m->time = slw_now();
	m->db_size = (uint64_t)sb.st_size;
	m->chunks = (m->db_size + BACKUP_CHUNK - 1) / BACKUP_CHUNK;
	if ((r = slw_random(m->id, sizeof(m->id))) != 0 ||
	    (r = backup_appliance_id(k, hdr + 8, m->appliance)) != 0 ||
	    (r = sha_fd(mfd, m->db_size, m->db_sha256, d)) != 0 ||
	    (r = manifest_encode(m, &w)) != 0)
		goto out;
	snprintf(aad, sizeof(aad), "backup/%s/manifest", m->appliance);
	if ((r = seal(k, aad, w.b.data, w.b.len, &blob)) != 0)
		goto out;
	memcpy(hdr, BACKUP_MAGIC, 8);
	be32_put(hdr + 24, (uint32_t)blob.len);
	if ((r = write_all(fd, hdr, HDR_LEN, d)) != 0 ||
	    (r = write_all(fd, blob.data, blob.len, d)) != 0)
		goto out;
	buf_free(&blob);
	if ((chunk = malloc(BACKUP_CHUNK)) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	for (i = 0, off = 0; i < m->chunks; i++, off += (uint64_t)n) {
		n = pread(mfd, chunk, BACKUP_CHUNK, (off_t)off);
		if (n <= 0 || (i + 1 < m->chunks && n != BACKUP_CHUNK)) {
			r = slw_diag(d, SLW_ERR_IO, "reading the copy failed");
			goto out;
		}
		chunk_aad(m->id, i, i + 1 == m->chunks, aad, sizeof(aad));
		if ((r = seal(k, aad, chunk, (size_t)n, &blob)) != 0)
			goto out;
		be32_put(lb, (uint32_t)blob.len);
		if ((r = write_all(fd, lb, 4, d)) != 0 ||
		    (r = write_all(fd, blob.data, blob.len, d)) != 0)
			goto out;
		buf_free(&blob);
	}
	r = 0;
 out:
	store_close(cp);
	rec_free(&w);
	buf_free(&blob);
	if (chunk != NULL) {
		mbedtls_platform_zeroize(chunk, BACKUP_CHUNK);
		free(chunk);
	}
	if (mfd >= 0)
		close(mfd);
	return r;
}

/* ---- restoring ---- */

static void
remove_env(const char *dir)
{
	char p[PATH_MAX];

	if (snprintf(p, sizeof(p), "%s/data.mdb", dir) < (int)sizeof(p))
		(void)unlink(p);
	if (snprintf(p, sizeof(p), "%s/lock.mdb", dir) < (int)sizeof(p))
		(void)unlink(p);
	(void)rmdir(dir);
}

static void
remove_stale(const char *state)
{
	char p[PATH_MAX];
	struct dirent *de;
	DIR *dir;

	if ((dir = opendir(state)) == NULL)
		return;
	while ((de = readdir(dir)) != NULL)
		if (strncmp(de->d_name, ".db.restore.", 12) == 0 &&
		    snprintf(p, sizeof(p), "%s/%s", state, de->d_name) <
		    (int)sizeof(p))
			remove_env(p);
	closedir(dir);
}

static int
fsync_path(const char *path, int dir)
{
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : 0))) < 0)
		return SLW_ERR_IO;
	r = fsync(fd) == 0 ? 0 : SLW_ERR_IO;
	close(fd);
	return r;
}

static int
gen_txn(struct store_txn *t, void *arg)
{
	return store_gen_get(t, arg);
}

/* Where the appliance is now: the highest of its anchors and its store. */
struct where {
	uint64_t generation;
	uint8_t head[32];
	int has_head;
};

static void
where_take(struct where *w, const struct anchor_state *st)
{
	if (st->generation > w->generation ||
	    (st->generation == w->generation && !w->has_head && st->has_head)) {
		w->generation = st->generation;
		memcpy(w->head, st->head, 32);
		w->has_head = st->has_head;
	}
}

static int
where_now(const char *state, const struct store_opts *o, const char *kekp,
    const struct kek *k, struct where *w, struct slw_diag *d)
{
	struct anchor_file *af = NULL;
	struct anchor_ops ops;
	struct anchor_state st;
	struct store *cur = NULL;
	char p[PATH_MAX + 16];
	int r;

	memset(w, 0, sizeof(*w));
	if (o != NULL && o->anchor_path != NULL && o->anchor_path[0] != '\0')
		snprintf(p, sizeof(p), "%s", o->anchor_path);
	else
		snprintf(p, sizeof(p), "%s.anchor", kekp);
	if ((r = anchor_file_open(p, k, 0, 1, &af, d)) != 0)
		return r;
	anchor_file_ops(af, &ops);
	r = ops.load(ops.ctx, &st, d);
	anchor_file_free(af);
	if (r == 0)
		where_take(w, &st);
	else if (r != SLW_ERR_NOTFOUND)
		return r;
	if (o != NULL && o->anchor2 != NULL && o->anchor2->load != NULL) {
		r = o->anchor2->load(o->anchor2->ctx, &st, d);
		if (r == 0)
			where_take(w, &st);
		else if (r != SLW_ERR_NOTFOUND)
			return r;
	}
	/* the store itself, unchecked: it may be the rolled-back copy */
	if (snprintf(p, sizeof(p), "%s/db", state) < (int)sizeof(p) &&
	    store_exists(state) &&
	    store_open_raw(state, p, 0, 1, k, &cur, NULL) == 0) {
		if (store_read(cur, gen_txn, &st, NULL) == 0)
			where_take(w, &st);
		store_close(cur);
	}
	return 0;
}

struct restore_arg {
	const struct backup_manifest *m;
	uint64_t base;		/* the generation the restored store starts past */
	int older;
	uint64_t was;
	int (*fixup)(struct store_txn *, void *, char *, size_t);
	void *farg;
	const char *actor;
	char note[160];
};

static int
restore_txn(struct store_txn *t, void *arg)
{
	struct restore_arg *a = arg;
	char id[33], tm[32], detail[AUDIT_DETAIL_MAX];
	uint8_t gen[40];
	struct tm tmv;
	time_t when = a->m->time;
	int r;

	a->note[0] = '\0';
	if (a->older && a->fixup != NULL &&
	    (r = a->fixup(t, a->farg, a->note, sizeof(a->note))) != 0)
		return r;
	hex(a->m->id, 16, id);
	gmtime_r(&when, &tmv);
	strftime(tm, sizeof(tm), "%Y-%m-%dT%H:%M:%SZ", &tmv);
	snprintf(detail, sizeof(detail), "backup of %s at generation %llu "
	    "(%llu audit records); the store was at generation %llu%s%s",
	    tm, (unsigned long long)a->m->generation,
	    (unsigned long long)a->m->audit_records,
	    (unsigned long long)a->was, a->older ? "; rollback: " : "",
	    a->older ? (a->note[0] ? a->note : "older backup") : "");
	if ((r = audit_append(t, a->actor, a->older ? "store.rollback" :
	    "store.restore", id, detail)) != 0)
		return r;
	/* past every generation this appliance had: older copies stay refused */
	memset(gen, 0, sizeof(gen));
	rec_be64_put(gen, a->base);
	return store_put(t, DB_META, "generation", 10, gen, sizeof(gen), 0);
}

int
backup_restore(const char *state, const struct store_opts *o, int fd,
    unsigned int flags,
    int (*fixup)(struct store_txn *t, void *arg, char *note, size_t len),
    void *arg, const char *actor, struct backup_restore_result *res,
    struct slw_diag *d)
{
	struct restore_arg ra;
	struct src in = { fd, NULL, 0, 0 };
	struct store *cp = NULL, *s = NULL;
	struct anchor_state st;
	struct where w;
	struct kek k;
	struct slw_diag kd;
	char kekp[PATH_MAX], tmp[PATH_MAX], dbdir[PATH_MAX], file[PATH_MAX];
	uint64_t n;
	int r, ufd = -1, out = -1, made_tmp = 0, have_db;

	memset(res, 0, sizeof(*res));
	memset(&k, 0, sizeof(k));
	if ((r = store_kek_path(state, o ? o->kek_path : NULL, kekp,
	    sizeof(kekp))) != 0 ||
	    snprintf(tmp, sizeof(tmp), "%s/.db.restore.%ld", state,
	    (long)getpid()) >= (int)sizeof(tmp) ||
	    snprintf(dbdir, sizeof(dbdir), "%s/db", state) >= (int)sizeof(dbdir) ||
	    snprintf(file, sizeof(file), "%s/data.mdb", tmp) >= (int)sizeof(file))
		return slw_diag(d, SLW_ERR_INVALID, "state path too long");
	slw_diag_clear(&kd);
	if (o != NULL && o->kek != NULL)
		k = *o->kek;
	else if ((r = kek_load(kekp, &k, &kd)) != 0) {
		r = slw_diag(d, r, "%s", kd.msg);
		goto done;
	}
	if (mkdir(state, 0700) != 0 && errno != EEXIST) {
		r = slw_diag(d, SLW_ERR_IO, "cannot create %s: %s", state,
		    strerror(errno));
		goto done;
	}
	/* nothing may have the store open: serve holds it while it runs */
	if ((r = store_use_lock(state, 1, &ufd, d)) != 0)
		goto done;
	remove_stale(state);
	if (mkdir(tmp, 0700) != 0) {
		r = slw_diag(d, SLW_ERR_IO, "cannot create %s: %s", tmp,
		    strerror(errno));
		goto done;
	}
	made_tmp = 1;
	if ((out = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		r = slw_diag(d, SLW_ERR_IO, "cannot create %s: %s", file,
		    strerror(errno));
		goto done;
	}
	/* 1. the whole file verifies: framing, every MAC, size, SHA-256 */
	if ((r = read_backup(&k, &in, out, &res->m, d)) != 0) {
		if (r == SLW_ERR_NOSPACE) {
			uint64_t avail, total;

			(void)diskspace_get(state, &avail, &total);
			r = diskspace_full_diag(d, state, avail);
		}
		goto done;
	}
	if (fsync(out) != 0) {
		r = slw_diag(d, SLW_ERR_IO, "cannot write %s: %s", file,
		    strerror(errno));
		goto done;
	}
	close(out);
	out = -1;
	/* 2. the copy opens with this KEK and is what the manifest says */
	if ((r = store_open_raw("the backup's copy", tmp, 0, 0, &k, &cp,
	    d)) != 0 ||
	    (r = store_read(cp, gen_txn, &st, d)) != 0)
		goto done;
	if (st.generation != res->m.generation ||
	    memcmp(st.head, res->m.head, 32) != 0) {
		r = slw_diag(d, SLW_ERR_CORRUPT, "the backup's copy is not at the "
		    "generation its manifest names");
		goto done;
	}
	if ((r = audit_verify(cp, &n, d)) != 0)
		goto done;
	/* 3. older than the appliance: only as an explicit rollback */
	if ((r = where_now(state, o, kekp, &k, &w, d)) != 0)
		goto done;
	res->was_generation = w.generation;
	res->older = res->m.generation < w.generation ||
	    (res->m.generation == w.generation && w.has_head &&
	    memcmp(w.head, res->m.head, 32) != 0);
	if (res->older && !(flags & BACKUP_ROLLBACK)) {
		r = slw_diag(d, SLW_ERR_DENIED, "the backup is older than the store "
		    "(generation %llu < %llu): restoring it loses everything since "
		    "and voids every token unused at backup time; pass --rollback "
		    "to do that", (unsigned long long)res->m.generation,
		    (unsigned long long)w.generation);
		goto done;
	}
	memset(&ra, 0, sizeof(ra));
	ra.m = &res->m;
	ra.base = w.generation > res->m.generation ? w.generation :
	    res->m.generation;
	ra.older = res->older;
	ra.was = w.generation;
	ra.fixup = fixup;
	ra.farg = arg;
	ra.actor = actor != NULL ? actor : "restore";
	if ((r = store_write(cp, restore_txn, &ra, d)) != 0 ||
	    (r = store_read(cp, gen_txn, &st, d)) != 0)
		goto done;
	res->generation = st.generation;
	snprintf(res->fixup_note, sizeof(res->fixup_note), "%s", ra.note);
	store_close(cp);
	cp = NULL;
	if (snprintf(file, sizeof(file), "%s/lock.mdb", tmp) < (int)sizeof(file))
		(void)unlink(file);
	/* 4. the switch: one exchange of directories */
	have_db = access(dbdir, F_OK) == 0;
	if (have_db ? renameat2(AT_FDCWD, tmp, AT_FDCWD, dbdir,
	    RENAME_EXCHANGE) != 0 : rename(tmp, dbdir) != 0) {
		r = slw_diag(d, SLW_ERR_IO, "cannot move the restored store into "
		    "place: %s", strerror(errno));
		goto done;
	}
	(void)fsync_path(state, 1);
	if (!have_db)
		made_tmp = 0;	/* tmp is the store now */
	r = 0;
 done:
	if (out >= 0)
		close(out);
	store_close(cp);
	if (made_tmp)
		remove_env(tmp);	/* on success: the replaced store */
	if (ufd >= 0)
		close(ufd);
	/* 5. the anchors follow (an open moves them to a store ahead of them) */
	if (r == 0 && (r = store_open(state, o, &s, d)) == 0)
		store_close(s);
	kek_wipe(&k);
	return r;
}
