/* SPDX-License-Identifier: Apache-2.0 */
/*
 * approver_cmds.h: the console commands of the csr module (cmds_csr.c):
 * `csr check`, `approve`, `cluster apply`.
 */
#ifndef SLW_APPROVER_CMDS_H
#define SLW_APPROVER_CMDS_H

#include "cli.h"

/* Exit codes of `slipway csr check` (DESIGN.md). */
#define EXIT_CSR_DENY 3
#define EXIT_CSR_IGNORE 4

int cmd_csr_check(struct cli *c);
int cmd_approve(struct cli *c);
int cmd_cluster_apply(struct cli *c);

#endif
