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
/* meta: the inventory before the change `inventory apply` is making */
#define CLUSTER_PREVIOUS_KEY "cluster-previous"
/* meta: hex SHA-256 of the inventory `slipway serve` serves (it writes it
 * whenever it arms with one; inventory apply waits for it) */
#define CLUSTER_SERVED_KEY "cluster-served"

/* Hex SHA-256 of an inventory's YAML. */
void cluster_yaml_hash(const uint8_t *yaml, size_t len, char hex[65]);
/* The stored cluster.yaml as it was given (inventory show). */
int cluster_yaml_get(struct store *s, struct buf *out, struct slw_diag *d);

#endif
