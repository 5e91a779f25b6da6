// SPDX-License-Identifier: Apache-2.0
/*
 * cmds_csr.c: console commands of the csr module: the kubelet CSR policy
 * offline, the approver, and the cluster objects slipway owns.
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
	{ "approve", cmd_approve, "[--once] [--apiserver URL]",
	  "Decides pending kubelet CSRs by policy, writes each decision (and\n"
	  "its reason) into the CSR and the audit log, and in signingMode\n"
	  "appliance signs approved ones and writes status.certificate.\n"
	  "--once: one pass over the CSRs there are, then exit (1 if one could\n"
	  "not be processed). Without it: list and watch until SIGINT/SIGTERM,\n"
	  "retrying with backoff while the API server is away (what `slipway\n"
	  "serve` runs in a thread). The API server is the inventory's VIP\n"
	  "unless --apiserver https://HOST:PORT." },
	{ "cluster apply", cmd_cluster_apply, "[--apiserver URL]",
	  "Applies the cluster objects slipway owns, idempotently: a\n"
	  "bootstrap-token Secret per node (kube-system/bootstrap-token-<id>,\n"
	  "group system:bootstrappers:NODE, the node's token from the store),\n"
	  "the kubelet-bootstrap binding of system:node-bootstrapper to\n"
	  "system:bootstrappers, the seed's system:kubernetes-to-kubelet role\n"
	  "and binding, and removes bindings that would auto-approve CSRs." },
	{ NULL, NULL, NULL, NULL },
};
