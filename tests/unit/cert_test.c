// SPDX-License-Identifier: Apache-2.0
/*
 * cert_test.c: profiles and issuance: the seed's "kubernetes" profile,
 * extension criticality, SANs in order, repeated O, EC keys without
 * keyEncipherment, validity capped by the CA, 128-bit serials, and chain
 * verification against a bundle of several CAs (rotation).
 */
#include "testutil.h"

#include "ca.h"
#include "cert.h"
#include "chain.h"
#include "certdb.h"
#include "issue.h"
#include "profile.h"

#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>

static struct signer *
make_ca(const char *cn, enum key_type kt, uint32_t hours, struct buf *pem)
{
	struct dn subj;
	struct key *k = NULL;
	struct buf der = { 0 };
	struct signer *s = NULL;

	memset(&subj, 0, sizeof(subj));
	snprintf(subj.c, sizeof(subj.c), "CN");
	dn_add_o(&subj, "k8s");
	snprintf(subj.cn, sizeof(subj.cn), "%s", cn);
	assert_int_equal(ca_make_root(&subj, kt, hours, slw_now(), &k, &der,
	    NULL), 0);
	if (pem != NULL)
		assert_int_equal(cert_pem_append(pem, der.data, der.len), 0);
	assert_int_equal(signer_new(der.data, der.len, k, &s, NULL), 0);
	buf_free(&der);
	return s;
}

static void
test_profiles(void **st)
{
	struct profile p;
	char u[128];
	uint32_t h;
	uint64_t secs;

	(void)st;
	assert_int_equal(profile_builtin("kubernetes", &p), 0);
	assert_int_equal(p.hours, 87600);
	assert_int_equal(p.eku, EKU_SERVER_AUTH | EKU_CLIENT_AUTH);
	assert_true(p.ku & MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
	assert_true(p.ku & MBEDTLS_X509_KU_KEY_ENCIPHERMENT);
	assert_false(p.is_ca);
	assert_int_equal(profile_usages_string(&p, u, sizeof(u)), 0);
	assert_string_equal(u, "digital signature, key encipherment, "
	    "server auth, client auth");
	memset(&p, 0, sizeof(p));
	assert_int_equal(profile_add_usage(&p, "signing", NULL), 0);
	assert_int_equal(profile_add_usage(&p, "client auth", NULL), 0);
	assert_int_equal(p.eku, EKU_CLIENT_AUTH);
	assert_int_not_equal(profile_add_usage(&p, "code signing", NULL), 0);
	assert_int_not_equal(profile_builtin("nope", &p), 0);
	assert_int_equal(duration_parse_hours("87600h", &h), 0);
	assert_int_equal(h, 87600);
	assert_int_equal(duration_parse_hours("30m", &h), 0);
	assert_int_equal(h, 1);
	assert_int_equal(duration_parse_seconds("15m", &secs), 0);
	assert_int_equal(secs, 900);
	assert_int_not_equal(duration_parse_seconds("15", &secs), 0);
	assert_int_not_equal(duration_parse_seconds("-1h", &secs), 0);
	assert_int_not_equal(duration_parse_seconds("0h", &secs), 0);
	assert_int_not_equal(duration_parse_seconds("1y", &secs), 0);
}

static int
has_ext_critical(const uint8_t *der, size_t len, const char *oid,
    size_t oidlen)
{
	/* find "06 len oid 01 01 ff" (OID followed by BOOLEAN TRUE) */
	size_t i;

	for (i = 0; i + 2 + oidlen + 3 <= len; i++)
		if (der[i] == 0x06 && der[i + 1] == oidlen &&
		    memcmp(der + i + 2, oid, oidlen) == 0)
			return der[i + 2 + oidlen] == 0x01 &&
			    der[i + 3 + oidlen] == 0x01 &&
			    der[i + 4 + oidlen] == 0xff;
	return -1;
}

#define CRIT(der, oid) has_ext_critical((der).data, (der).len, (oid), \
	MBEDTLS_OID_SIZE(oid))

