// SPDX-License-Identifier: Apache-2.0
/*
 * console_screens.c: the console's screens and their actions (issue 15's
 * list), as data: each action names a command of commands.c and what to
 * ask before running it. An action whose command this build lacks says
 * so on screen (console_command); nothing here runs anything.
 */
#include "console.h"

#define CA_ASK { "CA (kubernetes, etcd or front-proxy)", "--ca", 0 }

static const struct console_action overview[] = {
	{ "Overview: seal state, CAs and days left, certificates, nodes, "
	  "tokens, rollout, disk", "unseal", { "--status" }, { { 0 } },
	  CONSOLE_PAGE, "status", { 0 }, NULL },
	{ "Time: clock synchronisation", "time status", { 0 }, { { 0 } },
	  CONSOLE_PAGE, NULL, { 0 }, NULL },
};

static const struct console_action tokens[] = {
	{ "Create a token (prints the node's one-liner)", "token create", { 0 },
	  { { "Node name", "--node", 0 },
	    { "Lifetime, e.g. 15m (empty: the inventory's)", "--ttl", 1 } },
	  CONSOLE_TTY, NULL, { 0 }, NULL },
	{ "List tokens", "token list", { 0 }, { { 0 } },
	  CONSOLE_PAGE, NULL, { 0 }, NULL },
	{ "Revoke a token", "token revoke", { 0 },
	  { { "Token id (the part before the dot)", NULL, 0 } },
	  CONSOLE_PAGE, NULL, { 0 }, NULL },
};

static const struct console_action rollout[] = {
	{ "Plan: the steps of the rollout", "rollout plan", { 0 }, { { 0 } },
	  CONSOLE_PAGE, NULL, { 0 }, NULL },
	{ "Run the rollout (live progress per node)", "rollout run", { 0 },
	  { { 0 } }, CONSOLE_TTY, NULL, { 0 }, NULL },
	{ "Status of the last run", "rollout status", { 0 }, { { 0 } },
	  CONSOLE_PAGE, NULL, { 0 }, NULL },
	{ "Log of remote commands", "rollout log", { 0 }, { { 0 } },
	  CONSOLE_PAGE, NULL, { 0 }, NULL },
};

static const struct console_action cas[] = {
	{ "Rotation status", "ca rotate status", { 0 }, { { 0 } },
	  CONSOLE_PAGE, NULL, { 0 }, NULL },
	{ "Rotate a CA on the running cluster (all steps, live)",
	  "ca rotate run", { 0 }, { CA_ASK }, CONSOLE_TTY, NULL, { 0 }, NULL },
	{ "Step: begin (new CA, trust old+new)", "ca rotate begin", { 0 },
	  { CA_ASK }, CONSOLE_TTY, NULL, { 0 }, NULL },
	{ "Step: advance (sign with the new CA)", "ca rotate advance", { 0 },
	  { CA_ASK }, CONSOLE_TTY, NULL, { 0 }, NULL },
	{ "Step: finish (trust the new CA alone)", "ca rotate finish", { 0 },
	  { CA_ASK }, CONSOLE_TTY, NULL, { 0 }, NULL },
	{ "Abort a rotation", "ca rotate abort", { 0 }, { CA_ASK },
	  CONSOLE_TTY, NULL, { 0 }, NULL },
};

static const struct console_action certs[] = {
	{ "Expiry table", "cert list", { 0 }, { { 0 } },
	  CONSOLE_PAGE, NULL, { 0 }, NULL },
	{ "Renew certificates that are due", "cert renew", { 0 }, { { 0 } },
	  CONSOLE_TTY, NULL, { 0 }, NULL },
	{ "Revoke a certificate", "cert revoke", { 0 },
	  { { "Serial (hex)", NULL, 0 } }, CONSOLE_TTY, NULL, { 0 }, NULL },
};

static const struct console_action backup[] = {
	{ "Back up the state to a file", "backup", { 0 },
	  { { "File to write (on the backup disk)", "--out", 0 } },
	  CONSOLE_TTY, NULL, { 0 }, NULL },
	{ "Restore the state from a backup", "restore", { 0 },
	  { { "Backup file", NULL, 0 } }, CONSOLE_TTY, NULL, { 0 }, NULL },
};

static const struct console_action unseal[] = {
	{ "Unseal with the passphrase", "unseal", { 0 }, { { 0 } },
	  CONSOLE_TTY, NULL, { 0 }, NULL },
	{ "Seal state", "unseal", { "--status" }, { { 0 } },
	  CONSOLE_PAGE, NULL, { 0 }, NULL },
	{ "Change the passphrase", "unseal", { "--change-passphrase" },
	  { { 0 } }, CONSOLE_TTY, NULL, { 0 }, NULL },
};

static const struct console_action network[] = {
	{ "Address, gateway, DNS, NTP servers", "network show", { 0 },
	  { { 0 } }, CONSOLE_PAGE, NULL, { 0 }, NULL },
	{ "Change the network settings", "network set", { 0 }, { { 0 } },
	  CONSOLE_TTY, NULL, { 0 }, NULL },
};

static const struct console_action audit[] = {
	{ "Verify the audit chain", "audit verify", { 0 }, { { 0 } },
	  CONSOLE_PAGE, NULL, { 0 }, NULL },
	{ "Audit records", "audit list", { 0 }, { { 0 } },
	  CONSOLE_PAGE, NULL, { 0 }, NULL },
};

static const char *const reboot_argv[] = { "/bin/systemctl", "reboot", NULL };
static const char *const poweroff_argv[] = { "/bin/systemctl", "poweroff",
	NULL };

static const struct console_action power[] = {
	{ "Reboot (comes back sealed)", "reboot", { 0 }, { { 0 } },
	  CONSOLE_SYSTEM, NULL, { 0 }, reboot_argv },
	{ "Shut down", "shutdown", { 0 }, { { 0 } },
	  CONSOLE_SYSTEM, NULL, { 0 }, poweroff_argv },
};

#define SCREEN(t, note, a) { t, note, a, sizeof(a) / sizeof(a[0]) }

const struct console_screen console_screens[] = {
	SCREEN("Overview", NULL, overview),
	SCREEN("Tokens", NULL, tokens),
	SCREEN("Rollout", NULL, rollout),
	SCREEN("CAs", "Each step says what it waits for.", cas),
	SCREEN("Certificates", NULL, certs),
	SCREEN("Backup and restore", NULL, backup),
	SCREEN("Unseal", NULL, unseal),
	SCREEN("Network", NULL, network),
	SCREEN("Audit", NULL, audit),
	SCREEN("Reboot and shutdown", NULL, power),
};
const size_t console_nscreens = sizeof(console_screens) /
    sizeof(console_screens[0]);
