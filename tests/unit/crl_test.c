// SPDX-License-Identifier: Apache-2.0
/*
 * crl_test.c: CRLs slipway writes: parsed back by mbedTLS and enforced by
 * mbedtls_x509_crt_verify, accepted by `openssl crl -verify` with each
 * serial and reason listed by `openssl crl -text`; the RFC 5280 reason
 * names; and the revocation path in the store (certdb_revoke,
 * crl_store): one transaction with its audit record, refusals that change
 * nothing, a monotonic CRL Number, re-signing only when due.
 */
#include "testutil.h"

#include <mbedtls/x509_crl.h>

#include "audit.h"
#include "ca.h"
#include "certdb_revoke.h"
#include "crl.h"
#include "crl_store.h"
#include "issue.h"
#include "pem.h"

static char *dir;

static void
make_ca(enum key_type kt, const char *cn, struct signer **ca, struct buf *der)
{
	struct dn subj;
	struct key *k = NULL;

	memset(&subj, 0, sizeof(subj));
	snprintf(subj.cn, sizeof(subj.cn), "%s", cn);
	assert_int_equal(dn_add_o(&subj, "slipway test"), 0);
	assert_int_equal(ca_make_root(&subj, kt, 1000, slw_now(), &k, der,
	    NULL), 0);
	assert_int_equal(signer_new(der->data, der->len, k, ca, NULL), 0);
}

static void
make_leaf(const struct signer *ca, const char *cn, struct issued *iss)
{
	struct cert_template t;
	struct profile p;

	memset(&t, 0, sizeof(t));
	profile_builtin("client", &p);
	t.profile = &p;
	snprintf(t.subject.cn, sizeof(t.subject.cn), "%s", cn);
	assert_int_equal(issue_leaf(&t, KEY_EC_P256, NULL, ca, slw_now(), iss,
	    NULL), 0);
}

static void
test_reason_names(void **st)
{
	static const char *ok[] = {
		"unspecified", "keyCompromise", "cACompromise",
		"affiliationChanged", "superseded", "cessationOfOperation",
		"privilegeWithdrawn", "aACompromise",
	};
	static const int codes[] = { 0, 1, 2, 3, 4, 5, 9, 10 };
	static const char *bad[] = {
		"certificateHold", "removeFromCRL", "", "KeyCompromise",
		"keycompromise", "1", "keyCompromise ", NULL,
	};
	size_t i;
	int r;

	(void)st;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(crl_reason_parse(ok[i], &r), 0);
		assert_int_equal(r, codes[i]);
		assert_string_equal(crl_reason_name(r), ok[i]);
		assert_non_null(strstr(crl_reason_list(), ok[i]));
	}
	for (i = 0; bad[i] != NULL; i++)
		assert_int_equal(crl_reason_parse(bad[i], &r), SLW_ERR_INVALID);
	assert_int_equal(crl_reason_parse(NULL, &r), SLW_ERR_INVALID);
	assert_null(crl_reason_name(6));	/* certificateHold */
	assert_null(crl_reason_name(8));	/* removeFromCRL */
}

struct seen {
	struct crl_entry e[8];
	size_t n;
};

static int
seen_one(void *arg, const struct crl_entry *e)
{
	struct seen *s = arg;

	if (s->n >= 8)
		return SLW_ERR_LIMIT;
	s->e[s->n++] = *e;
	return 0;
}

static void
run(const char *cmd)
{
	int r = system(cmd);

	if (r != 0)
		fail_msg("command failed (%d): %s", r, cmd);
}

static void
write_pem(const char *path, const char *label, const struct buf *der)
{
	struct buf pem = { 0 };

	assert_int_equal(pem_append(&pem, label, der->data, der->len), 0);
	tu_write(path, pem.data, pem.len);
	buf_free(&pem);
}

/* Writes a CRL of two revoked leaves (one without reason) and checks it
 * with mbedTLS and openssl. */
