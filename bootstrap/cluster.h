/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cluster.h: the inventory as stored by `slipway init` (meta "cluster"), so
 * that later commands and the daemon need no --cluster.
 */
#ifndef SLW_CLUSTER_H
#define SLW_CLUSTER_H

#include "buf.h"
#include "inventory.h"
#include "store.h"

#define CLUSTER_META_KEY "cluster"
/* The key type chosen at init (overrides certificates.keyType). */
#define CLUSTER_KEY_TYPE_KEY "key-type"

int cluster_load(struct store *s, struct inventory **out, struct slw_diag *d);
int cluster_load_txn(struct store_txn *t, struct inventory **out);
/* The stored cluster.yaml as it was given (inventory show). */
int cluster_yaml_get(struct store *s, struct buf *out, struct slw_diag *d);

#endif
