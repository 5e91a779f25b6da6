// SPDX-License-Identifier: Apache-2.0
/*
 * unseal_wrap.c: a new appliance's KEK, stored only wrapped (unseal.h,
 * `slipway init --sealed`): a fresh KEK, a recovery passphrase, the
 * operator's passphrase if there is one, the TPM if there is one, all in
 * STATE/kek.wrapped before the store exists. Also the one way a
 * passphrase is read from a file. Never prints; wipes the passphrases.
 */
#include "unseal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

int
unseal_pass_read(const char *path, char *out, size_t *len,
    struct slw_diag *d)
{
	struct buf b = { 0 };
	size_t n;
	int r;

	*len = 0;
	if ((r = buf_read_file(&b, path, KEKWRAP_PASS_MAX + 2)) != 0) {
		buf_free(&b);
		return slw_diag(d, r == SLW_ERR_TOOBIG ? SLW_ERR_INVALID : r,
		    r == SLW_ERR_TOOBIG ? "%s: a passphrase has at most %d bytes" :
		    "cannot read %s", path, KEKWRAP_PASS_MAX);
	}
	/* the first line, without its line end */
	n = 0;
	while (n < b.len && b.data[n] != '\n')
		n++;
	if (n > 0 && b.data[n - 1] == '\r')
		n--;
	if ((r = kekwrap_pass_check((const char *)b.data, n, d)) == 0) {
		memcpy(out, b.data, n);
		out[n] = '\0';
		*len = n;
	}
	buf_free(&b);
	return r;
}

int
unseal_wrap_new(const char *state, const struct unseal_wrap_opts *o,
    struct kek *k, char recovery[KEKWRAP_RECOVERY_LEN + 1],
    int *to_tpm, struct slw_diag *d)
{
	struct kekwrap w;
	struct buf pub = { 0 }, priv = { 0 };
	struct slw_diag td;
	char path[4200];
	int r;

	*to_tpm = 0;
	memset(&w, 0, sizeof(w));
	if (snprintf(path, sizeof(path), "%s/%s", state, UNSEAL_WRAPPED_NAME) >=
	    (int)sizeof(path))
		return slw_diag(d, SLW_ERR_INVALID, "state path too long");
	if (mkdir(state, 0700) != 0 && errno != EEXIST)
		return slw_diag(d, errno == EACCES ? SLW_ERR_PERM : SLW_ERR_IO,
		    "cannot create %s: %s", state, strerror(errno));
	if ((r = kek_generate(k)) != 0 ||
	    (r = kekwrap_recovery_new(recovery)) != 0 ||
	    (r = kekwrap_set_pass(&w, KEKWRAP_RECOVERY, k, recovery,
	    KEKWRAP_RECOVERY_LEN, o->cost, d)) != 0)
		goto out;
	if (o->pass != NULL && (r = kekwrap_set_pass(&w, KEKWRAP_PASSPHRASE, k,
	    o->pass, o->pass_len, o->cost, d)) != 0)
		goto out;
	if (o->tpm != UNSEAL_TPM_OFF) {
		slw_diag_clear(&td);
		r = tpm_seal(k, &pub, &priv, &td);
		if (r == 0)
			r = kekwrap_set_tpm(&w, 0, pub.data, pub.len, priv.data,
			    priv.len);
		if (r == 0)
			*to_tpm = 1;
		else if (o->tpm == UNSEAL_TPM_ON) {
			r = slw_diag(d, r, "--tpm on: %s", slw_diag_str(&td, r));
			goto out;
		}
	}
	/* nothing uses an older file without a store: a failed init's */
	if ((r = kekwrap_save(path, &w, 0, d)) != 0)
		goto out;
	r = 0;
 out:
	if (r != 0) {
		kek_wipe(k);
		mbedtls_platform_zeroize(recovery, KEKWRAP_RECOVERY_LEN + 1);
	}
	buf_free(&pub);
	buf_free(&priv);
	kekwrap_wipe(&w);
	return r;
}