static void
check_kt(enum key_type kt)
{
	struct signer *ca = NULL;
	struct buf ca_der = { 0 }, crl = { 0 }, other_der = { 0 };
	struct signer *other = NULL;
	struct issued rev1, rev2, good;
	struct crl_entry e[2];
	struct crl_info info;
	struct seen seen;
	mbedtls_x509_crt trust, leaf;
	mbedtls_x509_crl mcrl;
	uint32_t flags;
	time_t now = slw_now();
	char path[4300], cmd[9000], hex[2 * SERIAL_LEN + 1];
	struct buf out = { 0 };

	make_ca(kt, "crl test CA", &ca, &ca_der);
	make_leaf(ca, "revoked one", &rev1);
	make_leaf(ca, "revoked two", &rev2);
	make_leaf(ca, "still good", &good);
	memset(e, 0, sizeof(e));
	memcpy(e[0].serial, rev1.serial, SERIAL_LEN);
	e[0].revoked_at = now - 10;
	e[0].reason = CRL_REASON_KEY_COMPROMISE;
	memcpy(e[1].serial, rev2.serial, SERIAL_LEN);
	e[1].revoked_at = now - 5;
	e[1].reason = CRL_REASON_UNSPECIFIED;
	assert_int_equal(crl_write(ca, e, 2, 0x1234567890ull, now,
	    now + CRL_LIFETIME_SECS, &crl, NULL), 0);

	/* read back: number, dates, AKI = the CA's SKI, entries and reasons */
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(crl_info_der(crl.data, crl.len, &info, seen_one,
	    &seen), 0);
	assert_int_equal(info.number, 0x1234567890ull);
	assert_int_equal(info.this_update, now);
	assert_int_equal(info.next_update, now + CRL_LIFETIME_SECS);
	assert_int_equal(info.n_entries, 2);
	assert_int_equal(info.aki_len, ca->crt.subject_key_id.len);
	assert_memory_equal(info.aki, ca->crt.subject_key_id.p, info.aki_len);
	assert_int_equal(seen.n, 2);
	assert_memory_equal(seen.e[0].serial, rev1.serial, SERIAL_LEN);
	assert_int_equal(seen.e[0].reason, CRL_REASON_KEY_COMPROMISE);
	assert_int_equal(seen.e[0].revoked_at, now - 10);
	assert_memory_equal(seen.e[1].serial, rev2.serial, SERIAL_LEN);
	assert_int_equal(seen.e[1].reason, CRL_REASON_UNSPECIFIED);

	/* signature: by this CA, not by another one with the same name */
	assert_int_equal(crl_verify(crl.data, crl.len, ca_der.data,
	    ca_der.len), 0);
	make_ca(kt, "crl test CA", &other, &other_der);
	assert_int_equal(crl_verify(crl.data, crl.len, other_der.data,
	    other_der.len), SLW_ERR_VERIFY);

	/* mbedTLS enforces it: revoked leaves fail, the other verifies */
	mbedtls_x509_crt_init(&trust);
	mbedtls_x509_crl_init(&mcrl);
	assert_int_equal(mbedtls_x509_crt_parse_der(&trust, ca_der.data,
	    ca_der.len), 0);
	assert_int_equal(mbedtls_x509_crl_parse_der(&mcrl, crl.data, crl.len), 0);
	assert_int_equal(mcrl.version, 2);
	mbedtls_x509_crt_init(&leaf);
	assert_int_equal(mbedtls_x509_crt_parse_der(&leaf, rev1.der.data,
	    rev1.der.len), 0);
	assert_int_not_equal(mbedtls_x509_crt_verify(&leaf, &trust, &mcrl,
	    NULL, &flags, NULL, NULL), 0);
	assert_true(flags & MBEDTLS_X509_BADCERT_REVOKED);
	mbedtls_x509_crt_free(&leaf);
	mbedtls_x509_crt_init(&leaf);
	assert_int_equal(mbedtls_x509_crt_parse_der(&leaf, rev2.der.data,
	    rev2.der.len), 0);
	assert_int_not_equal(mbedtls_x509_crt_verify(&leaf, &trust, &mcrl,
	    NULL, &flags, NULL, NULL), 0);
	assert_true(flags & MBEDTLS_X509_BADCERT_REVOKED);
	mbedtls_x509_crt_free(&leaf);
	mbedtls_x509_crt_init(&leaf);
	assert_int_equal(mbedtls_x509_crt_parse_der(&leaf, good.der.data,
	    good.der.len), 0);
	assert_int_equal(mbedtls_x509_crt_verify(&leaf, &trust, &mcrl, NULL,
	    &flags, NULL, NULL), 0);
	assert_int_equal(flags, 0);
	mbedtls_x509_crt_free(&leaf);
	mbedtls_x509_crt_free(&trust);
	mbedtls_x509_crl_free(&mcrl);

	/* openssl: the signature verifies; -text lists serials and reasons */
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	write_pem(path, "CERTIFICATE", &ca_der);
	snprintf(path, sizeof(path), "%s/crl.der", dir);
	tu_write(path, crl.data, crl.len);
	snprintf(cmd, sizeof(cmd), "openssl crl -inform DER -in %s/crl.der "
	    "-CAfile %s/ca.pem -verify -noout 2>&1 | grep -qx 'verify OK'",
	    dir, dir);
	run(cmd);
	snprintf(cmd, sizeof(cmd), "openssl crl -inform DER -in %s/crl.der "
	    "-text -noout > %s/crl.txt", dir, dir);
	run(cmd);
	snprintf(path, sizeof(path), "%s/crl.txt", dir);
	assert_int_equal(buf_read_file(&out, path, 1 << 20), 0);
	assert_int_equal(buf_append(&out, "", 1), 0);
	hex_encode(rev1.serial, SERIAL_LEN, hex);
	for (size_t i = 0; hex[i]; i++)
		hex[i] = (char)(hex[i] >= 'a' ? hex[i] - 32 : hex[i]);
	assert_non_null(strstr((char *)out.data, "Version 2 (0x1)"));
	assert_non_null(strstr((char *)out.data, "X509v3 CRL Number"));
	assert_non_null(strstr((char *)out.data, "78187493520"));	/* 0x1234567890 */
	assert_non_null(strstr((char *)out.data,
	    "X509v3 Authority Key Identifier"));
	{
		char *at = strstr((char *)out.data, hex), *next;

		assert_non_null(at);
		next = strstr(at, "Serial Number:");
		at = strstr(at, "Key Compromise");
		assert_non_null(at);
		assert_true(next == NULL || at < next);
	}
	hex_encode(rev2.serial, SERIAL_LEN, hex);
	for (size_t i = 0; hex[i]; i++)
		hex[i] = (char)(hex[i] >= 'a' ? hex[i] - 32 : hex[i]);
	{
		/* unspecified: no reasonCode extension (RFC 5280 5.3.1) */
		char *at = strstr((char *)out.data, hex);

		assert_non_null(at);
		assert_null(strstr(at, "CRL Reason Code"));
	}
	/* tampered: openssl refuses it */
	crl.data[crl.len - 3] ^= 0x40;
	snprintf(path, sizeof(path), "%s/crl.der", dir);
	tu_write(path, crl.data, crl.len);
	snprintf(cmd, sizeof(cmd), "openssl crl -inform DER -in %s/crl.der "
	    "-CAfile %s/ca.pem -verify -noout 2>&1 | grep -q 'verify failure'",
	    dir, dir);
	run(cmd);
	assert_int_equal(crl_verify(crl.data, crl.len, ca_der.data,
	    ca_der.len), SLW_ERR_VERIFY);

	buf_free(&out);
	issue_free(&rev1);
	issue_free(&rev2);
	issue_free(&good);
	buf_free(&crl);
	buf_free(&ca_der);
	buf_free(&other_der);
	signer_free(ca);
	signer_free(other);
}

