// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_ssh.c: `slipway ssh pubkey`: the appliance's SSH public key as an
 * authorized_keys line, for the operator to authorise on every node. Makes
 * the key on first use (sealed, audited). Never prints the private key.
 */
#include "cli.h"
#include "cluster.h"
#include "ssh.h"

#include <stdio.h>
#include <string.h>

struct pub_arg {
	const char *actor;
	char line[SSH_KEYLINE_MAX];
	int created;
};

static int
pub_txn(struct store_txn *t, void *arg)
{
	struct pub_arg *a = arg;
	struct inventory *inv = NULL;
	struct buf pem = { 0 };
	char comment[INV_NAME_MAX + 16];
	int r;

	if ((r = cluster_load_txn(t, &inv)) != 0)
		return r;
	snprintf(comment, sizeof(comment), "slipway@%s", inv->cluster_name);
	inventory_free(inv);
	if ((r = ssh_key_get_or_create(t, a->actor, &pem, &a->created)) == 0)
		r = ssh_key_publine(&pem, comment, a->line, sizeof(a->line));
	buf_free(&pem);
	return r;
}

int
cmd_ssh_pubkey(struct cli *c)
{
	struct pub_arg a;
	struct store *s = NULL;
	struct slw_diag d;
	int r, ret = EXIT_FAIL;

	if (cli_opt_parse(c, NULL) != 0)
		return EXIT_USAGE;
	memset(&a, 0, sizeof(a));
	a.actor = cli_actor();
	slw_diag_clear(&d);
	if (cli_open(c, 1, &s) != 0)
		return EXIT_FAIL;
	if ((r = store_write(s, pub_txn, &a, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if (a.created)
		fprintf(stderr, "slipway: ssh pubkey: created the appliance's SSH "
		    "key (ECDSA P-256)\n");
	printf("%s\n", a.line);
	ret = EXIT_OK;
 out:
	store_close(s);
	return ret;
}
