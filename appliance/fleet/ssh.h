/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ssh.h: slipway's SSH client (libssh2): the appliance's own key, host keys
 * pinned before anything runs, remote commands with connect and command
 * timeouts and capped output. The appliance key is ECDSA P-256: Debian 12's
 * libssh2 1.10 signs user authentication with ecdsa-sha2-nistp256 (its RSA
 * user authentication is ssh-rsa/SHA-1 only, which OpenSSH 8.8+ refuses).
 */
#ifndef SLW_SSH_H
#define SLW_SSH_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "key.h"
#include "store.h"

#define SSH_KEY_SECRET "ssh/appliance-key"	/* store_secret_put name */
#define SSH_KEYLINE_MAX 1024		/* "type base64 comment" */
#define SSH_HOSTKEY_BLOB_MAX 2048
#define SSH_TYPE_MAX 32
#define SSH_FP_MAX 64			/* "SHA256:" + 43 base64 chars */

/* A host key: its algorithm name and wire-format blob. */
struct ssh_hostkey {
	char type[SSH_TYPE_MAX];	/* "ssh-ed25519", "ecdsa-sha2-nistp256" */
	uint8_t blob[SSH_HOSTKEY_BLOB_MAX];
	size_t len;
};

/*
 * Parses an OpenSSH public key line ("type base64 [comment]"), checking
 * that the blob names the same type. Untrusted input: no I/O, capped at
 * SSH_KEYLINE_MAX bytes.
 */
int ssh_hostkey_parse(const char *line, size_t len, struct ssh_hostkey *out,
    struct slw_diag *d);
/* "type base64" (no comment). */
int ssh_hostkey_format(const struct ssh_hostkey *k, char *out, size_t len);
/* OpenSSH-style fingerprint: "SHA256:" + unpadded base64. */
void ssh_hostkey_fingerprint(const struct ssh_hostkey *k, char out[SSH_FP_MAX]);
int ssh_hostkey_equal(const struct ssh_hostkey *a, const struct ssh_hostkey *b);

/*
 * The appliance's key (ECDSA P-256), sealed in the store as SSH_KEY_SECRET.
 * ssh_key_get_or_create needs a write transaction; it creates the key (and
 * an audit record) only when there is none. pem gets the private key (SEC1
 * PEM, what libssh2 reads); wipe it with buf_free.
 */
int ssh_key_get_or_create(struct store_txn *t, const char *actor,
    struct buf *pem, int *created);
int ssh_key_get(struct store_txn *t, struct buf *pem);
/* "ecdsa-sha2-nistp256 AAAA... comment" for authorized_keys. */
int ssh_key_publine(const struct buf *pem, const char *comment, char *out,
    size_t len);

/* Process-wide start-up (libssh2_init); call once before any thread. */
int ssh_global_init(void);

struct ssh_conn;

struct ssh_opts {
	const char *host;		/* IP address */
	uint16_t port;
	const char *user;
	const struct buf *key_pem;	/* the appliance key */
	/* The pinned host key; NULL: none (then accept_new decides). */
	const struct ssh_hostkey *pinned;
	int accept_new;			/* no pin: take what is offered */
	int connect_timeout_ms;		/* TCP + handshake + auth */
};

/*
 * Connects, checks the host key and authenticates. A host key that does not
 * match the pin fails with SLW_ERR_VERIFY before authentication (nothing
 * is sent but the key exchange); with no pin and !accept_new it fails with
 * SLW_ERR_DENIED. *seen gets the offered key in either case (when the key
 * exchange got that far), so that a new key can be recorded.
 */
int ssh_connect(const struct ssh_opts *o, struct ssh_conn **out,
    struct ssh_hostkey *seen, struct slw_diag *d);
void ssh_close(struct ssh_conn *c);

/* What a remote command did. out keeps at most head + tail bytes. */
struct ssh_result {
	int exit_status;		/* -1 if none (signal, timeout) */
	char exit_signal[32];		/* "KILL" or "" */
	int timed_out;
	struct buf out;			/* stdout + stderr, merged, capped */
	size_t out_total;		/* bytes the command wrote */
	int truncated;
};

#define SSH_OUT_HEAD 1024
#define SSH_OUT_TAIL 3072

/*
 * Runs cmd (a shell command line for the login shell) and writes in (may be
 * NULL) to its standard input, then EOF. Fails only when the command could
 * not be run or waited for (connection lost, timeout: res->timed_out); a
 * non-zero exit status is a result, not an error.
 */
int ssh_exec(struct ssh_conn *c, const char *cmd, const void *in,
    size_t inlen, int timeout_ms, struct ssh_result *res,
    struct slw_diag *d);
void ssh_result_free(struct ssh_result *res);

/*
 * Keeps the first head and the last tail bytes of a stream whose total
 * length is unknown in advance (the capped output of a command).
 */
struct ssh_cap {
	struct buf head;
	uint8_t *ring;
	size_t ring_cap, ring_len, ring_pos;
	size_t head_cap, total;
};

int ssh_cap_init(struct ssh_cap *c, size_t head, size_t tail);
int ssh_cap_add(struct ssh_cap *c, const void *p, size_t len);
/* head, "\n[... N bytes omitted ...]\n", tail. Frees the cap. */
int ssh_cap_finish(struct ssh_cap *c, struct buf *out, int *truncated,
    size_t *total);
void ssh_cap_free(struct ssh_cap *c);

#endif
