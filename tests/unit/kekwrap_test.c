// SPDX-License-Identifier: Apache-2.0
/*
 * kekwrap_test.c: the wrapped-KEK file: passphrase and recovery slots give
 * the KEK back only with their passphrase, costs cannot be lowered by
 * editing the file, any flipped byte or truncation is refused, the TPM slot
 * round-trips, and the file is written 0600 and refused when readable by
 * others.
 */
#include "testutil.h"

#include "kekwrap.h"

#include <sys/stat.h>

/* cheap costs: the tests run under ASan too */
static const struct kekwrap_cost cheap = { 1, 8192, 1 };

static void
make(struct kekwrap *w, struct kek *k)
{
	memset(w, 0, sizeof(*w));
	assert_int_equal(kek_generate(k), 0);
	assert_int_equal(kekwrap_set_pass(w, KEKWRAP_PASSPHRASE, k,
	    "correct horse battery", 21, &cheap, NULL), 0);
}

static void
test_roundtrip(void **st)
{
	struct kekwrap w, p;
	struct kek k, o;
	struct buf b = { 0 };

	(void)st;
	make(&w, &k);
	assert_int_equal(kekwrap_write(&w, &b), 0);
	assert_null(tu_memmem(b.data, b.len, k.key, KEK_LEN));
	assert_int_equal(kekwrap_parse(b.data, b.len, &p, NULL), 0);
	assert_int_equal(kekwrap_open_pass(&p, KEKWRAP_PASSPHRASE,
	    "correct horse battery", 21, &o), 0);
	assert_memory_equal(o.key, k.key, KEK_LEN);
	assert_memory_equal(o.audit_key, k.audit_key, sizeof(k.audit_key));
	assert_int_equal(kekwrap_open_pass(&p, KEKWRAP_PASSPHRASE,
	    "correct horse batterz", 21, &o), SLW_ERR_KEK);
	assert_int_equal(kekwrap_open_pass(&p, KEKWRAP_PASSPHRASE, "", 0, &o),
	    SLW_ERR_KEK);
	assert_int_equal(kekwrap_open_pass(&p, KEKWRAP_RECOVERY,
	    "correct horse battery", 21, &o), SLW_ERR_NOTFOUND);
	buf_free(&b);
	kekwrap_wipe(&w);
	kekwrap_wipe(&p);
}

/* Lowering the costs in the file (to guess faster) makes the slot fail. */
static void
test_costs_bound(void **st)
{
	struct kekwrap w, p;
	struct kek k, o;
	struct buf b = { 0 };
	struct kekwrap_cost c = { 2, 8192, 1 };

	(void)st;
	memset(&w, 0, sizeof(w));
	kek_generate(&k);
	assert_int_equal(kekwrap_set_pass(&w, KEKWRAP_PASSPHRASE, &k,
	    "correct horse battery", 21, &c, NULL), 0);
	assert_int_equal(kekwrap_write(&w, &b), 0);
	/* t_cost is the first field of the first slot's body */
	assert_int_equal(b.data[6 + 4 + 3], 2);
	b.data[6 + 4 + 3] = 1;
	assert_int_equal(kekwrap_parse(b.data, b.len, &p, NULL), 0);
	assert_int_equal(kekwrap_open_pass(&p, KEKWRAP_PASSPHRASE,
	    "correct horse battery", 21, &o), SLW_ERR_KEK);
	/* out of bounds is a parse error */
	b.data[6 + 4 + 3] = 0;
	assert_int_equal(kekwrap_parse(b.data, b.len, &p, NULL), SLW_ERR_PARSE);
	c.m_cost_kib = 4096;
	assert_int_equal(kekwrap_set_pass(&w, KEKWRAP_PASSPHRASE, &k,
	    "correct horse battery", 21, &c, NULL), SLW_ERR_INVALID);
	buf_free(&b);
}

static void
test_every_flip_and_cut(void **st)
{
	struct kekwrap w, p;
	struct kek k, o;
	struct buf b = { 0 };
	size_t i;

	(void)st;
	make(&w, &k);
	assert_int_equal(kekwrap_write(&w, &b), 0);
	for (i = 0; i < b.len; i++) {
		b.data[i] ^= 0x40;
		if (kekwrap_parse(b.data, b.len, &p, NULL) == 0) {
			int r = kekwrap_open_pass(&p, KEKWRAP_PASSPHRASE,
			    "correct horse battery", 21, &o);

			/* only a flip that changes nothing wrapped may pass */
			if (r == 0)
				fail_msg("byte %zu flipped still opens", i);
			assert_true(r == SLW_ERR_KEK || r == SLW_ERR_NOTFOUND ||
			    r == SLW_ERR_CRYPTO);
		}
		b.data[i] ^= 0x40;
	}
	for (i = 0; i < b.len; i++)
		assert_int_equal(kekwrap_parse(b.data, i, &p, NULL),
		    SLW_ERR_PARSE);
	assert_int_equal(buf_append(&b, "x", 1), 0);
	assert_int_equal(kekwrap_parse(b.data, b.len, &p, NULL), SLW_ERR_PARSE);
	buf_free(&b);
}

