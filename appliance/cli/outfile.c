// SPDX-License-Identifier: Apache-2.0
/*
 * outfile.c: PEM files for issued certificates. Keys are written 0600 and
 * never over an existing file; the key buffer is wiped after writing.
 */
#include "outfile.h"
#include "cert.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
paths(const char *prefix, char cert[PATH_MAX], char key[PATH_MAX])
{
	return snprintf(cert, PATH_MAX, "%s.pem", prefix) >= PATH_MAX ||
	    snprintf(key, PATH_MAX, "%s-key.pem", prefix) >= PATH_MAX ?
	    SLW_ERR_INVALID : 0;
}

int
outfile_check(const char *prefix, char *why, size_t whylen)
{
	char cert[PATH_MAX], key[PATH_MAX], dir[PATH_MAX], *slash;
	struct stat st;

	if (prefix[0] == '\0' || paths(prefix, cert, key) != 0) {
		snprintf(why, whylen, "invalid output prefix");
		return SLW_ERR_INVALID;
	}
	snprintf(dir, sizeof(dir), "%s", prefix);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "output directory %s does not exist", dir);
		return SLW_ERR_NOTFOUND;
	}
	if (access(dir, W_OK) != 0) {
		snprintf(why, whylen, "output directory %s is not writable", dir);
		return SLW_ERR_PERM;
	}
	if (access(cert, F_OK) == 0 || access(key, F_OK) == 0) {
		snprintf(why, whylen, "%s or %s already exists; not overwriting",
		    cert, key);
		return SLW_ERR_EXISTS;
	}
	return 0;
}

int
outfile_write(const char *prefix, const struct issued *iss,
    const struct buf *chain_pem, char *why, size_t whylen)
{
	char cert[PATH_MAX], key[PATH_MAX];
	struct buf pem = { 0 }, kpem = { 0 };
	int r;

	if ((r = paths(prefix, cert, key)) != 0)
		return r;
	if ((r = cert_pem_append(&pem, iss->der.data, iss->der.len)) != 0)
		goto out;
	if (chain_pem != NULL && chain_pem->len > 0 &&
	    (r = buf_append(&pem, chain_pem->data, chain_pem->len)) != 0)
		goto out;
	if (iss->key != NULL) {
		if ((r = key_write_pem(iss->key, &kpem)) != 0)
			goto out;
		if ((r = buf_write_file(key, kpem.data, kpem.len, 0600, 1)) != 0) {
			snprintf(why, whylen, "cannot write %s: %s", key,
			    slw_strerror(r));
			goto out;
		}
	}
	if ((r = buf_write_file(cert, pem.data, pem.len, 0644, 1)) != 0)
		snprintf(why, whylen, "cannot write %s: %s", cert,
		    slw_strerror(r));
 out:
	buf_free(&pem);
	buf_free(&kpem);
	return r;
}
