// SPDX-License-Identifier: Apache-2.0
/*
 * name.c: distinguished names and subject alternative names. Input here may
 * come from untrusted CSRs, so every copy is bounded and rejected, never
 * truncated.
 */
#include "name.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>

static int
copy_bounded(char *dst, size_t dlen, const void *src, size_t slen)
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
	if (copy_bounded(dn->o[dn->n_o], DN_VAL_MAX, o, strlen(o)) != 0)
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
		r = copy_bounded(slot, DN_VAL_MAX, cur->val.p, cur->val.len);
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

int
dns_name_valid(const char *name)
{
	size_t len = strlen(name), label = 0, i;
	const char *p = name;

	if (len == 0 || len > 253)
		return 0;
	if (p[0] == '*' && p[1] == '.')
		p += 2;
	if (*p == '\0')
		return 0;
	for (i = 0; p[i] != '\0'; i++) {
		char ch = p[i];

		if (ch == '.') {
			if (label == 0 || p[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-'))
			return 0;
		if (ch == '-' && label == 0)
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && p[i - 1] != '-';
}

int
san_dns(const char *name, struct san *out, struct slw_diag *d)
{
	memset(out, 0, sizeof(*out));
	if (!dns_name_valid(name))
		return slw_diag(d, SLW_ERR_INVALID, "invalid DNS name '%.64s'",
		    name);
	out->type = SAN_DNS;
	snprintf(out->value, sizeof(out->value), "%s", name);
	return 0;
}

int
san_ip(const char *addr, struct san *out, struct slw_diag *d)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, addr, out->ip) == 1)
		out->ip_len = 4;
	else if (inet_pton(AF_INET6, addr, out->ip) == 1)
		out->ip_len = 16;
	else
		return slw_diag(d, SLW_ERR_INVALID, "invalid IP address '%.64s'",
		    addr);
	out->type = SAN_IP;
	inet_ntop(out->ip_len == 4 ? AF_INET : AF_INET6, out->ip, out->value,
	    sizeof(out->value));
	return 0;
}

int
san_parse(const char *s, struct san *out, struct slw_diag *d)
{
	struct san tmp;

	if (strncmp(s, "DNS:", 4) == 0)
		return san_dns(s + 4, out, d);
	if (strncmp(s, "IP:", 3) == 0)
		return san_ip(s + 3, out, d);
	if (san_ip(s, &tmp, NULL) == 0) {
		*out = tmp;
		return 0;
	}
	return san_dns(s, out, d);
}

int
san_format(const struct san *s, char *out, size_t len)
{
	const char *kind = "other";
	int n;

	switch (s->type) {
	case SAN_DNS: kind = "DNS"; break;
	case SAN_IP: kind = "IP"; break;
	case SAN_EMAIL: kind = "email"; break;
	case SAN_URI: kind = "URI"; break;
	default: break;
	}
	n = snprintf(out, len, "%s:%s", kind, s->value);
	return n < 0 || (size_t)n >= len ? SLW_ERR_TOOBIG : 0;
}

int
san_equal(const struct san *a, const struct san *b)
{
	if (a->type != b->type)
		return 0;
	if (a->type == SAN_IP)
		return a->ip_len == b->ip_len &&
		    memcmp(a->ip, b->ip, a->ip_len) == 0;
	if (a->type == SAN_DNS)
		return strcasecmp(a->value, b->value) == 0;
	return strcmp(a->value, b->value) == 0;
}

int
san_from_x509(const mbedtls_x509_sequence *seq, struct san *out, size_t max,
    size_t *n, struct slw_diag *d)
{
	const mbedtls_x509_sequence *cur;
	mbedtls_x509_subject_alternative_name san;
	struct san *s;
	int r;

	*n = 0;
	for (cur = seq; cur != NULL; cur = cur->next) {
		if (cur->buf.p == NULL)
			continue;
		if (*n >= max)
			return slw_diag(d, SLW_ERR_LIMIT,
			    "more than %zu subject alternative names", max);
		s = &out[*n];
		memset(s, 0, sizeof(*s));
		memset(&san, 0, sizeof(san));
		r = mbedtls_x509_parse_subject_alt_name(&cur->buf, &san);
		if (r == MBEDTLS_ERR_X509_FEATURE_UNAVAILABLE) {
			s->type = SAN_OTHER;
			snprintf(s->value, sizeof(s->value), "unsupported");
			(*n)++;
			continue;
		}
		if (r != 0)
			return slw_diag(d, SLW_ERR_PARSE,
			    "malformed subject alternative name");
		switch (san.type) {
		case MBEDTLS_X509_SAN_DNS_NAME:
			s->type = SAN_DNS;
			break;
		case MBEDTLS_X509_SAN_RFC822_NAME:
			s->type = SAN_EMAIL;
			break;
		case MBEDTLS_X509_SAN_UNIFORM_RESOURCE_IDENTIFIER:
			s->type = SAN_URI;
			break;
		case MBEDTLS_X509_SAN_IP_ADDRESS:
			s->type = SAN_IP;
			break;
		default:
			s->type = SAN_OTHER;
			snprintf(s->value, sizeof(s->value), "unsupported");
			mbedtls_x509_free_subject_alt_name(&san);
			(*n)++;
			continue;
		}
		if (s->type == SAN_IP) {
			size_t l = san.san.unstructured_name.len;

			if (l != 4 && l != 16) {
				mbedtls_x509_free_subject_alt_name(&san);
				return slw_diag(d, SLW_ERR_PARSE,
				    "IP SAN of %zu bytes", l);
			}
			memcpy(s->ip, san.san.unstructured_name.p, l);
			s->ip_len = l;
			inet_ntop(l == 4 ? AF_INET : AF_INET6, s->ip, s->value,
			    sizeof(s->value));
		} else if (copy_bounded(s->value, sizeof(s->value),
		    san.san.unstructured_name.p,
		    san.san.unstructured_name.len) != 0) {
			mbedtls_x509_free_subject_alt_name(&san);
			return slw_diag(d, SLW_ERR_INVALID,
			    "subject alternative name too long or contains NUL");
		}
		mbedtls_x509_free_subject_alt_name(&san);
		(*n)++;
	}
	return 0;
}
