// SPDX-License-Identifier: Apache-2.0
/*
 * privsep_memscan.c: test helper of endpoint_privsep. Opens a state with
 * its KEK (as root, like the console), unseals the private key of every CA
 * generation, and counts where each key's secret (the EC scalar d, or the
 * RSA prime p; big- and little-endian, as DER and as mbedTLS limbs hold
 * them) and the KEK occur in the readable memory of the given processes
 * (/proc/PID/maps + /proc/PID/mem). Prints counts only:
 *
 *   kubernetes/1 PID HITS
 *   kek PID HITS
 *
 * and never a key, a scalar or a byte of what it reads. Not part of
 * slipway: it exists so the test can prove the network child's memory
 * holds no CA key while the monitor's does.
 */
#define _GNU_SOURCE	/* memmem */
#include "ca.h"
#include "cert.h"
#include "key.h"
#include "rand.h"
#include "seal.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/ecp.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>

#define MAX_SECRETS 64

struct secret {
	char name[CA_NAME_MAX + 16];
	uint8_t be[512], le[512];
	size_t len;
};

static struct secret secrets[MAX_SECRETS];
static size_t n_secrets;

static void
add(const char *name, const uint8_t *be, size_t len)
{
	struct secret *s;
	size_t i;

	if (n_secrets == MAX_SECRETS || len > sizeof(s->be) || len < 16)
		return;
	s = &secrets[n_secrets++];
	snprintf(s->name, sizeof(s->name), "%s", name);
	memcpy(s->be, be, len);
	for (i = 0; i < len; i++)
		s->le[i] = be[len - 1 - i];
	s->len = len;
}

static int
key_secret(const char *name, const struct key *k)
{
	uint8_t b[512];
	size_t len;
	int r = -1;

	if (mbedtls_pk_get_type(&k->pk) == MBEDTLS_PK_ECKEY) {
		const mbedtls_ecp_keypair *ec = mbedtls_pk_ec(k->pk);
		mbedtls_mpi d;

		mbedtls_mpi_init(&d);
		if (mbedtls_ecp_export(ec, NULL, &d, NULL) == 0) {
			len = mbedtls_mpi_size(&d);
			if (len <= sizeof(b) &&
			    mbedtls_mpi_write_binary(&d, b, len) == 0) {
				add(name, b, len);
				r = 0;
			}
		}
		mbedtls_mpi_free(&d);
	} else if (mbedtls_pk_get_type(&k->pk) == MBEDTLS_PK_RSA) {
		mbedtls_rsa_context *rsa = mbedtls_pk_rsa(k->pk);
		mbedtls_mpi p;

		mbedtls_mpi_init(&p);
		if (mbedtls_rsa_export(rsa, NULL, &p, NULL, NULL, NULL) == 0) {
			len = mbedtls_mpi_size(&p);
			if (len <= sizeof(b) &&
			    mbedtls_mpi_write_binary(&p, b, len) == 0) {
				add(name, b, len);
				r = 0;
			}
		}
		mbedtls_mpi_free(&p);
	}
	mbedtls_platform_zeroize(b, sizeof(b));
	return r;
}

static int
one_ca(void *arg, const struct ca_rec *rec)
{
	struct store_txn *t = arg;
	struct signer *sg = NULL;
	char name[CA_NAME_MAX], label[CA_NAME_MAX + 16];
	uint32_t gen;

	if (ca_signer(t, rec->name, rec->gen, &sg, &gen, name) != 0) {
		fprintf(stderr, "privsep_memscan: cannot unseal %s/%u\n",
		    rec->name, rec->gen);
		return SLW_ERR_INTERNAL;
	}
	snprintf(label, sizeof(label), "%s/%u", rec->name, rec->gen);
	if (key_secret(label, sg->key) != 0)
		fprintf(stderr, "privsep_memscan: %s: unknown key type\n", label);
	signer_free(sg);
	return 0;
}

