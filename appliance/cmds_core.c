// SPDX-License-Identifier: Apache-2.0
/*
 * cmds_core.c: the foundation's console commands: state, CAs, certificates,
 * status and audit.
 */
#include "commands.h"

const struct cmd cmds_core[] = {
	{ "init", cmd_init,
	  "--cluster FILE [--key-type ecdsa-p256|ecdsa-p384|rsa-2048|rsa-3072|rsa-4096] [--single-ca]",
	  "Creates the state: CAs (kubernetes, etcd, front-proxy; one with\n"
	  "--single-ca), the service-account key and the encryption key, all\n"
	  "sealed under a new key-encryption key (STATE/kek unless --kek).\n"
	  "All or nothing; refuses an existing state." },
	{ "ca export", cmd_ca_export, "[--ca kubernetes|etcd|front-proxy]",
	  "Prints the trust bundle (PEM): every CA generation that is trusted,\n"
	  "of one CA or of all." },
	{ "cert issue", cmd_cert_issue,
	  "--profile NAME --cn CN [--org O]... [--san DNS:NAME|IP:ADDR]... --out PREFIX\n"
	  "       [--ca kubernetes|etcd|front-proxy] [--key-type TYPE] [--validity 8760h]",
	  "Issues one certificate with a new key and writes PREFIX.pem and\n"
	  "PREFIX-key.pem (0600). Profiles: kubernetes (the seed's: server and\n"
	  "client auth), server, client, peer." },
	{ "cert seed-set", cmd_cert_seed_set, "--out DIR [--key-type TYPE]",
	  "Issues the seed's certificate set into DIR: admin, etcd, flanneld,\n"
	  "kubernetes, kube-controller-manager, kube-scheduler, kube-proxy\n"
	  "(NAME.pem, NAME-key.pem) and ca.pem. CA keys are never written." },
	{ "cert list", cmd_cert_list, "[--json]",
	  "Lists issued certificates by expiry: serial, subject, not-after, status." },
	{ "status", cmd_status, "[--json]",
	  "CAs and their expiry, certificates, tokens, nodes and rollout." },
	{ "audit verify", cmd_audit_verify, "",
	  "Verifies the hash chain of the audit log." },
	{ "audit list", cmd_audit_list, "[--json]",
	  "Prints the audit log." },
	{ NULL, NULL, NULL, NULL },
};
