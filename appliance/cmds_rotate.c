// SPDX-License-Identifier: Apache-2.0
/*
 * cmds_rotate.c: console commands of the rotate module (none yet).
 */
#include "commands.h"

const struct cmd cmds_rotate[] = {
	{ NULL, NULL, NULL, NULL },
};
