/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unseal.h: a sealed appliance (docs/appliance.md). The KEK is stored only
 * wrapped (pki/kekwrap.h, STATE/kek.wrapped); `slipway serve` starts
 * without it and listens on a local unix socket (unseal_msg.h) where
 * `slipway unseal` hands it a passphrase or the TPM's KEK. Only root and
 * the operator group may speak on it (peer credentials, checked before a
 * byte is read). Wrong passphrases: three tries, then each further try
 * waits twice as long as the one before. Once unsealed, serve hands the
 * KEK to console commands that ask (the same peers), so it is never
 * written to a disk in clear.
 */
#ifndef SLW_UNSEAL_H
#define SLW_UNSEAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "kekwrap.h"
#include "seal.h"
#include "store.h"

/* the socket serve listens on unless told otherwise ($SLIPWAY_UNSEAL_SOCKET) */
#define UNSEAL_SOCKET_DEFAULT "/run/slipway/unseal.sock"
/* the wrapped KEK in a state directory */
#define UNSEAL_WRAPPED_NAME "kek.wrapped"
/* the group whose members may unseal, besides root */
#define UNSEAL_GROUP_DEFAULT "operator"

/* ---- wrong passphrases: three free tries, then a doubling delay ---- */

#define UNSEAL_FREE_TRIES 3
#define UNSEAL_DELAY_FIRST 2	/* seconds after the third wrong try */
#define UNSEAL_DELAY_MAX 3600

struct unseal_limit {
	unsigned int fails;	/* wrong tries in a row */
	double next_ok;		/* monotonic seconds: no try before this */
};

/* Seconds to wait before a try may run at now (0: it may run). */
unsigned int unseal_limit_wait(const struct unseal_limit *l, double now);
/* A wrong try at now: from the third on, the next waits 2, 4, 8 ... s. */
void unseal_limit_fail(struct unseal_limit *l, double now);
void unseal_limit_ok(struct unseal_limit *l);

/* ---- the server, in serve's monitor ---- */

struct unseal_server_config {
	const char *socket_path;	/* made here (0666: peers are checked) */
	const char *wrapped_path;	/* STATE/kek.wrapped */
	gid_t group;			/* may unseal besides root; (gid_t)-1: root only */
	struct store *store;		/* opened without its KEK */
	/*
	 * Once the store has its KEK the server sends this signal to its own
	 * process; the monitor then starts serving and reports with
	 * unseal_server_armed. 0: no signal, armed at once.
	 */
	int notify_signal;
	void (*log)(const char *line);	/* one line, never a secret */
};

struct unseal_server;

/* Binds the socket (call before dropping privileges), starts its thread. */
int unseal_server_start(const struct unseal_server_config *c,
    struct unseal_server **out, struct slw_diag *d);
/* Stops the thread (it finishes the request in hand) and removes the socket. */
void unseal_server_stop(struct unseal_server *u);
/* 1 if a KEK was accepted and the monitor has not yet reported. */
int unseal_server_pending(struct unseal_server *u);
/* The monitor's report: 0 serving, else why not (answered to the client). */
void unseal_server_armed(struct unseal_server *u, int rc, const char *why);
/* "passphrase", "recovery passphrase", "TPM"; NULL while sealed. */
const char *unseal_server_how(struct unseal_server *u);

/* 1 if peer (uid, gid) may speak on the socket: root, or group g. */
int unseal_peer_allowed(uid_t uid, gid_t gid, gid_t g);

/* ---- the client: `slipway unseal`, console commands ---- */

/* $SLIPWAY_UNSEAL_SOCKET, else UNSEAL_SOCKET_DEFAULT. */
const char *unseal_socket_path(void);
struct unseal_msg;
/*
 * One request, one answer (ans), at most timeout_s seconds. SLW_ERR_NOTFOUND
 * if nothing listens on path (serve is not running).
 */
int unseal_call(const char *path, const struct unseal_msg *req,
    struct unseal_msg *ans, unsigned int timeout_s, struct slw_diag *d);
/* The KEK of an unsealed serve (SLW_ERR_NOKEK while sealed). */
int unseal_get_kek(const char *path, struct kek *out, struct slw_diag *d);

/* ---- a new sealed state (unseal_wrap.c): `slipway init --sealed` ---- */

enum unseal_tpm_mode {
	UNSEAL_TPM_AUTO = 0,	/* seal to the TPM if one answers */
	UNSEAL_TPM_OFF,
	UNSEAL_TPM_ON,		/* fail without a TPM */
};

struct unseal_wrap_opts {
	const char *pass;	/* the operator's passphrase, or NULL */
	size_t pass_len;
	enum unseal_tpm_mode tpm;
	const struct kekwrap_cost *cost;	/* NULL: kekwrap_cost_default */
};

/*
 * Makes a KEK (into k) and a recovery passphrase, and writes them wrapped
 * to STATE/kek.wrapped (0600; the directory is made if missing): the
 * recovery slot, the operator's if o->pass, the TPM's per o->tpm (*to_tpm
 * says whether it was). The caller creates the store with k and removes the
 * file if that fails.
 */
int unseal_wrap_new(const char *state, const struct unseal_wrap_opts *o,
    struct kek *k, char recovery[KEKWRAP_RECOVERY_LEN + 1], int *to_tpm,
    struct slw_diag *d);
/*
 * The first line of a file as a passphrase (into out, KEKWRAP_PASS_MAX + 1
 * bytes), checked by kekwrap_pass_check.
 */
int unseal_pass_read(const char *path, char *out, size_t *len,
    struct slw_diag *d);

/* ---- the TPM 2.0 (tpm.c; tpm2-tss ESAPI) ---- */

/*
 * The TCTI: $SLIPWAY_TPM_TCTI (e.g. "swtpm:port=2321" for tests), else
 * "device:/dev/tpmrm0". 1 if a TPM answers there.
 */
int tpm_present(void);
/*
 * Seals the KEK to this TPM: a sealed-data object under the owner
 * hierarchy's storage key, made inside an encrypted session. pub and priv
 * are the object's areas (marshalled) for the TPM slot of the wrapped KEK.
 */
int tpm_seal(const struct kek *k, struct buf *pub, struct buf *priv,
    struct slw_diag *d);
/* Unseals it. SLW_ERR_KEK if this TPM cannot (another TPM, cleared). */
int tpm_unseal(const uint8_t *pub, size_t pub_len, const uint8_t *priv,
    size_t priv_len, struct kek *out, struct slw_diag *d);

#endif
