// SPDX-License-Identifier: Apache-2.0
/*
 * cert.c: certificate issuance with mbedTLS's writer. Extensions are
 * written the way cfssl writes them (basic constraints critical, key usage
 * critical, extended key usage not critical, SKI and AKI). Never signs
 * without a signer whose key matches its certificate.
 */
#include "cert.h"
#include "pem.h"
#include "rand.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/oid.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509.h>

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static long long
days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

time_t
cert_time_to_epoch(const mbedtls_x509_time *t)
{
	return (time_t)(days_from_civil(t->year, (unsigned)t->mon,
	    (unsigned)t->day) * 86400 + t->hour * 3600 + t->min * 60 + t->sec);
}

static void
epoch_to_x509(time_t t, char out[15])
{
	struct tm tm;
	char tmp[64];

	gmtime_r(&t, &tm);
	snprintf(tmp, sizeof(tmp), "%04d%02d%02d%02d%02d%02d",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
	memcpy(out, tmp, 14);
	out[14] = '\0';
}

int
cert_template_add_san(struct cert_template *t, const char *s,
    struct slw_diag *d)
{
	struct san n;
	size_t i;
	int r;

	if ((r = san_parse(s, &n, d)) != 0)
		return r;
	for (i = 0; i < t->n_sans; i++)
		if (san_equal(&t->sans[i], &n))
			return 0;
	if (t->n_sans >= SAN_MAX)
		return slw_diag(d, SLW_ERR_LIMIT, "more than %d SANs", SAN_MAX);
	t->sans[t->n_sans++] = n;
	return 0;
}

/* Wraps what is written at c..buf+size in a SEQUENCE and sets it as an
 * extension. */
static int
set_seq_extension(mbedtls_x509write_cert *w, const char *oid, size_t oidlen,
    int critical, unsigned char *buf, unsigned char *c, int len)
{
	int ret;

	if ((ret = mbedtls_asn1_write_len(&c, buf, (size_t)len)) < 0)
		return SLW_ERR_INTERNAL;
	len += ret;
	if ((ret = mbedtls_asn1_write_tag(&c, buf,
	    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) < 0)
		return SLW_ERR_INTERNAL;
	len += ret;
	return mbedtls_x509write_crt_set_extension(w, oid, oidlen, critical, c,
	    (size_t)len) == 0 ? 0 : SLW_ERR_INTERNAL;
}

/* BasicConstraints, always critical (as cfssl writes it). */
static int
write_basic_constraints(mbedtls_x509write_cert *w, int is_ca)
{
	unsigned char buf[16] = { 0 }, *c = buf + sizeof(buf);
	int len = 0, ret;

	if (is_ca) {
		if ((ret = mbedtls_asn1_write_bool(&c, buf, 1)) < 0)
			return SLW_ERR_INTERNAL;
		len += ret;
	}
	return set_seq_extension(w, MBEDTLS_OID_BASIC_CONSTRAINTS,
	    MBEDTLS_OID_SIZE(MBEDTLS_OID_BASIC_CONSTRAINTS), 1, buf, c, len);
}

/* ExtendedKeyUsage, not critical (mbedTLS's own setter marks it critical). */
static int
write_eku(mbedtls_x509write_cert *w, unsigned int eku)
{
	unsigned char buf[64] = { 0 }, *c = buf + sizeof(buf);
	int len = 0, ret;

	if (eku & EKU_CLIENT_AUTH) {
		if ((ret = mbedtls_asn1_write_oid(&c, buf, MBEDTLS_OID_CLIENT_AUTH,
		    MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH))) < 0)
			return SLW_ERR_INTERNAL;
		len += ret;
	}
	if (eku & EKU_SERVER_AUTH) {
		if ((ret = mbedtls_asn1_write_oid(&c, buf, MBEDTLS_OID_SERVER_AUTH,
		    MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH))) < 0)
			return SLW_ERR_INTERNAL;
		len += ret;
	}
	return set_seq_extension(w, MBEDTLS_OID_EXTENDED_KEY_USAGE,
	    MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0, buf, c, len);
}

