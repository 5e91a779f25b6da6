// SPDX-License-Identifier: Apache-2.0
/*
 * cmds_token.c: console commands of the token module: one-time bootstrap
 * tokens for the HTTPS endpoint (cmd_token.c).
 */
#include "commands.h"

int cmd_token_create(struct cli *c);
int cmd_token_list(struct cli *c);
int cmd_token_revoke(struct cli *c);
int cmd_token_prune(struct cli *c);

const struct cmd cmds_token[] = {
	{ "token create", cmd_token_create,
	  "--node NAME [--ttl 15m] [--source ADDR|CIDR] [--json]",
	  "Makes a one-time token for NODE and prints the command the node\n"
	  "runs to fetch and install its bundle:\n"
	  "  curl -fsS --pinnedpubkey 'sha256//PIN' -k -H 'Authorization: Bearer TOKEN' \\\n"
	  "    https://ADDR:PORT/v1/bundle | tar -xz -C / && /etc/slipway/install.sh\n"
	  "ADDR:PORT is the inventory's bootstrap address; PIN is the endpoint's\n"
	  "key. The token (160 secret bits) is stored only as a hash, works once,\n"
	  "only for NODE (and, with --source, only from that address or CIDR),\n"
	  "and expires after --ttl (default: the inventory's tokenTTL; at most 7d).\n"
	  "--json prints id, node, expiry, token, pin, url and command." },
	{ "token list", cmd_token_list, "[--json]",
	  "Lists tokens: id, node, state (active, used, expired, revoked),\n"
	  "expiry, and for used ones when, from where and what was issued.\n"
	  "Never shows a token." },
	{ "token revoke", cmd_token_revoke, "ID",
	  "Revokes an active token by its id (the part before the dot)." },
	{ "token prune", cmd_token_prune, "[--older-than 30d] [--json]",
	  "Deletes the records of tokens that ended (used, revoked, or expired\n"
	  "unused) more than --older-than ago (default 30d; 0s: every ended\n"
	  "one). Active tokens are never touched. The audit log keeps each\n"
	  "token's creation, redemption and revocation, and the issuance\n"
	  "records stay. 'slipway serve' does the same once a day." },
	{ NULL, NULL, NULL, NULL },
};
