// SPDX-License-Identifier: Apache-2.0
/*
 * csr.c: CSR parsing with mbedTLS plus the signature check mbedTLS does not
 * do. Input is untrusted: (buf, len) only, size-capped, no I/O; a CSR whose
 * signature does not verify is never returned.
 */
#include "csr.h"
#include "pem.h"
#include "rand.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>

void
csr_free(struct csr *c)
{
	if (c == NULL)
		return;
	mbedtls_x509_csr_free(&c->x);
	key_free(c->key);
	free(c);
}

/* RFC 2986 section 4.2: signature over the DER CertificationRequestInfo. */
static int
verify_signature(const mbedtls_x509_csr *x, struct slw_diag *d)
{
	unsigned char *p = x->raw.p, *end = x->raw.p + x->raw.len;
	unsigned char hash[MBEDTLS_MD_MAX_SIZE];
	mbedtls_asn1_buf alg, params;
	mbedtls_md_type_t md = MBEDTLS_MD_NONE;
	mbedtls_pk_type_t pkalg = MBEDTLS_PK_NONE;
	const mbedtls_md_info_t *mdi;
	size_t len;

	if (mbedtls_asn1_get_tag(&p, end, &len,
	    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
		return slw_diag(d, SLW_ERR_PARSE, "CSR is not a SEQUENCE");
	end = p + len;
	if (mbedtls_asn1_get_tag(&p, end, &len,
	    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
		return slw_diag(d, SLW_ERR_PARSE, "CSR has no request info");
	p += len;
	if (mbedtls_asn1_get_alg(&p, end, &alg, &params) != 0)
		return slw_diag(d, SLW_ERR_PARSE,
		    "CSR has no signature algorithm");
	if (mbedtls_asn1_get_bitstring_null(&p, end, &len) != 0)
		return slw_diag(d, SLW_ERR_PARSE, "CSR has no signature");
	if (p + len != end)
		return slw_diag(d, SLW_ERR_PARSE, "CSR has trailing data");
	if (mbedtls_oid_get_sig_alg(&alg, &md, &pkalg) != 0)
		return slw_diag(d, SLW_ERR_UNSUPPORTED,
		    "CSR signature algorithm not supported");
	if (pkalg != MBEDTLS_PK_ECDSA && pkalg != MBEDTLS_PK_RSA)
		return slw_diag(d, SLW_ERR_UNSUPPORTED,
		    "CSR signature algorithm not supported (ECDSA or RSA PKCS#1 v1.5 only)");
	if (md != MBEDTLS_MD_SHA256 && md != MBEDTLS_MD_SHA384 &&
	    md != MBEDTLS_MD_SHA512)
		return slw_diag(d, SLW_ERR_UNSUPPORTED,
		    "CSR signed with a weak or unknown hash (need SHA-256/384/512)");
	if (!mbedtls_pk_can_do(&x->pk, pkalg))
		return slw_diag(d, SLW_ERR_VERIFY,
		    "CSR signature algorithm does not match its key");
	if ((mdi = mbedtls_md_info_from_type(md)) == NULL ||
	    mbedtls_md(mdi, x->cri.p, x->cri.len, hash) != 0)
		return SLW_ERR_CRYPTO;
	if (mbedtls_pk_verify((mbedtls_pk_context *)&x->pk, md, hash,
	    mbedtls_md_get_size(mdi), p, len) != 0)
		return slw_diag(d, SLW_ERR_VERIFY,
		    "CSR signature does not verify");
	return 0;
}

static int
parse_der(const uint8_t *der, size_t len, struct csr **out,
    struct slw_diag *d)
{
	struct csr *c = NULL;
	char why[128];
	int r, mr;

	*out = NULL;
	if ((r = slw_crypto_init()) != 0)
		return r;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return SLW_ERR_NOMEM;
	mbedtls_x509_csr_init(&c->x);
	if ((mr = mbedtls_x509_csr_parse_der(&c->x, der, len)) != 0) {
		mbedtls_strerror(mr, why, sizeof(why));
		r = slw_diag(d, SLW_ERR_PARSE, "malformed CSR: %s", why);
		goto out;
	}
	if (c->x.version != 1) {
		r = slw_diag(d, SLW_ERR_PARSE, "CSR version is not 1");
		goto out;
	}
	if ((r = verify_signature(&c->x, d)) != 0)
		goto out;
	if ((r = dn_from_x509(&c->x.subject, &c->subject, d)) != 0)
		goto out;
	if ((r = san_from_x509(&c->x.subject_alt_names, c->sans, SAN_MAX,
	    &c->n_sans, d)) != 0)
		goto out;
	if ((r = key_from_public(&c->x.pk, &c->key)) != 0) {
		r = slw_diag(d, r == SLW_ERR_UNSUPPORTED ? r : SLW_ERR_UNSUPPORTED,
		    "CSR key type or size not supported (need ECDSA P-256/P-384 or RSA 2048/3072/4096)");
		goto out;
	}
	c->key_usage = c->x.key_usage;
	*out = c;
	c = NULL;
	r = 0;
 out:
	csr_free(c);
	return r;
}

static int
input_ok(const uint8_t *buf, size_t len, struct slw_diag *d)
{
	if (buf == NULL || len == 0)
		return slw_diag(d, SLW_ERR_INVALID, "empty CSR");
	if (len > CSR_MAX_LEN)
		return slw_diag(d, SLW_ERR_TOOBIG, "CSR larger than %d bytes",
		    CSR_MAX_LEN);
	return 0;
}

int
csr_parse_pem_strict(const uint8_t *buf, size_t len, struct csr **out,
    struct slw_diag *d)
{
	char label[PEM_LABEL_MAX];
	struct buf der = { 0 };
	size_t used;
	int r;

	*out = NULL;
	if ((r = input_ok(buf, len, d)) != 0)
		return r;
	r = pem_next(buf, len, label, &der, &used, d);
	if (r == SLW_ERR_NOTFOUND) {
		slw_diag_clear(d);
		return slw_diag(d, SLW_ERR_PARSE,
		    "not a PEM block labelled CERTIFICATE REQUEST");
	}
	if (r != 0)
		goto out;
	if (strcmp(label, "CERTIFICATE REQUEST") != 0) {
		r = slw_diag(d, SLW_ERR_PARSE,
		    "PEM block is labelled '%s', not 'CERTIFICATE REQUEST'",
		    label);
		goto out;
	}
	r = parse_der(der.data, der.len, out, d);
 out:
	buf_free(&der);
	return r;
}

int
csr_parse(const uint8_t *buf, size_t len, struct csr **out,
    struct slw_diag *d)
{
	char label[PEM_LABEL_MAX];
	struct buf der = { 0 };
	size_t used;
	int r;

	*out = NULL;
	if ((r = input_ok(buf, len, d)) != 0)
		return r;
	if (!pem_sniff(buf, len))
		return parse_der(buf, len, out, d);
	if ((r = pem_next(buf, len, label, &der, &used, d)) != 0)
		goto out;
	if (strcmp(label, "CERTIFICATE REQUEST") != 0 &&
	    strcmp(label, "NEW CERTIFICATE REQUEST") != 0) {
		r = slw_diag(d, SLW_ERR_PARSE, "PEM block '%s' is not a CSR",
		    label);
		goto out;
	}
	r = parse_der(der.data, der.len, out, d);
 out:
	buf_free(&der);
	return r;
}

int
csr_write_der(const struct key *k, const struct dn *subject, struct buf *out)
{
	mbedtls_x509write_csr w;
	mbedtls_asn1_named_data *subj = NULL;
	unsigned char *der = NULL;
	const size_t cap = 4096;
	int n, r;

	if (k == NULL || subject == NULL || out == NULL)
		return SLW_ERR_INVALID;
	if ((der = malloc(cap)) == NULL)
		return SLW_ERR_NOMEM;
	mbedtls_x509write_csr_init(&w);
	mbedtls_x509write_csr_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_csr_set_key(&w, (mbedtls_pk_context *)&k->pk);
	if ((r = dn_to_named_data(subject, &subj)) != 0)
		goto out;
	w.MBEDTLS_PRIVATE(subject) = subj;	/* freed with w */
	/* written at the end of der */
	if ((n = mbedtls_x509write_csr_der(&w, der, cap, slw_rng, NULL)) <= 0) {
		r = SLW_ERR_CRYPTO;
		goto out;
	}
	r = buf_append(out, der + cap - (size_t)n, (size_t)n);
 out:
	mbedtls_x509write_csr_free(&w);
	free(der);
	return r;
}
