// SPDX-License-Identifier: Apache-2.0
/*
 * dn.c: distinguished names: building, validating, formatting, and
 * reading them from untrusted CSRs and certificates, so every copy is
 * bounded and rejected, never truncated (san.c: the alternative names).
 */
#include "name.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>

int
dn_copy_bounded(char *dst, size_t dlen, const void *src, size_t slen)
{
	if (slen >= dlen || memchr(src, '\0', slen) != NULL)
		return SLW_ERR_INVALID;
	memcpy(dst, src, slen);
	dst[slen] = '\0';
	return 0;
}

int
dn_add_o(struct dn *dn, const char *o)
{
	if (dn->n_o >= DN_MAX_O)
		return SLW_ERR_LIMIT;
	if (dn_copy_bounded(dn->o[dn->n_o], DN_VAL_MAX, o, strlen(o)) != 0)
		return SLW_ERR_INVALID;
	dn->n_o++;
	return 0;
}

static int
val_ok(const char *v)
{
	const unsigned char *p;

	for (p = (const unsigned char *)v; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

int
dn_validate(const struct dn *dn, struct slw_diag *d)
{
	size_t i;

	if (dn->cn[0] == '\0')
		return slw_diag(d, SLW_ERR_INVALID, "subject has no CN");
	if (strlen(dn->c) > 2 || (dn->c[0] != '\0' && strlen(dn->c) != 2))
		return slw_diag(d, SLW_ERR_INVALID,
		    "country must be a two-letter code");
	if (!val_ok(dn->c) || !val_ok(dn->st) || !val_ok(dn->l) ||
	    !val_ok(dn->ou) || !val_ok(dn->cn))
		return slw_diag(d, SLW_ERR_INVALID,
		    "subject contains control characters");
	for (i = 0; i < dn->n_o; i++)
		if (dn->o[i][0] == '\0' || !val_ok(dn->o[i]))
			return slw_diag(d, SLW_ERR_INVALID,
			    "empty or invalid organisation");
	return 0;
}

int
dn_format(const struct dn *dn, char *out, size_t len)
{
	size_t i, off = 0;
	int n;

#define PUT(k, v) do { \
	if ((v)[0] != '\0') { \
		n = snprintf(out + off, len - off, "%s%s=%s", \
		    off ? ", " : "", (k), (v)); \
		if (n < 0 || (size_t)n >= len - off) \
			return SLW_ERR_TOOBIG; \
		off += (size_t)n; \
	} } while (0)

	if (len == 0)
		return SLW_ERR_INVALID;
	out[0] = '\0';
	PUT("C", dn->c);
	PUT("ST", dn->st);
	PUT("L", dn->l);
	for (i = 0; i < dn->n_o; i++)
		PUT("O", dn->o[i]);
	PUT("OU", dn->ou);
	PUT("CN", dn->cn);
#undef PUT
	return 0;
}

static int
oid_is(const mbedtls_asn1_buf *oid, const char *want, size_t wlen)
{
	return oid->len == wlen && memcmp(oid->p, want, wlen) == 0;
}

#define OIDEQ(o, s) oid_is((o), (s), MBEDTLS_OID_SIZE(s))

int
dn_from_x509(const mbedtls_x509_name *name, struct dn *dn, struct slw_diag *d)
{
	const mbedtls_x509_name *cur;
	char *slot;
	int r;

	memset(dn, 0, sizeof(*dn));
	for (cur = name; cur != NULL; cur = cur->next) {
		if (cur->oid.p == NULL)
			continue;
		slot = NULL;
		if (OIDEQ(&cur->oid, MBEDTLS_OID_AT_CN))
			slot = dn->cn;
		else if (OIDEQ(&cur->oid, MBEDTLS_OID_AT_COUNTRY))
			slot = dn->c;
		else if (OIDEQ(&cur->oid, MBEDTLS_OID_AT_STATE))
			slot = dn->st;
		else if (OIDEQ(&cur->oid, MBEDTLS_OID_AT_LOCALITY))
			slot = dn->l;
		else if (OIDEQ(&cur->oid, MBEDTLS_OID_AT_ORG_UNIT))
			slot = dn->ou;
		else if (OIDEQ(&cur->oid, MBEDTLS_OID_AT_ORGANIZATION)) {
			if (dn->n_o >= DN_MAX_O)
				return slw_diag(d, SLW_ERR_LIMIT,
				    "more than %d organisations in subject",
				    DN_MAX_O);
			slot = dn->o[dn->n_o++];
		} else {
			dn->n_other++;
			continue;
		}
		if (slot[0] != '\0') {
			/* repeated single-valued attribute */
			dn->n_other++;
			continue;
		}
		r = dn_copy_bounded(slot, DN_VAL_MAX, cur->val.p, cur->val.len);
		if (r != 0)
			return slw_diag(d, SLW_ERR_INVALID,
			    "subject attribute too long or contains NUL");
		if (slot[0] == '\0') /* empty value: count it as odd */
			dn->n_other++;
	}
	return 0;
}

/* Prepends one attribute to a writer list (the writer emits it in reverse). */
static int
nd_prepend(mbedtls_asn1_named_data **head, const char *oid, size_t oid_len,
    const unsigned char *val, size_t val_len, int tag)
{
	mbedtls_asn1_named_data *n;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return SLW_ERR_NOMEM;
	n->oid.p = malloc(oid_len);
	n->val.p = malloc(val_len ? val_len : 1);
	if (n->oid.p == NULL || n->val.p == NULL) {
		free(n->oid.p);
		free(n->val.p);
		free(n);
		return SLW_ERR_NOMEM;
	}
	memcpy(n->oid.p, oid, oid_len);
	n->oid.len = oid_len;
	n->oid.tag = MBEDTLS_ASN1_OID;
	if (val_len)
		memcpy(n->val.p, val, val_len);
	n->val.len = val_len;
	n->val.tag = tag;
	n->next = *head;
	*head = n;
	return 0;
}

int
dn_to_named_data(const struct dn *dn, mbedtls_asn1_named_data **out)
{
	mbedtls_asn1_named_data *head = NULL;
	size_t i;
	int r = 0;

#define ADD(oid, v, tag) do { \
	if (r == 0 && (v)[0] != '\0') \
		r = nd_prepend(&head, (oid), MBEDTLS_OID_SIZE(oid), \
		    (const unsigned char *)(v), strlen(v), (tag)); \
	} while (0)

	*out = NULL;
	ADD(MBEDTLS_OID_AT_COUNTRY, dn->c, MBEDTLS_ASN1_PRINTABLE_STRING);
	ADD(MBEDTLS_OID_AT_STATE, dn->st, MBEDTLS_ASN1_UTF8_STRING);
	ADD(MBEDTLS_OID_AT_LOCALITY, dn->l, MBEDTLS_ASN1_UTF8_STRING);
	for (i = 0; i < dn->n_o; i++)
		ADD(MBEDTLS_OID_AT_ORGANIZATION, dn->o[i],
		    MBEDTLS_ASN1_UTF8_STRING);
	ADD(MBEDTLS_OID_AT_ORG_UNIT, dn->ou, MBEDTLS_ASN1_UTF8_STRING);
	ADD(MBEDTLS_OID_AT_CN, dn->cn, MBEDTLS_ASN1_UTF8_STRING);
#undef ADD
	if (r != 0) {
		mbedtls_asn1_free_named_data_list(&head);
		return r;
	}
	*out = head;
	return 0;
}

int
dn_copy_x509(const mbedtls_x509_name *name, mbedtls_asn1_named_data **out)
{
	mbedtls_asn1_named_data *head = NULL;
	const mbedtls_x509_name *cur;
	int r;

	*out = NULL;
	for (cur = name; cur != NULL; cur = cur->next) {
		if (cur->oid.p == NULL)
			continue;
		r = nd_prepend(&head, (const char *)cur->oid.p, cur->oid.len,
		    cur->val.p, cur->val.len, cur->val.tag);
		if (r != 0) {
			mbedtls_asn1_free_named_data_list(&head);
			return r;
		}
	}
	*out = head;
	return 0;
}
