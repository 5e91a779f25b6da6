// SPDX-License-Identifier: Apache-2.0
/*
 * bundle.c: the in-memory file set of a node's bundle and its outputs: a
 * directory, a gzip'd tar (libarchive), and the record of its
 * certificates in the caller's transaction. Every file's bytes are wiped
 * when the bundle is freed; nothing here logs a file's content.
 */
#include "bundle.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

void
bundle_free(struct bundle *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n_files; i++)
		buf_free(&b->files[i].data);
	for (i = 0; i < b->n_certs; i++)
		signing_result_free(&b->certs[i].r);
	free(b->files);
	free(b->certs);
	mbedtls_platform_zeroize(b, sizeof(*b));
	free(b);
}

/* Absolute, normalised, no "..", "." or "//", printable. */
static int
path_ok(const char *p)
{
	const char *s;

	if (p[0] != '/' || strlen(p) >= BUNDLE_PATH_MAX || p[1] == '\0')
		return 0;
	if (strstr(p, "//") != NULL || strstr(p, "/./") != NULL ||
	    strstr(p, "/../") != NULL || p[strlen(p) - 1] == '/')
		return 0;
	for (s = p; *s; s++)
		if (*s <= ' ' || *s > '~' || *s == '\\')
			return 0;
	return 1;
}

const struct bundle_file *
bundle_find(const struct bundle *b, const char *path)
{
	size_t i;

	for (i = 0; b != NULL && i < b->n_files; i++)
		if (strcmp(b->files[i].path, path) == 0)
			return &b->files[i];
	return NULL;
}

int
bundle_add_move(struct bundle *b, const char *path, unsigned int mode,
    const char *owner, int secret, struct buf *data)
{
	struct bundle_file *f;

	if (!path_ok(path) || bundle_find(b, path) != NULL ||
	    strlen(owner) >= sizeof(f->owner) || (mode & ~07777u) != 0) {
		buf_free(data);
		return SLW_ERR_INVALID;
	}
	if (b->n_files == b->cap_files) {
		size_t cap = b->cap_files ? b->cap_files * 2 : 32;
		struct bundle_file *nf = realloc(b->files, cap * sizeof(*nf));

		if (nf == NULL) {
			buf_free(data);
			return SLW_ERR_NOMEM;
		}
		b->files = nf;
		b->cap_files = cap;
	}
	f = &b->files[b->n_files++];
	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->mode = mode;
	snprintf(f->owner, sizeof(f->owner), "%s", owner);
	snprintf(f->group, sizeof(f->group), "%s", owner);
	f->secret = secret;
	buf_move(&f->data, data);
	return 0;
}

int
bundle_add(struct bundle *b, const char *path, unsigned int mode,
    const char *owner, int secret, const void *data, size_t len)
{
	struct buf tmp = { 0 };
	int r;

	if ((r = buf_set(&tmp, data, len)) != 0)
		return r;
	return bundle_add_move(b, path, mode, owner, secret, &tmp);
}

/* mkdir -p of path's parent directories under root (0755). */
static int
mkparents(const char *full, size_t skip)
{
	char tmp[PATH_MAX];
	size_t i;

	if (strlen(full) >= sizeof(tmp))
		return SLW_ERR_INVALID;
	snprintf(tmp, sizeof(tmp), "%s", full);
	for (i = skip + 1; tmp[i] != '\0'; i++) {
		if (tmp[i] != '/')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			return errno == EACCES ? SLW_ERR_PERM : SLW_ERR_IO;
		tmp[i] = '/';
	}
	return 0;
}

int
bundle_write_dir(const struct bundle *b, const char *root,
    struct slw_diag *d)
{
	char full[PATH_MAX];
	struct stat st;
	size_t i, rl;
	int r;

	if (b == NULL || root == NULL || root[0] == '\0')
		return SLW_ERR_INVALID;
	rl = strlen(root);
	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	if (stat(root, &st) != 0 && mkdir(root, 0700) != 0)
		return slw_diag(d, SLW_ERR_IO, "cannot create %s: %s", root,
		    strerror(errno));
	for (i = 0; i < b->n_files; i++) {
		const struct bundle_file *f = &b->files[i];
		int n = snprintf(full, sizeof(full), "%.*s%s", (int)rl, root,
		    f->path);

		if (n < 0 || (size_t)n >= sizeof(full))
			return slw_diag(d, SLW_ERR_INVALID, "path too long under "
			    "%s", root);
		if ((r = mkparents(full, rl)) != 0)
			return slw_diag(d, r, "cannot create the directories of "
			    "%s", full);
		/* written with its final mode from the start (fchmod) */
		if ((r = buf_write_file(full, f->data.data, f->data.len, f->mode,
		    0)) != 0)
			return slw_diag(d, r, "cannot write %s: %s", full,
			    slw_strerror(r));
	}
	return 0;
}

