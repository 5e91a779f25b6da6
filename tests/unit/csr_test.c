// SPDX-License-Identifier: Apache-2.0
/*
 * csr_test.c: CSR parsing and signature verification: valid EC and RSA
 * CSRs, tampered signatures and bodies, the strict PEM label rule, bare
 * DER, truncation, size caps, and field extraction.
 */
#include "testutil.h"

#include "csr.h"

static struct key *k256, *krsa;

static int
setup(void **st)
{
	(void)st;
	slw_crypto_init();
	assert_int_equal(key_generate(KEY_EC_P256, &k256), 0);
	assert_int_equal(key_generate(KEY_RSA_2048, &krsa), 0);
	return 0;
}

static int
teardown(void **st)
{
	(void)st;
	key_free(k256);
	key_free(krsa);
	return 0;
}

static void
test_valid(void **st)
{
	const char *dns[] = { "test1", "test1.example" };
	struct buf pem = { 0 };
	struct csr *c = NULL;

	(void)st;
	tu_make_csr(k256, "O=system:nodes,CN=system:node:test1", dns, 2, 0, &pem);
	assert_int_equal(csr_parse_pem_strict(pem.data, pem.len, &c, NULL), 0);
	assert_string_equal(c->subject.cn, "system:node:test1");
	assert_int_equal(c->subject.n_o, 1);
	assert_string_equal(c->subject.o[0], "system:nodes");
	assert_int_equal(c->subject.n_other, 0);
	assert_int_equal(c->n_sans, 2);
	assert_int_equal(c->sans[0].type, SAN_DNS);
	assert_int_equal(c->key->type, KEY_EC_P256);
	csr_free(c);
	buf_free(&pem);
	tu_make_csr(krsa, "CN=rsa", NULL, 0, 0, &pem);
	assert_int_equal(csr_parse(pem.data, pem.len, &c, NULL), 0);
	assert_int_equal(c->key->type, KEY_RSA_2048);
	csr_free(c);
	buf_free(&pem);
}

static void
test_tampered(void **st)
{
	struct buf der = { 0 };
	struct csr *c = NULL;
	struct slw_diag d;

	(void)st;
	tu_make_csr(k256, "CN=system:node:test1,O=system:nodes", NULL, 0, 1, &der);
	assert_int_equal(csr_parse(der.data, der.len, &c, NULL), 0);
	csr_free(c);
	/* flip a bit in the subject: the signature no longer covers it */
	{
		uint8_t *p = tu_memmem(der.data, der.len, "test1", 5);

		assert_non_null(p);
		p[4] = '2';
	}
	slw_diag_clear(&d);
	assert_int_equal(csr_parse(der.data, der.len, &c, &d), SLW_ERR_VERIFY);
	assert_null(c);
	assert_non_null(strstr(d.msg, "signature does not verify"));
	buf_free(&der);
	/* flip the last byte of the signature */
	tu_make_csr(krsa, "CN=x", NULL, 0, 1, &der);
	der.data[der.len - 1] ^= 0x01;
	slw_diag_clear(&d);
	assert_int_equal(csr_parse(der.data, der.len, &c, &d), SLW_ERR_VERIFY);
	buf_free(&der);
}

static void
test_strict_label(void **st)
{
	struct buf pem = { 0 }, alt = { 0 }, der = { 0 };
	struct csr *c = NULL;
	struct slw_diag d;
	char *s;

	(void)st;
	tu_make_csr(k256, "CN=a", NULL, 0, 0, &pem);
	/* NEW CERTIFICATE REQUEST: lenient yes, strict no */
	buf_append(&alt, "-----BEGIN NEW CERTIFICATE REQUEST-----",
	    strlen("-----BEGIN NEW CERTIFICATE REQUEST-----"));
	s = strchr((char *)pem.data, '\n');
	buf_append(&alt, s, strstr(s, "-----END") - s);
	buf_append(&alt, "-----END NEW CERTIFICATE REQUEST-----\n",
	    strlen("-----END NEW CERTIFICATE REQUEST-----\n"));
	assert_int_equal(csr_parse(alt.data, alt.len, &c, NULL), 0);
	csr_free(c);
	slw_diag_clear(&d);
	assert_int_equal(csr_parse_pem_strict(alt.data, alt.len, &c, &d),
	    SLW_ERR_PARSE);
	assert_non_null(strstr(d.msg, "NEW CERTIFICATE REQUEST"));
	/* bare DER: strict refuses */
	tu_make_csr(k256, "CN=a", NULL, 0, 1, &der);
	slw_diag_clear(&d);
	assert_int_equal(csr_parse_pem_strict(der.data, der.len, &c, &d),
	    SLW_ERR_PARSE);
	assert_non_null(strstr(d.msg, "not a PEM block"));
	/* a certificate block first */
	buf_free(&alt);
	buf_append(&alt, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
	    strlen("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
	buf_append(&alt, pem.data, pem.len);
	assert_int_equal(csr_parse_pem_strict(alt.data, alt.len, &c, NULL),
	    SLW_ERR_PARSE);
	/* leading text is skipped like Go's pem.Decode */
	buf_free(&alt);
	buf_append(&alt, "hello\n", 6);
	buf_append(&alt, pem.data, pem.len);
	assert_int_equal(csr_parse_pem_strict(alt.data, alt.len, &c, NULL), 0);
	csr_free(c);
	buf_free(&alt);
	buf_free(&pem);
	buf_free(&der);
}

static void
test_malformed(void **st)
{
	struct buf pem = { 0 }, big = { 0 }, der = { 0 };
	struct csr *c = NULL;
	struct slw_diag d;
	size_t i;

	(void)st;
	tu_make_csr(k256, "CN=a", NULL, 0, 0, &pem);
	/* truncated PEM: no END line */
	slw_diag_clear(&d);
	assert_int_equal(csr_parse_pem_strict(pem.data, pem.len - 30, &c, &d),
	    SLW_ERR_PARSE);
	assert_non_null(strstr(d.msg, "END"));
	/* truncated DER */
	tu_make_csr(k256, "CN=a", NULL, 0, 1, &der);
	for (i = 1; i < der.len; i += 7)
		assert_int_not_equal(csr_parse(der.data, i, &c, NULL), 0);
	/* trailing garbage after DER */
	buf_append(&der, "\0\0", 2);
	assert_int_not_equal(csr_parse(der.data, der.len, &c, NULL), 0);
	/* DER bytes inside PEM armour */
	buf_free(&big);
	buf_append(&big, "-----BEGIN CERTIFICATE REQUEST-----\n", 36);
	buf_append(&big, der.data, 20);
	buf_append(&big, "\n-----END CERTIFICATE REQUEST-----\n", 35);
	assert_int_not_equal(csr_parse_pem_strict(big.data, big.len, &c, NULL), 0);
	/* too large */
	buf_free(&big);
	for (i = 0; i < 70000; i += 10)
		buf_append(&big, "AAAAAAAAAA", 10);
	assert_int_equal(csr_parse(big.data, big.len, &c, NULL), SLW_ERR_TOOBIG);
	assert_int_equal(csr_parse(NULL, 0, &c, NULL), SLW_ERR_INVALID);
	assert_null(c);
	buf_free(&big);
	buf_free(&pem);
	buf_free(&der);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_strict_label),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