static int
write_sans(mbedtls_x509write_cert *w, const struct cert_template *t)
{
	mbedtls_x509_san_list *nodes;
	size_t i, n = t->n_sans;
	int r;

	if (n == 0)
		return 0;
	if ((nodes = calloc(n, sizeof(*nodes))) == NULL)
		return SLW_ERR_NOMEM;
	/* mbedTLS writes the list in reverse: build it backwards. */
	for (i = 0; i < n; i++) {
		const struct san *s = &t->sans[n - 1 - i];
		mbedtls_x509_san_list *node = &nodes[i];

		node->next = i + 1 < n ? &nodes[i + 1] : NULL;
		if (s->type == SAN_IP) {
			node->node.type = MBEDTLS_X509_SAN_IP_ADDRESS;
			node->node.san.unstructured_name.p = (unsigned char *)s->ip;
			node->node.san.unstructured_name.len = s->ip_len;
		} else if (s->type == SAN_DNS) {
			node->node.type = MBEDTLS_X509_SAN_DNS_NAME;
			node->node.san.unstructured_name.p =
			    (unsigned char *)s->value;
			node->node.san.unstructured_name.len = strlen(s->value);
		} else {
			free(nodes);
			return SLW_ERR_UNSUPPORTED;
		}
	}
	r = mbedtls_x509write_crt_set_subject_alternative_name(w, nodes) == 0 ?
	    0 : SLW_ERR_INTERNAL;
	free(nodes);
	return r;
}

mbedtls_md_type_t
cert_md(const struct key *signing)
{
	return signing->type == KEY_EC_P384 ? MBEDTLS_MD_SHA384 :
	    MBEDTLS_MD_SHA256;
}

int
cert_sign(const struct cert_template *t, const struct key *subject,
    const struct signer *ca, const uint8_t serial[SERIAL_LEN], time_t now,
    struct buf *der, struct slw_diag *d)
{
	mbedtls_x509write_cert w;
	mbedtls_asn1_named_data *subj = NULL, *iss = NULL;
	const struct key *signing;
	unsigned char *out = NULL;
	char nb[15], na[15];
	time_t not_before, not_after;
	unsigned int ku;
	uint32_t hours;
	int r = SLW_ERR_INTERNAL, n;
	const size_t outsz = CERT_MAX_DER;

	mbedtls_x509write_crt_init(&w);
	if (t == NULL || t->profile == NULL || subject == NULL)
		return SLW_ERR_INVALID;
	if ((r = dn_validate(&t->subject, d)) != 0)
		goto out;
	signing = ca != NULL ? ca->key : subject;
	if (!signing->has_private) {
		r = slw_diag(d, SLW_ERR_INVALID, "no private key to sign with");
		goto out;
	}
	if (t->profile->is_ca != (ca == NULL) && !t->profile->is_ca) {
		r = slw_diag(d, SLW_ERR_INVALID,
		    "self-signed certificates must use a CA profile");
		goto out;
	}
	hours = t->hours ? t->hours : t->profile->hours;
	if (hours == 0) {
		r = slw_diag(d, SLW_ERR_INVALID, "zero validity");
		goto out;
	}
	not_before = now - CERT_BACKDATE_SECS;
	not_after = not_before + (time_t)hours * 3600;
	if (t->seconds != 0)
		not_after = now + (time_t)t->seconds;
	if (ca != NULL && not_after > ca->not_after)
		not_after = ca->not_after;
	if (not_after <= now) {
		r = slw_diag(d, SLW_ERR_EXPIRED, "issuing CA has expired");
		goto out;
	}
	epoch_to_x509(not_before, nb);
	epoch_to_x509(not_after, na);