static void
test_malformed(void **st)
{
	struct kekwrap w, p;
	struct kek k;
	struct buf b = { 0 };
	struct slw_diag d;
	uint8_t big[KEKWRAP_MAX + 1];

	(void)st;
	make(&w, &k);
	assert_int_equal(kekwrap_write(&w, &b), 0);
	slw_diag_clear(&d);
	b.data[4] = 2;
	assert_int_equal(kekwrap_parse(b.data, b.len, &p, &d), SLW_ERR_PARSE);
	assert_non_null(strstr(d.msg, "version 2"));
	b.data[4] = 1;
	b.data[5] = 0;
	assert_int_equal(kekwrap_parse(b.data, b.len, &p, NULL), SLW_ERR_PARSE);
	b.data[5] = 4;
	assert_int_equal(kekwrap_parse(b.data, b.len, &p, NULL), SLW_ERR_PARSE);
	b.data[5] = 1;
	b.data[6] = 9;		/* unknown kind */
	slw_diag_clear(&d);
	assert_int_equal(kekwrap_parse(b.data, b.len, &p, &d), SLW_ERR_PARSE);
	assert_non_null(strstr(d.msg, "unknown kind 9"));
	b.data[6] = 1;
	b.data[7] = 1;		/* reserved byte */
	assert_int_equal(kekwrap_parse(b.data, b.len, &p, NULL), SLW_ERR_PARSE);
	b.data[7] = 0;
	/* the same slot twice */
	{
		struct buf two = { 0 };

		assert_int_equal(buf_append(&two, b.data, b.len), 0);
		assert_int_equal(buf_append(&two, b.data + 6, b.len - 6), 0);
		two.data[5] = 2;
		slw_diag_clear(&d);
		assert_int_equal(kekwrap_parse(two.data, two.len, &p, &d),
		    SLW_ERR_PARSE);
		assert_non_null(strstr(d.msg, "repeats"));
		buf_free(&two);
	}
	memset(big, 0, sizeof(big));
	memcpy(big, b.data, b.len);
	assert_int_equal(kekwrap_parse(big, sizeof(big), &p, NULL),
	    SLW_ERR_PARSE);
	assert_int_equal(kekwrap_parse((const uint8_t *)"SWKW", 4, &p, NULL),
	    SLW_ERR_PARSE);
	assert_int_equal(kekwrap_parse((const uint8_t *)"SLIPWAY-KEK-1 00", 16,
	    &p, NULL), SLW_ERR_PARSE);
	memset(&w, 0, sizeof(w));
	assert_int_equal(kekwrap_write(&w, &b), SLW_ERR_INVALID);
	buf_free(&b);
}

static void
test_recovery(void **st)
{
	struct kekwrap w;
	struct kek k, o;
	char rec[KEKWRAP_RECOVERY_LEN + 1], other[KEKWRAP_RECOVERY_LEN + 1];
	char typed[64];
	enum kekwrap_kind which = 0;
	size_t i, j;

	(void)st;
	make(&w, &k);
	assert_int_equal(kekwrap_recovery_new(rec), 0);
	assert_int_equal(kekwrap_recovery_new(other), 0);
	assert_int_equal(strlen(rec), KEKWRAP_RECOVERY_LEN);
	assert_string_not_equal(rec, other);
	for (i = 0; i < KEKWRAP_RECOVERY_LEN; i++)
		assert_true(i % 6 == 5 ? rec[i] == '-' :
		    strchr("0123456789abcdefghjkmnpqrstvwxyz", rec[i]) != NULL);
	assert_true(kekwrap_is_recovery(rec, strlen(rec)));
	assert_false(kekwrap_is_recovery("correct horse battery", 21));
	assert_int_equal(kekwrap_set_pass(&w, KEKWRAP_RECOVERY, &k, rec,
	    strlen(rec), &cheap, NULL), 0);
	/* typed in upper case with spaces instead of dashes */
	for (i = j = 0; rec[i]; i++)
		typed[j++] = rec[i] == '-' ? ' ' :
		    (rec[i] >= 'a' && rec[i] <= 'z' ? (char)(rec[i] - 32) : rec[i]);
	typed[j] = '\0';
	assert_int_equal(kekwrap_open_any(&w, typed, j, &o, &which), 0);
	assert_int_equal(which, KEKWRAP_RECOVERY);
	assert_memory_equal(o.key, k.key, KEK_LEN);
	assert_int_equal(kekwrap_open_any(&w, "correct horse battery", 21, &o,
	    &which), 0);
	assert_int_equal(which, KEKWRAP_PASSPHRASE);
	assert_int_equal(kekwrap_open_any(&w, other, strlen(other), &o,
	    &which), SLW_ERR_KEK);
	assert_int_equal(kekwrap_open_any(&w, "wrong passphrase", 16, &o,
	    &which), SLW_ERR_KEK);
	/* the operator's slot gone: only the recovery passphrase opens */
	w.has_pw = 0;
	assert_int_equal(kekwrap_open_any(&w, "correct horse battery", 21, &o,
	    &which), SLW_ERR_KEK);
	assert_int_equal(kekwrap_open_any(&w, rec, strlen(rec), &o, &which), 0);
	kekwrap_wipe(&w);
}

