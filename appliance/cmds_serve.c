// SPDX-License-Identifier: Apache-2.0
/*
 * cmds_serve.c: console commands of the serve module (none yet).
 */
#include "commands.h"

const struct cmd cmds_serve[] = {
	{ NULL, NULL, NULL, NULL },
};
