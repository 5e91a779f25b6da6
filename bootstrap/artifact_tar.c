// SPDX-License-Identifier: Apache-2.0
/*
 * artifact_tar.c: reading the tarballs an operator imports (artifact.h):
 * release archives (which members are there, their bytes) and image
 * archives (OCI layout or docker save: the image's name). Reads through
 * libarchive from a descriptor; never writes a member to a path taken
 * from the archive, and never believes a size it has not capped.
 */
#include "artifact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>

#define JSON_MAX (1u << 20)

static struct archive *
reader_open(int fd)
{
	struct archive *a;

	if (lseek(fd, 0, SEEK_SET) != 0 || (a = archive_read_new()) == NULL)
		return NULL;
	if (archive_read_support_filter_all(a) != ARCHIVE_OK ||
	    archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_support_format_gnutar(a) != ARCHIVE_OK ||
	    archive_read_open_fd(a, fd, 64 * 1024) != ARCHIVE_OK) {
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* "./x/y" -> "x/y" */
static const char *
rel(const char *p)
{
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	while (p[0] == '/')
		p++;
	return p;
}

int
artifact_tar_kind(int fd, enum artifact_tar_kind *kind)
{
	struct archive *a;
	struct archive_entry *e;
	int oci_layout = 0, index = 0, manifest = 0, r, n = 0;

	*kind = ATAR_NONE;
	if ((a = reader_open(fd)) == NULL)
		return 0;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *p = rel(archive_entry_pathname(e) ?
		    archive_entry_pathname(e) : "");

		n++;
		if (strcmp(p, "oci-layout") == 0)
			oci_layout = 1;
		else if (strcmp(p, "index.json") == 0)
			index = 1;
		else if (strcmp(p, "manifest.json") == 0)
			manifest = 1;
		/* headers only: libarchive skips the data */
	}
	archive_read_free(a);
	if (r != ARCHIVE_EOF || n == 0)
		return 0;	/* not (wholly) a tar archive */
	if (oci_layout && index)
		*kind = ATAR_OCI;
	else if (manifest)
		*kind = ATAR_DOCKER;
	else
		*kind = ATAR_RELEASE;
	return 0;
}

/* registry/repo[:tag]: [A-Za-z0-9./:_@-], a repository and a tag. */
static int
ref_ok(const char *s)
{
	const char *slash = strrchr(s, '/'), *colon = strrchr(s, ':');
	size_t n = strlen(s);

	if (n == 0 || n >= ARTIFACT_REF_MAX ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789./:_@-") != n)
		return 0;
	/* a tag after the last '/' (a ':' before it is a registry port) */
	return colon != NULL && (slash == NULL || colon > slash) &&
	    colon[1] != '\0' && colon != s;
}

static const char *
str_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int
artifact_tar_image_ref_parse(enum artifact_tar_kind kind, const uint8_t *buf,
    size_t len, char ref[ARTIFACT_REF_MAX], struct slw_diag *d)
{
	cJSON *root = NULL;
	const cJSON *arr, *it;
	const char *name = NULL, *what = kind == ATAR_OCI ? "index.json" :
	    "manifest.json";
	int r = SLW_ERR_PARSE;

	ref[0] = '\0';
	if (buf == NULL || len == 0 || len > JSON_MAX)
		return slw_diag(d, SLW_ERR_PARSE, "the image's %s is empty or "
		    "over %u bytes", what, JSON_MAX);
	if ((root = cJSON_ParseWithLength((const char *)buf, len)) == NULL) {
		r = slw_diag(d, SLW_ERR_PARSE, "the image's %s is not JSON",
		    what);
		goto out;
	}
	if (kind == ATAR_OCI) {
		arr = cJSON_GetObjectItemCaseSensitive(root, "manifests");
		cJSON_ArrayForEach(it, arr) {
			const cJSON *an = cJSON_GetObjectItemCaseSensitive(it,
			    "annotations");
			const char *n = str_of(an, "io.containerd.image.name");

			if (n == NULL) {
				n = str_of(an, "org.opencontainers.image.ref.name");
				if (n != NULL && !ref_ok(n))
					n = NULL;	/* a tag alone */
			}
			if (n != NULL) {
				name = n;
				break;
			}
		}
	} else if (kind == ATAR_DOCKER) {
		it = cJSON_IsArray(root) ? cJSON_GetArrayItem(root, 0) : NULL;
		arr = cJSON_GetObjectItemCaseSensitive(it, "RepoTags");
		if (cJSON_IsArray(arr) && cJSON_IsString(cJSON_GetArrayItem(arr,
		    0)))
			name = cJSON_GetArrayItem(arr, 0)->valuestring;
	}
	if (name == NULL) {
		r = slw_diag(d, SLW_ERR_INVALID, "the image has no name in its "
		    "%s (save it with its full name, e.g. "
		    "registry.k8s.io/pause:3.10.1)", what);
		goto out;
	}
	if (!ref_ok(name)) {
		r = slw_diag(d, SLW_ERR_INVALID, "the image's name in its %s is "
		    "not a reference with a tag", what);
		goto out;
	}
	snprintf(ref, ARTIFACT_REF_MAX, "%s", name);
	r = 0;
 out:
	cJSON_Delete(root);
	return r;
}

int
artifact_tar_image_ref(int fd, enum artifact_tar_kind kind,
    char ref[ARTIFACT_REF_MAX], struct slw_diag *d)
{
	const char *want = kind == ATAR_OCI ? "index.json" : "manifest.json";
	struct archive *a;
	struct archive_entry *e;
	uint8_t *buf = NULL;
	int64_t size;
	ssize_t got;
	int r = SLW_ERR_NOTFOUND;

	ref[0] = '\0';
	if ((a = reader_open(fd)) == NULL)
		return slw_diag(d, SLW_ERR_PARSE, "not a tar archive");
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		if (strcmp(rel(archive_entry_pathname(e) ?
		    archive_entry_pathname(e) : ""), want) != 0)
			continue;
		size = archive_entry_size(e);
		if (size <= 0 || size > JSON_MAX) {
			r = slw_diag(d, SLW_ERR_PARSE, "the image's %s is empty "
			    "or over %u bytes", want, JSON_MAX);
			break;
		}
		if ((buf = malloc((size_t)size)) == NULL) {
			r = SLW_ERR_NOMEM;
			break;
		}
		got = archive_read_data(a, buf, (size_t)size);
		if (got != size) {
			r = slw_diag(d, SLW_ERR_PARSE, "cannot read the image's %s",
			    want);
			break;
		}
		r = artifact_tar_image_ref_parse(kind, buf, (size_t)size, ref, d);
		break;
	}
	if (r == SLW_ERR_NOTFOUND)
		r = slw_diag(d, r, "the image archive has no %s", want);
	free(buf);
	archive_read_free(a);
	return r;
}

int
artifact_tar_each(int fd, int (*accept)(void *arg, const char *path),
    int (*fn)(void *arg, const char *path, struct archive *ar, int64_t size),
    void *arg, struct slw_diag *d)
{
	struct archive *a;
	struct archive_entry *e;
	int r = 0, ar;

	if ((a = reader_open(fd)) == NULL)
		return slw_diag(d, SLW_ERR_PARSE, "not a tar archive");
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *p = rel(archive_entry_pathname(e) ?
		    archive_entry_pathname(e) : "");
		int64_t size = archive_entry_size(e);

		if (archive_entry_filetype(e) != AE_IFREG || !accept(arg, p))
			continue;
		if (size < 0 || (uint64_t)size > ARTIFACT_FILE_MAX) {
			r = slw_diag(d, SLW_ERR_TOOBIG, "%.100s in the archive is "
			    "over %llu bytes", p,
			    (unsigned long long)ARTIFACT_FILE_MAX);
			break;
		}
		if ((r = fn(arg, p, a, size)) != 0)
			break;
	}
	if (r == 0 && ar != ARCHIVE_EOF)
		r = slw_diag(d, SLW_ERR_PARSE, "the archive is damaged or "
		    "truncated (%s)", archive_error_string(a) ?
		    archive_error_string(a) : "read error");
	archive_read_free(a);
	return r;
}
