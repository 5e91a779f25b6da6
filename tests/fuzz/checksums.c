// SPDX-License-Identifier: Apache-2.0
/*
 * checksums.c: fuzz target for the checksums files an operator hands to
 * `slipway artifact import --checksums` (bootstrap/checksums.c). Never a
 * crash; what is accepted holds only printable names of at most 255
 * bytes, SHA-256 or SHA-512 digests, at most CHECKSUMS_ENTRIES_MAX of
 * them, no name with two digests of one algorithm, either only named or
 * one bare digest; and every accepted name is found again with its digest
 * (or, for two paths sharing a base name, reported ambiguous).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checksums.h"

static const char *
base(const char *s)
{
	const char *b = strrchr(s, '/');

	return b != NULL ? b + 1 : s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct checksums c;
	struct slw_diag d;
	size_t i, j, bare = 0;

	slw_diag_clear(&d);
	if (checksums_parse(data, size, &c, &d) != 0) {
		if (c.e != NULL || c.n != 0 || d.msg[0] == '\0' ||
		    strchr(d.msg, '\n') != NULL)
			abort();	/* refused: nothing, one reason line */
		return 0;
	}
	if (c.n == 0 || c.n > CHECKSUMS_ENTRIES_MAX)
		abort();
	for (i = 0; i < c.n; i++) {
		const struct csum_entry *e = &c.e[i], *f;
		size_t n = strlen(e->name);

		if (e->alg != CSUM_SHA256 && e->alg != CSUM_SHA512)
			abort();
		if (n > CHECKSUMS_NAME_MAX)
			abort();
		for (j = 0; j < n; j++)
			if ((unsigned char)e->name[j] < 0x20 || e->name[j] == 0x7f)
				abort();
		bare += n == 0;
		for (j = 0; j < i; j++)
			if (c.e[j].alg == e->alg &&
			    strcmp(c.e[j].name, e->name) == 0)
				abort();	/* one digest per name and alg */
		f = checksums_find(&c, n ? e->name : "any-file", n == 0);
		if (f == NULL) {
			/* only when another path has this base name */
			for (j = 0; j < c.n; j++)
				if (j != i && strcmp(base(c.e[j].name),
				    base(e->name)) == 0)
					break;
			if (j == c.n)
				abort();
			continue;
		}
		if (strcmp(base(f->name), base(e->name)) != 0 ||
		    f->alg < e->alg ||
		    (f->alg == e->alg && memcmp(f->digest, e->digest, e->alg)))
			abort();
	}
	if (bare != 0 && bare != c.n)
		abort();
	checksums_free(&c);
	return 0;
}
