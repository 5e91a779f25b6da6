// SPDX-License-Identifier: Apache-2.0
/*
 * artifact.c: the artifact store (artifact.h): records in DB_ARTIFACTS,
 * files named by their SHA-256 under STATE/artifacts, import (verify,
 * then store) and removal. Must never keep a byte of a file whose digest
 * did not match, never write a path taken from an archive, and never put
 * a file into LMDB.
 */
#define _GNU_SOURCE	/* O_PATH */
#include "artifact.h"
#include "audit.h"
#include "cert.h"
#include "rand.h"
#include "rec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>

#define CHUNK (1u << 20)
#define IMPORT_MAX 64		/* artifacts one file may yield */

enum {
	T_NAME = 1, T_COMP, T_VERSION, T_KIND, T_SIZE, T_IMAGE, T_ORIGIN,
	T_ORIGIN_DIGEST, T_TIME, T_ACTOR,
};

/* ---- records ---- */

static int
rec_decode(const uint8_t *key, const uint8_t *v, size_t vl, struct artifact *a)
{
	uint64_t kind = 0, size = 0, t = 0;

	memset(a, 0, sizeof(*a));
	memcpy(a->sha256, key, 32);
	hex_encode(a->sha256, 32, a->hex);
	if (rec_valid(v, vl) != 0 ||
	    rec_get_str(v, vl, T_NAME, a->name, sizeof(a->name)) != 0 ||
	    rec_get_str(v, vl, T_COMP, a->component, sizeof(a->component)) != 0 ||
	    rec_get_str(v, vl, T_VERSION, a->version, sizeof(a->version)) != 0 ||
	    rec_get_u64(v, vl, T_KIND, &kind) != 0 || kind > REL_IMAGE ||
	    rec_get_u64(v, vl, T_SIZE, &size) != 0)
		return SLW_ERR_CORRUPT;
	a->kind = (enum rel_kind)kind;
	a->size = size;
	(void)rec_get_str(v, vl, T_IMAGE, a->image, sizeof(a->image));
	(void)rec_get_str(v, vl, T_ORIGIN, a->origin, sizeof(a->origin));
	(void)rec_get_str(v, vl, T_ORIGIN_DIGEST, a->origin_digest,
	    sizeof(a->origin_digest));
	(void)rec_get_str(v, vl, T_ACTOR, a->actor, sizeof(a->actor));
	if (rec_get_u64(v, vl, T_TIME, &t) == 0)
		a->imported = (time_t)t;
	return 0;
}

static int
rec_encode(const struct artifact *a, struct rec *w)
{
	rec_put_str(w, T_NAME, a->name);
	rec_put_str(w, T_COMP, a->component);
	rec_put_str(w, T_VERSION, a->version);
	rec_put_u64(w, T_KIND, (uint64_t)a->kind);
	rec_put_u64(w, T_SIZE, a->size);
	if (a->image[0] != '\0')
		rec_put_str(w, T_IMAGE, a->image);
	rec_put_str(w, T_ORIGIN, a->origin);
	rec_put_str(w, T_ORIGIN_DIGEST, a->origin_digest);
	rec_put_u64(w, T_TIME, (uint64_t)a->imported);
	rec_put_str(w, T_ACTOR, a->actor);
	return w->err;
}

int
artifact_get(struct store_txn *t, const uint8_t sha256[32],
    struct artifact *out)
{
	const uint8_t *v;
	size_t vl;
	int r;

	if ((r = store_get_ref(t, DB_ARTIFACTS, sha256, 32, &v, &vl)) != 0)
		return r;
	return rec_decode(sha256, v, vl, out);
}

struct list_arg {
	struct artifact_list *l;
	size_t cap;
};

static int
list_one(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	struct list_arg *la = arg;
	struct artifact *a;

	if (kl != 32)
		return SLW_ERR_CORRUPT;
	if (la->l->n == la->cap) {
		size_t nc = la->cap ? la->cap * 2 : 32;

		if ((a = realloc(la->l->a, nc * sizeof(*a))) == NULL)
			return SLW_ERR_NOMEM;
		la->l->a = a;
		la->cap = nc;
	}
	if (rec_decode(k, v, vl, &la->l->a[la->l->n]) != 0)
		return SLW_ERR_CORRUPT;
	la->l->n++;
	return 0;
}

