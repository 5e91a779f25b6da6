/* SPDX-License-Identifier: Apache-2.0 */
/*
 * checksums.h: the checksum files upstream projects publish beside their
 * releases, in the formats of GNU coreutils' sha256sum/sha512sum:
 *
 *   <hex>  <name>          text mode (two spaces; one is accepted too)
 *   <hex> *<name>          binary mode
 *   SHA256 (<name>) = <hex>   the BSD form (--tag), also SHA512
 *   <hex>                  a bare digest (dl.k8s.io's FILE.sha256/.sha512)
 *
 * 64 hex digits are a SHA-256, 128 a SHA-512; anything else is refused.
 * Blank lines and lines starting with '#' are skipped; CRLF is accepted.
 * Names may start with "./" (cni-plugins' files); escaped names (a line
 * starting with '\') are refused, as is a name listed twice with different
 * digests. The parser works on (buf, len) with a hard cap and no I/O
 * (tests/fuzz/checksums.c).
 */
#ifndef SLW_CHECKSUMS_H
#define SLW_CHECKSUMS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define CHECKSUMS_MAX (1u << 20)	/* bytes of a checksums file */
#define CHECKSUMS_ENTRIES_MAX 4096
#define CHECKSUMS_NAME_MAX 255		/* bytes of a file name */

enum csum_alg {
	CSUM_SHA256 = 32,		/* the digest's length in bytes */
	CSUM_SHA512 = 64,
};

struct csum_entry {
	char name[CHECKSUMS_NAME_MAX + 1];	/* "" for a bare digest */
	enum csum_alg alg;
	uint8_t digest[64];
};

struct checksums {
	struct csum_entry *e;
	size_t n;
};

/*
 * Parses a whole checksums file. SLW_ERR_PARSE with "line N: why" in d for
 * the first bad line; SLW_ERR_TOOBIG above CHECKSUMS_MAX or
 * CHECKSUMS_ENTRIES_MAX; SLW_ERR_INVALID if it holds no digest at all.
 * out is empty unless 0 is returned.
 */
int checksums_parse(const uint8_t *buf, size_t len, struct checksums *out,
    struct slw_diag *d);
void checksums_free(struct checksums *c);

/*
 * The entry for a file, by its base name (a path's directories are
 * ignored, on both sides). A file with one bare digest matches any name
 * when only_file is set (the caller imports exactly one file). Of a name
 * listed with both algorithms, SHA-512 wins. NULL if none.
 */
const struct csum_entry *checksums_find(const struct checksums *c,
    const char *name, int only_file);

/* "sha256" or "sha512". */
const char *checksums_alg_name(enum csum_alg alg);
/*
 * Parses hex of exactly 64 or 128 digits (either case) into digest; *alg
 * gets which. SLW_ERR_PARSE otherwise.
 */
int checksums_hex_digest(const char *hex, size_t len, uint8_t digest[64],
    enum csum_alg *alg);

#endif
