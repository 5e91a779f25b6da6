/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit.h: the append-only audit log. Each record carries the MAC of its
 * predecessor and its own MAC under a key derived from the KEK, so a changed,
 * inserted or removed record is detected by audit_verify.
 */
#ifndef SLW_AUDIT_H
#define SLW_AUDIT_H

#include <stdint.h>
#include <time.h>

#include "store.h"

#define AUDIT_ACTOR_MAX 64
#define AUDIT_ACTION_MAX 64
#define AUDIT_OBJECT_MAX 256
#define AUDIT_DETAIL_MAX 512

struct audit_entry {
	uint64_t seq;
	time_t time;
	char actor[AUDIT_ACTOR_MAX];
	char action[AUDIT_ACTION_MAX];
	char object[AUDIT_OBJECT_MAX];
	char detail[AUDIT_DETAIL_MAX];
};

/* Appends a record in the caller's write transaction. Never pass secrets. */
int audit_append(struct store_txn *t, const char *actor, const char *action,
    const char *object, const char *detail);
/* Checks the whole chain; *count gets the number of records. */
int audit_verify(struct store *s, uint64_t *count, struct slw_diag *d);
int audit_foreach(struct store_txn *t,
    int (*cb)(void *arg, const struct audit_entry *e), void *arg);

#endif