static void
test_issue_seed_profile(void **st)
{
	struct signer *ca = make_ca("kubernetes", KEY_RSA_2048, 87600, NULL);
	struct cert_template t;
	struct profile p;
	struct issued iss;
	mbedtls_x509_crt crt;
	struct cert_info info;
	struct dn got;
	struct san sans[SAN_MAX];
	size_t n;

	(void)st;
	memset(&t, 0, sizeof(t));
	profile_builtin("kubernetes", &p);
	t.profile = &p;
	snprintf(t.subject.c, sizeof(t.subject.c), "CN");
	snprintf(t.subject.st, sizeof(t.subject.st), "BeiJing");
	dn_add_o(&t.subject, "system:masters");
	dn_add_o(&t.subject, "second, group");
	snprintf(t.subject.cn, sizeof(t.subject.cn), "admin");
	assert_int_equal(cert_template_add_san(&t, "127.0.0.1", NULL), 0);
	assert_int_equal(cert_template_add_san(&t, "DNS:kubernetes", NULL), 0);
	assert_int_equal(cert_template_add_san(&t, "IP:fd00::1", NULL), 0);
	assert_int_equal(cert_template_add_san(&t, "kubernetes", NULL), 0);
	assert_int_equal(t.n_sans, 3);	/* duplicate dropped */
	assert_int_not_equal(cert_template_add_san(&t, "DNS:bad_name", NULL), 0);
	assert_int_equal(issue_leaf(&t, KEY_RSA_2048, NULL, ca, slw_now(), &iss,
	    NULL), 0);

	mbedtls_x509_crt_init(&crt);
	assert_int_equal(mbedtls_x509_crt_parse_der(&crt, iss.der.data,
	    iss.der.len), 0);
	assert_int_equal(dn_from_x509(&crt.subject, &got, NULL), 0);
	assert_int_equal(got.n_o, 2);
	assert_string_equal(got.o[0], "system:masters");
	assert_string_equal(got.o[1], "second, group");
	assert_string_equal(got.cn, "admin");
	assert_int_equal(san_from_x509(&crt.subject_alt_names, sans, SAN_MAX, &n,
	    NULL), 0);
	assert_int_equal(n, 3);
	assert_string_equal(sans[0].value, "127.0.0.1");	/* in order */
	assert_string_equal(sans[1].value, "kubernetes");
	assert_string_equal(sans[2].value, "fd00::1");
	assert_int_equal(mbedtls_x509_crt_check_key_usage(&crt,
	    MBEDTLS_X509_KU_DIGITAL_SIGNATURE | MBEDTLS_X509_KU_KEY_ENCIPHERMENT),
	    0);
	assert_int_equal(mbedtls_x509_crt_check_extended_key_usage(&crt,
	    MBEDTLS_OID_SERVER_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)), 0);
	assert_int_equal(mbedtls_x509_crt_check_extended_key_usage(&crt,
	    MBEDTLS_OID_CLIENT_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)), 0);
	assert_int_equal(mbedtls_x509_crt_get_ca_istrue(&crt), 0);
	assert_true(mbedtls_x509_crt_has_ext_type(&crt,
	    MBEDTLS_X509_EXT_SUBJECT_KEY_IDENTIFIER));
	assert_true(mbedtls_x509_crt_has_ext_type(&crt,
	    MBEDTLS_X509_EXT_AUTHORITY_KEY_IDENTIFIER));
	/* as cfssl: BC and KU critical, EKU not */
	assert_int_equal(CRIT(iss.der, MBEDTLS_OID_BASIC_CONSTRAINTS), 1);
	assert_int_equal(CRIT(iss.der, MBEDTLS_OID_KEY_USAGE), 1);
	assert_int_equal(CRIT(iss.der, MBEDTLS_OID_EXTENDED_KEY_USAGE), 0);
	mbedtls_x509_crt_free(&crt);

	assert_int_equal(cert_info_der(iss.der.data, iss.der.len, &info), 0);
	assert_int_equal(info.serial_len, SERIAL_LEN);
	assert_memory_equal(info.serial, iss.serial, SERIAL_LEN);
	assert_int_equal(info.not_after - info.not_before, 87600 * 3600 - 0 -
	    (ca->not_after < info.not_before + 87600 * 3600 ?
	    info.not_before + 87600 * 3600 - ca->not_after : 0));
	assert_true(info.not_before <= slw_now() - CERT_BACKDATE_SECS + 1);
	issue_free(&iss);
	signer_free(ca);
}

