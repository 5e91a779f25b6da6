// SPDX-License-Identifier: Apache-2.0
/*
 * crl_der.c: fuzz target for revocation input. The first byte picks:
 *   0  arbitrary bytes as a DER CRL (crl_info_der, crl_verify): never a
 *      crash, and never verified by a CA that did not sign them;
 *   1  a round trip: entries built from the input (serial, reason, time),
 *      written and signed by crl_write, must parse back to exactly those
 *      entries, CRL Number and dates, and verify against the CA;
 *   2  the input as a reason name (crl_reason_parse): what it accepts
 *      names itself back; and as the serial of `cert revoke`
 *      (certdb_serial_parse), against a reference of its syntax.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ca.h"
#include "certdb.h"
#include "crl.h"
#include "rand.h"

#define MAX_ENTRIES 64

static struct signer *ca;
static struct buf ca_der;

static void
setup(void)
{
	struct dn subj;
	struct key *k = NULL;

	if (ca != NULL)
		return;
	slw_crypto_init();
	memset(&subj, 0, sizeof(subj));
	memcpy(subj.cn, "fuzz CA", 8);
	if (ca_make_root(&subj, KEY_EC_P256, 24, slw_now(), &k, &ca_der,
	    NULL) != 0 || signer_new(ca_der.data, ca_der.len, k, &ca, NULL) != 0)
		abort();
}

struct cmp {
	const struct crl_entry *want;
	size_t n, i;
};

static int
cmp_one(void *arg, const struct crl_entry *e)
{
	struct cmp *c = arg;

	if (c->i >= c->n || memcmp(e->serial, c->want[c->i].serial,
	    SERIAL_LEN) != 0 || e->revoked_at != c->want[c->i].revoked_at ||
	    e->reason != c->want[c->i].reason)
		abort();
	c->i++;
	return 0;
}

static const int codes[] = { 0, 1, 2, 3, 4, 5, 9, 10 };

static void
round_trip(const uint8_t *p, size_t len)
{
	struct crl_entry e[MAX_ENTRIES];
	struct crl_info info;
	struct buf der = { 0 };
	struct cmp c;
	uint64_t number = 0;
	time_t now = 1700000000;
	size_t n = 0, i;

	for (i = 0; i < 8 && i < len; i++)
		number = number << 8 | p[i];
	p += i;
	len -= i;
	/* 16 serial bytes, 1 reason byte, 3 bytes of seconds back */
	while (len >= SERIAL_LEN + 4 && n < MAX_ENTRIES) {
		memcpy(e[n].serial, p, SERIAL_LEN);
		if (e[n].serial[0] == 0)
			e[n].serial[0] = 1;	/* slipway serials: 16 bytes */
		e[n].reason = codes[p[SERIAL_LEN] % 8];
		e[n].revoked_at = now - (time_t)((uint32_t)p[SERIAL_LEN + 1] << 16 |
		    (uint32_t)p[SERIAL_LEN + 2] << 8 | p[SERIAL_LEN + 3]);
		p += SERIAL_LEN + 4;
		len -= SERIAL_LEN + 4;
		n++;
	}
	if (crl_write(ca, e, n, number, now, now + CRL_LIFETIME_SECS, &der,
	    NULL) != 0)
		abort();
	c.want = e;
	c.n = n;
	c.i = 0;
	if (crl_info_der(der.data, der.len, &info, cmp_one, &c) != 0 ||
	    c.i != n || info.n_entries != n || info.number != number ||
	    info.this_update != now ||
	    info.next_update != now + CRL_LIFETIME_SECS ||
	    crl_verify(der.data, der.len, ca_der.data, ca_der.len) != 0)
		abort();
	buf_free(&der);
}

static int
count_one(void *arg, const struct crl_entry *e)
{
	(void)e;
	(*(size_t *)arg)++;
	return 0;
}

static int
hexv(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * `cert revoke SERIAL`: what certdb_serial_parse accepts is 32 hex digits
 * with ':' only between bytes, and gives exactly those bytes.
 */
static void
check_serial(const char *s)
{
	uint8_t got[SERIAL_LEN], want[SERIAL_LEN];
	size_t digits = 0, i;
	int ok = 1;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == ':' && digits % 2 == 0)
			continue;
		if (hexv(s[i]) < 0 || digits >= 2 * SERIAL_LEN) {
			ok = 0;
			break;
		}
		if (digits % 2 == 0)
			want[digits / 2] = (uint8_t)(hexv(s[i]) << 4);
		else
			want[digits / 2] |= (uint8_t)hexv(s[i]);
		digits++;
	}
	ok = ok && digits == 2 * SERIAL_LEN;
	if ((certdb_serial_parse(s, got) == 0) != ok ||
	    (ok && memcmp(got, want, SERIAL_LEN) != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct crl_info info;
	char name[64];
	size_t n = 0;
	int code;

	if (size < 1)
		return 0;
	setup();
	switch (data[0] % 3) {
	case 0:
		if (crl_info_der(data + 1, size - 1, &info, count_one, &n) == 0 &&
		    n != info.n_entries)
			abort();
		if (crl_verify(data + 1, size - 1, ca_der.data, ca_der.len) == 0)
			abort();	/* nothing forged verifies */
		break;
	case 1:
		round_trip(data + 1, size - 1);
		break;
	default:
		if (size - 1 >= sizeof(name))
			return 0;
		memcpy(name, data + 1, size - 1);
		name[size - 1] = '\0';
		if (crl_reason_parse(name, &code) == 0 &&
		    (crl_reason_name(code) == NULL ||
		    strcmp(crl_reason_name(code), name) != 0))
			abort();
		check_serial(name);
		break;
	}
	return 0;
}
