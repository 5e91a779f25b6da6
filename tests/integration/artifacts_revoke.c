// SPDX-License-Identifier: Apache-2.0
/*
 * artifacts_revoke.c: test helper of artifacts_serve for trees where
 * `slipway cert revoke` is not there yet: revokes one certificate by
 * serial with certdb_revoke (pki/certdb_revoke.h), in one write
 * transaction of the store, as the command does. Not part of slipway.
 *
 *   artifacts_revoke STATE SERIAL_HEX
 */
#include "certdb.h"
#include "certdb_revoke.h"
#include "rand.h"
#include "store.h"

#include <stdio.h>
#include <string.h>

static uint8_t serial[SERIAL_LEN];

static int
revoke_txn(struct store_txn *t, void *arg)
{
	(void)arg;
	return certdb_revoke(t, serial, 0, slw_now(), "test:artifacts_serve",
	    NULL);
}

int
main(int argc, char **argv)
{
	struct store_opts o;
	struct store *s = NULL;
	struct slw_diag d;
	int r;

	if (argc != 3 || certdb_serial_parse(argv[2], serial) != 0) {
		fprintf(stderr, "usage: artifacts_revoke STATE SERIAL_HEX\n");
		return 2;
	}
	memset(&o, 0, sizeof(o));
	o.need_kek = 1;
	slw_diag_clear(&d);
	if ((r = store_open(argv[1], &o, &s, &d)) != 0 ||
	    (r = store_write(s, revoke_txn, NULL, &d)) != 0) {
		fprintf(stderr, "artifacts_revoke: %s\n", slw_diag_str(&d, r));
		store_close(s);
		return 1;
	}
	store_close(s);
	return 0;
}
