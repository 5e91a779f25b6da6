// SPDX-License-Identifier: Apache-2.0
/*
 * signer_set.c: loading the CA signers and recording issuances. Unsealed CA
 * keys live only inside struct signer and are wiped by signer_set_free.
 */
#include "signer_set.h"
#include "audit.h"
#include "certdb.h"

#include <stdio.h>
#include <string.h>

static const char *const roles[ROLE_CA__COUNT] = {
	CA_KUBERNETES, CA_ETCD, CA_FRONT_PROXY,
};

void
signer_set_free(struct signer_set *ss)
{
	size_t i, j;

	if (ss == NULL)
		return;
	for (i = 0; i < ROLE_CA__COUNT; i++) {
		/* roles may share one signer (single-CA layout) */
		for (j = i + 1; j < ROLE_CA__COUNT; j++)
			if (ss->s[j] == ss->s[i])
				ss->s[j] = NULL;
		signer_free(ss->s[i]);
		ss->s[i] = NULL;
	}
}

int
signer_set_load_txn(struct store_txn *t, struct signer_set *ss)
{
	size_t i, j;
	int r;

	memset(ss, 0, sizeof(*ss));
	for (i = 0; i < ROLE_CA__COUNT; i++) {
		char name[CA_NAME_MAX];

		if ((r = ca_resolve(t, roles[i], name)) != 0)
			goto fail;
		for (j = 0; j < i; j++)
			if (strcmp(ss->name[j], name) == 0)
				break;
		if (j < i) {
			ss->s[i] = ss->s[j];
			ss->gen[i] = ss->gen[j];
			memcpy(ss->name[i], name, sizeof(name));
			continue;
		}
		if ((r = ca_signer(t, roles[i], 0, &ss->s[i], &ss->gen[i],
		    ss->name[i])) != 0)
			goto fail;
	}
	return 0;
 fail:
	signer_set_free(ss);
	return r;
}

static int
load_txn(struct store_txn *t, void *arg)
{
	return signer_set_load_txn(t, arg);
}

int
signer_set_load(struct store *s, struct signer_set *out, struct slw_diag *d)
{
	return store_read(s, load_txn, out, d);
}

const struct signer *
signer_set_get(const struct signer_set *ss, const char *role,
    const char **name, uint32_t *gen)
{
	size_t i;

	for (i = 0; i < ROLE_CA__COUNT; i++)
		if (strcmp(roles[i], role) == 0) {
			if (name != NULL)
				*name = ss->name[i];
			if (gen != NULL)
				*gen = ss->gen[i];
			return ss->s[i];
		}
	return NULL;
}

int
signer_set_record(struct store_txn *t, const struct issued *iss,
    const char *ca_name, uint32_t ca_gen, const char *profile,
    const char *node, const char *purpose, const char *actor)
{
	struct cert_rec cr;
	char detail[AUDIT_DETAIL_MAX], serial[2 * SERIAL_LEN + 1];
	int r;

	memset(&cr, 0, sizeof(cr));
	memcpy(cr.serial, iss->serial, SERIAL_LEN);
	snprintf(cr.ca, sizeof(cr.ca), "%s", ca_name);
	cr.ca_gen = ca_gen;
	snprintf(cr.profile, sizeof(cr.profile), "%s", profile);
	snprintf(cr.node, sizeof(cr.node), "%s", node ? node : "");
	snprintf(cr.purpose, sizeof(cr.purpose), "%s", purpose ? purpose : "");
	cr.der = iss->der;	/* borrowed: not freed here */
	if ((r = certdb_add(t, &cr)) != 0)
		return r;
	hex_encode(iss->serial, SERIAL_LEN, serial);
	snprintf(detail, sizeof(detail), "serial %s, CA %s/%u, profile %s%s%s",
	    serial, ca_name, ca_gen, profile, node && *node ? ", node " : "",
	    node ? node : "");
	return audit_append(t, actor, "cert.issue", cr.subject, detail);
}
