/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyrot.h: the rotation of a cluster key that is not a CA, carried to the
 * running cluster as one operation of the fleet engine (op.h, deliver.h):
 * `slipway ca rotate run --ca service-account` and `slipway key rotate
 * encryption` (pki/keyset.h has the generations).
 *
 *   begin        generation N+1, sealed
 *   both         every master gets both keys (service accounts: both
 *                public keys verify, N signs; encryption: N first
 *                encrypts, N+1 second decrypts), verified on each master,
 *                the apiservers restarted one at a time (the files are
 *                read only at start), each followed by /readyz
 *   advance      N+1 signs / encrypts; refused while a master lacks it
 *   switch       delivered the same way (service accounts: also the
 *                controller-manager's signing key)
 *   wait         service accounts: nothing more before the longest token
 *                of N may have expired (security.serviceAccountTokenMaxAge
 *                after the switch): the run stops here and says when
 *   rewrite      encryption: every Secret read and replaced through the
 *                API, each exactly once (resumable)
 *   finish       N retired and its key deleted
 *   new-only     every master gets generation N+1 alone
 *
 * Resumed by running the same command again: the operation is named after
 * the generation it brings in.
 */
#ifndef SLW_KEYROT_H
#define SLW_KEYROT_H

#include "op.h"

struct fleet_keyrot_opts {
	struct fleet_op_opts op;
	const char *set;		/* KEYSET_SA or KEYSET_ENC */
	int plan_only;			/* --plan */
	/* the old service-account key is dropped without waiting out the
	 * longest token (tokens it signed stop working at once) */
	int force;
};

/*
 * Runs (or resumes) the rotation of o->set; with plan_only prints it.
 * When it stops at the wait for the longest service-account token (not
 * done yet, nothing wrong), it fails with *waiting set and d says until
 * when.
 */
int fleet_keyrot_run(struct store *s, const struct inventory *inv,
    const struct fleet_keyrot_opts *o, int *waiting, struct slw_diag *d);

/*
 * Checks that every master holds generation gen of set, as the last
 * verified delivery recorded; with only 1 nothing else, with only 2 as
 * the key that signs / encrypts. 0 if so; else SLW_ERR_DENIED naming the
 * first master that lacks it. A cluster no delivery ever reached has
 * nothing to check.
 */
int fleet_keyrot_check(struct store_txn *t, const struct inventory *inv,
    const char *set, uint32_t gen, int only, struct slw_diag *d);

#endif
