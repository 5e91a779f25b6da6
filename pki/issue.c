// SPDX-License-Identifier: Apache-2.0
/*
 * issue.c: key generation plus signing for one leaf, and the parallel
 * runner. Keys made here are wiped by issue_free on every path.
 */
#include "issue.h"
#include "certdb.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
issue_free(struct issued *i)
{
	if (i == NULL)
		return;
	key_free(i->key);
	i->key = NULL;
	buf_free(&i->der);
}

int
issue_leaf(const struct cert_template *t, enum key_type kt,
    const struct key *subject_pub, const struct signer *ca, time_t now,
    struct issued *out, struct slw_diag *d)
{
	const struct key *subj;
	int r;

	memset(out, 0, sizeof(*out));
	if (subject_pub == NULL) {
		if ((r = key_generate(kt, &out->key)) != 0)
			return slw_diag(d, r, "key generation failed");
		subj = out->key;
	} else
		subj = subject_pub;
	if ((r = certdb_serial_new(out->serial)) != 0)
		goto out;
	r = cert_sign(t, subj, ca, out->serial, now, &out->der, d);
 out:
	if (r != 0)
		issue_free(out);
	return r;
}
