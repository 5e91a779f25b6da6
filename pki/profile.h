/* SPDX-License-Identifier: Apache-2.0 */
/*
 * profile.h: signing profiles in the style of cfssl's ca-config.json: a name,
 * a list of usages and an expiry.
 */
#ifndef SLW_PROFILE_H
#define SLW_PROFILE_H

#include <stdint.h>

#include "err.h"

#define EKU_SERVER_AUTH 0x1u
#define EKU_CLIENT_AUTH 0x2u

#define PROFILE_NAME_MAX 64
/* The seed's ca-config.json: "kubernetes", 87600h. */
#define PROFILE_SEED_HOURS 87600u

struct profile {
	char name[PROFILE_NAME_MAX];
	unsigned int ku;	/* MBEDTLS_X509_KU_* */
	unsigned int eku;	/* EKU_* */
	uint32_t hours;
	int is_ca;
};

/* Adds one cfssl usage name ("signing", "key encipherment", "server auth",
 * "client auth", "digital signature", "cert sign", "crl sign",
 * "key agreement"). */
int profile_add_usage(struct profile *p, const char *usage, struct slw_diag *d);
/* Built-ins: "kubernetes" (the seed's), "server", "client", "peer", "ca". */
int profile_builtin(const char *name, struct profile *out);
/* Durations (duration.c): "87600h", "8760h", "30m", "90d" -> hours
 * (minutes round up). */
int duration_parse_hours(const char *s, uint32_t *hours);
/* "15m", "1h", "30s", "2d" -> seconds. */
int duration_parse_seconds(const char *s, uint64_t *secs);
/* Comma-separated cfssl usage names of p, e.g. "signing, key encipherment". */
int profile_usages_string(const struct profile *p, char *out, size_t len);

#endif
