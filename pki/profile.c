// SPDX-License-Identifier: Apache-2.0
/*
 * profile.c: cfssl-style signing profiles. A profile only says what a
 * certificate may be used for and for how long; it never holds key material.
 */
#include "profile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/x509.h>

static const struct {
	const char *name;
	unsigned int ku;
	unsigned int eku;
} usages[] = {
	{ "signing", MBEDTLS_X509_KU_DIGITAL_SIGNATURE, 0 },
	{ "digital signature", MBEDTLS_X509_KU_DIGITAL_SIGNATURE, 0 },
	{ "key encipherment", MBEDTLS_X509_KU_KEY_ENCIPHERMENT, 0 },
	{ "key agreement", MBEDTLS_X509_KU_KEY_AGREEMENT, 0 },
	{ "cert sign", MBEDTLS_X509_KU_KEY_CERT_SIGN, 0 },
	{ "crl sign", MBEDTLS_X509_KU_CRL_SIGN, 0 },
	{ "server auth", 0, EKU_SERVER_AUTH },
	{ "client auth", 0, EKU_CLIENT_AUTH },
};

int
profile_add_usage(struct profile *p, const char *usage, struct slw_diag *d)
{
	size_t i;

	for (i = 0; i < sizeof(usages) / sizeof(usages[0]); i++)
		if (strcmp(usage, usages[i].name) == 0) {
			p->ku |= usages[i].ku;
			p->eku |= usages[i].eku;
			return 0;
		}
	return slw_diag(d, SLW_ERR_INVALID, "unknown usage '%.40s'", usage);
}

int
profile_usages_string(const struct profile *p, char *out, size_t len)
{
	size_t i, off = 0;
	int n;

	if (len == 0)
		return SLW_ERR_INVALID;
	out[0] = '\0';
	for (i = 1; i < sizeof(usages) / sizeof(usages[0]); i++) {
		if (!((usages[i].ku && (p->ku & usages[i].ku)) ||
		    (usages[i].eku && (p->eku & usages[i].eku))))
			continue;
		n = snprintf(out + off, len - off, "%s%s", off ? ", " : "",
		    usages[i].name);
		if (n < 0 || (size_t)n >= len - off)
			return SLW_ERR_TOOBIG;
		off += (size_t)n;
	}
	return 0;
}

int
profile_builtin(const char *name, struct profile *out)
{
	memset(out, 0, sizeof(*out));
	if (strlen(name) >= sizeof(out->name))
		return SLW_ERR_INVALID;
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->hours = PROFILE_SEED_HOURS;
	if (strcmp(name, "kubernetes") == 0) {
		out->ku = MBEDTLS_X509_KU_DIGITAL_SIGNATURE |
		    MBEDTLS_X509_KU_KEY_ENCIPHERMENT;
		out->eku = EKU_SERVER_AUTH | EKU_CLIENT_AUTH;
	} else if (strcmp(name, "server") == 0) {
		out->ku = MBEDTLS_X509_KU_DIGITAL_SIGNATURE |
		    MBEDTLS_X509_KU_KEY_ENCIPHERMENT;
		out->eku = EKU_SERVER_AUTH;
	} else if (strcmp(name, "client") == 0) {
		out->ku = MBEDTLS_X509_KU_DIGITAL_SIGNATURE |
		    MBEDTLS_X509_KU_KEY_ENCIPHERMENT;
		out->eku = EKU_CLIENT_AUTH;
	} else if (strcmp(name, "peer") == 0) {
		out->ku = MBEDTLS_X509_KU_DIGITAL_SIGNATURE |
		    MBEDTLS_X509_KU_KEY_ENCIPHERMENT;
		out->eku = EKU_SERVER_AUTH | EKU_CLIENT_AUTH;
	} else if (strcmp(name, "ca") == 0) {
		out->ku = MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN;
		out->is_ca = 1;
	} else
		return SLW_ERR_NOTFOUND;
	return 0;
}
