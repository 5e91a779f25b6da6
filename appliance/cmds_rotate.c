// SPDX-License-Identifier: Apache-2.0
/*
 * cmds_rotate.c: CA rotation commands (see pki/ca_rotate.h for the steps).
 */
#include "commands.h"

int cmd_ca_rotate_begin(struct cli *c);
int cmd_ca_rotate_advance(struct cli *c);
int cmd_ca_rotate_finish(struct cli *c);
int cmd_ca_rotate_abort(struct cli *c);
int cmd_ca_rotate_status(struct cli *c);

const struct cmd cmds_rotate[] = {
	{ "ca rotate", NULL, "begin|advance|finish|abort|status --ca NAME [--force]",
	  "Rotates a CA without downtime, one step at a time:\n"
	  "  begin    new generation, trusted by every bundle, not signing yet\n"
	  "  advance  the new generation signs; the old one stays trusted\n"
	  "  finish   the old generation is retired (refused while it has valid\n"
	  "           leaves, unless --force)\n"
	  "  abort    one step back\n"
	  "  status   phase, generations and leaves still on the old one" },
	{ "ca rotate begin", cmd_ca_rotate_begin, "--ca NAME",
	  "Creates the next generation of a CA: trusted, not yet signing." },
	{ "ca rotate advance", cmd_ca_rotate_advance, "--ca NAME",
	  "Makes the new generation sign; the old one stays trusted." },
	{ "ca rotate finish", cmd_ca_rotate_finish, "--ca NAME [--force]",
	  "Retires the old generation once no valid leaf depends on it." },
	{ "ca rotate abort", cmd_ca_rotate_abort, "--ca NAME",
	  "Steps a rotation back one phase." },
	{ "ca rotate status", cmd_ca_rotate_status, "--ca NAME [--json]",
	  "Shows the rotation phase of a CA." },
	{ NULL, NULL, NULL, NULL },
};
