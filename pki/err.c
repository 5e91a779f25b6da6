// SPDX-License-Identifier: Apache-2.0
/*
 * err.c: error strings and the diagnostic buffer. Never formats secrets:
 * callers pass only names, paths and reasons.
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

const char *
slw_strerror(int err)
{
	switch (err) {
	case SLW_OK: return "success";
	case SLW_ERR_INTERNAL: return "internal error";
	case SLW_ERR_NOMEM: return "out of memory";
	case SLW_ERR_INVALID: return "invalid input";
	case SLW_ERR_PARSE: return "malformed input";
	case SLW_ERR_CRYPTO: return "cryptographic operation failed";
	case SLW_ERR_VERIFY: return "verification failed";
	case SLW_ERR_NOTFOUND: return "not found";
	case SLW_ERR_EXISTS: return "already exists";
	case SLW_ERR_IO: return "I/O error";
	case SLW_ERR_STORE: return "store error";
	case SLW_ERR_FULL: return "store is full";
	case SLW_ERR_KEK: return "wrong key-encryption key";
	case SLW_ERR_NOKEK: return "key-encryption key missing";
	case SLW_ERR_CORRUPT: return "stored data is corrupt";
	case SLW_ERR_PERM: return "permission denied";
	case SLW_ERR_TOOBIG: return "input too large";
	case SLW_ERR_DENIED: return "denied by policy";
	case SLW_ERR_EXPIRED: return "expired";
	case SLW_ERR_BUSY: return "busy";
	case SLW_ERR_SCHEMA: return "unsupported store schema version";
	case SLW_ERR_UNSUPPORTED: return "unsupported";
	case SLW_ERR_AUTH: return "authentication failed";
	case SLW_ERR_LIMIT: return "limit reached";
	case SLW_ERR_NOSPACE: return "disk full";
	default: return "unknown error";
	}
}

static int
vdiag(struct slw_diag *d, int overwrite, int err, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static int
vdiag(struct slw_diag *d, int overwrite, int err, const char *fmt, va_list ap)
{
	if (d == NULL || (!overwrite && d->msg[0] != '\0'))
		return err;
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	return err;
}

int
slw_diag(struct slw_diag *d, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(d, 0, err, fmt, ap);
	va_end(ap);
	return err;
}

int
slw_diag_set(struct slw_diag *d, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(d, 1, err, fmt, ap);
	va_end(ap);
	return err;
}

void
slw_diag_clear(struct slw_diag *d)
{
	if (d != NULL)
		d->msg[0] = '\0';
}

const char *
slw_diag_str(const struct slw_diag *d, int err)
{
	if (d != NULL && d->msg[0] != '\0')
		return d->msg;
	return slw_strerror(err);
}