static void
test_crl_ec_p256(void **st)
{
	(void)st;
	check_kt(KEY_EC_P256);
}

static void
test_crl_rsa_2048(void **st)
{
	(void)st;
	check_kt(KEY_RSA_2048);
}

static void
test_crl_ec_p384(void **st)
{
	(void)st;
	check_kt(KEY_EC_P384);
}

/* No revoked certificates: the list is absent (RFC 5280 5.1.2.6) and
 * openssl still verifies it; dates from 2050 are GeneralizedTime. */
static void
test_crl_empty_and_2050(void **st)
{
	struct signer *ca = NULL;
	struct buf ca_der = { 0 }, crl = { 0 };
	struct crl_info info;
	struct crl_entry e;
	time_t t2050 = 2524608000;	/* 2050-01-01T00:00:00Z */
	char path[4300], cmd[9000];

	(void)st;
	make_ca(KEY_EC_P256, "empty CA", &ca, &ca_der);
	assert_int_equal(crl_write(ca, NULL, 0, 1, slw_now(),
	    slw_now() + CRL_LIFETIME_SECS, &crl, NULL), 0);
	assert_int_equal(crl_info_der(crl.data, crl.len, &info, NULL, NULL), 0);
	assert_int_equal(info.n_entries, 0);
	assert_int_equal(info.number, 1);
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	write_pem(path, "CERTIFICATE", &ca_der);
	snprintf(path, sizeof(path), "%s/empty.pem", dir);
	buf_free(&ca_der);
	{
		struct buf pem = { 0 };

		assert_int_equal(crl_pem_append(&pem, crl.data, crl.len), 0);
		tu_write(path, pem.data, pem.len);
		buf_free(&pem);
	}
	snprintf(cmd, sizeof(cmd), "openssl crl -in %s/empty.pem -CAfile "
	    "%s/ca.pem -verify -noout 2>&1 | grep -qx 'verify OK' && "
	    "openssl crl -in %s/empty.pem -text -noout | "
	    "grep -q 'No Revoked Certificates'", dir, dir, dir);
	run(cmd);
	buf_free(&crl);
	memset(&e, 0, sizeof(e));
	e.serial[0] = 0x80;	/* high bit: written with a sign byte */
	e.revoked_at = t2050;
	e.reason = CRL_REASON_SUPERSEDED;
	assert_int_equal(crl_write(ca, &e, 1, 2, t2050, t2050 + 86400, &crl,
	    NULL), 0);
	assert_int_equal(crl_info_der(crl.data, crl.len, &info, NULL, NULL), 0);
	assert_int_equal(info.this_update, t2050);
	assert_int_equal(info.next_update, t2050 + 86400);
	assert_non_null(tu_memmem(crl.data, crl.len, "20500101000000Z", 15));
	buf_free(&crl);
	/* bad input */
	assert_int_equal(crl_write(ca, &e, 1, 2, t2050, t2050, &crl, NULL),
	    SLW_ERR_INVALID);
	e.reason = 6;	/* certificateHold */
	assert_int_equal(crl_write(ca, &e, 1, 2, t2050, t2050 + 1, &crl, NULL),
	    SLW_ERR_INVALID);
	assert_int_equal(crl_info_der((const uint8_t *)"\x30\x00", 2, &info,
	    NULL, NULL), SLW_ERR_PARSE);
	signer_free(ca);
}

