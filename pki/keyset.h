/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyset.h: the cluster's keys that are not CAs, in generations: the
 * service-account signing key (KEYSET_SA: the apiservers sign tokens with
 * it and verify with every trusted public key) and the Secrets encryption
 * key (KEYSET_ENC: the first key of the EncryptionConfiguration encrypts,
 * every listed key decrypts). Rotating one goes like a CA rotation
 * (ca_rotate.h), each step in the caller's transaction:
 *
 *   idle      one generation, active (signs / encrypts)
 *   begin  -> pending: N+1 verifies / decrypts, does not sign / encrypt
 *   advance-> advanced: N+1 signs / encrypts, N still verifies / decrypts
 *   finish -> idle: N retired, its key deleted
 *   abort     one phase back (a pending key is deleted)
 *
 * Keys are sealed in DB_SECRETS: generation 1 under the name init gave it
 * ("service-account-key", "encryption-key"), later ones under
 * "<that name>/<gen>". The set's record is DB_META "keyset/<name>"; a set
 * without one is generation 1 alone (a state from before rotations).
 */
#ifndef SLW_KEYSET_H
#define SLW_KEYSET_H

#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "key.h"
#include "store.h"

#define KEYSET_SA "service-account"
#define KEYSET_ENC "encryption"
#define KEYSET_NAME_MAX 24
#define KEYSET_ENC_LEN 32		/* secretbox and aescbc: 32 bytes */

enum keyset_phase {
	KEYSET_IDLE = 0,
	KEYSET_PENDING,
	KEYSET_ADVANCED,
};

struct keyset_status {
	char name[KEYSET_NAME_MAX];
	enum keyset_phase phase;
	uint32_t active_gen;		/* signs / encrypts */
	uint32_t pending_gen;		/* 0 if none */
	uint32_t previous_gen;		/* 0 if none */
	uint32_t max_gen;
	time_t begun;			/* when the current rotation began */
	time_t advanced;		/* when active_gen began to sign (0: at init) */
};

const char *keyset_phase_name(enum keyset_phase p);
/* 1 if name is a key set (KEYSET_SA, KEYSET_ENC). */
int keyset_known(const char *name);
int keyset_status(struct store_txn *t, const char *name,
    struct keyset_status *st);

/*
 * A new key for set name (generated here: a key of type kt for the
 * service-account set, 32 random bytes for encryption), its secret in
 * *out (DER private key or raw bytes; buf_free wipes). No I/O beyond the
 * random source.
 */
int keyset_generate(const char *name, enum key_type kt, struct buf *out);
/* The type of the set's active service-account key (KEY_NONE for
 * encryption). */
int keyset_key_type(struct store_txn *t, const char *name,
    enum key_type *kt);

int keyset_begin(struct store_txn *t, const char *name,
    const struct buf *secret, uint32_t gen, time_t now);
int keyset_advance(struct store_txn *t, const char *name, time_t now);
int keyset_finish(struct store_txn *t, const char *name);
int keyset_abort(struct store_txn *t, const char *name);

/*
 * The keys renderers need, unsealed, in the order they are used: k[0] is
 * the key that signs / encrypts, then the other trusted generation (if a
 * rotation is under way). For encryption that is the order of the keys in
 * the EncryptionConfiguration; for service accounts k[0] is the signing
 * key and every k[] is a verifying key.
 */
struct keyset_keys {
	size_t n;
	uint32_t gen[2];
	struct buf key[2];
};

int keyset_load(struct store_txn *t, const char *name, struct keyset_keys *out);
void keyset_keys_free(struct keyset_keys *k);

#endif
