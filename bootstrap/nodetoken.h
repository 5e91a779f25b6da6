/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nodetoken.h: each node's kubelet bootstrap token (the seed's
 * `kubeadm token create --groups system:bootstrappers:NODE`). slipway makes
 * it, keeps it sealed in DB_NODES, puts it in that node's bundle, and
 * creates the matching kube-system/bootstrap-token-<id> Secret through the
 * API. Format: "[a-z0-9]{6}.[a-z0-9]{16}".
 */
#ifndef SLW_NODETOKEN_H
#define SLW_NODETOKEN_H

#include <stddef.h>
#include <time.h>

#include "store.h"

#define NODETOKEN_GROUP "system:bootstrappers"

/*
 * Bootstrap group of a node: "system:bootstrappers:NAME", the group of its
 * token's Secret and what the CSR approver requires. Kubernetes only
 * allows [a-z0-9:-] after the prefix, so each '.' of a node name becomes
 * ':' (node names never contain ':', so the mapping is one-to-one).
 */
int nodetoken_group(const char *node, char *out, size_t len);

struct node_token {
	char id[7];
	char secret[17];
	time_t expires;
};

/* Returns the node's token, creating it (valid for ttl seconds) if there
 * is none or it expires within the next hour. Needs a write txn. */
int nodetoken_get_or_create(struct store_txn *t, const char *node,
    time_t ttl, struct node_token *out);
/* Returns the node's token; SLW_ERR_NOTFOUND if none. */
int nodetoken_get(struct store_txn *t, const char *node,
    struct node_token *out);
/* The public id of the node's token (a read transaction of its own). */
int nodetoken_lookup_id(struct store *s, const char *node, char id[7]);
/* "id.secret" into out (24 bytes). */
void nodetoken_format(const struct node_token *tok, char out[24]);
void nodetoken_wipe(struct node_token *tok);

#endif
