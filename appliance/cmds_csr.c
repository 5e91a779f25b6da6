// SPDX-License-Identifier: Apache-2.0
/*
 * cmds_csr.c: console commands of the csr module (none yet).
 */
#include "commands.h"

const struct cmd cmds_csr[] = {
	{ NULL, NULL, NULL, NULL },
};
