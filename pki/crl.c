// SPDX-License-Identifier: Apache-2.0
/*
 * crl.c: writes X.509 v2 CRLs with mbedTLS's ASN.1 writer and signs them
 * with a CA signer; reads them back with mbedTLS's parser plus the fields
 * it leaves raw. Never signs with a CA whose key usage forbids cRLSign, and
 * never reads outside (buf, len).
 */
#include "crl.h"
#include "pem.h"
#include "rand.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_crl.h>

/* id-ce-cRLReasons (RFC 5280 5.3.1); mbedTLS has no name for it */
#define OID_CRL_REASON MBEDTLS_OID_ID_CE "\x15"
/* per entry: SEQ(4) + INTEGER(2+17) + Time(2+15) + reason ext(2+14) */
#define ENTRY_MAX 64

static const struct {
	const char *name;
	int code;
} reasons[] = {
	{ "unspecified", CRL_REASON_UNSPECIFIED },
	{ "keyCompromise", CRL_REASON_KEY_COMPROMISE },
	{ "cACompromise", CRL_REASON_CA_COMPROMISE },
	{ "affiliationChanged", CRL_REASON_AFFILIATION_CHANGED },
	{ "superseded", CRL_REASON_SUPERSEDED },
	{ "cessationOfOperation", CRL_REASON_CESSATION_OF_OPERATION },
	{ "privilegeWithdrawn", CRL_REASON_PRIVILEGE_WITHDRAWN },
	{ "aACompromise", CRL_REASON_AA_COMPROMISE },
};
#define N_REASONS (sizeof(reasons) / sizeof(reasons[0]))

int
crl_reason_parse(const char *name, int *reason)
{
	size_t i;

	if (name == NULL)
		return SLW_ERR_INVALID;
	for (i = 0; i < N_REASONS; i++)
		if (strcmp(name, reasons[i].name) == 0) {
			*reason = reasons[i].code;
			return 0;
		}
	return SLW_ERR_INVALID;
}

const char *
crl_reason_name(int reason)
{
	size_t i;

	for (i = 0; i < N_REASONS; i++)
		if (reasons[i].code == reason)
			return reasons[i].name;
	return NULL;
}

const char *
crl_reason_list(void)
{
	return "unspecified, keyCompromise, cACompromise, affiliationChanged, "
	    "superseded, cessationOfOperation, privilegeWithdrawn, aACompromise";
}

/* RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
static int
wr_time(unsigned char **p, unsigned char *start, time_t t)
{
	struct tm tm;
	char s[32];
	int n;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 1950)
		return MBEDTLS_ERR_ASN1_INVALID_DATA;
	if (tm.tm_year + 1900 < 2050)
		n = snprintf(s, sizeof(s), "%02d%02d%02d%02d%02d%02dZ",
		    tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
	else
		n = snprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02dZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
	return mbedtls_asn1_write_tagged_string(p, start,
	    tm.tm_year + 1900 < 2050 ? MBEDTLS_ASN1_UTC_TIME :
	    MBEDTLS_ASN1_GENERALIZED_TIME, s, (size_t)n);
}

/* A positive INTEGER from big-endian bytes (minimal, sign byte added). */
static int
wr_uint(unsigned char **p, unsigned char *start, const uint8_t *v, size_t n)
{
	int ret;
	size_t len = 0;

	while (n > 1 && v[0] == 0) {
		v++;
		n--;
	}
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start, v, n));
	if (v[0] & 0x80) {
		if (*p - start < 1)
			return MBEDTLS_ERR_ASN1_BUF_TOO_SMALL;
		*--(*p) = 0;
		len++;
	}
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start,
	    MBEDTLS_ASN1_INTEGER));
	return (int)len;
}

/* Wraps the vlen bytes just written in an OCTET STRING, then in an
 * Extension SEQUENCE with the OID (never critical). */
static int
wr_ext(unsigned char **p, unsigned char *start, const char *oid,
    size_t oidlen, size_t vlen)
{
	int ret;
	size_t len = vlen;

	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, vlen));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start,
	    MBEDTLS_ASN1_OCTET_STRING));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(p, start, oid, oidlen));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start,
	    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	return (int)(len - vlen);
}

