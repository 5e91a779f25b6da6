// SPDX-License-Identifier: Apache-2.0
/*
 * artifact_bench_tls.c: helper of the artifact benchmark: writes slipway
 * serve's own serving certificate and key (unsealed from a test state with
 * its KEK) to PREFIX.pem and PREFIX-key.pem (0600), so that nginx, the
 * reference, serves with the very same certificate. Not part of slipway;
 * never run on a real appliance's state.
 *
 *   artifact_bench_tls STATE PREFIX
 */
#include "buf.h"
#include "cert.h"
#include "http_tls.h"
#include "key.h"
#include "store.h"

#include <stdio.h>
#include <string.h>

struct out {
	struct buf key_der, cert_der;
};

static int
read_txn(struct store_txn *t, void *arg)
{
	struct out *o = arg;
	int r;

	if ((r = store_secret_get(t, HTTP_TLS_KEY_SECRET, &o->key_der)) != 0)
		return r;
	return store_secret_get(t, HTTP_TLS_CERT_SECRET, &o->cert_der);
}

int
main(int argc, char **argv)
{
	struct store_opts so;
	struct store *s = NULL;
	struct slw_diag d;
	struct out o;
	struct key *k = NULL;
	struct buf pem = { 0 }, cpem = { 0 };
	char path[4096];
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: artifact_bench_tls STATE PREFIX\n");
		return 2;
	}
	memset(&o, 0, sizeof(o));
	memset(&so, 0, sizeof(so));
	so.need_kek = 1;
	slw_diag_clear(&d);
	if ((r = store_open(argv[1], &so, &s, &d)) != 0 ||
	    (r = store_read(s, read_txn, &o, &d)) != 0 ||
	    (r = key_parse(o.key_der.data, o.key_der.len, &k, &d)) != 0 ||
	    (r = key_write_pem(k, &pem)) != 0 ||
	    (r = cert_pem_append(&cpem, o.cert_der.data, o.cert_der.len)) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s-key.pem", argv[2]);
	if ((r = buf_write_file(path, pem.data, pem.len, 0600, 0)) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s.pem", argv[2]);
	r = buf_write_file(path, cpem.data, cpem.len, 0644, 0);
 out:
	if (r != 0)
		fprintf(stderr, "artifact_bench_tls: %s\n", slw_diag_str(&d, r));
	key_free(k);
	buf_free(&pem);
	buf_free(&cpem);
	buf_free(&o.key_der);
	buf_free(&o.cert_der);
	store_close(s);
	return r == 0 ? 0 : 1;
}
