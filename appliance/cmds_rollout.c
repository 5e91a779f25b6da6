// SPDX-License-Identifier: Apache-2.0
/*
 * cmds_rollout.c: console commands of the rollout module: the rollout over
 * SSH (plan, run, status, log) and the appliance's SSH key.
 */
#include "commands.h"
#include "rollout_cmd.h"

const struct cmd cmds_rollout[] = {
	{ "rollout plan", cmd_rollout_plan, "[--json]",
	  "Prints the ordered steps of the rollout for the stored inventory:\n"
	  "phases prepare, etcd, ha, masters, workers (the seed's order), the\n"
	  "nodes each step runs on, and the gate that closes each phase." },
	{ "rollout run", cmd_rollout_run,
	  "[--phase prepare|etcd|ha|masters|workers] [--accept-new-host-keys]\n"
	  "       [--parallel N] [--connect-timeout S] [--command-timeout S]\n"
	  "       [--gate-timeout S] [--quiet]",
	  "Runs the rollout over SSH with the appliance's key (slipway ssh\n"
	  "pubkey), N nodes at a time (default 10), printing a progress line\n"
	  "per step (elapsed, phase, node, step). Each phase ends with a gate the\n"
	  "appliance measures itself; a failed step or gate stops the run and\n"
	  "nothing after it starts. Every step and remote command is kept in the\n"
	  "journal: the next run resumes at what did not finish and never redoes\n"
	  "a finished step (gates are checked again). --phase runs one phase\n"
	  "(earlier ones must be done). Host keys are pinned from the inventory\n"
	  "(ssh.hostKey); a node without a pin is refused unless\n"
	  "--accept-new-host-keys, which records its key on first contact (audited)\n"
	  "and pins it from then on. A key that does not match its pin is refused\n"
	  "before anything runs on that node. `slipway serve` must be running:\n"
	  "nodes fetch their bundles from it with one-time tokens." },
	{ "rollout status", cmd_rollout_status, "[--json] [--verbose]",
	  "Per phase and node: pending, running, done or failed, with the\n"
	  "reason; the gates; the last run. --verbose lists every step." },
	{ "rollout log", cmd_rollout_log,
	  "[--json] [--node NAME] [--phase P] [--run N] [--output]",
	  "The journal's log of remote commands and appliance actions: run,\n"
	  "phase, node, step, exit status, elapsed; --output adds each command\n"
	  "and its (capped, redacted) output." },
	{ "ssh pubkey", cmd_ssh_pubkey, "",
	  "Prints the appliance's SSH public key (OpenSSH authorized_keys line),\n"
	  "creating the key on first use (ECDSA P-256, sealed in the store)." },
	{ NULL, NULL, NULL, NULL },
};
