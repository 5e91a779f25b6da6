// SPDX-License-Identifier: Apache-2.0
/*
 * cluster.c: reads the stored inventory back and validates it again, so a
 * damaged record can never reach the renderers unchecked.
 */
#include "cluster.h"

#include "cert.h"

#include <string.h>

#include <mbedtls/sha256.h>

int
cluster_load_txn(struct store_txn *t, struct inventory **out)
{
	const uint8_t *v;
	char kt[32];
	size_t vl;
	int r;

	*out = NULL;
	r = store_get_ref(t, DB_META, CLUSTER_META_KEY,
	    strlen(CLUSTER_META_KEY), &v, &vl);
	if (r != 0)
		return slw_diag(store_txn_diag(t), r == SLW_ERR_NOTFOUND ?
		    SLW_ERR_CORRUPT : r, "the state holds no cluster inventory");
	if ((r = inventory_parse(v, vl, "stored cluster.yaml", out,
	    store_txn_diag(t))) != 0)
		return r;
	/* what init decided on its command line overrides the file */
	if (store_get_ref(t, DB_META, CLUSTER_KEY_TYPE_KEY,
	    strlen(CLUSTER_KEY_TYPE_KEY), &v, &vl) == 0 && vl < sizeof(kt)) {
		memcpy(kt, v, vl);
		kt[vl] = '\0';
		if (key_type_parse(kt, &(*out)->key_type) != 0)
			goto corrupt;
	}
	if (store_get_ref(t, DB_META, "ca-layout", 9, &v, &vl) == 0)
		(*out)->single_ca = vl == 6 && memcmp(v, "single", 6) == 0;
	return 0;
 corrupt:
	inventory_free(*out);
	*out = NULL;
	return slw_diag(store_txn_diag(t), SLW_ERR_CORRUPT,
	    "the stored key type is not valid");
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

static int
yaml_txn(struct store_txn *t, void *arg)
{
	const uint8_t *v;
	size_t vl;
	int r;

	r = store_get_ref(t, DB_META, CLUSTER_META_KEY,
	    strlen(CLUSTER_META_KEY), &v, &vl);
	if (r != 0)
		return slw_diag(store_txn_diag(t), r == SLW_ERR_NOTFOUND ?
		    SLW_ERR_CORRUPT : r, "the state holds no cluster inventory");
	return buf_set(arg, v, vl);
}

int
cluster_yaml_get(struct store *s, struct buf *out, struct slw_diag *d)
{
	return store_read(s, yaml_txn, out, d);
}

void
cluster_yaml_hash(const uint8_t *yaml, size_t len, char hex[65])
{
	uint8_t h[32];

	mbedtls_sha256(yaml, len, h, 0);
	hex_encode(h, sizeof(h), hex);
}
