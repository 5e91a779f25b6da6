/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status.h: sections of `slipway status` contributed by other modules
 * (tokens, rollout, ...). Each adds its own object to the JSON root and
 * prints its own text form; each lives in status_<module>.c.
 */
#ifndef SLW_STATUS_H
#define SLW_STATUS_H

#include <cjson/cJSON.h>

#include "inventory.h"
#include "store.h"

int status_sections(struct store_txn *t, const struct inventory *inv,
    cJSON *root);
void status_print_sections(const cJSON *root);

/* One per module; a module without anything to show leaves them empty. */
int status_expiry_add(struct store_txn *t, const struct inventory *inv,
    cJSON *root);
void status_expiry_print(const cJSON *root);
/* EXIT_FAIL if anything in use ends within the warning window. */
int status_expiry_exit(const cJSON *root);
int status_tokens_add(struct store_txn *t, const struct inventory *inv,
    cJSON *root);
void status_tokens_print(const cJSON *root);
int status_rollout_add(struct store_txn *t, const struct inventory *inv,
    cJSON *root);
void status_rollout_print(const cJSON *root);
int status_ops_add(struct store_txn *t, const struct inventory *inv,
    cJSON *root);
void status_ops_print(const cJSON *root);
int status_rotate_add(struct store_txn *t, const struct inventory *inv,
    cJSON *root);
void status_rotate_print(const cJSON *root);
int status_inventory_add(struct store_txn *t, const struct inventory *inv,
    cJSON *root);
void status_inventory_print(const cJSON *root);
int status_store_add(struct store_txn *t, const struct inventory *inv,
    cJSON *root);
void status_store_print(const cJSON *root);
int status_artifacts_add(struct store_txn *t, const struct inventory *inv,
    cJSON *root);
void status_artifacts_print(const cJSON *root);

#endif
