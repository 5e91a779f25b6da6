// SPDX-License-Identifier: Apache-2.0
/*
 * cmds_bundle.c: console commands of the bundle module.
 */
#include "cmd_bundle.h"
#include "commands.h"

const struct cmd cmds_bundle[] = {
	{ "bundle render", cmd_bundle_render, "--node NAME --out DIR",
	  "Renders exactly what node NAME would receive from the bootstrap\n"
	  "endpoint into DIR (which must not exist or be empty): every file at\n"
	  "its final path and mode under DIR, plus DIR/etc/slipway/install.sh.\n"
	  "Makes the node's kubelet bootstrap token if it has none, issues the\n"
	  "node's certificates with fresh keys and records them (audit log).\n"
	  "No CA key is written unless the inventory's security.signingMode is\n"
	  "controller-manager. See docs/bundles.md." },
	{ "kubeconfig admin", cmd_kubeconfig_admin,
	  "[--out FILE] [--server https://HOST:PORT]",
	  "Issues the operator's kubeconfig (CN=admin, O=system:masters) with a\n"
	  "new key and prints it, or writes it to a new FILE (0600). The server\n"
	  "defaults to the apiserver VIP of the inventory. Never part of a\n"
	  "node's bundle." },
	{ NULL, NULL, NULL, NULL },
};