struct sink {
	struct buf *out;
	int err;
};

static la_ssize_t
sink_write(struct archive *a, void *arg, const void *p, size_t n)
{
	struct sink *s = arg;

	(void)a;
	if (buf_append(s->out, p, n) != 0) {
		s->err = SLW_ERR_NOMEM;
		return -1;
	}
	return (la_ssize_t)n;
}

static int
sink_close(struct archive *a, void *arg)
{
	(void)a;
	(void)arg;
	return ARCHIVE_OK;
}

int
bundle_write_targz(const struct bundle *b, struct buf *out,
    struct slw_diag *d)
{
	struct archive *a = NULL;
	struct archive_entry *e = NULL;
	struct sink s = { out, 0 };
	size_t i;
	int r = SLW_ERR_INTERNAL;

	if (b == NULL || out == NULL)
		return SLW_ERR_INVALID;
	buf_free(out);
	if ((a = archive_write_new()) == NULL || (e = archive_entry_new()) ==
	    NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
	    archive_write_set_filter_option(a, "gzip", "compression-level",
	    "1") != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, &s, NULL, sink_write, sink_close) !=
	    ARCHIVE_OK) {
		r = slw_diag(d, SLW_ERR_INTERNAL, "libarchive: %s",
		    archive_error_string(a) ? archive_error_string(a) : "setup");
		goto out;
	}
	for (i = 0; i < b->n_files; i++) {
		const struct bundle_file *f = &b->files[i];

		archive_entry_clear(e);
		/* relative to /: "etc/kubernetes/..." */
		archive_entry_set_pathname(e, f->path + 1);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, f->mode);
		archive_entry_set_size(e, (la_int64_t)f->data.len);
		/* numeric 0 so an extraction before install.sh has created
		 * the users gives root-owned files, never someone else's */
		archive_entry_set_uid(e, 0);
		archive_entry_set_gid(e, 0);
		archive_entry_set_uname(e, "root");
		archive_entry_set_gname(e, "root");
		archive_entry_set_mtime(e, b->created, 0);
		if (archive_write_header(a, e) != ARCHIVE_OK ||
		    (f->data.len > 0 && archive_write_data(a, f->data.data,
		    f->data.len) != (la_ssize_t)f->data.len)) {
			r = slw_diag(d, s.err ? s.err : SLW_ERR_INTERNAL,
			    "libarchive: cannot add %s", f->path);
			goto out;
		}
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		r = slw_diag(d, s.err ? s.err : SLW_ERR_INTERNAL,
		    "libarchive: cannot finish the archive");
		goto out;
	}
	r = s.err;
 out:
	if (e != NULL)
		archive_entry_free(e);
	if (a != NULL)
		archive_write_free(a);
	if (r != 0)
		buf_free(out);
	return r;
}

int
bundle_record(struct store_txn *t, const struct bundle *b, const char *actor)
{
	size_t i;
	int r;

	if (b == NULL || actor == NULL)
		return SLW_ERR_INVALID;
	for (i = 0; i < b->n_certs; i++)
		if ((r = signing_result_record(t, &b->certs[i].r, b->node,
		    b->certs[i].purpose, actor)) != 0)
			return r;
	return 0;
}

int
bundle_manifest(const struct bundle *b, struct buf *out)
{
	static const char hx[] = "0123456789abcdef";
	unsigned char h[32];
	char hex[65];
	size_t i, k;
	int r;

	buf_free(out);
	for (i = 0; i < b->n_files; i++) {
		const struct bundle_file *f = &b->files[i];

		if (mbedtls_sha256(f->data.data, f->data.len, h, 0) != 0)
			return SLW_ERR_INTERNAL;
		for (k = 0; k < 32; k++) {
			hex[2 * k] = hx[h[k] >> 4];
			hex[2 * k + 1] = hx[h[k] & 15];
		}
		hex[64] = '\0';
		if ((r = buf_appendf(out, "%s  %s\n", hex, f->path)) != 0)
			return r;
	}
	return 0;
}
