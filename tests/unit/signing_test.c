// SPDX-License-Identifier: Apache-2.0
/*
 * signing_test.c: the signing interface: a request in, a certificate out,
 * signed by the role's current CA generation, and reloaded after a CA
 * rotation step (signing_refresh) without restarting the process.
 */
#include "testutil.h"

#include "audit.h"
#include "ca_rotate.h"
#include "chain.h"
#include "certdb.h"
#include "signing.h"

static char *dir, state[4200];

static int
populate(struct store_txn *t, void *arg)
{
	struct dn subj;
	struct key *k = NULL;
	struct buf der = { 0 };
	struct ca_rec rec;
	struct cert_info info;
	int r;

	(void)arg;
	memset(&subj, 0, sizeof(subj));
	snprintf(subj.cn, sizeof(subj.cn), "kubernetes");
	if ((r = ca_make_root(&subj, KEY_EC_P256, 1000, slw_now(), &k, &der,
	    NULL)) != 0)
		return r;
	cert_info_der(der.data, der.len, &info);
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.name, sizeof(rec.name), "kubernetes");
	rec.gen = 1;
	rec.state = CA_ACTIVE;
	rec.not_after = info.not_after;
	rec.key_type = KEY_EC_P256;
	rec.der = der;
	if ((r = ca_put(t, &rec, k)) == 0 &&
	    (r = ca_set_current(t, "kubernetes", 1)) == 0 &&
	    (r = store_put(t, DB_META, "ca-layout", 9, "single", 6, 0)) == 0)
		r = audit_append(t, "test", "init", "", "");
	key_free(k);
	buf_free(&der);
	return r;
}

struct rot {
	struct key *key;
	struct buf der;
};

static int
begin_advance(struct store_txn *t, void *arg)
{
	struct rot *a = arg;
	int r;

	if ((r = ca_rotate_begin(t, "kubernetes", a->key, &a->der, 2)) != 0)
		return r;
	return ca_rotate_advance(t, "kubernetes");
}

static void
issuer_cn(const struct buf *der, char *out, size_t len)
{
	mbedtls_x509_crt crt;
	struct dn dn;

	mbedtls_x509_crt_init(&crt);
	assert_int_equal(mbedtls_x509_crt_parse_der(&crt, der->data, der->len), 0);
	assert_int_equal(dn_from_x509(&crt.issuer, &dn, NULL), 0);
	snprintf(out, len, "%s", dn.cn);
	mbedtls_x509_crt_free(&crt);
}

static void
test_sign_and_refresh(void **st)
{
	struct store *s = NULL;
	struct signing *sg = NULL;
	struct signing_request req;
	struct signing_result res;
	struct cert_template t;
	struct profile p;
	struct key *leaf = NULL;
	struct buf trust = { 0 };
	struct rot rot = { NULL, { 0 } };
	mbedtls_x509_crt crt;
	struct dn subj;
	char cn[DN_VAL_MAX];
	int reloaded = -1;

	(void)st;
	dir = tu_tmpdir();
	snprintf(state, sizeof(state), "%s/s", dir);
	assert_int_equal(store_create(state, NULL, populate, NULL, NULL), 0);
	assert_int_equal(store_open(state, NULL, &s, NULL), 0);
	assert_int_equal(signing_local_new(s, &sg, NULL), 0);
	assert_int_equal(key_generate(KEY_EC_P256, &leaf), 0);
	memset(&t, 0, sizeof(t));
	profile_builtin("client", &p);
	t.profile = &p;
	snprintf(t.subject.cn, sizeof(t.subject.cn), "leaf");
	memset(&req, 0, sizeof(req));
	req.ca_role = CA_ETCD;		/* single layout: resolves to kubernetes */
	req.t = &t;
	req.subject = leaf;
	req.now = slw_now();
	assert_int_equal(signing_sign(sg, &req, &res, NULL), 0);
	assert_string_equal(res.ca_name, "kubernetes");
	assert_int_equal(res.ca_gen, 1);
	issuer_cn(&res.der, cn, sizeof(cn));
	assert_string_equal(cn, "kubernetes");
	signing_result_free(&res);
	req.ca_role = "nope";
	assert_int_equal(signing_sign(sg, &req, &res, NULL), SLW_ERR_INVALID);
	req.ca_role = CA_KUBERNETES;

	/* nothing changed: no reload */
	assert_int_equal(signing_refresh(sg, s, &reloaded, NULL), 0);
	assert_int_equal(reloaded, 0);

	/* another process rotates: begin + advance */
	{
		struct ca_rec cur;
		struct store_txn *none = NULL;

		(void)none;
		memset(&cur, 0, sizeof(cur));
		mbedtls_x509_crt_init(&crt);
		assert_int_equal(signing_trust_pem(sg, CA_KUBERNETES, &trust), 0);
		assert_int_equal(chain_trust_parse(trust.data, trust.len, &crt, NULL), 0);
		assert_int_equal(ca_rotate_subject(&crt, 2, &subj), 0);
		mbedtls_x509_crt_free(&crt);
		buf_free(&trust);
		assert_string_equal(subj.cn, "kubernetes-gen2");
		assert_int_equal(ca_make_root(&subj, KEY_EC_P256, 1000, slw_now(),
		    &rot.key, &rot.der, NULL), 0);
		assert_int_equal(store_write(s, begin_advance, &rot, NULL), 0);
	}
	assert_int_equal(signing_refresh(sg, s, &reloaded, NULL), 0);
	assert_int_equal(reloaded, 1);
	assert_int_equal(signing_sign(sg, &req, &res, NULL), 0);
	assert_int_equal(res.ca_gen, 2);
	issuer_cn(&res.der, cn, sizeof(cn));
	assert_string_equal(cn, "kubernetes-gen2");
	/* the refreshed bundle trusts both generations */
	assert_int_equal(signing_trust_pem(sg, CA_KUBERNETES, &trust), 0);
	mbedtls_x509_crt_init(&crt);
	assert_int_equal(chain_trust_parse(trust.data, trust.len, &crt, NULL), 0);
	assert_int_equal(chain_verify(res.der.data, res.der.len, &crt,
	    PURPOSE_CLIENT, NULL), 0);
	assert_non_null(crt.next);
	mbedtls_x509_crt_free(&crt);
	signing_result_free(&res);
	assert_int_equal(signing_refresh(sg, s, &reloaded, NULL), 0);
	assert_int_equal(reloaded, 0);

	buf_free(&trust);
	key_free(rot.key);
	buf_free(&rot.der);
	key_free(leaf);
	signing_free(sg);
	store_close(s);
	tu_rmrf(dir);
	free(dir);
}

