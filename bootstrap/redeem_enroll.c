// SPDX-License-Identifier: Apache-2.0
/*
 * redeem_enroll.c: the enrollment policy of POST /v1/enroll: which
 * certificate a node may get for a key it keeps. Pure: no I/O, no store,
 * no signing; every refusal names the rule it enforces. Must never widen
 * what a CSR asks for into another node's identity.
 */
#include "http_redeem.h"
#include "profile.h"

#include <stdio.h>
#include <string.h>

#define NODE_CN_PREFIX "system:node:"
#define NODES_GROUP "system:nodes"

/* C/ST/L/OU may be absent or equal to the inventory's subject. */
static int
attr_ok(const char *have, const char *inv)
{
	return have[0] == '\0' || strcmp(have, inv) == 0;
}

static int
san_allowed(const struct inv_node *node, const struct san *s)
{
	struct san want;
	size_t i;

	switch (s->type) {
	case SAN_DNS:
		if (strcmp(s->value, node->name) == 0)
			return 1;
		for (i = 0; i < node->n_extra; i++)
			if (strcmp(s->value, node->extra_names[i]) == 0)
				return 1;
		return 0;
	case SAN_IP:
		if (san_ip(node->ip, &want, NULL) != 0)
			return 0;
		return san_equal(&want, s);
	default:
		return 0;
	}
}

int
redeem_enroll_policy(const struct inventory *inv, const struct inv_node *node,
    const struct csr *csr, struct profile *prof, struct cert_template *t,
    const char **purpose, struct slw_diag *d)
{
	const struct dn *s = &csr->subject;
	char want_cn[DN_VAL_MAX];
	const char *pname;
	size_t i;
	uint32_t cap_hours;

	memset(t, 0, sizeof(*t));
	*purpose = NULL;
	if (inv == NULL || node == NULL)
		return slw_diag(d, SLW_ERR_DENIED, "enroll: unknown node");
	snprintf(want_cn, sizeof(want_cn), NODE_CN_PREFIX "%s", node->name);
	if (strcmp(s->cn, want_cn) != 0)
		return slw_diag(d, SLW_ERR_DENIED,
		    "enroll: subject CN must be '%s' for node %s (got '%.96s')",
		    want_cn, node->name, s->cn);
	if (s->n_o != 1 || strcmp(s->o[0], NODES_GROUP) != 0)
		return slw_diag(d, SLW_ERR_DENIED,
		    "enroll: subject O must be exactly '" NODES_GROUP
		    "' for node %s", node->name);
	if (s->n_other != 0)
		return slw_diag(d, SLW_ERR_DENIED,
		    "enroll: subject has attributes other than C, ST, L, O, OU, CN");
	if (!attr_ok(s->c, inv->subject.c) || !attr_ok(s->st, inv->subject.st) ||
	    !attr_ok(s->l, inv->subject.l) || !attr_ok(s->ou, inv->subject.ou))
		return slw_diag(d, SLW_ERR_DENIED,
		    "enroll: subject C/ST/L/OU must be absent or the cluster's");
	for (i = 0; i < csr->n_sans; i++) {
		char txt[SAN_VAL_MAX + 8];

		if (!san_allowed(node, &csr->sans[i])) {
			if (san_format(&csr->sans[i], txt, sizeof(txt)) != 0)
				snprintf(txt, sizeof(txt), "(unprintable)");
			return slw_diag(d, SLW_ERR_DENIED,
			    "enroll: SAN %.200s is not node %s's (allowed: its "
			    "name, extra names and address %s)", txt,
			    node->name, node->ip);
		}
	}
	switch (csr->key->type) {
	case KEY_EC_P256: case KEY_EC_P384:
	case KEY_RSA_2048: case KEY_RSA_3072: case KEY_RSA_4096:
		break;
	default:
		return slw_diag(d, SLW_ERR_DENIED,
		    "enroll: key must be ECDSA P-256/P-384 or RSA 2048-4096");
	}
	/* No SANs: kubelet client; SANs: kubelet serving. */
	if (csr->n_sans == 0) {
		pname = "client";
		*purpose = "kubelet-client";
	} else {
		pname = "server";
		*purpose = "kubelet-serving";
	}
	if (profile_builtin(pname, prof) != 0)
		return SLW_ERR_INTERNAL;
	prof->hours = inv->leaf_hours;
	cap_hours = inv->csr_max_seconds / 3600;
	if (cap_hours > 0 && cap_hours < prof->hours)
		prof->hours = cap_hours;
	t->profile = prof;
	t->subject = inv->subject;
	snprintf(t->subject.cn, sizeof(t->subject.cn), "%s", want_cn);
	memset(t->subject.o, 0, sizeof(t->subject.o));
	snprintf(t->subject.o[0], sizeof(t->subject.o[0]), NODES_GROUP);
	t->subject.n_o = 1;
	for (i = 0; i < csr->n_sans; i++)
		t->sans[i] = csr->sans[i];
	t->n_sans = csr->n_sans;
	return 0;
}