int
artifact_list(struct store_txn *t, struct artifact_list *out)
{
	struct list_arg la;
	int r;

	memset(out, 0, sizeof(*out));
	la.l = out;
	la.cap = 0;
	if ((r = store_iter(t, DB_ARTIFACTS, NULL, 0, 0, list_one, &la)) != 0)
		artifact_list_free(out);
	return r;
}

void
artifact_list_free(struct artifact_list *l)
{
	if (l == NULL)
		return;
	free(l->a);
	l->a = NULL;
	l->n = 0;
}

const struct artifact *
artifact_list_find(const struct artifact_list *l, const char *name,
    const char *version)
{
	size_t i;

	for (i = 0; l != NULL && i < l->n; i++)
		if (strcmp(l->a[i].name, name) == 0 &&
		    release_version_eq(l->a[i].version, version))
			return &l->a[i];
	return NULL;
}

int
artifact_hex_parse(const char *hex, uint8_t sha256[32])
{
	uint8_t dg[64];
	enum csum_alg alg;

	if (hex == NULL || checksums_hex_digest(hex, strlen(hex), dg, &alg) != 0 ||
	    alg != CSUM_SHA256)
		return SLW_ERR_PARSE;
	memcpy(sha256, dg, 32);
	return 0;
}

/* ---- the directory ---- */

int
artifact_dir_open(const char *state, int create, int *dirfd,
    struct slw_diag *d)
{
	char path[4096];
	int fd;

