/* SPDX-License-Identifier: Apache-2.0 */
/*
 * artifact.h: the binaries and images the appliance serves to its nodes
 * (`slipway artifact`, GET /v1/artifacts/<sha256>, docs/artifacts.md).
 *
 * Each artifact is a file on the state disk named by its SHA-256,
 * STATE/artifacts/<64 hex digits> (0444, in a 0711 directory: the
 * unprivileged monitor opens it through a directory descriptor taken
 * before the privilege drop), and a record in LMDB (DB_ARTIFACTS, key: the
 * 32-byte SHA-256) with its name, component, version, size, kind and where
 * it came from. Files are never inside LMDB.
 *
 * Import verifies first, stores after: the file is copied into a
 * temporary file of the store's directory while hashed (SHA-256 and
 * SHA-512), and nothing is kept unless that copy's digest equals the one
 * the operator gave (--sha256, or a checksums file: checksums.h). A
 * release tarball (release.h names them) is then opened from the verified
 * copy and only the binaries slipway delivers are taken out of it; an
 * image tarball (OCI or docker-archive) is kept whole. Each new file is
 * fsynced, renamed to its digest and the directory fsynced, then every
 * record and an audit entry per artifact go into one write transaction.
 * Imports are serialised by STATE/artifacts/.lock.
 */
#ifndef SLW_ARTIFACT_H
#define SLW_ARTIFACT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "checksums.h"
#include "err.h"
#include "release.h"
#include "store.h"

#define ARTIFACT_DIR "artifacts"		/* under the state directory */
#define ARTIFACT_FILE_MAX (4ull << 30)		/* bytes of one file */
#define ARTIFACT_NAME_MAX 64
#define ARTIFACT_REF_MAX 256

struct artifact {
	uint8_t sha256[32];
	char hex[65];				/* the file's name */
	char name[ARTIFACT_NAME_MAX];		/* "kubelet", "pause" */
	char component[16];			/* release_component_name() */
	char version[REL_VERSION_MAX];
	enum rel_kind kind;
	uint64_t size;
	char image[ARTIFACT_REF_MAX];		/* images: "registry.k8s.io/pause:3.10.1" */
	char origin[128];			/* the file imported */
	char origin_digest[140];		/* "sha512:HEX" verified at import */
	time_t imported;
	char actor[64];
};

struct artifact_list {
	struct artifact *a;
	size_t n;
};

int artifact_get(struct store_txn *t, const uint8_t sha256[32],
    struct artifact *out);
/* Every record, in digest order. */
int artifact_list(struct store_txn *t, struct artifact_list *out);
void artifact_list_free(struct artifact_list *l);
/* The artifact of that name and version (release_version_eq), or NULL. */
const struct artifact *artifact_list_find(const struct artifact_list *l,
    const char *name, const char *version);

/* 64 hex digits (either case) to a SHA-256. */
int artifact_hex_parse(const char *hex, uint8_t sha256[32]);

struct artifact_import_opts {
	const uint8_t *want;		/* the file's digest, as given... */
	enum csum_alg want_alg;		/* ...and which */
	const char *name;		/* --name: a plain file's binary */
	const char *version;		/* --version: when not in the name */
	const char *actor;
	/* 1: every check (digest, what it is, nothing stored as something
	 * else) and no store: what an import of several files runs on each
	 * before it keeps any */
	int check_only;
};

struct artifact_import_result {
	struct artifact *a;		/* what the file yielded */
	int *fresh;			/* per artifact: 1 if newly recorded */
	size_t n;
	size_t added;			/* of those, new records */
};

/*
 * Imports one file (above). Refused, with one line in d and nothing kept:
 * a digest that differs (SLW_ERR_VERIFY), a file slipway has no use for,
 * a version it cannot tell (give --version), an artifact already stored
 * under another name or version (SLW_ERR_EXISTS). A file already
 * imported as the same thing is a no-op (res->added 0). With
 * o->check_only, 0 means an import would be taken, and res is empty.
 */
int artifact_import(struct store *s, const char *path,
    const struct artifact_import_opts *o, struct artifact_import_result *res,
    struct slw_diag *d);
void artifact_import_result_free(struct artifact_import_result *res);

/* Deletes the record (audited), then the file. */
int artifact_remove(struct store *s, const uint8_t sha256[32],
    const char *actor, struct artifact *removed, struct slw_diag *d);

/*
 * The directory of the files, as a descriptor (O_PATH): what serve's
 * monitor keeps after dropping privileges. create: make it (0711).
 */
int artifact_dir_open(const char *state, int create, int *dirfd,
    struct slw_diag *d);
/*
 * Opens an artifact's file for reading through dirfd: a regular file of
 * the record's size (SLW_ERR_CORRUPT otherwise, SLW_ERR_NOTFOUND if
 * missing). The caller owns *fd.
 */
int artifact_open(int dirfd, const struct artifact *a, int *fd);

/* ---- the inventory's needs (artifact_need.c) ---- */

struct artifact_need {
	const struct rel_binary *bin;
	char version[REL_VERSION_MAX];	/* the inventory's */
	struct rel_file file;		/* the upstream file it comes from */
	const struct artifact *have;	/* in the store, or NULL */
};

struct artifact_needs {
	struct artifact_need *e;
	size_t n;
	size_t missing;
};

/*
 * Every binary and image the inventory's nodes need (by their roles), at
 * the inventory's versions (release_versions), matched against l (which
 * must outlive out). roles: only those of nodes with any of these roles
 * (0: every node of the inventory).
 */
int artifact_need(const struct inventory *inv, unsigned int roles,
    const struct artifact_list *l, struct artifact_needs *out,
    struct slw_diag *d);
void artifact_need_free(struct artifact_needs *n);

/* ---- release and image tarballs (artifact_tar.c) ---- */

enum artifact_tar_kind {
	ATAR_NONE = 0,		/* not a tar archive */
	ATAR_RELEASE,		/* any other tar (gzip or not) */
	ATAR_OCI,		/* OCI image layout: oci-layout + index.json */
	ATAR_DOCKER,		/* docker save: manifest.json */
};

/* What the archive at fd (read from offset 0) is. */
int artifact_tar_kind(int fd, enum artifact_tar_kind *kind);
/*
 * An image's name ("registry.k8s.io/pause:3.10.1") from its index.json
 * (annotation io.containerd.image.name, or a whole reference in
 * org.opencontainers.image.ref.name) or manifest.json (RepoTags[0]):
 * untrusted JSON as (buf, len), at most 1 MiB, no I/O.
 */
int artifact_tar_image_ref_parse(enum artifact_tar_kind kind,
    const uint8_t *buf, size_t len, char ref[ARTIFACT_REF_MAX],
    struct slw_diag *d);
/* The same, reading the archive at fd. */
int artifact_tar_image_ref(int fd, enum artifact_tar_kind kind,
    char ref[ARTIFACT_REF_MAX], struct slw_diag *d);
struct archive;

/*
 * Calls fn for each regular file of the archive at fd (gzip, xz, zstd or
 * none; read from offset 0) whose path accept() takes; fn reads its bytes
 * with archive_read_data(ar, ...) (size: what the header says, at most
 * ARTIFACT_FILE_MAX). Non-zero from fn stops with that result. Nothing of
 * the archive is written anywhere by this function.
 */
int artifact_tar_each(int fd, int (*accept)(void *arg, const char *path),
    int (*fn)(void *arg, const char *path, struct archive *ar, int64_t size),
    void *arg, struct slw_diag *d);

#endif
