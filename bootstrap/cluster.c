// SPDX-License-Identifier: Apache-2.0
/*
 * cluster.c: reads the stored inventory back and validates it again, so a
 * damaged record can never reach the renderers unchecked.
 */
#include "cluster.h"

#include <string.h>

int
cluster_load_txn(struct store_txn *t, struct inventory **out)
{
	const uint8_t *v;
	size_t vl;
	int r;

	r = store_get_ref(t, DB_META, CLUSTER_META_KEY,
	    strlen(CLUSTER_META_KEY), &v, &vl);
	if (r != 0)
		return slw_diag(store_txn_diag(t), r == SLW_ERR_NOTFOUND ?
		    SLW_ERR_CORRUPT : r, "the state holds no cluster inventory");
	return inventory_parse(v, vl, "stored cluster.yaml", out,
	    store_txn_diag(t));
}

static int
load_txn(struct store_txn *t, void *arg)
{
	return cluster_load_txn(t, arg);
}

int
cluster_load(struct store *s, struct inventory **out, struct slw_diag *d)
{
	*out = NULL;
	return store_read(s, load_txn, out, d);
}
