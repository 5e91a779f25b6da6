/* SPDX-License-Identifier: Apache-2.0 */
/*
 * token.h: one-time bootstrap tokens for the HTTPS endpoint.
 *
 * A token is "ID.SECRET": ID is 16 lowercase hex digits (64 random bits,
 * public: it names the token in `token list`, `token revoke` and the audit
 * log), SECRET is 40 lowercase hex digits (160 random bits). The store keeps
 * only SHA-256 of the whole token, under the key SHA-256(ID) in DB_TOKENS,
 * together with the node it is bound to, an optional source address or
 * CIDR, its expiry and its state. A presented token is checked in constant
 * time; every failure (unknown, malformed, expired, used, revoked, other
 * node, other address) is the same SLW_ERR_AUTH to the caller, with the
 * reason only in a token_fail value for metrics and logs. Nothing here
 * ever formats a secret into a message.
 */
#ifndef SLW_TOKEN_H
#define SLW_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"
#include "inventory.h"
#include "store.h"

#define TOKEN_ID_LEN 16		/* hex digits */
#define TOKEN_SECRET_LEN 40	/* hex digits: 160 bits */
#define TOKEN_LEN (TOKEN_ID_LEN + 1 + TOKEN_SECRET_LEN)
#define TOKEN_KEY_LEN 32	/* SHA-256(ID): the DB_TOKENS key */
#define TOKEN_TTL_MIN 10
#define TOKEN_TTL_MAX (7 * 86400)
#define TOKEN_ACTOR_MAX 64
#define TOKEN_PEER_MAX 64

enum token_state {
	TOKEN_ACTIVE = 1,
	TOKEN_USED = 2,
	TOKEN_REVOKED = 3,
};

/* Why a presented token was refused: for metrics and logs, never clients. */
enum token_fail {
	TOKEN_OK = 0,
	TOKEN_FAIL_MALFORMED,
	TOKEN_FAIL_UNKNOWN,	/* no such id, or the secret does not match */
	TOKEN_FAIL_EXPIRED,
	TOKEN_FAIL_USED,
	TOKEN_FAIL_REVOKED,
	TOKEN_FAIL_NODE,	/* bound to another node than the one asked */
	TOKEN_FAIL_SOURCE,	/* presented from an address it is not bound to */
	TOKEN_FAIL__COUNT
};

/* What the store knows about a token: public fields only. */
struct token_info {
	char id[TOKEN_ID_LEN + 1];
	uint8_t key[TOKEN_KEY_LEN];
	char node[INV_NAME_MAX];
	char source[INV_ADDR_MAX];	/* "" if not bound to an address */
	time_t created;
	time_t expires;
	int state;			/* enum token_state */
	char created_by[TOKEN_ACTOR_MAX];
	time_t used_at;
	char used_from[TOKEN_PEER_MAX];
	char used_for[16];		/* "bundle", "enroll" */
	time_t revoked_at;
	char revoked_by[TOKEN_ACTOR_MAX];
	/*
	 * What a bundle redeemed with it holds: 0 the whole bundle; else a
	 * fleet delivery's scope (bundle.h: BUNDLE_SCOPE_PARTIAL and the
	 * certificates it re-issues). Set between token_make and token_put.
	 */
	uint64_t scope;
};

/* A token just made: the only place the secret exists in clear. */
struct token_new {
	char token[TOKEN_LEN + 1];
	uint8_t hash[32];
	struct token_info info;
};

/*
 * Makes a new token in memory (no I/O): random id and secret, bound to node,
 * valid for ttl seconds from now; source is "" or an address or CIDR.
 */
int token_make(const char *node, time_t ttl, const char *source,
    const char *actor, time_t now, struct token_new *out, struct slw_diag *d);
/* Stores a new token (hash only) and its audit record. */
int token_put(struct store_txn *t, const struct token_new *tok);
void token_new_wipe(struct token_new *tok);

/*
 * Splits a presented token (untrusted bytes, at most TOKEN_LEN) into id and
 * secret. SLW_ERR_AUTH if it is not exactly the token syntax.
 */
int token_parse(const char *s, size_t len, char id[TOKEN_ID_LEN + 1],
    char secret[TOKEN_SECRET_LEN + 1]);

/* What a presented token must satisfy besides being known and unused. */
struct token_want {
	const char *node;	/* NULL: any node (the token names it) */
	const char *peer;	/* client address as text, NULL: not checked */
	time_t now;
};

/*
 * Checks a presented token (read or write txn). 0 and *out filled if it
 * may be redeemed now; else SLW_ERR_AUTH (or a store error) and *why says
 * which check failed.
 */
int token_check(struct store_txn *t, const char *tok, size_t len,
    const struct token_want *w, struct token_info *out, enum token_fail *why);
/*
 * Checks and consumes a token in the caller's write txn: the state
 * becomes used, with the time, the client address and the endpoint. The
 * caller records what was issued in the same transaction.
 */
int token_consume(struct store_txn *t, const char *tok, size_t len,
    const struct token_want *w, const char *used_for, struct token_info *out,
    enum token_fail *why);

/* By public id: SLW_ERR_NOTFOUND if there is none. */
int token_get(struct store_txn *t, const char *id, struct token_info *out);
/* Revokes an active token (audit record included). */
int token_revoke(struct store_txn *t, const char *id, const char *actor,
    struct slw_diag *d);
/* Every token, in key order. cb returns 0 to go on, 1 to stop, < 0 to fail. */
int token_foreach(struct store_txn *t,
    int (*cb)(void *arg, const struct token_info *ti), void *arg);

/* what `token prune` and serve's daily prune keep: 30 days after the end */
#define TOKEN_PRUNE_AGE (30 * 86400)

struct token_prune_stats {
	size_t used, expired, revoked;	/* records deleted, by how they ended */
	size_t kept, active;		/* records left; of them still usable */
};

/*
 * Deletes, in the caller's write txn, the records of tokens that ended (were
 * used, were revoked, or expired unused) at or before cutoff, with one audit
 * record if any went. Active tokens are never touched; the issuance records
 * and the audit log (token.create, token.redeem, token.revoke) keep their
 * history.
 */
int token_prune(struct store_txn *t, time_t cutoff, time_t now,
    const char *actor, struct token_prune_stats *st);
/* The same in a write transaction of its own. */
int token_prune_store(struct store *s, time_t cutoff, time_t now,
    const char *actor, struct token_prune_stats *st, struct slw_diag *d);

/*
 * Voids, in the caller's write txn, every token still unused (active, also
 * when expired): each becomes revoked by actor, with one audit record
 * ("token.void", why). A rollback restore calls it on the restored copy:
 * any token unused at backup time may have been used since, and must not
 * be usable again. *n gets how many.
 */
int token_void_active(struct store_txn *t, const char *actor, const char *why,
    size_t *n);

/* "active", "used", "expired" or "revoked" at time now. */
const char *token_state_name(const struct token_info *ti, time_t now);
const char *token_fail_name(enum token_fail f);
/* DB_TOKENS key of an id: SHA-256 of its text. */
void token_key(const char *id, uint8_t key[TOKEN_KEY_LEN]);

#endif
