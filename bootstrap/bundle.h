/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bundle.h: a node's bundle: every file that node gets (final absolute
 * path, mode, owner, bytes), rendered in memory from the inventory. The
 * same file set becomes a directory (`slipway bundle render`) or a tar.gz
 * (the HTTPS endpoint). Node private keys are generated during rendering
 * and exist only in the bundle: never stored on the appliance.
 */
#ifndef SLW_BUNDLE_H
#define SLW_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "inventory.h"
#include "signing.h"

#define BUNDLE_PATH_MAX 256

struct bundle_file {
	char path[BUNDLE_PATH_MAX];	/* absolute, e.g. /etc/etcd/cert/etcd.pem */
	unsigned int mode;		/* 0600 for keys */
	char owner[32];			/* "root", "k8s", ... */
	char group[32];
	struct buf data;
	int secret;			/* private key or token inside */
};

struct bundle_cert {
	struct signing_result r;		/* recorded with bundle_record */
	char purpose[64];		/* "etcd-server", "flanneld", ... */
};

struct bundle {
	char node[INV_NAME_MAX];
	struct bundle_file *files;
	size_t n_files, cap_files;
	struct bundle_cert *certs;
	size_t n_certs, cap_certs;
	time_t created;			/* tar entries' mtime */
	unsigned int roles;		/* ROLE_* of the node */
};

struct artifact_list;

/* What rendering needs beyond the inventory: secrets and the signer. */
struct bundle_input {
	const struct inventory *inv;
	const struct inv_node *node;
	struct signing *sg;
	const char *kubelet_token;	/* "abcdef.0123456789abcdef" */
	/*
	 * The cluster's service-account and encryption keys (pki/keyset.h):
	 * sa_key signs tokens; the public keys of sa_key and of sa_key2 (the
	 * other generation while a rotation is under way, else NULL) verify.
	 * enc_key encrypts and is listed first in the EncryptionConfiguration,
	 * enc_key2 (NULL if none) second; each named "key<generation>"
	 * (enc_gen, enc_gen2; 0 counts as 1).
	 */
	const struct buf *sa_key;	/* private key (DER) */
	const struct buf *sa_key2;
	const struct buf *enc_key;	/* 32 bytes */
	const struct buf *enc_key2;
	uint32_t enc_gen, enc_gen2;
	const struct buf *seed_ca_key;	/* kubernetes CA key (PEM), only in
					 * signingMode controller-manager */
	const struct buf *etcd_crl;	/* etcd members: the etcd CA's
					 * current CRL, DER (signing_crl_der) */
	/*
	 * The appliance's artifacts (artifact.h): install.sh fetches the
	 * node's binaries and images from endpoint_url with the node's
	 * certificate, pinned to endpoint_pin (the serving key's, as in the
	 * one-liner). NULL, or no URL or pin: install.sh fetches nothing.
	 */
	const struct artifact_list *arts;
	const char *endpoint_url;	/* "https://ADDR:PORT" */
	const char *endpoint_pin;	/* base64 SHA-256 of the key's SPKI */
	time_t now;
	/*
	 * 0: the whole bundle. Else a fleet delivery: BUNDLE_SCOPE_PARTIAL |
	 * BUNDLE_SCOPE_ID(ident) of each certificate to re-issue; every other
	 * file (trust bundles, configs, units, install.sh) is rendered as
	 * usual, and the files of certificates outside the scope (their key
	 * pairs, the kubeconfigs that embed them) are left out, so the node
	 * keeps the ones it has.
	 */
	uint64_t scope;
	unsigned int threads;		/* for this node's keys: 0 = every
					 * CPU; 1 when the caller renders many
					 * nodes in parallel itself */
};

#define BUNDLE_SCOPE_PARTIAL (1ULL << 63)
#define BUNDLE_SCOPE_ID(ident) (1ULL << (ident))
/* The scope bit of the bundle certificate recorded with purpose (as
 * bundle_record writes it); 0 if no bundle certificate has that purpose. */
uint64_t bundle_scope_of_purpose(const char *purpose);

int bundle_render(const struct bundle_input *in, struct bundle **out,
    struct slw_diag *d);
/*
 * The files of a master's bundle that carry the cluster's keys, exactly as
 * bundle_render writes them (sa.key, sa.pub, encryption-config.yaml), and
 * nothing else: what a key rotation compares a node's files with. Uses
 * in->inv, in->node and the key fields only (no signer, no token).
 */
int bundle_render_keys(const struct bundle_input *in, struct bundle **out,
    struct slw_diag *d);
/* Points in's key fields at a master's keys (keyset_load of each set). */
struct keyset_keys;
void bundle_input_keys(struct bundle_input *in, const struct keyset_keys *sa,
    const struct keyset_keys *enc);
void bundle_free(struct bundle *b);

/* Writes every file under root (root + path), creating directories. */
int bundle_write_dir(const struct bundle *b, const char *root,
    struct slw_diag *d);
/* gzip-compressed tar (libarchive), paths relative to / with modes. */
int bundle_write_targz(const struct bundle *b, struct buf *out,
    struct slw_diag *d);
/* "SHA256HEX  PATH\n" per file, in path order (as sha256sum prints them). */
int bundle_manifest(const struct bundle *b, struct buf *out);
/* Records every certificate of the bundle in the caller's transaction. */
int bundle_record(struct store_txn *t, const struct bundle *b,
    const char *actor);

/* The file at path, NULL if the bundle has none. */
const struct bundle_file *bundle_find(const struct bundle *b,
    const char *path);
/* Copies data into a new file of the bundle. */
int bundle_add(struct bundle *b, const char *path, unsigned int mode,
    const char *owner, int secret, const void *data, size_t len);
/* The same, taking data (moved out of, freed on every path). */
int bundle_add_move(struct bundle *b, const char *path, unsigned int mode,
    const char *owner, int secret, struct buf *data);

#endif
