// SPDX-License-Identifier: Apache-2.0
/*
 * cmds_serve.c: console commands of the serve module: the HTTPS bootstrap
 * endpoint (cmd_serve.c).
 */
#include "commands.h"

int cmd_serve(struct cli *c);
int cmd_serve_rotate_key(struct cli *c);

const struct cmd cmds_serve[] = {
	{ "serve", cmd_serve,
	  "[--listen ADDR:PORT] [--user NAME] [--threads N] [--workers N]\n"
	  "       [--max-conns N] [--max-per-address N] [--idle-timeout 10s]\n"
	  "       [--request-timeout 30s] [--fail-limit N] [--fail-window 60s]\n"
	  "       [--max-pending N] [--grace 30s] [--no-approve] [--apiserver URL]",
	  "Runs the HTTPS bootstrap endpoint (default 0.0.0.0:8443):\n"
	  "  GET /v1/ca.pem, GET /v1/bundle (Bearer token), POST /v1/enroll\n"
	  "  (Bearer token + PEM CSR), GET /healthz, GET /metrics,\n"
	  "and, in a thread of its own, the kubelet CSR approver (as 'slipway\n"
	  "approve': API server at --apiserver, default the inventory's VIP;\n"
	  "--no-approve leaves it out).\n"
	  "TLS 1.2/1.3, AEAD suites with ECDHE only; the certificate comes from\n"
	  "the kubernetes CA and is reused across restarts. It is renewed while\n"
	  "serving, for the same key, when it nears its end or after 'ca rotate\n"
	  "advance' (checked every minute and on SIGHUP): a new child takes the\n"
	  "socket over and the old one finishes its requests (docs/endpoint.md).\n"
	  "Started as root, it drops to --user (default: slipway if it exists,\n"
	  "else nobody) right after binding. Prints a 'ready' line and notifies\n"
	  "$NOTIFY_SOCKET (READY=1) when it accepts connections; SIGTERM or\n"
	  "SIGINT stop it after answering what is in flight (--grace).\n"
	  "HTTP and TLS run in a child process under a seccomp filter; the\n"
	  "store and the CA keys stay in the first (docs/endpoint.md).\n"
	  "--fail-limit N (default 10, 0: off): failed token attempts an\n"
	  "address may make per --fail-window before it gets 429." },
	{ "serve rotate-key", cmd_serve_rotate_key, "",
	  "Makes a new serving key and certificate for the endpoint. Every\n"
	  "one-liner printed before carries the old pin and stops working. A\n"
	  "running `slipway serve` switches to the new key within a minute, or\n"
	  "at once on SIGHUP, without dropping a connection." },
	{ NULL, NULL, NULL, NULL },
};