	if ((r = dn_to_named_data(&t->subject, &subj)) != 0)
		goto out;
	if (ca != NULL)
		r = dn_copy_x509(&ca->crt.subject, &iss);
	else
		r = dn_to_named_data(&t->subject, &iss);
	if (r != 0)
		goto out;
	/* The writer has no setter for a name list with repeated O: hand
	 * it our lists directly (freed by mbedtls_x509write_crt_free). */
	w.MBEDTLS_PRIVATE(subject) = subj;
	w.MBEDTLS_PRIVATE(issuer) = iss;
	subj = iss = NULL;

	mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&w, cert_md(signing));
	mbedtls_x509write_crt_set_subject_key(&w,
	    (mbedtls_pk_context *)&subject->pk);
	mbedtls_x509write_crt_set_issuer_key(&w,
	    (mbedtls_pk_context *)&signing->pk);
	r = SLW_ERR_INTERNAL;
	if (mbedtls_x509write_crt_set_serial_raw(&w, (unsigned char *)serial,
	    SERIAL_LEN) != 0)
		goto out;
	if (mbedtls_x509write_crt_set_validity(&w, nb, na) != 0)
		goto out;
	if ((r = write_basic_constraints(&w, t->profile->is_ca)) != 0)
		goto out;
	r = SLW_ERR_INTERNAL;
	ku = t->profile->ku;
	if (subject->type == KEY_EC_P256 || subject->type == KEY_EC_P384)
		ku &= ~(unsigned int)(MBEDTLS_X509_KU_KEY_ENCIPHERMENT |
		    MBEDTLS_X509_KU_DATA_ENCIPHERMENT);
	if (ku != 0 && mbedtls_x509write_crt_set_key_usage(&w, ku) != 0)
		goto out;
	if (mbedtls_x509write_crt_set_subject_key_identifier(&w) != 0)
		goto out;
	if (mbedtls_x509write_crt_set_authority_key_identifier(&w) != 0)
		goto out;
	if (t->profile->eku != 0 && (r = write_eku(&w, t->profile->eku)) != 0)
		goto out;
	if ((r = write_sans(&w, t)) != 0) {
		slw_diag(d, r, "cannot encode subject alternative names");
		goto out;
	}
	if ((out = malloc(outsz)) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	n = mbedtls_x509write_crt_der(&w, out, outsz, slw_rng, NULL);
	if (n <= 0) {
		r = slw_diag(d, SLW_ERR_CRYPTO, "signing failed");
		goto out;
	}
	r = buf_set(der, out + outsz - n, (size_t)n);
 out:
	mbedtls_asn1_free_named_data_list(&subj);
	mbedtls_asn1_free_named_data_list(&iss);
	mbedtls_x509write_crt_free(&w);
	free(out);
	return r;
}

int
cert_info_der(const uint8_t *der, size_t len, struct cert_info *out)
{
	mbedtls_x509_crt crt;
	int r = SLW_ERR_PARSE, n;

	memset(out, 0, sizeof(*out));
	mbedtls_x509_crt_init(&crt);
	if (mbedtls_x509_crt_parse_der(&crt, der, len) != 0)
		goto out;
	{
		/* DER INTEGER: drop the sign byte of a positive serial */
		const unsigned char *sp = crt.serial.p;
		size_t sl = crt.serial.len;

		while (sl > 1 && sp[0] == 0) {
			sp++;
			sl--;
		}
		if (sl > sizeof(out->serial))
			goto out;
		memcpy(out->serial, sp, sl);
		out->serial_len = sl;
	}
	hex_encode(out->serial, out->serial_len, out->serial_hex);
	n = mbedtls_x509_dn_gets(out->subject, sizeof(out->subject),
	    &crt.subject);
	if (n < 0)
		goto out;
	out->not_before = cert_time_to_epoch(&crt.valid_from);
	out->not_after = cert_time_to_epoch(&crt.valid_to);
	out->is_ca = mbedtls_x509_crt_get_ca_istrue(&crt) == 1;
	r = 0;
 out:
	mbedtls_x509_crt_free(&crt);
	return r;
}

int
cert_pem_append(struct buf *out, const uint8_t *der, size_t len)
{
	return pem_append(out, "CERTIFICATE", der, len);
}
