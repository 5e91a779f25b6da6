/* SPDX-License-Identifier: Apache-2.0 */
/*
 * err.h: the one error convention of slipway. Functions return 0 on success
 * or a negative SLW_ERR_* code; a caller-supplied struct slw_diag may carry a
 * one-line human reason. A diag message must never contain a secret.
 */
#ifndef SLW_ERR_H
#define SLW_ERR_H

#include <stddef.h>

enum {
	SLW_OK = 0,
	SLW_ERR_INTERNAL = -1,	/* a bug or an unexpected library failure */
	SLW_ERR_NOMEM = -2,
	SLW_ERR_INVALID = -3,	/* bad argument or bad input */
	SLW_ERR_PARSE = -4,	/* malformed encoding (PEM, DER, YAML, JSON) */
	SLW_ERR_CRYPTO = -5,
	SLW_ERR_VERIFY = -6,	/* signature or chain does not verify */
	SLW_ERR_NOTFOUND = -7,
	SLW_ERR_EXISTS = -8,
	SLW_ERR_IO = -9,
	SLW_ERR_STORE = -10,	/* LMDB failure */
	SLW_ERR_FULL = -11,	/* store map cannot grow further */
	SLW_ERR_KEK = -12,	/* wrong key-encryption key */
	SLW_ERR_NOKEK = -13,	/* key-encryption key missing or unusable */
	SLW_ERR_CORRUPT = -14,	/* stored data fails its integrity check */
	SLW_ERR_PERM = -15,	/* permission denied by the OS */
	SLW_ERR_TOOBIG = -16,
	SLW_ERR_DENIED = -17,	/* refused by policy */
	SLW_ERR_EXPIRED = -18,
	SLW_ERR_BUSY = -19,
	SLW_ERR_SCHEMA = -20,	/* store schema version unknown */
	SLW_ERR_UNSUPPORTED = -21,
	SLW_ERR_AUTH = -22,	/* authentication failed (token) */
	SLW_ERR_LIMIT = -23,	/* rate or resource limit reached */
	SLW_ERR_NOSPACE = -24,	/* the filesystem is full */
};

/* The last code: SLW_ERR_* run from -1 down to this. */
#define SLW_ERR_LAST SLW_ERR_NOSPACE

#define SLW_DIAG_MAX 320

struct slw_diag {
	char msg[SLW_DIAG_MAX];
};

const char *slw_strerror(int err);

/* Sets d->msg (if d != NULL) unless a message is already set. Returns err. */
int slw_diag(struct slw_diag *d, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like slw_diag but always overwrites. */
int slw_diag_set(struct slw_diag *d, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void slw_diag_clear(struct slw_diag *d);
/* The message if set, else slw_strerror(err). */
const char *slw_diag_str(const struct slw_diag *d, int err);

#endif