static void
test_ec_no_key_encipherment(void **st)
{
	struct signer *ca = make_ca("ca", KEY_EC_P256, 100, NULL);
	struct cert_template t;
	struct profile p;
	struct issued iss;
	mbedtls_x509_crt crt;

	(void)st;
	memset(&t, 0, sizeof(t));
	profile_builtin("kubernetes", &p);
	t.profile = &p;
	snprintf(t.subject.cn, sizeof(t.subject.cn), "leaf");
	assert_int_equal(issue_leaf(&t, KEY_EC_P256, NULL, ca, slw_now(), &iss,
	    NULL), 0);
	mbedtls_x509_crt_init(&crt);
	assert_int_equal(mbedtls_x509_crt_parse_der(&crt, iss.der.data,
	    iss.der.len), 0);
	assert_int_equal(mbedtls_x509_crt_check_key_usage(&crt,
	    MBEDTLS_X509_KU_DIGITAL_SIGNATURE), 0);
	assert_int_not_equal(mbedtls_x509_crt_check_key_usage(&crt,
	    MBEDTLS_X509_KU_KEY_ENCIPHERMENT), 0);
	/* capped by the CA's 100 h */
	{
		struct cert_info info;

		cert_info_der(iss.der.data, iss.der.len, &info);
		assert_true(info.not_after <= ca->not_after);
	}
	mbedtls_x509_crt_free(&crt);
	issue_free(&iss);
	signer_free(ca);
}

static void
test_chain_multi_ca(void **st)
{
	struct buf bundle = { 0 }, only_old = { 0 }, leaf_pem = { 0 };
	struct signer *old = make_ca("kubernetes", KEY_EC_P256, 1000, &bundle);
	struct signer *new = make_ca("kubernetes-2", KEY_EC_P384, 1000, &bundle);
	struct signer *stranger = make_ca("other", KEY_EC_P256, 1000, NULL);
	mbedtls_x509_crt trust, trust_old;
	struct cert_template t;
	struct profile p;
	struct issued a, b, c;
	struct slw_diag d;

	(void)st;
	mbedtls_x509_crt_init(&trust);
	mbedtls_x509_crt_init(&trust_old);
	assert_int_equal(chain_trust_parse(bundle.data, bundle.len, &trust, NULL), 0);
	assert_int_equal(cert_pem_append(&only_old, old->crt.raw.p,
	    old->crt.raw.len), 0);
	assert_int_equal(chain_trust_parse(only_old.data, only_old.len, &trust_old,
	    NULL), 0);
	memset(&t, 0, sizeof(t));
	profile_builtin("server", &p);
	t.profile = &p;
	snprintf(t.subject.cn, sizeof(t.subject.cn), "leaf");
	assert_int_equal(issue_leaf(&t, KEY_EC_P256, NULL, old, slw_now(), &a,
	    NULL), 0);
	assert_int_equal(issue_leaf(&t, KEY_EC_P256, NULL, new, slw_now(), &b,
	    NULL), 0);
	assert_int_equal(issue_leaf(&t, KEY_EC_P256, NULL, stranger, slw_now(),
	    &c, NULL), 0);
	/* both generations verify against the bundle */
	assert_int_equal(chain_verify(a.der.data, a.der.len, &trust,
	    PURPOSE_SERVER, NULL), 0);
	assert_int_equal(chain_verify(b.der.data, b.der.len, &trust,
	    PURPOSE_SERVER, NULL), 0);
	/* PEM input works too */
	cert_pem_append(&leaf_pem, b.der.data, b.der.len);
	assert_int_equal(chain_verify(leaf_pem.data, leaf_pem.len, &trust,
	    PURPOSE_ANY, NULL), 0);
	/* wrong purpose, wrong CA, new cert against the old CA only */
	slw_diag_clear(&d);
	assert_int_equal(chain_verify(a.der.data, a.der.len, &trust,
	    PURPOSE_CLIENT, &d), SLW_ERR_VERIFY);
	assert_non_null(strstr(d.msg, "client auth"));
	slw_diag_clear(&d);
	assert_int_equal(chain_verify(c.der.data, c.der.len, &trust,
	    PURPOSE_ANY, &d), SLW_ERR_VERIFY);
	assert_non_null(strstr(d.msg, "does not verify"));
	assert_int_equal(chain_verify(b.der.data, b.der.len, &trust_old,
	    PURPOSE_ANY, NULL), SLW_ERR_VERIFY);
	/* a tampered certificate */
	a.der.data[a.der.len - 5] ^= 1;
	assert_int_not_equal(chain_verify(a.der.data, a.der.len, &trust,
	    PURPOSE_ANY, NULL), 0);
	issue_free(&a);
	issue_free(&b);
	issue_free(&c);
	mbedtls_x509_crt_free(&trust);
	mbedtls_x509_crt_free(&trust_old);
	buf_free(&bundle);
	buf_free(&only_old);
	buf_free(&leaf_pem);
	signer_free(old);
	signer_free(new);
	signer_free(stranger);
}

