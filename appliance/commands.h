/* SPDX-License-Identifier: Apache-2.0 */
/*
 * commands.h: the console's subcommands, one cmd_<name>.c each.
 */
#ifndef SLW_COMMANDS_H
#define SLW_COMMANDS_H

#include "cli.h"

int cmd_init(struct cli *c);
int cmd_ca_export(struct cli *c);
int cmd_cert_issue(struct cli *c);
int cmd_cert_seed_set(struct cli *c);
int cmd_cert_list(struct cli *c);
int cmd_status(struct cli *c);
int cmd_audit_verify(struct cli *c);
int cmd_audit_list(struct cli *c);

#endif