static int
wr_entry(unsigned char **p, unsigned char *start, const struct crl_entry *e)
{
	int ret;
	size_t len = 0, v = 0;

	if (e->reason != CRL_REASON_UNSPECIFIED) {
		/* crlEntryExtensions: { reasonCode ENUMERATED } */
		MBEDTLS_ASN1_CHK_ADD(v, mbedtls_asn1_write_enum(p, start,
		    e->reason));
		MBEDTLS_ASN1_CHK_ADD(v, wr_ext(p, start, OID_CRL_REASON,
		    MBEDTLS_OID_SIZE(OID_CRL_REASON), v));
		MBEDTLS_ASN1_CHK_ADD(v, mbedtls_asn1_write_len(p, start, v));
		MBEDTLS_ASN1_CHK_ADD(v, mbedtls_asn1_write_tag(p, start,
		    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
		len += v;
	}
	MBEDTLS_ASN1_CHK_ADD(len, wr_time(p, start, e->revoked_at));
	MBEDTLS_ASN1_CHK_ADD(len, wr_uint(p, start, e->serial, SERIAL_LEN));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start,
	    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	return (int)len;
}

/* The CA's key identifier: its SKI extension, else RFC 5280 4.2.1.2
 * method 1 (SHA-1 of the subjectPublicKey bits), as mbedTLS's writer
 * computes the AKI of the certificates it signs. */
static int
ca_key_id(const struct signer *ca, uint8_t id[64], size_t *idlen)
{
	unsigned char buf[MBEDTLS_MPI_MAX_SIZE * 2 + 20], *c = buf + sizeof(buf);
	int n;

	if (ca->crt.subject_key_id.p != NULL &&
	    ca->crt.subject_key_id.len > 0 && ca->crt.subject_key_id.len <= 64) {
		memcpy(id, ca->crt.subject_key_id.p, ca->crt.subject_key_id.len);
		*idlen = ca->crt.subject_key_id.len;
		return 0;
	}
	n = mbedtls_pk_write_pubkey(&c, buf,
	    (mbedtls_pk_context *)&ca->crt.pk);
	if (n <= 0)
		return SLW_ERR_CRYPTO;
	if (mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA1), c,
	    (size_t)n, id) != 0)
		return SLW_ERR_CRYPTO;
	*idlen = 20;
	return 0;
}

/* crlExtensions [0] EXPLICIT: AKI, then CRL Number */
static int
wr_crl_exts(unsigned char **p, unsigned char *start, const uint8_t *kid,
    size_t kidlen, uint64_t number)
{
	uint8_t num[8];
	int ret, i;
	size_t len = 0, v = 0;

	for (i = 0; i < 8; i++)
		num[i] = (uint8_t)(number >> (56 - 8 * i));
	MBEDTLS_ASN1_CHK_ADD(v, wr_uint(p, start, num, sizeof(num)));
	MBEDTLS_ASN1_CHK_ADD(len, wr_ext(p, start, MBEDTLS_OID_CRL_NUMBER,
	    MBEDTLS_OID_SIZE(MBEDTLS_OID_CRL_NUMBER), v));
	len += v;
	v = 0;
	/* AuthorityKeyIdentifier ::= SEQUENCE { [0] keyIdentifier } */
	MBEDTLS_ASN1_CHK_ADD(v, mbedtls_asn1_write_raw_buffer(p, start, kid,
	    kidlen));
	MBEDTLS_ASN1_CHK_ADD(v, mbedtls_asn1_write_len(p, start, v));
	MBEDTLS_ASN1_CHK_ADD(v, mbedtls_asn1_write_tag(p, start,
	    MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0));
	MBEDTLS_ASN1_CHK_ADD(v, mbedtls_asn1_write_len(p, start, v));
	MBEDTLS_ASN1_CHK_ADD(v, mbedtls_asn1_write_tag(p, start,
	    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	MBEDTLS_ASN1_CHK_ADD(len, wr_ext(p, start,
	    MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER,
	    MBEDTLS_OID_SIZE(MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER), v));
	len += v;
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start,
	    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start,
	    MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 0));
	return (int)len;
}

static int
wr_sig_alg(unsigned char **p, unsigned char *start, const struct signer *ca,
    mbedtls_md_type_t md)
{
	const char *oid;
	size_t oidlen;
	int rsa = mbedtls_pk_can_do(&ca->key->pk, MBEDTLS_PK_RSA);

	if (mbedtls_oid_get_oid_by_sig_alg(rsa ? MBEDTLS_PK_RSA :
	    MBEDTLS_PK_ECDSA, md, &oid, &oidlen) != 0)
		return MBEDTLS_ERR_ASN1_INVALID_DATA;
	/* RSA: NULL parameters; ECDSA: none (RFC 5758 3.2) */
	return mbedtls_asn1_write_algorithm_identifier_ext(p, start, oid,
	    oidlen, 0, rsa);
}