/* ---- the store: revocation, refusals, CRL number, re-signing ---- */

static char state[4200];
static time_t clock_now;

static time_t
test_clock(void)
{
	return clock_now;
}

struct fixture {
	struct store *s;
	uint8_t ca_serial[SERIAL_LEN];
	uint8_t leaf[4][SERIAL_LEN];
	struct buf ca_der;
};

static int
populate(struct store_txn *t, void *arg)
{
	struct fixture *f = arg;
	struct dn subj;
	struct key *k = NULL;
	struct ca_rec rec;
	struct cert_rec cr;
	struct cert_info info;
	int r;

	memset(&subj, 0, sizeof(subj));
	snprintf(subj.cn, sizeof(subj.cn), "etcd-ca");
	buf_free(&f->ca_der);
	if ((r = ca_make_root(&subj, KEY_EC_P256, 100000, slw_now(), &k,
	    &f->ca_der, NULL)) != 0)
		return r;
	cert_info_der(f->ca_der.data, f->ca_der.len, &info);
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.name, sizeof(rec.name), "etcd");
	rec.gen = 1;
	rec.state = CA_ACTIVE;
	rec.not_after = info.not_after;
	rec.key_type = KEY_EC_P256;
	rec.der = f->ca_der;
	memset(&cr, 0, sizeof(cr));
	memcpy(cr.serial, info.serial, SERIAL_LEN);
	memcpy(f->ca_serial, info.serial, SERIAL_LEN);
	snprintf(cr.ca, sizeof(cr.ca), "etcd");
	cr.ca_gen = 1;
	snprintf(cr.profile, sizeof(cr.profile), "ca");
	snprintf(cr.purpose, sizeof(cr.purpose), "ca");
	cr.der = f->ca_der;
	if ((r = ca_put(t, &rec, k)) == 0 &&
	    (r = ca_set_current(t, "etcd", 1)) == 0 &&
	    (r = certdb_add(t, &cr)) == 0)
		r = audit_append(t, "test", "init", "", "");
	key_free(k);
	return r;
}

struct issue_arg {
	struct issued *iss;
	const char *node, *purpose;
};

static int
record_txn(struct store_txn *t, void *arg)
{
	struct issue_arg *a = arg;
	struct cert_rec cr;

	memset(&cr, 0, sizeof(cr));
	memcpy(cr.serial, a->iss->serial, SERIAL_LEN);
	snprintf(cr.ca, sizeof(cr.ca), "etcd");
	cr.ca_gen = 1;
	snprintf(cr.profile, sizeof(cr.profile), "client");
	snprintf(cr.node, sizeof(cr.node), "%s", a->node);
	snprintf(cr.purpose, sizeof(cr.purpose), "%s", a->purpose);
	cr.der = a->iss->der;
	return certdb_add(t, &cr);
}

