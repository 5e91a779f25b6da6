// SPDX-License-Identifier: Apache-2.0
/*
 * artifact_need.c: what an inventory's nodes need from the artifact
 * store (artifact.h): every binary and image of release.h for the roles
 * its nodes have, at the inventory's versions, and which of them are
 * stored. Pure over the inventory and a list of records.
 */
#include "artifact.h"

#include <stdlib.h>
#include <string.h>

int
artifact_need(const struct inventory *inv, unsigned int roles,
    const struct artifact_list *l, struct artifact_needs *out,
    struct slw_diag *d)
{
	struct rel_versions v;
	unsigned int have = 0;
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = release_versions(inv, &v, d)) != 0)
		return r;
	for (i = 0; i < inv->n_nodes; i++)
		if (roles == 0 || (inv->nodes[i].roles & roles))
			have |= inv->nodes[i].roles;
	if ((out->e = calloc(release_binaries_n, sizeof(*out->e))) == NULL)
		return SLW_ERR_NOMEM;
	for (i = 0; i < release_binaries_n; i++) {
		const struct rel_binary *b = &release_binaries[i];
		struct artifact_need *n;

		if ((b->roles & have) == 0)
			continue;
		n = &out->e[out->n++];
		n->bin = b;
		memcpy(n->version, v.v[b->comp], sizeof(n->version));
		(void)release_file(b->comp, n->version, &n->file);
		n->have = artifact_list_find(l, b->name, n->version);
		if (n->have == NULL)
			out->missing++;
	}
	return 0;
}

void
artifact_need_free(struct artifact_needs *n)
{
	if (n == NULL)
		return;
	free(n->e);
	memset(n, 0, sizeof(*n));
}
