// SPDX-License-Identifier: Apache-2.0
/*
 * cmds_rollout.c: console commands of the rollout module (none yet).
 */
#include "commands.h"

const struct cmd cmds_rollout[] = {
	{ NULL, NULL, NULL, NULL },
};
