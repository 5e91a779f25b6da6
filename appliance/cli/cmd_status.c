// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_status.c: `slipway status`: one view of the appliance: CAs with their
 * expiry, certificates, nodes, and (from other modules) tokens and rollout.
 * Built as one JSON document; the text form is printed from it.
 */
#include "ca.h"
#include "certdb.h"
#include "cli.h"
#include "cluster.h"
#include "rand.h"
#include "status.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static int
ca_one(void *arg, const struct ca_rec *rec)
{
	cJSON *arr = arg, *o;
	struct cert_info info;
	char na[32];

	if ((o = cJSON_CreateObject()) == NULL)
		return SLW_ERR_NOMEM;
	cert_info_der(rec->der.data, rec->der.len, &info);
	cli_time(rec->not_after, na);
	cJSON_AddStringToObject(o, "name", rec->name);
	cJSON_AddNumberToObject(o, "generation", rec->gen);
	cJSON_AddStringToObject(o, "state", ca_state_name(rec->state));
	cJSON_AddStringToObject(o, "keyType", key_type_name(rec->key_type));
	cJSON_AddStringToObject(o, "subject", info.subject);
	cJSON_AddStringToObject(o, "serial", info.serial_hex);
	cJSON_AddStringToObject(o, "notAfter", na);
	cJSON_AddNumberToObject(o, "daysLeft",
	    (double)((rec->not_after - slw_now()) / 86400));
	cJSON_AddItemToArray(arr, o);
	return 0;
}

struct cert_stats {
	size_t total, valid, expired, other;
	time_t now;
	int have_next;
	struct cert_rec next;
};

static int
cert_one(void *arg, const struct cert_rec *rec)
{
	struct cert_stats *cs = arg;

	cs->total++;
	if (rec->status != CERT_VALID) {
		cs->other++;
		return 0;
	}
	if (rec->not_after <= cs->now) {
		cs->expired++;
		return 0;
	}
	cs->valid++;
	if (!cs->have_next && strcmp(rec->purpose, "ca") != 0) {
		cs->next = *rec;
		cs->next.der.data = NULL;
		cs->next.der.len = 0;
		cs->have_next = 1;
	}
	return 0;
}

struct status_arg {
	cJSON *root;
};

static int
status_txn(struct store_txn *t, void *arg)
{
	struct status_arg *a = arg;
	struct inventory *inv = NULL;
	struct cert_stats cs;
	cJSON *cas, *certs, *nodes;
	size_t i;
	int r;

	if ((cas = cJSON_AddArrayToObject(a->root, "cas")) == NULL)
		return SLW_ERR_NOMEM;
	if ((r = ca_foreach(t, ca_one, cas)) != 0)
		return r;
	memset(&cs, 0, sizeof(cs));
	cs.now = slw_now();
	if ((r = certdb_foreach(t, cert_one, &cs)) != 0)
		return r;
	if ((certs = cJSON_AddObjectToObject(a->root, "certificates")) == NULL)
		return SLW_ERR_NOMEM;
	cJSON_AddNumberToObject(certs, "total", (double)cs.total);
	cJSON_AddNumberToObject(certs, "valid", (double)cs.valid);
	cJSON_AddNumberToObject(certs, "expired", (double)cs.expired);
	cJSON_AddNumberToObject(certs, "revokedOrSuperseded", (double)cs.other);
	if (cs.have_next) {
		cJSON *n = cJSON_AddObjectToObject(certs, "nextExpiry");
		char serial[2 * SERIAL_LEN + 1], na[32];

		hex_encode(cs.next.serial, SERIAL_LEN, serial);
		cli_time(cs.next.not_after, na);
		cJSON_AddStringToObject(n, "serial", serial);
		cJSON_AddStringToObject(n, "subject", cs.next.subject);
		cJSON_AddStringToObject(n, "notAfter", na);
		cJSON_AddNumberToObject(n, "daysLeft",
		    (double)((cs.next.not_after - cs.now) / 86400));
	}
	if ((r = cluster_load_txn(t, &inv)) != 0)
		return r;
	cJSON_AddStringToObject(a->root, "cluster", inv->cluster_name);
	cJSON_AddStringToObject(a->root, "kubernetesVersion", inv->k8s_version);
	if ((nodes = cJSON_AddArrayToObject(a->root, "nodes")) == NULL) {
		inventory_free(inv);
		return SLW_ERR_NOMEM;
	}
	for (i = 0; i < inv->n_nodes; i++) {
		cJSON *o = cJSON_CreateObject();
		char roles[32];

		if (o == NULL)
			break;
		cJSON_AddStringToObject(o, "name", inv->nodes[i].name);
		cJSON_AddStringToObject(o, "ip", inv->nodes[i].ip);
		cJSON_AddStringToObject(o, "roles",
		    inventory_role_names(inv->nodes[i].roles, roles,
		    sizeof(roles)));
		cJSON_AddItemToArray(nodes, o);
	}
	r = status_sections(t, inv, a->root);
	inventory_free(inv);
	return r;
}

static const char *
jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static void
print_text(const cJSON *root)
{
	printf("state:    %s\n", jstr(root, "state"));
	printf("cluster:  %s (Kubernetes %s), %d nodes\n", jstr(root, "cluster"),
	    jstr(root, "kubernetesVersion"),
	    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "nodes")));
	status_print_sections(root);
}

int
cmd_status(struct cli *c)
{
	struct status_arg a;
	struct store *s = NULL;
	struct slw_diag d;
	char *txt;
	int r, ret = EXIT_FAIL;

	if (cli_opt_parse(c, NULL) != 0)
		return EXIT_USAGE;
	slw_diag_clear(&d);
	if (cli_open(c, 0, &s) != 0)
		return EXIT_FAIL;
	if ((a.root = cJSON_CreateObject()) == NULL)
		goto out;
	cJSON_AddStringToObject(a.root, "state", c->state);
	if ((r = store_read(s, status_txn, &a, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if (c->json) {
		if ((txt = cJSON_Print(a.root)) != NULL) {
			printf("%s\n", txt);
			cJSON_free(txt);
		}
	} else
		print_text(a.root);
	/* 1: something in use ends within the warning window */
	ret = status_expiry_exit(a.root);
 out:
	cJSON_Delete(a.root);
	store_close(s);
	return ret;
}
