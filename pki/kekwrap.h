/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kekwrap.h: the key-encryption key stored only wrapped (the appliance
 * image, docs/appliance.md). A small file of slots, each able to give the
 * KEK back:
 *   passphrase  Argon2id(operator passphrase, salt) -> an AES-256-GCM key
 *               that wraps the KEK
 *   recovery    the same under the recovery passphrase, shown once at init
 *   tpm         a TPM 2.0 sealed-data object holding the KEK: its public
 *               and private areas, opaque here (the appliance's TPM code
 *               loads and unseals them)
 * kekwrap_parse takes (buf, len) with a hard cap and does no I/O: the
 * file's bytes are untrusted (whoever has the disk may have edited them).
 *
 * File layout (big-endian): "SWKW" | version 1 | number of slots (1..3) |
 * per slot: kind (u8), reserved 0 (u8), body length (u16), body.
 *   passphrase/recovery body: t_cost u32 | m_cost KiB u32 | lanes u32 |
 *     salt[16] | nonce[12] | wrapped KEK[32] | tag[16]
 *     (AAD: "SWKW", the kind, the three costs and the salt, so the costs
 *     cannot be lowered by editing the file)
 *   tpm body: PCR mask u32 | public u16-length + bytes | private
 *     u16-length + bytes
 * At most one slot of each kind; nothing may follow the last slot.
 */
#ifndef SLW_KEKWRAP_H
#define SLW_KEKWRAP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "seal.h"

#define KEKWRAP_MAX 4096		/* the whole file */
#define KEKWRAP_TPM_BLOB_MAX 1024	/* each TPM area */
#define KEKWRAP_SALT_LEN 16
/* a passphrase: 8 to 1024 bytes, no control characters */
#define KEKWRAP_PASS_MIN 8
#define KEKWRAP_PASS_MAX 1024
/* the recovery passphrase: 6 groups of 5 of 32 letters and digits (150 bits) */
#define KEKWRAP_RECOVERY_LEN 35

enum kekwrap_kind {
	KEKWRAP_PASSPHRASE = 1,
	KEKWRAP_RECOVERY = 2,
	KEKWRAP_TPM = 3,
};

/* Argon2id costs (RFC 9106). Bounds are enforced when parsing. */
struct kekwrap_cost {
	uint32_t t_cost;	/* passes: 1..16 */
	uint32_t m_cost_kib;	/* memory in KiB: 8192 (8 MiB)..1048576 (1 GiB) */
	uint32_t lanes;		/* parallelism (and threads): 1..8 */
};
/* The appliance's default: 3 passes over 64 MiB, 2 lanes. */
extern const struct kekwrap_cost kekwrap_cost_default;

struct kekwrap_pw {
	struct kekwrap_cost cost;
	uint8_t salt[KEKWRAP_SALT_LEN];
	uint8_t nonce[12];
	uint8_t wrapped[KEK_LEN];
	uint8_t tag[16];
};

struct kekwrap_tpm {
	uint32_t pcr_mask;	/* PCRs (SHA-256 bank) the object's policy binds; 0: none */
	uint8_t pub[KEKWRAP_TPM_BLOB_MAX];
	size_t pub_len;
	uint8_t priv[KEKWRAP_TPM_BLOB_MAX];
	size_t priv_len;
};

struct kekwrap {
	int has_pw, has_recovery, has_tpm;
	struct kekwrap_pw pw, recovery;
	struct kekwrap_tpm tpm;
};

/* Parses a wrapped-KEK file; SLW_ERR_PARSE (d says where) if malformed. */
int kekwrap_parse(const uint8_t *buf, size_t len, struct kekwrap *out,
    struct slw_diag *d);
/* Serialises w (at least one slot); parse(write(w)) gives w back. */
int kekwrap_write(const struct kekwrap *w, struct buf *out);

/*
 * Wraps k under pass (kind KEKWRAP_PASSPHRASE or KEKWRAP_RECOVERY), with
 * fresh salt and nonce, replacing that slot. SLW_ERR_INVALID if the
 * passphrase breaks kekwrap_pass_check (d says why) or cost is out of bounds.
 */
int kekwrap_set_pass(struct kekwrap *w, enum kekwrap_kind kind,
    const struct kek *k, const char *pass, size_t plen,
    const struct kekwrap_cost *cost, struct slw_diag *d);
/*
 * Unwraps the KEK from one passphrase slot. SLW_ERR_NOTFOUND: no such
 * slot; SLW_ERR_KEK: wrong passphrase (or an altered slot).
 */
int kekwrap_open_pass(const struct kekwrap *w, enum kekwrap_kind kind,
    const char *pass, size_t plen, struct kek *out);
/*
 * Tries the slots a typed passphrase may open: the recovery slot first if
 * pass looks like a recovery passphrase, then the operator's. *which says
 * which opened. SLW_ERR_KEK if none.
 */
int kekwrap_open_any(const struct kekwrap *w, const char *pass, size_t plen,
    struct kek *out, enum kekwrap_kind *which);
/* Stores a TPM sealed object; SLW_ERR_INVALID if a blob is empty or too big. */
int kekwrap_set_tpm(struct kekwrap *w, uint32_t pcr_mask, const uint8_t *pub,
    size_t pub_len, const uint8_t *priv, size_t priv_len);

/* 0 if pass is acceptable as a passphrase; else SLW_ERR_INVALID and why. */
int kekwrap_pass_check(const char *pass, size_t plen, struct slw_diag *d);
/* A new recovery passphrase "xxxxx-xxxxx-...", NUL-terminated. */
int kekwrap_recovery_new(char out[KEKWRAP_RECOVERY_LEN + 1]);
/* 1 if pass has the recovery passphrase's shape. */
int kekwrap_is_recovery(const char *pass, size_t plen);

/*
 * Reads and parses a wrapped-KEK file: SLW_ERR_NOKEK if missing, SLW_ERR_PERM
 * if group or others may read it, SLW_ERR_PARSE if malformed.
 */
int kekwrap_load(const char *path, struct kekwrap *w, struct slw_diag *d);
/* Writes it atomically, mode 0600 (excl: refuse an existing file). */
int kekwrap_save(const char *path, const struct kekwrap *w, int excl,
    struct slw_diag *d);
void kekwrap_wipe(struct kekwrap *w);

#endif