static int
signer_txn(struct store_txn *t, void *arg)
{
	return ca_signer(t, "etcd", 0, arg, NULL, NULL);
}

static void
fixture_new(struct fixture *f)
{
	static const char *nodes[4] = { "node1", "node1", "node2", "node1" };
	static const char *purposes[4] = {
		"etcd-client", "flanneld", "etcd-client", "etcd-client",
	};
	struct signer *ca = NULL;
	struct issued iss;
	struct issue_arg a;
	size_t i;

	memset(f, 0, sizeof(*f));
	snprintf(state, sizeof(state), "%s/state", dir);
	tu_rmrf(state);
	clock_now = 1700000000;
	slw_clock_set(test_clock);
	assert_int_equal(store_create(state, NULL, populate, f, NULL), 0);
	assert_int_equal(store_open(state, NULL, &f->s, NULL), 0);
	assert_int_equal(store_read(f->s, signer_txn, &ca, NULL), 0);
	/* leaf 3 supersedes leaf 0 (same node and purpose) */
	for (i = 0; i < 4; i++) {
		make_leaf(ca, purposes[i], &iss);
		memcpy(f->leaf[i], iss.serial, SERIAL_LEN);
		a.iss = &iss;
		a.node = nodes[i];
		a.purpose = purposes[i];
		assert_int_equal(store_write(f->s, record_txn, &a, NULL), 0);
		issue_free(&iss);
	}
	signer_free(ca);
}

static void
fixture_free(struct fixture *f)
{
	store_close(f->s);
	buf_free(&f->ca_der);
	slw_clock_set(NULL);
}

struct rv {
	const uint8_t *serial;
	const char *node;
	int reason;
	size_t count;
	struct cert_rec out;
	int refresh;
};

static int
revoke_txn(struct store_txn *t, void *arg)
{
	struct rv *a = arg;
	int r;

	if (a->node != NULL)
		r = certdb_revoke_node(t, a->node, a->reason, slw_now(), "test",
		    NULL, NULL, &a->count);
	else
		r = certdb_revoke(t, a->serial, a->reason, slw_now(), "test",
		    &a->out);
	if (r == 0 && a->refresh)
		r = crl_store_refresh_all(t, slw_now(), "test", NULL);
	return r;
}

struct snap {
	uint64_t audit;
	struct crl_state crl;
	int have_crl;
};

static int
snap_txn(struct store_txn *t, void *arg)
{
	struct snap *s = arg;
	size_t n;
	int r;

	r = crl_store_get(t, "etcd", 1, &s->crl);
	s->have_crl = r == 0;
	if (r != 0 && r != SLW_ERR_NOTFOUND)
		return r;
	if ((r = store_count(t, DB_AUDIT, &n)) != 0)
		return r;
	s->audit = n;
	return 0;
}

struct get_arg {
	const uint8_t *serial;
	struct cert_rec rec;
};

static int
get_txn(struct store_txn *t, void *arg)
{
	struct get_arg *a = arg;

	return certdb_get(t, a->serial, &a->rec);
}

static void
get_rec(struct store *s, const uint8_t *serial, struct cert_rec *out)
{
	struct get_arg a;

	memset(&a, 0, sizeof(a));
	a.serial = serial;
	assert_int_equal(store_read(s, get_txn, &a, NULL), 0);
	*out = a.rec;
}

static size_t
audit_count(struct store *s)
{
	struct snap x;

	memset(&x, 0, sizeof(x));
	assert_int_equal(store_read(s, snap_txn, &x, NULL), 0);
	crl_store_state_free(&x.crl);
	return (size_t)x.audit;
}

struct last_audit {
	struct audit_entry e;
};

static int
last_one(void *arg, const struct audit_entry *e)
{
	((struct last_audit *)arg)->e = *e;
	return 0;
}

static int
last_txn(struct store_txn *t, void *arg)
{
	return audit_foreach(t, last_one, arg);
}