static void
test_signer_mismatch(void **st)
{
	struct signer *ca = make_ca("ca", KEY_EC_P256, 100, NULL);
	struct key *other = NULL;
	struct signer *s = NULL;
	struct slw_diag d;

	(void)st;
	assert_int_equal(key_generate(KEY_EC_P256, &other), 0);
	slw_diag_clear(&d);
	assert_int_equal(signer_new(ca->crt.raw.p, ca->crt.raw.len, other, &s,
	    &d), SLW_ERR_VERIFY);
	assert_null(s);
	assert_non_null(strstr(d.msg, "does not match"));
	signer_free(ca);
}

static void
test_serials_random(void **st)
{
	uint8_t a[SERIAL_LEN], b[SERIAL_LEN];
	int i;

	(void)st;
	for (i = 0; i < 100; i++) {
		assert_int_equal(certdb_serial_new(a), 0);
		assert_int_equal(certdb_serial_new(b), 0);
		assert_int_not_equal(a[0], 0);
		assert_memory_not_equal(a, b, SERIAL_LEN);
	}
}

static void
test_names(void **st)
{
	struct san s;
	struct dn dn;
	char out[128];

	(void)st;
	assert_int_equal(san_parse("IP:10.0.0.1", &s, NULL), 0);
	assert_int_equal(s.type, SAN_IP);
	assert_int_equal(s.ip_len, 4);
	assert_int_equal(san_parse("::1", &s, NULL), 0);
	assert_int_equal(s.ip_len, 16);
	assert_int_equal(san_parse("kubernetes.default.svc", &s, NULL), 0);
	assert_int_equal(s.type, SAN_DNS);
	assert_int_not_equal(san_parse("IP:300.1.1.1", &s, NULL), 0);
	assert_int_not_equal(san_parse("DNS:-bad.example", &s, NULL), 0);
	assert_int_not_equal(san_parse("DNS:a..b", &s, NULL), 0);
	assert_int_not_equal(san_parse("DNS:x.", &s, NULL), 0);
	assert_true(san_dns_name_valid("*.example.com"));
	memset(&dn, 0, sizeof(dn));
	snprintf(dn.c, sizeof(dn.c), "CN");
	dn_add_o(&dn, "a");
	dn_add_o(&dn, "b");
	snprintf(dn.cn, sizeof(dn.cn), "x");
	assert_int_equal(dn_format(&dn, out, sizeof(out)), 0);
	assert_string_equal(out, "C=CN, O=a, O=b, CN=x");
	assert_int_equal(dn_validate(&dn, NULL), 0);
	snprintf(dn.c, sizeof(dn.c), "CHN");
	assert_int_not_equal(dn_validate(&dn, NULL), 0);
	snprintf(dn.c, sizeof(dn.c), "CN");
	dn.cn[0] = '\0';
	assert_int_not_equal(dn_validate(&dn, NULL), 0);
	snprintf(dn.cn, sizeof(dn.cn), "a\nb");
	assert_int_not_equal(dn_validate(&dn, NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profiles),
		cmocka_unit_test(test_issue_seed_profile),
		cmocka_unit_test(test_ec_no_key_encipherment),
		cmocka_unit_test(test_chain_multi_ca),
		cmocka_unit_test(test_signer_mismatch),
		cmocka_unit_test(test_serials_random),
		cmocka_unit_test(test_names),
	};

	slw_crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
