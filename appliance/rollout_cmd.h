/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rollout_cmd.h: the console commands of the rollout module (table in
 * cmds_rollout.c): rollout plan/run/status/log and ssh pubkey.
 */
#ifndef SLW_ROLLOUT_CMD_H
#define SLW_ROLLOUT_CMD_H

#include "cli.h"

int cmd_rollout_plan(struct cli *c);
int cmd_rollout_run(struct cli *c);
int cmd_rollout_status(struct cli *c);
int cmd_rollout_log(struct cli *c);
int cmd_ssh_pubkey(struct cli *c);

#endif
