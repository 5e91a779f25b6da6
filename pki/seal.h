/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal.h: sealing of secrets at rest with AES-256-GCM under the
 * key-encryption key (KEK), which lives in a 0600 file outside the database.
 * The record id is bound as associated data, so a sealed blob moved to
 * another record does not open. seal.c seals; kek.c makes, sets, loads,
 * saves, derives from and wipes the KEK.
 */
#ifndef SLW_SEAL_H
#define SLW_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define KEK_LEN 32
#define SEAL_OVERHEAD (4 + 12 + 16)

struct kek {
	uint8_t key[KEK_LEN];
	uint8_t audit_key[32];	/* derived: keys the audit hash chain */
};

int kek_generate(struct kek *k);
/* Makes a KEK from its key bytes (derives the audit key). */
int kek_set(struct kek *k, const uint8_t key[KEK_LEN]);
/*
 * Loads a KEK file. SLW_ERR_NOKEK if missing or malformed, SLW_ERR_PERM if
 * group/other may read it (it must be 0600 or stricter).
 */
int kek_load(const char *path, struct kek *k, struct slw_diag *d);
/* Writes the KEK file, mode 0600, refusing to overwrite. */
int kek_save(const char *path, const struct kek *k, struct slw_diag *d);
void kek_wipe(struct kek *k);
/* A key for one purpose: HMAC-SHA256(KEK, label). Wipe it after use. */
int kek_derive(const struct kek *k, const char *label, uint8_t out[32]);

int seal(const struct kek *k, const char *aad, const uint8_t *pt, size_t len,
    struct buf *out);
/* SLW_ERR_CORRUPT when the blob does not authenticate under k and aad. */
int seal_open(const struct kek *k, const char *aad, const uint8_t *blob,
    size_t len, struct buf *pt);

#endif