	*dirfd = -1;
	if ((size_t)snprintf(path, sizeof(path), "%s/" ARTIFACT_DIR, state) >=
	    sizeof(path))
		return slw_diag(d, SLW_ERR_INVALID, "state path too long");
	if (create && mkdir(path, 0711) != 0 && errno != EEXIST)
		return slw_diag(d, errno == ENOSPC ? SLW_ERR_NOSPACE : SLW_ERR_IO,
		    "cannot make %s: %s", path, strerror(errno));
	if ((fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return slw_diag(d, SLW_ERR_NOTFOUND, "%s does not exist "
			    "(no artifact was imported)", path);
		return slw_diag(d, SLW_ERR_IO, "cannot open %s: %s", path,
		    strerror(errno));
	}
	*dirfd = fd;
	return 0;
}

int
artifact_open(int dirfd, const struct artifact *a, int *fd)
{
	struct stat st;
	int f;

	*fd = -1;
	if ((f = openat(dirfd, a->hex, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) < 0)
		return errno == ENOENT ? SLW_ERR_NOTFOUND : SLW_ERR_IO;
	if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != a->size) {
		close(f);
		return SLW_ERR_CORRUPT;
	}
	/* O_NONBLOCK only kept open() from waiting on a FIFO */
	(void)fcntl(f, F_SETFL, 0);
	*fd = f;
	return 0;
}

/* ---- import ---- */

struct pending {
	struct artifact a;
	char tmp[64];		/* its temporary file in the directory */
};

struct imp {
	struct store *s;
	int dirfd;
	const struct artifact_import_opts *o;
	const char *base;		/* the imported file's base name */
	enum rel_component comp;
	char version[REL_VERSION_MAX];	/* of every binary it yields */
	char k8s_version[REL_VERSION_MAX];	/* kubernetes/version */
	char origin_digest[140];
	struct pending p[IMPORT_MAX];
	size_t n;
	unsigned int seq;
	struct slw_diag *d;
};

static void
tmp_name(struct imp *im, char out[64])
{
	snprintf(out, 64, ".tmp.%ld.%u", (long)getpid(), im->seq++);
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return errno == ENOSPC || errno == EDQUOT ?
			    SLW_ERR_NOSPACE : SLW_ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A new temporary file in the directory: 0600 until it is complete. */
static int
tmp_open(struct imp *im, char name[64], int *fd)
{
	tmp_name(im, name);
	if ((*fd = openat(im->dirfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return slw_diag(im->d, errno == ENOSPC ? SLW_ERR_NOSPACE :
		    SLW_ERR_IO, "cannot create a file in the artifact store: %s",
		    strerror(errno));
	return 0;
}

/* Read-only for everyone, on disk for good. */
static int
tmp_finish(struct imp *im, int fd, const char *name)
{
	if (fchmod(fd, 0444) != 0 || fsync(fd) != 0)
		return slw_diag(im->d, errno == ENOSPC ? SLW_ERR_NOSPACE :
		    SLW_ERR_IO, "cannot write %s in the artifact store: %s",
		    name, strerror(errno));
	return 0;
}

/* Removes temporaries left by an import that died. */
static void
clean_tmp(int dirfd)
{
	DIR *dir;
	struct dirent *de;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(dir)) != NULL)
		if (strncmp(de->d_name, ".tmp.", 5) == 0)
			(void)unlinkat(dirfd, de->d_name, 0);
	closedir(dir);
}

static void
digest_hex(const uint8_t *dg, size_t n, char *out)
{
	hex_encode(dg, n, out);
}

/* Copies src into a new temporary while hashing it (SHA-256, SHA-512). */
static int
copy_hash(struct imp *im, int src, char name[64], uint8_t sha256[32],
    uint8_t sha512[64], uint64_t *size)
{
	mbedtls_sha256_context h2;
	mbedtls_sha512_context h5;
	uint8_t *buf = NULL;
	ssize_t n;
	int fd = -1, r;

	mbedtls_sha256_init(&h2);
	mbedtls_sha512_init(&h5);
	*size = 0;
	if ((r = tmp_open(im, name, &fd)) != 0)
		goto out;
	if ((buf = malloc(CHUNK)) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	mbedtls_sha256_starts(&h2, 0);
	mbedtls_sha512_starts(&h5, 0);
	for (;;) {
		if ((n = read(src, buf, CHUNK)) < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = slw_diag(im->d, SLW_ERR_IO, "cannot read %s: %s",
			    im->base, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		*size += (uint64_t)n;
		if (*size > ARTIFACT_FILE_MAX) {
			r = slw_diag(im->d, SLW_ERR_TOOBIG, "%s is over %llu bytes",
			    im->base, (unsigned long long)ARTIFACT_FILE_MAX);
			goto out;
		}
		mbedtls_sha256_update(&h2, buf, (size_t)n);
		mbedtls_sha512_update(&h5, buf, (size_t)n);
		if ((r = write_all(fd, buf, (size_t)n)) != 0) {
			r = slw_diag(im->d, r, "cannot copy %s into the artifact "
			    "store: %s", im->base, r == SLW_ERR_NOSPACE ?
			    "the disk is full" : strerror(errno));
			goto out;
		}
	}
	mbedtls_sha256_finish(&h2, sha256);
	mbedtls_sha512_finish(&h5, sha512);
	r = tmp_finish(im, fd, im->base);
 out:
	if (fd >= 0)
		close(fd);
	free(buf);
	mbedtls_sha256_free(&h2);
	mbedtls_sha512_free(&h5);
	return r;
}

static struct pending *
pending_add(struct imp *im)
{
	struct pending *p;

	if (im->n == IMPORT_MAX)
		return NULL;
	p = &im->p[im->n++];
	memset(p, 0, sizeof(*p));
	snprintf(p->a.origin, sizeof(p->a.origin), "%s", im->base);
	snprintf(p->a.origin_digest, sizeof(p->a.origin_digest), "%s",
	    im->origin_digest);
	snprintf(p->a.actor, sizeof(p->a.actor), "%s", im->o->actor ?
	    im->o->actor : "-");
	p->a.imported = slw_now();
	return p;
}

/* ---- a release archive: the binaries slipway delivers ---- */

static int
rel_accept(void *arg, const char *path)
{
	struct imp *im = arg;
	const char *b = strrchr(path, '/');
	size_t i;

	b = b != NULL ? b + 1 : path;
	if (im->comp == RC_KUBERNETES && strcmp(path, "kubernetes/version") == 0)
		return 1;
	/* what some node runs (not kubectl: a plain file of it is still
	 * importable, for an operator who wants it on the appliance) */
	for (i = 0; i < release_binaries_n; i++)
		if (release_binaries[i].comp == im->comp &&
		    release_binaries[i].kind == REL_BINARY &&
		    release_binaries[i].roles != 0 &&
		    strcmp(release_binaries[i].member, b) == 0)
			return 1;
	return 0;
}

static int
rel_member(void *arg, const char *path, struct archive *ar, int64_t size)
{
	struct imp *im = arg;
	const struct rel_binary *rb;
	mbedtls_sha256_context h;
	struct pending *p;
	const char *b = strrchr(path, '/');
	uint8_t *buf = NULL;
	uint64_t total = 0;
	la_ssize_t n;
	size_t i;
	int fd = -1, r;

	b = b != NULL ? b + 1 : path;
	if (strcmp(path, "kubernetes/version") == 0) {
		char v[REL_VERSION_MAX + 1];

		memset(v, 0, sizeof(v));
		if (size <= 0 || size > REL_VERSION_MAX ||
		    archive_read_data(ar, v, (size_t)size) != size)
			return slw_diag(im->d, SLW_ERR_PARSE, "%s: cannot read "
			    "kubernetes/version", im->base);
		v[strcspn(v, "\r\n")] = '\0';
		if (!release_version_ok(v))
			return slw_diag(im->d, SLW_ERR_PARSE, "%s: "
			    "kubernetes/version is not a version", im->base);
		memcpy(im->k8s_version, v, strlen(v) + 1);	/* ok: < MAX */
		return 0;
	}
	for (i = 0, rb = NULL; i < release_binaries_n && rb == NULL; i++)
		if (release_binaries[i].comp == im->comp &&
		    strcmp(release_binaries[i].member, b) == 0)
			rb = &release_binaries[i];
	if (rb == NULL)
		return 0;
	for (i = 0; i < im->n; i++)
		if (strcmp(im->p[i].a.name, rb->name) == 0)
			return slw_diag(im->d, SLW_ERR_PARSE, "%s holds %s twice",
			    im->base, rb->name);
	if ((p = pending_add(im)) == NULL)
		return slw_diag(im->d, SLW_ERR_LIMIT, "%s yields too many "
		    "binaries", im->base);
	mbedtls_sha256_init(&h);
	mbedtls_sha256_starts(&h, 0);
	if ((r = tmp_open(im, p->tmp, &fd)) != 0)
		goto out;
	if ((buf = malloc(CHUNK)) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		n = archive_read_data(ar, buf, CHUNK);
		if (n < 0) {
			r = slw_diag(im->d, SLW_ERR_PARSE, "%s: cannot read %s: "
			    "%s", im->base, path, archive_error_string(ar) ?
			    archive_error_string(ar) : "read error");
			goto out;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > (uint64_t)size) {
			r = slw_diag(im->d, SLW_ERR_PARSE, "%s: %s is longer "
			    "than its header says", im->base, path);
			goto out;
		}
		mbedtls_sha256_update(&h, buf, (size_t)n);
		if ((r = write_all(fd, buf, (size_t)n)) != 0) {
			r = slw_diag(im->d, r, "cannot write %s into the artifact "
			    "store: %s", rb->name, r == SLW_ERR_NOSPACE ?
			    "the disk is full" : strerror(errno));
			goto out;
		}
	}
	if (total != (uint64_t)size) {
		r = slw_diag(im->d, SLW_ERR_PARSE, "%s: %s is truncated",
		    im->base, path);
		goto out;
	}
	mbedtls_sha256_finish(&h, p->a.sha256);
	hex_encode(p->a.sha256, 32, p->a.hex);
	p->a.size = total;
	p->a.kind = REL_BINARY;
	snprintf(p->a.name, sizeof(p->a.name), "%s", rb->name);
	snprintf(p->a.component, sizeof(p->a.component), "%s",
	    release_component_name(rb->comp));
	r = tmp_finish(im, fd, rb->name);
 out:
	if (fd >= 0)
		close(fd);
	free(buf);
	mbedtls_sha256_free(&h);
	return r;
}

/* The version of an archive's binaries: its name, kubernetes/version or
 * --version, which must agree where more than one says. */
static int
settle_version(struct imp *im, const char *from_file)
{
	const char *v = from_file[0] ? from_file : im->k8s_version;
	size_t i;

	if (v[0] != '\0' && im->o->version != NULL &&
	    !release_version_eq(v, im->o->version))
		return slw_diag(im->d, SLW_ERR_INVALID, "%s is version %s, not "
		    "%s (--version)", im->base, v, im->o->version);
	if (v[0] == '\0')
		v = im->o->version != NULL ? im->o->version : "";
	if (v[0] == '\0')
		return slw_diag(im->d, SLW_ERR_INVALID, "cannot tell the version "
		    "of %s: give --version", im->base);
	if (!release_version_ok(v))
		return slw_diag(im->d, SLW_ERR_INVALID, "'%.32s' is not a "
		    "version", v);
	/* Kubernetes versions carry their "v", the others none (release.c) */
	{
		char canon[REL_VERSION_MAX + 1];
		const char *b = v[0] == 'v' ? v + 1 : v;

		canon[0] = 'v';
		memcpy(canon + 1, b, strlen(b) + 1);
		if (im->comp != RC_KUBERNETES)
			memmove(canon, canon + 1, strlen(canon));
		if (strlen(canon) >= REL_VERSION_MAX)
			return slw_diag(im->d, SLW_ERR_INVALID, "'%.32s' is too "
			    "long for a version", v);
		for (i = 0; i < im->n; i++)
			memcpy(im->p[i].a.version, canon, strlen(canon) + 1);
	}
	return 0;
}

/* ---- the records, after the files ---- */

struct commit_arg {
	struct imp *im;
	size_t added;
	int fresh[IMPORT_MAX];
};

static int
commit_txn(struct store_txn *t, void *arg)
{
	struct commit_arg *ca = arg;
	struct imp *im = ca->im;
	struct artifact old;
	char obj[AUDIT_OBJECT_MAX], det[AUDIT_DETAIL_MAX];
	size_t i;
	int r;

	ca->added = 0;
	for (i = 0; i < im->n; i++) {
		struct artifact *a = &im->p[i].a;
		struct rec w = { 0 };

		r = artifact_get(t, a->sha256, &old);
		if (r == 0)
			continue;	/* checked before: the same thing */
		if (r != SLW_ERR_NOTFOUND)
			return r;
		if ((r = rec_encode(a, &w)) != 0 ||
		    (r = store_put(t, DB_ARTIFACTS, a->sha256, 32, w.b.data,
		    w.b.len, STORE_NOOVERWRITE)) != 0) {
			rec_free(&w);
			return r;
		}
		rec_free(&w);
		snprintf(obj, sizeof(obj), "%s %s", a->name, a->version);
		snprintf(det, sizeof(det), "sha256 %s, %llu bytes, %s from %s "
		    "(%.80s)", a->hex, (unsigned long long)a->size,
		    a->kind == REL_IMAGE ? "image" : "binary", a->origin,
		    a->origin_digest);
		if ((r = audit_append(t, a->actor, "artifact.import", obj,
		    det)) != 0)
			return r;
		ca->fresh[i] = 1;
		ca->added++;
	}
	return 0;
}

struct check_arg {
	struct imp *im;
	int have[IMPORT_MAX];
};

/* Before any rename: a digest stored as something else is refused. */
static int
check_txn(struct store_txn *t, void *arg)
{
	struct check_arg *ck = arg;
	struct imp *im = ck->im;
	struct artifact old;
	size_t i;
	int r;

	for (i = 0; i < im->n; i++) {
		const struct artifact *a = &im->p[i].a;
		const struct artifact *dup;
		size_t j;

		/* two names for the same bytes within one archive */
		for (j = 0, dup = NULL; j < i && dup == NULL; j++)
			if (memcmp(im->p[j].a.sha256, a->sha256, 32) == 0)
				dup = &im->p[j].a;
		if (dup != NULL)
			return slw_diag(im->d, SLW_ERR_EXISTS, "%s: %s and %s are "
			    "the same file", im->base, dup->name, a->name);
		r = artifact_get(t, a->sha256, &old);
		if (r == SLW_ERR_NOTFOUND)
			continue;
		if (r != 0)
			return r;
		if (strcmp(old.name, a->name) != 0 ||
		    strcmp(old.component, a->component) != 0 ||
		    !release_version_eq(old.version, a->version))
			return slw_diag(im->d, SLW_ERR_EXISTS, "%s: sha256 %.16s... "
			    "is stored as %s %s already (remove it first: slipway "
			    "artifact remove %s)", im->base, a->hex, old.name,
			    old.version, old.hex);
		ck->have[i] = 1;
	}
	return 0;
}

static void
unlink_tmps(struct imp *im)
{
	size_t i;

	for (i = 0; i < im->n; i++)
		if (im->p[i].tmp[0] != '\0') {
			(void)unlinkat(im->dirfd, im->p[i].tmp, 0);
			im->p[i].tmp[0] = '\0';
		}
}

static int
kept_name_ok(const char *name)
{
	const struct rel_binary *rb = release_binary_find(name);

	return rb != NULL && rb->kind == REL_BINARY;
}

int
artifact_import(struct store *s, const char *path,
    const struct artifact_import_opts *o, struct artifact_import_result *res,
    struct slw_diag *d)
{
	struct imp *im = NULL;
	struct check_arg ck;
	struct commit_arg ca;
	enum artifact_tar_kind kind = ATAR_NONE;
	char whole_tmp[64] = "", file_ver[REL_VERSION_MAX] = "";
	char want_hex[129], got_hex[129];
	uint8_t sha256[32], sha512[64];
	const uint8_t *got;
	uint64_t size = 0;
	struct stat st;
	int src = -1, lock = -1, tfd = -1, known, r;
	size_t i, renamed = 0;

	memset(res, 0, sizeof(*res));
	if (o == NULL || o->want == NULL ||
	    (o->want_alg != CSUM_SHA256 && o->want_alg != CSUM_SHA512))
		return slw_diag(d, SLW_ERR_INVALID, "a digest to check the file "
		    "against is required (--sha256 or --checksums)");
	if ((im = calloc(1, sizeof(*im))) == NULL)
		return SLW_ERR_NOMEM;
	im->s = s;
	im->o = o;
	im->d = d;
	im->dirfd = -1;
	im->base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if ((r = artifact_dir_open(store_dir(s), 1, &im->dirfd, d)) != 0)
		goto out;
	/* O_PATH descriptors cannot be locked or read: a real one */
	{
		int real = openat(im->dirfd, ".", O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);

		if (real < 0) {
			r = slw_diag(d, SLW_ERR_IO, "cannot open the artifact "
			    "store: %s", strerror(errno));
			goto out;
		}
		close(im->dirfd);
		im->dirfd = real;
	}
	if ((lock = openat(im->dirfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) < 0 || flock(lock, LOCK_EX) != 0) {
		r = slw_diag(d, SLW_ERR_IO, "cannot lock the artifact store: %s",
		    strerror(errno));
		goto out;
	}
	clean_tmp(im->dirfd);
	if ((src = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		r = slw_diag(d, errno == ENOENT ? SLW_ERR_NOTFOUND : SLW_ERR_IO,
		    "cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(src, &st) != 0 || !S_ISREG(st.st_mode)) {
		r = slw_diag(d, SLW_ERR_INVALID, "%s is not a regular file", path);
		goto out;
	}
	(void)fcntl(src, F_SETFL, 0);

	/* 1. a verified copy, or nothing */
	if ((r = copy_hash(im, src, whole_tmp, sha256, sha512, &size)) != 0)
		goto out;
	got = o->want_alg == CSUM_SHA256 ? sha256 : sha512;
	if (memcmp(got, o->want, o->want_alg) != 0) {
		digest_hex(o->want, o->want_alg, want_hex);
		digest_hex(got, o->want_alg, got_hex);
		r = slw_diag(d, SLW_ERR_VERIFY, "%s: its %s is %.16s..., not "
		    "%.16s... as given: nothing was stored", im->base,
		    checksums_alg_name(o->want_alg), got_hex, want_hex);
		goto out;
	}
	digest_hex(got, o->want_alg, got_hex);
	snprintf(im->origin_digest, sizeof(im->origin_digest), "%s:%s",
	    checksums_alg_name(o->want_alg), got_hex);

	/* 2. what it is */
	known = release_file_parse(im->base, &im->comp, file_ver) == 0;
	if ((tfd = openat(im->dirfd, whole_tmp, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) < 0) {
		r = slw_diag(d, SLW_ERR_IO, "cannot read back %s: %s", im->base,
		    strerror(errno));
		goto out;
	}
	if (!known || im->comp == RC_PAUSE)
		(void)artifact_tar_kind(tfd, &kind);
	if (known && im->comp != RC_RUNC && im->comp != RC_PAUSE) {
		/* a release archive: the binaries slipway delivers */
		r = artifact_tar_each(tfd, rel_accept, rel_member, im, d);
		if (r != 0)
			goto out;
		if (im->n == 0) {
			r = slw_diag(d, SLW_ERR_INVALID, "%s holds none of the "
			    "binaries slipway delivers", im->base);
			goto out;
		}
		if ((r = settle_version(im, file_ver)) != 0)
			goto out;
	} else if (kind == ATAR_OCI || kind == ATAR_DOCKER) {
		struct pending *p = pending_add(im);
		const struct rel_binary *rb;
		char ref[ARTIFACT_REF_MAX], repo[ARTIFACT_REF_MAX];
		const char *tag, *nm;

		if ((r = artifact_tar_image_ref(tfd, kind, ref, d)) != 0) {
			r = slw_diag(d, r, "%s", im->base);
			goto out;
		}
		snprintf(repo, sizeof(repo), "%s", ref);
		tag = strrchr(repo, ':');
		repo[tag - repo] = '\0';
		tag = ref + (tag - repo) + 1;
		nm = strrchr(repo, '/') ? strrchr(repo, '/') + 1 : repo;
		rb = release_binary_find(nm);
		if (rb == NULL || rb->kind != REL_IMAGE) {
			r = slw_diag(d, SLW_ERR_INVALID, "%s: the image %s is not "
			    "one a slipway cluster runs (the pause image)",
			    im->base, ref);
			goto out;
		}
		if (o->version != NULL && !release_version_eq(tag, o->version)) {
			r = slw_diag(d, SLW_ERR_INVALID, "%s is %s, not version %s "
			    "(--version)", im->base, ref, o->version);
			goto out;
		}
		if (!release_version_ok(tag)) {
			r = slw_diag(d, SLW_ERR_INVALID, "%s: the tag of %s is "
			    "not a version", im->base, ref);
			goto out;
		}
		memcpy(p->a.sha256, sha256, 32);
		hex_encode(sha256, 32, p->a.hex);
		p->a.size = size;
		p->a.kind = REL_IMAGE;
		snprintf(p->a.name, sizeof(p->a.name), "%s", rb->name);
		snprintf(p->a.component, sizeof(p->a.component), "%s",
		    release_component_name(rb->comp));
		snprintf(p->a.version, sizeof(p->a.version), "%s", tag);
		snprintf(p->a.image, sizeof(p->a.image), "%s", ref);
		snprintf(p->tmp, sizeof(p->tmp), "%s", whole_tmp);
		whole_tmp[0] = '\0';	/* kept as the artifact */
	} else if (kind == ATAR_RELEASE) {
		r = slw_diag(d, SLW_ERR_INVALID, "%s is an archive slipway does "
		    "not know (see slipway artifact manifest for the release "
		    "files it takes)", im->base);
		goto out;
	} else {
		/* a plain binary */
		struct pending *p = pending_add(im);
		const char *nm = o->name != NULL ? o->name : im->base;
		const struct rel_binary *rb = release_binary_find(nm);

		if (!kept_name_ok(nm)) {
			r = slw_diag(d, SLW_ERR_INVALID, "%s is not a binary slipway "
			    "delivers (give --name, one of the names in slipway "
			    "artifact manifest)", nm);
			goto out;
		}
		im->comp = rb->comp;
		memcpy(p->a.sha256, sha256, 32);
		hex_encode(sha256, 32, p->a.hex);
		p->a.size = size;
		p->a.kind = REL_BINARY;
		snprintf(p->a.name, sizeof(p->a.name), "%s", rb->name);
		snprintf(p->a.component, sizeof(p->a.component), "%s",
		    release_component_name(rb->comp));
		snprintf(p->tmp, sizeof(p->tmp), "%s", whole_tmp);
		whole_tmp[0] = '\0';
		if ((r = settle_version(im, known ? file_ver : "")) != 0)
			goto out;
	}

	/* 3. nothing stored as something else */
	memset(&ck, 0, sizeof(ck));
	ck.im = im;
	if ((r = store_read(s, check_txn, &ck, d)) != 0 || o->check_only)
		goto out;
	/* 4. the files, then the records */
	for (i = 0; i < im->n; i++) {
		struct pending *p = &im->p[i];
		struct stat ost;

		if (ck.have[i] && fstatat(im->dirfd, p->a.hex, &ost,
		    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(ost.st_mode) &&
		    (uint64_t)ost.st_size == p->a.size)
			continue;	/* the same bytes are there: unlinked below */
		if (renameat(im->dirfd, p->tmp, im->dirfd, p->a.hex) != 0) {
			r = slw_diag(d, SLW_ERR_IO, "cannot store %s: %s",
			    p->a.name, strerror(errno));
			goto out;
		}
		p->tmp[0] = '\0';
		renamed++;
	}
	if (renamed > 0 && fsync(im->dirfd) != 0) {
		r = slw_diag(d, SLW_ERR_IO, "cannot sync the artifact store: %s",
		    strerror(errno));
		goto out;
	}
	memset(&ca, 0, sizeof(ca));
	ca.im = im;
	if ((r = store_write(s, commit_txn, &ca, d)) != 0) {
		/* the files have no record: remove those this import added */
		for (i = 0; i < im->n; i++)
			if (!ck.have[i] && im->p[i].tmp[0] == '\0')
				(void)unlinkat(im->dirfd, im->p[i].a.hex, 0);
		goto out;
	}
	if ((res->a = calloc(im->n, sizeof(*res->a))) == NULL ||
	    (res->fresh = calloc(im->n, sizeof(*res->fresh))) == NULL) {
		artifact_import_result_free(res);
		r = SLW_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < im->n; i++) {
		res->a[i] = im->p[i].a;
		res->fresh[i] = ca.fresh[i];
	}
	res->n = im->n;
	res->added = ca.added;
	r = 0;
 out:
	if (tfd >= 0)
		close(tfd);
	if (src >= 0)
		close(src);
	if (im != NULL) {
		unlink_tmps(im);
		if (whole_tmp[0] != '\0')
			(void)unlinkat(im->dirfd, whole_tmp, 0);
		if (im->dirfd >= 0)
			close(im->dirfd);
		free(im);
	}
	if (lock >= 0)
		close(lock);
	return r;
}

void
artifact_import_result_free(struct artifact_import_result *res)
{
	if (res == NULL)
		return;
	free(res->a);
	free(res->fresh);
	memset(res, 0, sizeof(*res));
}

/* ---- remove ---- */

struct rm_arg {
	const uint8_t *sha;
	const char *actor;
	struct artifact a;
};

static int
rm_txn(struct store_txn *t, void *arg)
{
	struct rm_arg *ra = arg;
	char obj[AUDIT_OBJECT_MAX], det[AUDIT_DETAIL_MAX];
	int r;

	if ((r = artifact_get(t, ra->sha, &ra->a)) != 0)
		return r == SLW_ERR_NOTFOUND ? slw_diag(store_txn_diag(t), r,
		    "no artifact with that sha256") : r;
	if ((r = store_del(t, DB_ARTIFACTS, ra->sha, 32)) != 0)
		return r;
	snprintf(obj, sizeof(obj), "%s %s", ra->a.name, ra->a.version);
	snprintf(det, sizeof(det), "sha256 %s, %llu bytes", ra->a.hex,
	    (unsigned long long)ra->a.size);
	return audit_append(t, ra->actor, "artifact.remove", obj, det);
}

int
artifact_remove(struct store *s, const uint8_t sha256[32], const char *actor,
    struct artifact *removed, struct slw_diag *d)
{
	struct rm_arg ra;
	int dirfd = -1, lock = -1, r;

	memset(&ra, 0, sizeof(ra));
	ra.sha = sha256;
	ra.actor = actor != NULL ? actor : "-";
	if ((r = artifact_dir_open(store_dir(s), 0, &dirfd, d)) != 0 &&
	    r != SLW_ERR_NOTFOUND)
		return r;
	if (dirfd >= 0) {
		int real = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		close(dirfd);
		dirfd = real;
		if (dirfd >= 0 && ((lock = openat(dirfd, ".lock", O_RDWR |
		    O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0 ||
		    flock(lock, LOCK_EX) != 0)) {
			r = slw_diag(d, SLW_ERR_IO, "cannot lock the artifact "
			    "store: %s", strerror(errno));
			goto out;
		}
	}
	slw_diag_clear(d);
	if ((r = store_write(s, rm_txn, &ra, d)) != 0)
		goto out;
	/* the record is gone: a crash here leaves only an unreferenced file */
	if (dirfd >= 0 && unlinkat(dirfd, ra.a.hex, 0) == 0)
		(void)fsync(dirfd);
	if (removed != NULL)
		*removed = ra.a;
 out:
	if (lock >= 0)
		close(lock);
	if (dirfd >= 0)
		close(dirfd);
	return r;
}
