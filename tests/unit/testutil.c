// SPDX-License-Identifier: Apache-2.0
/* testutil.c: helpers shared by the unit tests (see testutil.h). */
#define _XOPEN_SOURCE 700
#include "testutil.h"

#include <ftw.h>
#include <sys/stat.h>

#include <mbedtls/x509_csr.h>

#include "cluster.h"
#include "rand.h"
#include "store.h"

time_t tu_now_value;

time_t
tu_fixed_now(void)
{
	return tu_now_value;
}

char *
tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *p = malloc(4096);

	assert_non_null(p);
	snprintf(p, 4096, "%s/slw-unit-XXXXXX", base && *base ? base : "/tmp");
	assert_non_null(mkdtemp(p));
	return p;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
tu_rmrf(const char *path)
{
	chmod(path, 0700);
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
tu_write(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	fclose(f);
	chmod(path, 0600);
}

void
tu_make_csr(struct key *k, const char *subject, const char **dns,
    size_t n_dns, int der, struct buf *out)
{
	mbedtls_x509write_csr w;
	mbedtls_x509_san_list nodes[16];
	unsigned char tmp[8192];
	size_t i;
	int n;

	mbedtls_x509write_csr_init(&w);
	mbedtls_x509write_csr_set_key(&w, &k->pk);
	mbedtls_x509write_csr_set_md_alg(&w, MBEDTLS_MD_SHA256);
	assert_int_equal(mbedtls_x509write_csr_set_subject_name(&w, subject), 0);
	assert_true(n_dns <= 16);
	for (i = 0; i < n_dns; i++) {
		memset(&nodes[i], 0, sizeof(nodes[i]));
		nodes[i].node.type = MBEDTLS_X509_SAN_DNS_NAME;
		nodes[i].node.san.unstructured_name.p = (unsigned char *)dns[i];
		nodes[i].node.san.unstructured_name.len = strlen(dns[i]);
		nodes[i].next = i + 1 < n_dns ? &nodes[i + 1] : NULL;
	}
	if (n_dns > 0)
		assert_int_equal(mbedtls_x509write_csr_set_subject_alternative_name(
		    &w, nodes), 0);
	if (der) {
		n = mbedtls_x509write_csr_der(&w, tmp, sizeof(tmp), slw_rng, NULL);
		assert_true(n > 0);
		assert_int_equal(buf_set(out, tmp + sizeof(tmp) - n, (size_t)n), 0);
	} else {
		assert_int_equal(mbedtls_x509write_csr_pem(&w, tmp, sizeof(tmp),
		    slw_rng, NULL), 0);
		assert_int_equal(buf_set(out, tmp, strlen((char *)tmp)), 0);
	}
	mbedtls_x509write_csr_free(&w);
}

void *
tu_memmem(const void *h, size_t hl, const void *n, size_t nl)
{
	const uint8_t *p = h;
	size_t i;

	if (nl == 0 || nl > hl)
		return NULL;
	for (i = 0; i + nl <= hl; i++)
		if (memcmp(p + i, n, nl) == 0)
			return (void *)(p + i);
	return NULL;
}

void
tu_init_state(const char *dir, struct store **st, struct inventory **inv)
{
	char cmd[9000], statedir[4200];
	const char *bin = getenv("SLIPWAY");
	struct store_opts o;

	assert_non_null(bin);
	snprintf(statedir, sizeof(statedir), "%s/state", dir);
	snprintf(cmd, sizeof(cmd), "'%s' --state '%s' init --cluster '%s' "
	    ">/dev/null", bin, statedir, SLW_EXAMPLES_DIR "/seed-cluster.yaml");
	assert_int_equal(system(cmd), 0);
	memset(&o, 0, sizeof(o));
	o.need_kek = 1;
	assert_int_equal(store_open(statedir, &o, st, NULL), 0);
	assert_int_equal(cluster_load(*st, inv, NULL), 0);
}