static void
expect_refusal(struct fixture *f, struct rv *a, int err, const char *msg)
{
	struct slw_diag d;
	size_t before = audit_count(f->s);
	struct snap s0, s1;

	memset(&s0, 0, sizeof(s0));
	memset(&s1, 0, sizeof(s1));
	assert_int_equal(store_read(f->s, snap_txn, &s0, NULL), 0);
	slw_diag_clear(&d);
	assert_int_equal(store_write(f->s, revoke_txn, a, &d), err);
	assert_non_null(strstr(d.msg, msg));
	assert_null(strchr(d.msg, '\n'));
	assert_int_equal(audit_count(f->s), before);
	assert_int_equal(store_read(f->s, snap_txn, &s1, NULL), 0);
	assert_int_equal(s0.have_crl, s1.have_crl);
	assert_int_equal(s0.crl.number, s1.crl.number);
	assert_int_equal(s0.crl.stale, s1.crl.stale);
	crl_store_state_free(&s0.crl);
	crl_store_state_free(&s1.crl);
}

static size_t
crl_count_serial(const struct buf *der, const uint8_t *serial, int *reason)
{
	struct crl_info info;
	struct seen seen;
	size_t i, n = 0;

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(crl_info_der(der->data, der->len, &info, seen_one,
	    &seen), 0);
	for (i = 0; i < seen.n; i++)
		if (memcmp(seen.e[i].serial, serial, SERIAL_LEN) == 0) {
			n++;
			if (reason != NULL)
				*reason = seen.e[i].reason;
		}
	return n;
}

struct refresh_arg {
	size_t n;
};

static int
refresh_txn(struct store_txn *t, void *arg)
{
	return crl_store_refresh_all(t, slw_now(), "test",
	    &((struct refresh_arg *)arg)->n);
}

static int
due_txn(struct store_txn *t, void *arg)
{
	*(int *)arg = crl_store_any_due(t, slw_now());
	return *(int *)arg < 0 ? *(int *)arg : 0;
}

static int
pem_txn(struct store_txn *t, void *arg)
{
	return crl_store_pem(t, "etcd", arg);
}

static void
current_crl(struct fixture *f, struct crl_state *out)
{
	struct snap sn;

	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_read(f->s, snap_txn, &sn, NULL), 0);
	assert_true(sn.have_crl);
	*out = sn.crl;
}

static void
test_revoke_serial(void **st)
{
	struct fixture f;
	struct rv a;
	struct cert_rec rec;
	struct last_audit la;
	struct snap sn;
	char hex[2 * SERIAL_LEN + 1];
	int reason = -1;

	(void)st;
	fixture_new(&f);
	memset(&a, 0, sizeof(a));
	a.serial = f.leaf[2];
	a.reason = CRL_REASON_KEY_COMPROMISE;
	clock_now += 60;
	assert_int_equal(store_write(f.s, revoke_txn, &a, NULL), 0);
	get_rec(f.s, f.leaf[2], &rec);
	assert_int_equal(rec.status, CERT_REVOKED);
	assert_int_equal(rec.reason, CRL_REASON_KEY_COMPROMISE);
	assert_int_equal(rec.status_time, clock_now);
	assert_string_equal(rec.node, "node2");
	certdb_rec_free(&rec);
	/* the audit record came in the same transaction */
	memset(&la, 0, sizeof(la));
	assert_int_equal(store_read(f.s, last_txn, &la, NULL), 0);
	assert_string_equal(la.e.action, "cert.revoke");
	hex_encode(f.leaf[2], SERIAL_LEN, hex);
	assert_non_null(strstr(la.e.detail, hex));
	assert_non_null(strstr(la.e.detail, "keyCompromise"));
	assert_non_null(strstr(la.e.detail, "node node2"));
	/* stale until signed; no CRL yet */
	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_read(f.s, snap_txn, &sn, NULL), 0);
	assert_true(sn.have_crl);
	assert_true(sn.crl.stale);
	assert_int_equal(sn.crl.der.len, 0);
	crl_store_state_free(&sn.crl);

	/* refusals, each one line, nothing changed */
	a.serial = f.leaf[2];
	expect_refusal(&f, &a, SLW_ERR_EXISTS, "already revoked");
	a.serial = f.ca_serial;
	expect_refusal(&f, &a, SLW_ERR_DENIED, "certificate of CA etcd");
	{
		uint8_t unknown[SERIAL_LEN];

		memset(unknown, 0x42, sizeof(unknown));
		a.serial = unknown;
		expect_refusal(&f, &a, SLW_ERR_NOTFOUND, "no certificate with "
		    "serial 4242");
	}
	a.serial = f.leaf[1];
	a.reason = 6;	/* certificateHold */
	expect_refusal(&f, &a, SLW_ERR_INVALID, "reason");
	a.serial = NULL;
	a.node = "node9";
	a.reason = CRL_REASON_UNSPECIFIED;
	expect_refusal(&f, &a, SLW_ERR_NOTFOUND, "node node9 has no "
	    "certificate");

	/* signed: the CRL lists the serial with its reason, number 1 */
	{
		struct refresh_arg ra;
		struct crl_state c;

		assert_int_equal(store_write(f.s, refresh_txn, &ra, NULL), 0);
		assert_int_equal(ra.n, 1);
		current_crl(&f, &c);
		assert_int_equal(c.number, 1);
		assert_false(c.stale);
		assert_int_equal(crl_count_serial(&c.der, f.leaf[2], &reason), 1);
		assert_int_equal(reason, CRL_REASON_KEY_COMPROMISE);
		assert_int_equal(crl_count_serial(&c.der, f.leaf[1], NULL), 0);
		crl_store_state_free(&c);
	}
	fixture_free(&f);
}