static int
keys_txn(struct store_txn *t, void *arg)
{
	(void)arg;
	return ca_foreach(t, one_ca, t);
}

/* Counts every secret in pid's readable mappings into hits[]. */
static int
scan(pid_t pid, size_t *hits)
{
	char path[64], line[512];
	FILE *maps;
	int mem;
	size_t maxlen = 0, i, chunk = 1 << 20;
	uint8_t *buf;

	for (i = 0; i < n_secrets; i++)
		if (secrets[i].len > maxlen)
			maxlen = secrets[i].len;
	snprintf(path, sizeof(path), "/proc/%ld/maps", (long)pid);
	if ((maps = fopen(path, "r")) == NULL)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/mem", (long)pid);
	if ((mem = open(path, O_RDONLY)) < 0) {
		fclose(maps);
		return -1;
	}
	if ((buf = malloc(chunk + maxlen)) == NULL)
		return -1;
	while (fgets(line, sizeof(line), maps) != NULL) {
		uint64_t lo, hi, off;
		char perms[8];

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s", &lo, &hi,
		    perms) != 3 || perms[0] != 'r' ||
		    strstr(line, "[vvar") != NULL ||
		    strstr(line, "[vsyscall]") != NULL)
			continue;
		for (off = lo; off < hi; off += chunk) {
			size_t want = hi - off > chunk + maxlen ? chunk + maxlen :
			    (size_t)(hi - off);
			ssize_t got = pread(mem, buf, want, (off_t)off);

			if (got <= 0)
				break;
			for (i = 0; i < n_secrets; i++) {
				const struct secret *s = &secrets[i];
				size_t lim = (size_t)got < chunk + s->len - 1 ?
				    (size_t)got : chunk + s->len - 1;
				const uint8_t *p = buf;
				size_t left = lim;
				void *q;

				/* a match starting in this chunk only */
				while (left >= s->len && (q = memmem(p, left,
				    s->be, s->len)) != NULL) {
					hits[i]++;
					left -= (size_t)((uint8_t *)q - p) + 1;
					p = (uint8_t *)q + 1;
				}
				p = buf;
				left = lim;
				while (left >= s->len && (q = memmem(p, left,
				    s->le, s->len)) != NULL) {
					hits[i]++;
					left -= (size_t)((uint8_t *)q - p) + 1;
					p = (uint8_t *)q + 1;
				}
			}
		}
	}
	mbedtls_platform_zeroize(buf, chunk + maxlen);
	free(buf);
	close(mem);
	fclose(maps);
	return 0;
}

int
main(int argc, char **argv)
{
	struct store_opts o;
	struct store *s = NULL;
	const struct kek *k;
	size_t hits[MAX_SECRETS], i;
	int a;

	if (argc < 4 || strcmp(argv[1], "--state") != 0) {
		fprintf(stderr, "usage: privsep_memscan --state DIR PID...\n");
		return 2;
	}
	if (slw_crypto_init() != 0)
		return 1;
	memset(&o, 0, sizeof(o));
	o.need_kek = 1;
	if (store_open(argv[2], &o, &s, NULL) != 0 ||
	    store_read(s, keys_txn, NULL, NULL) != 0 ||
	    (k = store_kek(s)) == NULL) {
		fprintf(stderr, "privsep_memscan: cannot read the CA keys\n");
		return 1;
	}
	add("kek", k->key, KEK_LEN);
	store_close(s);
	for (a = 3; a < argc; a++) {
		pid_t pid = (pid_t)strtol(argv[a], NULL, 10);

		memset(hits, 0, sizeof(hits));
		if (scan(pid, hits) != 0) {
			fprintf(stderr, "privsep_memscan: cannot read the memory "
			    "of %ld: %s\n", (long)pid, strerror(errno));
			return 1;
		}
		for (i = 0; i < n_secrets; i++)
			printf("%s %ld %zu\n", secrets[i].name, (long)pid,
			    hits[i]);
	}
	mbedtls_platform_zeroize(secrets, sizeof(secrets));
	return 0;
}
