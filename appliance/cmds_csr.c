// SPDX-License-Identifier: Apache-2.0
/*
 * cmds_csr.c: console commands of the csr module: the kubelet CSR policy
 * offline.
 */
#include "approver_cmds.h"
#include "commands.h"

const struct cmd cmds_csr[] = {
	{ "csr check", cmd_csr_check,
	  "--csr FILE --signer NAME --user U [--group G]... [--usage U]...\n"
	  "       [--expiration-seconds N]",
	  "The approver's decision for one CSR, offline, with the policy code\n"
	  "the approver runs: prints approve, deny or ignore and the reason\n"
	  "(the rule that decided). --user and --group are the requester\n"
	  "(spec.username, spec.groups); without --usage, the usages a kubelet\n"
	  "sends for the signer. Exit 0 approve, 3 deny, 4 ignore, 1 or 2 on\n"
	  "errors." },
	{ NULL, NULL, NULL, NULL },
};