static void
test_crl_lifecycle(void **st)
{
	struct fixture f;
	struct refresh_arg ra;
	struct crl_state c1, c2, c3;
	struct rv a;
	struct cert_rec rec;
	struct buf pem = { 0 };
	int due = -1, reason = -1;
	time_t t0;

	(void)st;
	fixture_new(&f);
	t0 = clock_now;
	/* first CRL: empty, number 1 */
	assert_int_equal(store_read(f.s, due_txn, &due, NULL), 0);
	assert_int_equal(due, 1);
	assert_int_equal(store_write(f.s, refresh_txn, &ra, NULL), 0);
	assert_int_equal(ra.n, 1);
	current_crl(&f, &c1);
	assert_int_equal(c1.number, 1);
	assert_int_equal(c1.this_update, t0);
	assert_int_equal(c1.next_update, t0 + CRL_LIFETIME_SECS);
	assert_int_equal(crl_verify(c1.der.data, c1.der.len, f.ca_der.data,
	    f.ca_der.len), 0);
	/* not due again until half its lifetime has passed */
	clock_now = t0 + CRL_LIFETIME_SECS / 2 - 1;
	assert_int_equal(store_read(f.s, due_txn, &due, NULL), 0);
	assert_int_equal(due, 0);
	assert_int_equal(store_write(f.s, refresh_txn, &ra, NULL), 0);
	assert_int_equal(ra.n, 0);
	current_crl(&f, &c2);
	assert_int_equal(c2.number, 1);
	assert_memory_equal(c2.der.data, c1.der.data, c1.der.len);
	crl_store_state_free(&c2);
	clock_now = t0 + CRL_LIFETIME_SECS / 2 + 1;
	assert_int_equal(store_read(f.s, due_txn, &due, NULL), 0);
	assert_int_equal(due, 1);
	assert_int_equal(store_write(f.s, refresh_txn, &ra, NULL), 0);
	assert_int_equal(ra.n, 1);
	current_crl(&f, &c2);
	assert_int_equal(c2.number, 2);
	crl_store_state_free(&c2);

	/* revoke node1: leaves 0 (superseded), 1 and 3, not node2's */
	memset(&a, 0, sizeof(a));
	a.node = "node1";
	a.reason = CRL_REASON_CESSATION_OF_OPERATION;
	a.refresh = 1;
	clock_now += 10;
	assert_int_equal(store_write(f.s, revoke_txn, &a, NULL), 0);
	assert_int_equal(a.count, 3);
	current_crl(&f, &c3);
	assert_int_equal(c3.number, 3);
	assert_false(c3.stale);
	assert_int_equal(c3.n_entries, 3);
	assert_int_equal(crl_count_serial(&c3.der, f.leaf[0], &reason), 1);
	assert_int_equal(reason, CRL_REASON_CESSATION_OF_OPERATION);
	assert_int_equal(crl_count_serial(&c3.der, f.leaf[1], NULL), 1);
	assert_int_equal(crl_count_serial(&c3.der, f.leaf[3], NULL), 1);
	assert_int_equal(crl_count_serial(&c3.der, f.leaf[2], NULL), 0);
	crl_store_state_free(&c3);
	get_rec(f.s, f.leaf[0], &rec);
	assert_int_equal(rec.status, CERT_REVOKED);
	certdb_rec_free(&rec);
	/* again: nothing left to revoke, nothing changes */
	a.count = 99;
	expect_refusal(&f, &a, SLW_ERR_NOTFOUND, "no certificate left");

	/* the served PEM: this generation's CRL */
	assert_int_equal(store_read(f.s, pem_txn, &pem, NULL), 0);
	assert_non_null(tu_memmem(pem.data, pem.len, "-----BEGIN X509 CRL-----",
	    24));
	buf_free(&pem);

	/* entries leave the CRL a whole lifetime after their expiry */
	get_rec(f.s, f.leaf[1], &rec);
	clock_now = rec.not_after + CRL_LIFETIME_SECS - 1;
	certdb_rec_free(&rec);
	assert_int_equal(store_write(f.s, refresh_txn, &ra, NULL), 0);
	current_crl(&f, &c3);
	assert_int_equal(crl_count_serial(&c3.der, f.leaf[1], NULL), 1);
	crl_store_state_free(&c3);
	clock_now += CRL_LIFETIME_SECS;
	assert_int_equal(store_write(f.s, refresh_txn, &ra, NULL), 0);
	current_crl(&f, &c3);
	assert_int_equal(crl_count_serial(&c3.der, f.leaf[1], NULL), 0);
	assert_int_equal(c3.n_entries, 0);
	assert_int_equal(c3.number, 5);
	crl_store_state_free(&c3);
	crl_store_state_free(&c1);
	fixture_free(&f);
}

