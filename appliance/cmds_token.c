// SPDX-License-Identifier: Apache-2.0
/*
 * cmds_token.c: console commands of the token module (none yet).
 */
#include "commands.h"

const struct cmd cmds_token[] = {
	{ NULL, NULL, NULL, NULL },
};
