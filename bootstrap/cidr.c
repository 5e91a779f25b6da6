// SPDX-License-Identifier: Apache-2.0
/*
 * cidr.c: address ranges of the inventory (serviceCIDR, clusterCIDR):
 * parsing with host bits zero, as Kubernetes requires; containment and
 * overlap. Pure functions over their arguments, no I/O.
 */
#include "inventory.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
cidr_parse(const char *s, struct cidr *out)
{
	char tmp[INV_ADDR_MAX], *slash, *end;
	unsigned long p;
	unsigned int i, max;

	memset(out, 0, sizeof(*out));
	if (strlen(s) >= sizeof(tmp))
		return SLW_ERR_INVALID;
	snprintf(tmp, sizeof(tmp), "%s", s);
	if ((slash = strchr(tmp, '/')) == NULL)
		return SLW_ERR_INVALID;
	*slash++ = '\0';
	if (inet_pton(AF_INET, tmp, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, tmp, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else
		return SLW_ERR_INVALID;
	errno = 0;
	p = strtoul(slash, &end, 10);
	if (errno || *slash < '0' || *slash > '9' || *end != '\0' || p > max ||
	    p == 0)
		return SLW_ERR_INVALID;
	out->prefix = (unsigned int)p;
	/* host bits must be zero, as Kubernetes requires */
	for (i = out->prefix; i < max; i++)
		if (out->addr[i / 8] & (0x80 >> (i % 8)))
			return SLW_ERR_INVALID;
	snprintf(out->text, sizeof(out->text), "%s", s);
	return 0;
}

static int
prefix_match(const uint8_t *a, const uint8_t *b, unsigned int bits)
{
	unsigned int i;

	for (i = 0; i < bits; i++)
		if ((a[i / 8] ^ b[i / 8]) & (0x80 >> (i % 8)))
			return 0;
	return 1;
}

int
cidr_contains(const struct cidr *c, const char *ip)
{
	uint8_t a[16] = { 0 };

	if (c->family == 0 || inet_pton(c->family, ip, a) != 1)
		return 0;
	return prefix_match(c->addr, a, c->prefix);
}

int
cidr_overlap(const struct cidr *a, const struct cidr *b)
{
	if (a->family != b->family)
		return 0;
	return prefix_match(a->addr, b->addr,
	    a->prefix < b->prefix ? a->prefix : b->prefix);
}