/* A revoked certificate stays revoked when its node gets a new one for
 * the same purpose (supersession never overwrites a revocation). */
static void
test_supersede_keeps_revocation(void **st)
{
	struct fixture f;
	struct rv a;
	struct cert_rec rec;
	struct signer *ca = NULL;
	struct issued iss;
	struct issue_arg ia;

	(void)st;
	fixture_new(&f);
	memset(&a, 0, sizeof(a));
	a.serial = f.leaf[1];	/* node1 flanneld */
	a.reason = CRL_REASON_KEY_COMPROMISE;
	assert_int_equal(store_write(f.s, revoke_txn, &a, NULL), 0);
	assert_int_equal(store_read(f.s, signer_txn, &ca, NULL), 0);
	make_leaf(ca, "flanneld", &iss);
	ia.iss = &iss;
	ia.node = "node1";
	ia.purpose = "flanneld";
	assert_int_equal(store_write(f.s, record_txn, &ia, NULL), 0);
	get_rec(f.s, f.leaf[1], &rec);
	assert_int_equal(rec.status, CERT_REVOKED);
	assert_int_equal(rec.reason, CRL_REASON_KEY_COMPROMISE);
	certdb_rec_free(&rec);
	/* and the superseded one carries its time */
	get_rec(f.s, f.leaf[0], &rec);
	assert_int_equal(rec.status, CERT_SUPERSEDED);
	assert_true(rec.status_time >= 1700000000);
	certdb_rec_free(&rec);
	issue_free(&iss);
	signer_free(ca);
	fixture_free(&f);
}

static void
test_serial_parse(void **st)
{
	uint8_t s[SERIAL_LEN];

	(void)st;
	assert_int_equal(certdb_serial_parse(
	    "00112233445566778899aabbccddeeff", s), 0);
	assert_int_equal(s[0], 0x00);
	assert_int_equal(s[15], 0xff);
	assert_int_equal(certdb_serial_parse(
	    "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF", s), 0);
	assert_int_equal(s[10], 0xaa);
	assert_int_equal(certdb_serial_parse("0011", s), SLW_ERR_INVALID);
	assert_int_equal(certdb_serial_parse(
	    "00112233445566778899aabbccddeeff00", s), SLW_ERR_INVALID);
	assert_int_equal(certdb_serial_parse(
	    "0g112233445566778899aabbccddeeff", s), SLW_ERR_INVALID);
	assert_int_equal(certdb_serial_parse(
	    "0:0112233445566778899aabbccddeeff", s), SLW_ERR_INVALID);
	assert_int_equal(certdb_serial_parse("", s), SLW_ERR_INVALID);
}

static int
setup(void **st)
{
	(void)st;
	dir = tu_tmpdir();
	return 0;
}

static int
teardown(void **st)
{
	(void)st;
	tu_rmrf(dir);
	free(dir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_serial_parse),
		cmocka_unit_test(test_crl_ec_p256),
		cmocka_unit_test(test_crl_rsa_2048),
		cmocka_unit_test(test_crl_ec_p384),
		cmocka_unit_test(test_crl_empty_and_2050),
		cmocka_unit_test(test_revoke_serial),
		cmocka_unit_test(test_crl_lifecycle),
		cmocka_unit_test(test_supersede_keeps_revocation),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