static void
test_pass_check(void **st)
{
	struct slw_diag d;
	char longp[KEKWRAP_PASS_MAX + 2];

	(void)st;
	slw_diag_clear(&d);
	assert_int_equal(kekwrap_pass_check("short", 5, &d), SLW_ERR_INVALID);
	assert_non_null(strstr(d.msg, "at least 8"));
	assert_int_equal(kekwrap_pass_check("tab\there!", 9, NULL),
	    SLW_ERR_INVALID);
	assert_int_equal(kekwrap_pass_check("new\nline!", 9, NULL),
	    SLW_ERR_INVALID);
	memset(longp, 'a', sizeof(longp));
	assert_int_equal(kekwrap_pass_check(longp, KEKWRAP_PASS_MAX, NULL), 0);
	assert_int_equal(kekwrap_pass_check(longp, KEKWRAP_PASS_MAX + 1, NULL),
	    SLW_ERR_INVALID);
	assert_int_equal(kekwrap_pass_check("ünïcode ok", strlen("ünïcode ok"),
	    NULL), 0);
}

static void
test_tpm_slot(void **st)
{
	struct kekwrap w, p;
	struct kek k;
	struct buf b = { 0 };
	uint8_t pub[300], priv[200], big[KEKWRAP_TPM_BLOB_MAX + 1];

	(void)st;
	make(&w, &k);
	memset(pub, 0xa5, sizeof(pub));
	memset(priv, 0x5a, sizeof(priv));
	memset(big, 0, sizeof(big));
	assert_int_equal(kekwrap_set_tpm(&w, 1u << 7, pub, sizeof(pub), priv,
	    sizeof(priv)), 0);
	assert_int_equal(kekwrap_set_tpm(&w, 1u << 24, pub, sizeof(pub), priv,
	    sizeof(priv)), SLW_ERR_INVALID);
	assert_int_equal(kekwrap_set_tpm(&w, 0, big, sizeof(big), priv,
	    sizeof(priv)), SLW_ERR_INVALID);
	assert_int_equal(kekwrap_set_tpm(&w, 0, pub, 0, priv, sizeof(priv)),
	    SLW_ERR_INVALID);
	assert_int_equal(kekwrap_write(&w, &b), 0);
	assert_int_equal(kekwrap_parse(b.data, b.len, &p, NULL), 0);
	assert_true(p.has_tpm && p.has_pw && !p.has_recovery);
	assert_int_equal(p.tpm.pcr_mask, 1u << 7);
	assert_int_equal(p.tpm.pub_len, sizeof(pub));
	assert_memory_equal(p.tpm.pub, pub, sizeof(pub));
	assert_int_equal(p.tpm.priv_len, sizeof(priv));
	assert_memory_equal(p.tpm.priv, priv, sizeof(priv));
	/* a TPM slot alone is a valid file */
	w.has_pw = 0;
	assert_int_equal(kekwrap_write(&w, &b), 0);
	assert_int_equal(kekwrap_parse(b.data, b.len, &p, NULL), 0);
	assert_true(p.has_tpm && !p.has_pw);
	buf_free(&b);
}

static void
test_files(void **st)
{
	char *dir = tu_tmpdir(), path[4200];
	struct kekwrap w, p;
	struct kek k, o;
	struct slw_diag d;
	struct stat sb;

	(void)st;
	snprintf(path, sizeof(path), "%s/kek.wrapped", dir);
	make(&w, &k);
	slw_diag_clear(&d);
	assert_int_equal(kekwrap_load(path, &p, &d), SLW_ERR_NOKEK);
	assert_int_equal(kekwrap_save(path, &w, 1, NULL), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	slw_diag_clear(&d);
	assert_int_equal(kekwrap_save(path, &w, 1, &d), SLW_ERR_EXISTS);
	assert_int_equal(kekwrap_save(path, &w, 0, NULL), 0);
	assert_int_equal(kekwrap_load(path, &p, NULL), 0);
	assert_int_equal(kekwrap_open_pass(&p, KEKWRAP_PASSPHRASE,
	    "correct horse battery", 21, &o), 0);
	assert_memory_equal(o.key, k.key, KEK_LEN);
	chmod(path, 0640);
	slw_diag_clear(&d);
	assert_int_equal(kekwrap_load(path, &p, &d), SLW_ERR_PERM);
	assert_non_null(strstr(d.msg, "0640"));
	chmod(path, 0600);
	tu_write(path, "garbage", 7);
	slw_diag_clear(&d);
	assert_int_equal(kekwrap_load(path, &p, &d), SLW_ERR_PARSE);
	assert_non_null(strstr(d.msg, "not a slipway wrapped-KEK file"));
	tu_rmrf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_costs_bound),
		cmocka_unit_test(test_every_flip_and_cut),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_recovery),
		cmocka_unit_test(test_pass_check),
		cmocka_unit_test(test_tpm_slot),
		cmocka_unit_test(test_files),
	};

	slw_crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
