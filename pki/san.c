// SPDX-License-Identifier: Apache-2.0
/*
 * san.c: subject alternative names (DNS names and IP addresses): parsing
 * the console's "DNS:x"/"IP:y", formatting, comparing, and reading them
 * from an untrusted certificate or CSR, bounded and rejected, never
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

int
san_dns_name_valid(const char *name)
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
	if (!san_dns_name_valid(name))
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
		} else if (dn_copy_bounded(s->value, sizeof(s->value),
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