struct rec_arg {
	const struct signing_result *res;
	const char *node;
	size_t n;
};

static int
rec_txn(struct store_txn *t, void *arg)
{
	struct rec_arg *a = arg;

	return signing_result_record(t, a->res, a->node, "test", "unit");
}

static int
cnt_txn(struct store_txn *t, void *arg)
{
	struct rec_arg *a = arg;

	return certdb_count_valid_by_ca(t, "kubernetes", 1, slw_now(), &a->n,
	    NULL);
}

/*
 * A CA rotation waits for the valid leaves of the old generation, but not
 * for the appliance's own session credentials (no owner, at most a day):
 * an owned certificate and an operator's (no owner, a year) count, a
 * one-hour certificate without owner does not.
 */
static void
test_sessions_not_counted(void **st)
{
	static const struct { const char *node; uint32_t hours; } certs[] = {
		{ "test1", 8760 }, { "", 8760 }, { "", 1 }, { "", 24 },
	};
	struct store *s = NULL;
	struct signing *sg = NULL;
	struct signing_request req;
	struct signing_result res;
	struct cert_template t;
	struct profile p;
	struct key *leaf = NULL;
	struct rec_arg a;
	size_t i;

	(void)st;
	dir = tu_tmpdir();
	snprintf(state, sizeof(state), "%s/s", dir);
	assert_int_equal(store_create(state, NULL, populate, NULL, NULL), 0);
	assert_int_equal(store_open(state, NULL, &s, NULL), 0);
	assert_int_equal(signing_local_new(s, &sg, NULL), 0);
	assert_int_equal(key_generate(KEY_EC_P256, &leaf), 0);
	profile_builtin("client", &p);
	for (i = 0; i < sizeof(certs) / sizeof(certs[0]); i++) {
		memset(&t, 0, sizeof(t));
		t.profile = &p;
		t.hours = certs[i].hours;
		snprintf(t.subject.cn, sizeof(t.subject.cn), "c%zu", i);
		memset(&req, 0, sizeof(req));
		req.ca_role = CA_KUBERNETES;
		req.t = &t;
		req.subject = leaf;
		req.now = slw_now();
		assert_int_equal(signing_sign(sg, &req, &res, NULL), 0);
		a.res = &res;
		a.node = certs[i].node;
		assert_int_equal(store_write(s, rec_txn, &a, NULL), 0);
		signing_result_free(&res);
	}
	assert_int_equal(store_read(s, cnt_txn, &a, NULL), 0);
	assert_int_equal(a.n, 2);
	key_free(leaf);
	signing_free(sg);
	store_close(s);
	tu_rmrf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_and_refresh),
		cmocka_unit_test(test_sessions_not_counted),
	};

	slw_crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
