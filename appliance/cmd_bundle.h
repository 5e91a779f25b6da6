/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_bundle.h: console commands of the bundle module: what a node would
 * receive (`bundle render`) and the operator's admin kubeconfig
 * (`kubeconfig admin`), which is never part of a bundle.
 */
#ifndef SLW_CMD_BUNDLE_H
#define SLW_CMD_BUNDLE_H

#include "cli.h"

int cmd_bundle_render(struct cli *c);
int cmd_kubeconfig_admin(struct cli *c);

/* The lifetime of a node's kubelet bootstrap token made by `bundle render`
 * (the seed's `kubeadm token create` default: one day). */
#define BUNDLE_KUBELET_TOKEN_TTL (24 * 3600)

#endif
