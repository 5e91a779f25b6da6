/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_redeem.h: what the HTTPS endpoint does with a token: check it,
 * issue what it entitles to (a node's bundle, or a certificate for a CSR),
 * and consume it in the same LMDB write transaction that records the
 * issuance (store_submit, so concurrent redemptions share commits).
 *
 * Keys and certificates are made outside any transaction; the commit
 * re-checks the token, so correctness never depends on an in-memory guard:
 * of many racing redemptions of one token exactly one commits, the others
 * get SLW_ERR_AUTH and whatever they made is discarded unrecorded (it never
 * left the process). Signing goes through bootstrap/signing.h only.
 *
 * Issuance records live in DB_ISSUANCE under SHA-256(token id) || be64(1):
 * one per consumed token, written with the token's new state.
 */
#ifndef SLW_HTTP_REDEEM_H
#define SLW_HTTP_REDEEM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "cert.h"
#include "csr.h"
#include "inventory.h"
#include "signing.h"
#include "store.h"
#include "token.h"

#define REDEEM_MAX_CERTS 32
#define REDEEM_ACTOR "serve"

/* The certificates one redemption issued. */
struct redeem_issued {
	size_t n;
	uint8_t serial[REDEEM_MAX_CERTS][SERIAL_LEN];
	char purpose[REDEEM_MAX_CERTS][64];
};

/* The issuance record of a consumed token. */
struct issuance {
	char token_id[TOKEN_ID_LEN + 1];
	char node[INV_NAME_MAX];
	char endpoint[16];		/* "bundle", "enroll" */
	char peer[TOKEN_PEER_MAX];
	time_t time;
	uint64_t scope;			/* the token's (token.h) */
	struct redeem_issued iss;
};

int redeem_issuance_put(struct store_txn *t, const struct token_info *ti,
    const struct issuance *is);
/* SLW_ERR_NOTFOUND if the token has no issuance record. */
int redeem_issuance_get(struct store_txn *t, const uint8_t key[TOKEN_KEY_LEN],
    struct issuance *out);

/*
 * The files a bundle redemption served, kept beside its issuance record
 * (DB_MANIFESTS, SHA-256(token id); DB_ISSUANCE holds exactly one record
 * per redeemed token and nothing else): one "SHA256HEX  PATH" line
 * per file, as sha256sum prints them, so the fleet engine can read back
 * what the node installed and compare. Hashes only: never a file's bytes
 * (a key's hash does not give the key). At most REDEEM_MANIFEST_MAX bytes.
 */
#define REDEEM_MANIFEST_MAX (64 * 1024)
int redeem_manifest_put(struct store_txn *t, const uint8_t key[TOKEN_KEY_LEN],
    const struct buf *manifest);
int redeem_manifest_get(struct store_txn *t, const uint8_t key[TOKEN_KEY_LEN],
    struct buf *out);

/*
 * How a node's bundle is produced. render runs outside any transaction
 * (key generation and signing; the private keys exist only in the result);
 * record runs once, inside the consuming transaction, and changes the store
 * only through t (whether its changes last is the commit's result). release
 * wipes whatever render made.
 */
struct redeem_bundle_ops {
	/* scope: the token's (token.h: 0 the whole bundle) */
	int (*render)(void *cls, struct signing *sg, const struct inv_node *node,
	    uint64_t scope, time_t now, void **state, struct buf *targz,
	    struct redeem_issued *iss, struct slw_diag *d);
	int (*record)(void *cls, void *state, struct store_txn *t,
	    const char *actor);
	/* the manifest of what render made (may be NULL: none is kept) */
	int (*manifest)(void *cls, void *state, struct buf *out);
	void (*release)(void *cls, void *state);
	void *cls;
};

/*
 * The real bundle source (bootstrap/bundle.h): unseals the cluster secrets
 * master bundles need once; seed_ca_key is the kubernetes CA key in PEM,
 * given only when the inventory's signingMode is controller-manager.
 */
int redeem_bundle_src_new(struct store *s, const struct inventory *inv,
    const struct buf *seed_ca_key, struct redeem_bundle_ops *ops,
    struct slw_diag *d);
void redeem_bundle_src_free(struct redeem_bundle_ops *ops);

struct redeem {
	struct store *s;
	const struct inventory *inv;
	struct redeem_bundle_ops bundle;
	/* the signer: held shared by each redemption, swapped after a CA
	 * rotation step (redeem_signing_refresh) */
	pthread_rwlock_t sg_lock;
	struct signing *sg;
	uint8_t sg_fp[32];		/* what the CAs looked like at load */
	uint64_t sg_epoch;		/* the store's CA epoch then */
	/* more series for the metrics listener (PS_METRICS_ALL), appended
	 * to out; NULL: none. Called from any channel's thread. */
	int (*metrics_more)(void *cls, struct buf *out);
	void *metrics_cls;
	/* STATE/artifacts (O_PATH, taken before the privilege drop); -1 */
	int art_dirfd;
};

/* Takes ownership of sg (also on failure). bundle ops are set by the caller. */
int redeem_init(struct redeem *rd, struct store *s, const struct inventory *inv,
    struct signing *sg, struct slw_diag *d);
/* Frees the signer (not the bundle ops). */
void redeem_fini(struct redeem *rd);
/*
 * If the CAs changed since the signer was loaded (a rotation made another
 * generation current, or the trust bundle changed), loads a new signer and
 * swaps it in once no redemption holds the old one. 1: swapped, 0: no
 * change, < 0: error (the old signer stays).
 */
int redeem_signing_refresh(struct redeem *rd, struct slw_diag *d);

struct redeem_req {
	const char *token;		/* untrusted, not NUL-terminated */
	size_t token_len;
	const char *peer;		/* client address (text) */
	const char *node;		/* optional ?node=NAME, else NULL */
	time_t now;
};

struct redeem_res {
	struct token_info ti;		/* public fields, for logs */
	enum token_fail why;
	struct buf body;		/* tar.gz, or the PEM chain */
	struct redeem_issued iss;
};

/*
 * Read-only check of a token (no state change). 0, or SLW_ERR_AUTH with
 * res->why, or a store error.
 */
int redeem_precheck(struct redeem *rd, const struct redeem_req *q,
    struct redeem_res *res, struct slw_diag *d);
/*
 * GET /v1/bundle. 0: res->body is the tar.gz and the token is consumed.
 * SLW_ERR_AUTH: token refused (res->why). Others: internal failure,
 * nothing written.
 */
int redeem_bundle(struct redeem *rd, const struct redeem_req *q,
    struct redeem_res *res, struct slw_diag *d);
/*
 * POST /v1/enroll. 0: res->body is leaf + CA chain (PEM) and the token is
 * consumed. SLW_ERR_AUTH: token refused. SLW_ERR_PARSE / SLW_ERR_INVALID:
 * the body is not a CSR (400). SLW_ERR_TOOBIG: over CSR_MAX_LEN (413).
 * SLW_ERR_DENIED: the CSR asks for an identity that is not this node's
 * (403, reason in d). Nothing is written unless 0.
 */
int redeem_enroll(struct redeem *rd, const struct redeem_req *q,
    const uint8_t *csr, size_t len, struct redeem_res *res,
    struct slw_diag *d);
void redeem_res_free(struct redeem_res *res);

/* ---- GET /v1/artifacts/<sha256> (redeem_artifact.c) ---- */

#define REDEEM_NODE_CERT_MAX (16 * 1024)	/* DER of a node certificate */

struct redeem_artifact_res {
	int fd;				/* the artifact's file (caller closes) */
	uint64_t size;
	int image;			/* an image tarball, not a binary */
	char name[64];			/* "kubelet" */
	char node[INV_NAME_MAX];	/* whose certificate it was */
};

/*
 * Checks the node certificate the network child verified at the TLS
 * layer (its DER, forwarded) on its own, with the monitor's clock and
 * records: it must chain to the kubernetes CA (any trusted generation),
 * be for client authentication, be valid at now, be the very certificate
 * recorded under its serial with purpose slipway-node for a node of the
 * inventory, and not be revoked. Then opens the artifact through
 * rd->art_dirfd. 0: res->fd is open. SLW_ERR_AUTH (401): the certificate
 * does not pass (d says why, for the log); SLW_ERR_NOTFOUND (404): it does,
 * but no such artifact (or its file is gone). The node is never told which
 * check failed.
 */
int redeem_artifact(struct redeem *rd, const uint8_t sha256[32],
    const uint8_t *der, size_t der_len, time_t now,
    struct redeem_artifact_res *res, struct slw_diag *d);

/*
 * The enrollment policy (pure, fuzzable): which certificate a node may get
 * for its own key. Subject exactly O=system:nodes, CN=system:node:<node>
 * (C/ST/L/OU, if present, must be the inventory's); no SANs: a kubelet
 * client certificate; SANs (DNS: the node's name or extra names, IP: its
 * address; nothing else): a kubelet serving certificate. Keys: ECDSA
 * P-256/P-384 or RSA 2048-4096. Fills t (profile storage in prof) and
 * *purpose, or returns SLW_ERR_DENIED with the rule that failed in d.
 */
int redeem_enroll_policy(const struct inventory *inv, const struct inv_node *node,
    const struct csr *csr, struct profile *prof, struct cert_template *t,
    const char **purpose, struct slw_diag *d);

#endif
