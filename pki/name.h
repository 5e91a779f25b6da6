/* SPDX-License-Identifier: Apache-2.0 */
/*
 * name.h: certificate subject names (C/ST/L/O.../OU/CN, dn.c) and subject
 * alternative names (DNS, IPv4, IPv6, email, URI; san.c).
 */
#ifndef SLW_NAME_H
#define SLW_NAME_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/asn1.h>
#include <mbedtls/x509.h>

#include "err.h"

#define DN_MAX_O 8
#define DN_VAL_MAX 128

struct dn {
	char c[DN_VAL_MAX];
	char st[DN_VAL_MAX];
	char l[DN_VAL_MAX];
	char o[DN_MAX_O][DN_VAL_MAX];
	size_t n_o;
	char ou[DN_VAL_MAX];
	char cn[DN_VAL_MAX];
	/* Parsed from a certificate or CSR: attributes other than the above,
	 * and repeated CN/C/ST/L/OU, which slipway never issues. */
	int n_other;
};

/* Copies slen bytes of src with a NUL; SLW_ERR_INVALID if they do not fit
 * in dlen or hold a NUL (never truncates). */
int dn_copy_bounded(char *dst, size_t dlen, const void *src, size_t slen);
/* Adds an organisation; SLW_ERR_LIMIT beyond DN_MAX_O. */
int dn_add_o(struct dn *dn, const char *o);
/* Checks lengths, non-empty CN, no control characters. */
int dn_validate(const struct dn *dn, struct slw_diag *d);
/* "C=CN, ST=BeiJing, L=BeiJing, O=k8s, OU=4Paradigm, CN=kubernetes" */
int dn_format(const struct dn *dn, char *out, size_t len);
/* Reads the attributes slipway knows from a parsed name. */
int dn_from_x509(const mbedtls_x509_name *name, struct dn *dn,
    struct slw_diag *d);
/*
 * Builds an mbedTLS writer name list (freed with
 * mbedtls_asn1_free_named_data_list) in the seed's order C, ST, L, O..., OU,
 * CN; each O is its own RDN.
 */
int dn_to_named_data(const struct dn *dn, mbedtls_asn1_named_data **out);
/* Deep copy of a parsed name into a writer list (issuer = CA subject). */
int dn_copy_x509(const mbedtls_x509_name *name, mbedtls_asn1_named_data **out);

enum san_type {
	SAN_DNS = 1,
	SAN_IP,
	SAN_EMAIL,
	SAN_URI,
	SAN_OTHER,
};

#define SAN_VAL_MAX 256
#define SAN_MAX 64

struct san {
	enum san_type type;
	char value[SAN_VAL_MAX];	/* text form; IPs in canonical form */
	uint8_t ip[16];
	size_t ip_len;			/* 4 or 16 for SAN_IP */
};

/* "DNS:name", "IP:addr", or a bare value (an address if it parses as one). */
int san_parse(const char *s, struct san *out, struct slw_diag *d);
int san_dns(const char *name, struct san *out, struct slw_diag *d);
int san_ip(const char *addr, struct san *out, struct slw_diag *d);
/* "DNS:kubernetes", "IP:127.0.0.1" */
int san_format(const struct san *s, char *out, size_t len);
/* Checks an RFC 1123 DNS name (labels, optional leading "*."). */
int san_dns_name_valid(const char *name);
int san_equal(const struct san *a, const struct san *b);

/*
 * Reads the SAN extension of a parsed certificate or CSR into out[0..n).
 * SLW_ERR_LIMIT beyond max entries; unknown kinds become SAN_OTHER.
 */
int san_from_x509(const mbedtls_x509_sequence *seq, struct san *out,
    size_t max, size_t *n, struct slw_diag *d);

#endif