/* TBSCertList, written backwards ending at buf + cap. */
static int
wr_tbs(unsigned char *buf, size_t cap, const struct signer *ca,
    const struct crl_entry *e, size_t n, uint64_t number, time_t tu,
    time_t nu, mbedtls_md_type_t md, unsigned char **tbs)
{
	unsigned char *p = buf + cap;
	uint8_t kid[64];
	size_t kidlen, len = 0, rl = 0, i;
	int ret;

	if (ca_key_id(ca, kid, &kidlen) != 0)
		return MBEDTLS_ERR_ASN1_INVALID_DATA;
	MBEDTLS_ASN1_CHK_ADD(len, wr_crl_exts(&p, buf, kid, kidlen, number));
	if (n > 0) {	/* RFC 5280 5.1.2.6: absent when empty */
		for (i = n; i-- > 0;)
			MBEDTLS_ASN1_CHK_ADD(rl, wr_entry(&p, buf, &e[i]));
		MBEDTLS_ASN1_CHK_ADD(rl, mbedtls_asn1_write_len(&p, buf, rl));
		MBEDTLS_ASN1_CHK_ADD(rl, mbedtls_asn1_write_tag(&p, buf,
		    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
		len += rl;
	}
	MBEDTLS_ASN1_CHK_ADD(len, wr_time(&p, buf, nu));
	MBEDTLS_ASN1_CHK_ADD(len, wr_time(&p, buf, tu));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(&p, buf,
	    ca->crt.subject_raw.p, ca->crt.subject_raw.len));
	MBEDTLS_ASN1_CHK_ADD(len, wr_sig_alg(&p, buf, ca, md));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_int(&p, buf, 1));	/* v2 */
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(&p, buf, len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(&p, buf,
	    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	*tbs = p;
	return (int)len;
}

int
crl_write(const struct signer *ca, const struct crl_entry *e, size_t n,
    uint64_t number, time_t this_update, time_t next_update, struct buf *der,
    struct slw_diag *d)
{
	unsigned char *tb = NULL, *out = NULL, *tbs, *p;
	unsigned char hash[MBEDTLS_MD_MAX_SIZE];
	unsigned char sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	mbedtls_md_type_t md;
	size_t cap, slen, len, i;
	int r = SLW_ERR_INTERNAL, tl, ret;

	if (ca == NULL || ca->key == NULL || (n > 0 && e == NULL) ||
	    next_update <= this_update)
		return SLW_ERR_INVALID;
	if (n > CRL_MAX_ENTRIES)
		return slw_diag(d, SLW_ERR_LIMIT, "more than %u revoked "
		    "certificates in one CRL", CRL_MAX_ENTRIES);
	for (i = 0; i < n; i++)
		if (crl_reason_name(e[i].reason) == NULL)
			return slw_diag(d, SLW_ERR_INVALID, "CRL entry %zu: "
			    "reason code %d is not one slipway writes", i,
			    e[i].reason);
	if (mbedtls_x509_crt_check_key_usage(&ca->crt,
	    MBEDTLS_X509_KU_CRL_SIGN) != 0)
		return slw_diag(d, SLW_ERR_DENIED, "the CA certificate's key "
		    "usage does not allow signing CRLs (cRLSign)");
	md = cert_md(ca->key);
	cap = n * ENTRY_MAX + ca->crt.subject_raw.len + 512;
	if ((tb = malloc(cap)) == NULL)
		return SLW_ERR_NOMEM;
	if ((tl = wr_tbs(tb, cap, ca, e, n, number, this_update, next_update,
	    md, &tbs)) < 0) {
		r = slw_diag(d, SLW_ERR_INVALID, "cannot encode the CRL "
		    "(dates outside 1950-9999?)");
		goto out;
	}
	r = SLW_ERR_CRYPTO;
	if (mbedtls_md(mbedtls_md_info_from_type(md), tbs, (size_t)tl,
	    hash) != 0)
		goto out;
	if (mbedtls_pk_sign(&ca->key->pk, md, hash,
	    mbedtls_md_get_size(mbedtls_md_info_from_type(md)), sig,
	    sizeof(sig), &slen, slw_rng, NULL) != 0) {
		r = slw_diag(d, SLW_ERR_CRYPTO, "signing the CRL failed");
		goto out;
	}
	/* CertificateList ::= SEQUENCE { tbs, algorithm, BIT STRING sig } */
	cap = (size_t)tl + slen + 128;
	if ((out = malloc(cap)) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	p = out + cap;
	len = 0;
	r = SLW_ERR_INTERNAL;
	if ((ret = mbedtls_asn1_write_bitstring(&p, out, sig, slen * 8)) < 0)
		goto out;
	len += (size_t)ret;
	if ((ret = wr_sig_alg(&p, out, ca, md)) < 0)
		goto out;
	len += (size_t)ret;
	if ((ret = mbedtls_asn1_write_raw_buffer(&p, out, tbs, (size_t)tl)) < 0)
		goto out;
	len += (size_t)ret;
	if ((ret = mbedtls_asn1_write_len(&p, out, len)) < 0)
		goto out;
	len += (size_t)ret;
	if ((ret = mbedtls_asn1_write_tag(&p, out,
	    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) < 0)
		goto out;
	len += (size_t)ret;
	r = buf_set(der, p, len);
 out:
	mbedtls_platform_zeroize(hash, sizeof(hash));
	free(tb);
	free(out);
	return r;
}

/* The value of one Extension (p at its SEQUENCE); *oid and the OCTET
 * STRING's contents are returned as pointers into [*p, end). */
static int
rd_ext(unsigned char **p, const unsigned char *end, mbedtls_asn1_buf *oid,
    unsigned char **val, size_t *vlen)
{
	unsigned char *ee;
	size_t len;
	int crit = 0;

	if (mbedtls_asn1_get_tag(p, end, &len,
	    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
		return SLW_ERR_PARSE;
	ee = *p + len;
	if (mbedtls_asn1_get_tag(p, ee, &oid->len, MBEDTLS_ASN1_OID) != 0)
		return SLW_ERR_PARSE;
	oid->p = *p;
	*p += oid->len;
	if (*p < ee && **p == MBEDTLS_ASN1_BOOLEAN &&
	    mbedtls_asn1_get_bool(p, ee, &crit) != 0)
		return SLW_ERR_PARSE;
	if (mbedtls_asn1_get_tag(p, ee, vlen, MBEDTLS_ASN1_OCTET_STRING) != 0)
		return SLW_ERR_PARSE;
	*val = *p;
	*p += *vlen;
	return *p == ee ? 0 : SLW_ERR_PARSE;
}

static int
oid_is(const mbedtls_asn1_buf *oid, const char *want, size_t wlen)
{
	return oid->len == wlen && memcmp(oid->p, want, wlen) == 0;
}

/* crlEntryExtensions (p at the SEQUENCE OF): the reason code, if any. */
static int
rd_entry_exts(unsigned char *p, const unsigned char *end, int *reason)
{
	mbedtls_asn1_buf oid;
	unsigned char *val, *ee;
	size_t len, vlen;

	*reason = CRL_REASON_UNSPECIFIED;
	if (mbedtls_asn1_get_tag(&p, end, &len,
	    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
		return SLW_ERR_PARSE;
	ee = p + len;
	while (p < ee) {
		if (rd_ext(&p, ee, &oid, &val, &vlen) != 0)
			return SLW_ERR_PARSE;
		if (oid_is(&oid, OID_CRL_REASON, MBEDTLS_OID_SIZE(OID_CRL_REASON)) &&
		    (mbedtls_asn1_get_enum(&val, val + vlen, reason) != 0 ||
		    *reason < 0 || *reason > 10))
			return SLW_ERR_PARSE;
	}
	return 0;
}

/* crlExtensions (p at the SEQUENCE OF): CRL Number and AKI. */
static int
rd_crl_exts(unsigned char *p, const unsigned char *end,
    struct crl_info *info)
{
	mbedtls_asn1_buf oid;
	unsigned char *val, *ve, *ee;
	size_t len, vlen, i;

	if (mbedtls_asn1_get_tag(&p, end, &len,
	    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
		return SLW_ERR_PARSE;
	ee = p + len;
	while (p < ee) {
		if (rd_ext(&p, ee, &oid, &val, &vlen) != 0)
			return SLW_ERR_PARSE;
		ve = val + vlen;
		if (oid_is(&oid, MBEDTLS_OID_CRL_NUMBER,
		    MBEDTLS_OID_SIZE(MBEDTLS_OID_CRL_NUMBER))) {
			if (mbedtls_asn1_get_tag(&val, ve, &len,
			    MBEDTLS_ASN1_INTEGER) != 0 || len == 0 ||
			    (val[0] & 0x80) != 0)
				return SLW_ERR_PARSE;
			for (; len > 1 && val[0] == 0; len--)
				val++;
			if (len > 8)
				return SLW_ERR_PARSE;
			for (info->number = 0, i = 0; i < len; i++)
				info->number = info->number << 8 | val[i];
		} else if (oid_is(&oid, MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER,
		    MBEDTLS_OID_SIZE(MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER))) {
			if (mbedtls_asn1_get_tag(&val, ve, &len,
			    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
				return SLW_ERR_PARSE;
			ve = val + len;
			if (val < ve && *val == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0)) {
				if (mbedtls_asn1_get_tag(&val, ve, &len,
				    MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0) != 0 ||
				    len > sizeof(info->aki))
					return SLW_ERR_PARSE;
				memcpy(info->aki, val, len);
				info->aki_len = len;
			}
		}
	}
	return 0;
}

static int
serial_fixed(const mbedtls_x509_buf *s, uint8_t out[SERIAL_LEN])
{
	const unsigned char *p = s->p;
	size_t n = s->len;

	while (n > 1 && p[0] == 0) {
		p++;
		n--;
	}
	if (n != SERIAL_LEN)
		return SLW_ERR_PARSE;
	memcpy(out, p, SERIAL_LEN);
	return 0;
}

int
crl_info_der(const uint8_t *der, size_t len, struct crl_info *info,
    int (*cb)(void *arg, const struct crl_entry *e), void *arg)
{
	mbedtls_x509_crl crl;
	const mbedtls_x509_crl_entry *en;
	struct crl_entry e;
	int r = SLW_ERR_PARSE;

	memset(info, 0, sizeof(*info));
	if (der == NULL || len == 0)
		return SLW_ERR_PARSE;
	if (len > CRL_MAX_DER)
		return SLW_ERR_TOOBIG;
	mbedtls_x509_crl_init(&crl);
	if (mbedtls_x509_crl_parse_der(&crl, der, len) != 0 ||
	    crl.version != 2 || crl.next != NULL)
		goto out;
	info->this_update = cert_time_to_epoch(&crl.this_update);
	if (crl.next_update.year != 0)
		info->next_update = cert_time_to_epoch(&crl.next_update);
	if (crl.crl_ext.p != NULL && (r = rd_crl_exts(crl.crl_ext.p,
	    crl.crl_ext.p + crl.crl_ext.len, info)) != 0)
		goto out;
	r = SLW_ERR_PARSE;
	for (en = &crl.entry; en != NULL && en->raw.p != NULL; en = en->next) {
		memset(&e, 0, sizeof(e));
		if (serial_fixed(&en->serial, e.serial) != 0)
			goto out;
		e.revoked_at = cert_time_to_epoch(&en->revocation_date);
		if (en->entry_ext.p != NULL && rd_entry_exts(en->entry_ext.p,
		    en->raw.p + en->raw.len, &e.reason) != 0)
			goto out;
		info->n_entries++;
		if (cb != NULL && (r = cb(arg, &e)) != 0)
			goto out;
		r = SLW_ERR_PARSE;
	}
	r = 0;
 out:
	mbedtls_x509_crl_free(&crl);
	return r;
}

int
crl_verify(const uint8_t *der, size_t len, const uint8_t *ca_der,
    size_t ca_len)
{
	mbedtls_x509_crl crl;
	mbedtls_x509_crt ca;
	unsigned char hash[MBEDTLS_MD_MAX_SIZE];
	const mbedtls_md_info_t *mi;
	int r = SLW_ERR_PARSE;

	mbedtls_x509_crl_init(&crl);
	mbedtls_x509_crt_init(&ca);
	if (len == 0 || len > CRL_MAX_DER ||
	    mbedtls_x509_crl_parse_der(&crl, der, len) != 0 ||
	    mbedtls_x509_crt_parse_der(&ca, ca_der, ca_len) != 0)
		goto out;
	r = SLW_ERR_VERIFY;
	if (crl.issuer_raw.len != ca.subject_raw.len ||
	    memcmp(crl.issuer_raw.p, ca.subject_raw.p, ca.subject_raw.len) != 0)
		goto out;
	if ((mi = mbedtls_md_info_from_type(crl.MBEDTLS_PRIVATE(sig_md))) ==
	    NULL || mbedtls_md(mi, crl.tbs.p, crl.tbs.len, hash) != 0)
		goto out;
	if (mbedtls_pk_verify_ext(crl.MBEDTLS_PRIVATE(sig_pk),
	    crl.MBEDTLS_PRIVATE(sig_opts), &ca.pk, crl.MBEDTLS_PRIVATE(sig_md),
	    hash, mbedtls_md_get_size(mi), crl.MBEDTLS_PRIVATE(sig).p,
	    crl.MBEDTLS_PRIVATE(sig).len) != 0)
		goto out;
	r = 0;
 out:
	mbedtls_x509_crl_free(&crl);
	mbedtls_x509_crt_free(&ca);
	return r;
}

int
crl_pem_append(struct buf *out, const uint8_t *der, size_t len)
{
	return pem_append(out, "X509 CRL", der, len);
}
