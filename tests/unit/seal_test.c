// SPDX-License-Identifier: Apache-2.0
/*
 * seal_test.c: AES-256-GCM sealing: round trip, wrong key, wrong record id
 * (AAD), a flipped bit anywhere, truncation; KEK files: mode, format.
 */
#include "testutil.h"

#include "seal.h"

#include <sys/stat.h>

static void
test_roundtrip(void **st)
{
	struct kek k;
	struct buf blob = { 0 }, pt = { 0 };
	const char secret[] = "the CA private key bytes";

	(void)st;
	assert_int_equal(kek_generate(&k), 0);
	assert_int_equal(seal(&k, "ca/kubernetes/1", (const uint8_t *)secret,
	    sizeof(secret), &blob), 0);
	assert_int_equal(blob.len, sizeof(secret) + SEAL_OVERHEAD);
	assert_null(tu_memmem(blob.data, blob.len, "private", 7));
	assert_int_equal(seal_open(&k, "ca/kubernetes/1", blob.data, blob.len, &pt), 0);
	assert_memory_equal(pt.data, secret, sizeof(secret));
	buf_free(&pt);
	buf_free(&blob);
	kek_wipe(&k);
}

static void
test_wrong_key_aad_bits(void **st)
{
	struct kek k, other;
	struct buf blob = { 0 }, pt = { 0 };
	size_t i;

	(void)st;
	kek_generate(&k);
	kek_generate(&other);
	assert_int_equal(seal(&k, "secrets/x", (const uint8_t *)"abc", 3, &blob), 0);
	assert_int_equal(seal_open(&other, "secrets/x", blob.data, blob.len, &pt),
	    SLW_ERR_CORRUPT);
	assert_int_equal(seal_open(&k, "secrets/y", blob.data, blob.len, &pt),
	    SLW_ERR_CORRUPT);
	for (i = 0; i < blob.len * 8; i++) {
		blob.data[i / 8] ^= (uint8_t)(1 << (i % 8));
		assert_int_equal(seal_open(&k, "secrets/x", blob.data, blob.len, &pt),
		    SLW_ERR_CORRUPT);
		blob.data[i / 8] ^= (uint8_t)(1 << (i % 8));
	}
	for (i = 0; i < blob.len; i++)
		assert_int_equal(seal_open(&k, "secrets/x", blob.data, i, &pt),
		    SLW_ERR_CORRUPT);
	assert_null(pt.data);
	assert_int_equal(seal_open(&k, "secrets/x", blob.data, blob.len, &pt), 0);
	buf_free(&pt);
	buf_free(&blob);
}

static void
test_kek_files(void **st)
{
	char *dir = tu_tmpdir(), path[4200];
	struct kek k, l;
	struct slw_diag d;

	(void)st;
	snprintf(path, sizeof(path), "%s/kek", dir);
	slw_diag_clear(&d);
	assert_int_equal(kek_load(path, &l, &d), SLW_ERR_NOKEK);
	assert_non_null(strstr(d.msg, "No such file"));
	kek_generate(&k);
	assert_int_equal(kek_save(path, &k, NULL), 0);
	{
		struct stat sb;

		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
	}
	assert_int_equal(kek_save(path, &k, NULL), SLW_ERR_EXISTS);
	assert_int_equal(kek_load(path, &l, NULL), 0);
	assert_memory_equal(k.key, l.key, KEK_LEN);
	assert_memory_equal(k.audit_key, l.audit_key, 32);
	chmod(path, 0644);
	slw_diag_clear(&d);
	assert_int_equal(kek_load(path, &l, &d), SLW_ERR_PERM);
	assert_non_null(strstr(d.msg, "0600"));
	/* malformed contents */
	tu_write(path, "SLIPWAY-KEK-1 zz\n", 17);
	assert_int_equal(kek_load(path, &l, NULL), SLW_ERR_NOKEK);
	tu_write(path, "not a key at all, but 79 bytes long.................."
	    "..........................", 79);
	slw_diag_clear(&d);
	assert_int_equal(kek_load(path, &l, &d), SLW_ERR_NOKEK);
	assert_non_null(strstr(d.msg, "not a slipway key-encryption key"));
	tu_rmrf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_wrong_key_aad_bits),
		cmocka_unit_test(test_kek_files),
	};

	slw_crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
