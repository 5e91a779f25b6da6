// SPDX-License-Identifier: Apache-2.0
/*
 * cmds_bundle.c: console commands of the bundle module (none yet).
 */
#include "commands.h"

const struct cmd cmds_bundle[] = {
	{ NULL, NULL, NULL, NULL },
};
