// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_inventory.c: `slipway inventory show|diff|apply`: the stored
 * inventory as YAML (or JSON), what a new inventory would change node by
 * node with the fleet steps each change implies, and carrying a change out
 * on the fleet engine (fleet/inventory_op.c). Parses and prints only; a
 * refused or unparseable inventory changes nothing.
 */
#include "cli.h"
#include "cluster.h"
#include "https.h"
#include "inventory_diff.h"
#include "inventory_op.h"
#include "ssh.h"

#include <signal.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static cJSON *
node_json(const struct inv_node *n)
{
	cJSON *o = cJSON_CreateObject(), *roles, *names;
	size_t i;

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "name", n->name);
	cJSON_AddStringToObject(o, "ip", n->ip);
	roles = cJSON_AddArrayToObject(o, "roles");
	if (n->roles & ROLE_ETCD)
		cJSON_AddItemToArray(roles, cJSON_CreateString("etcd"));
	if (n->roles & ROLE_MASTER)
		cJSON_AddItemToArray(roles, cJSON_CreateString("master"));
	if (n->roles & ROLE_WORKER)
		cJSON_AddItemToArray(roles, cJSON_CreateString("worker"));
	names = cJSON_AddArrayToObject(o, "extraNames");
	for (i = 0; i < n->n_extra; i++)
		cJSON_AddItemToArray(names, cJSON_CreateString(n->extra_names[i]));
	return o;
}

static int
print_json(cJSON *o)
{
	char *txt = o != NULL ? cJSON_Print(o) : NULL;

	if (txt == NULL)
		return SLW_ERR_NOMEM;
	printf("%s\n", txt);
	free(txt);
	return 0;
}

int
cmd_inventory_show(struct cli *c)
{
	struct store *s = NULL;
	struct inventory *inv = NULL;
	struct buf y = { 0 };
	struct slw_diag d;
	cJSON *o = NULL, *nodes;
	size_t i;
	int r, ret = EXIT_FAIL;

	if (cli_opt_parse(c, NULL) != 0)
		return EXIT_USAGE;
	slw_diag_clear(&d);
	if (cli_open(c, 0, &s) != 0)
		return EXIT_FAIL;
	/* parsed too: what is shown is what every command reads */
	if ((r = cluster_yaml_get(s, &y, &d)) != 0 ||
	    (r = cluster_load(s, &inv, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if (!c->json) {
		fwrite(y.data, 1, y.len, stdout);
		if (y.len > 0 && y.data[y.len - 1] != '\n')
			putchar('\n');
		ret = EXIT_OK;
		goto out;
	}
	if ((o = cJSON_CreateObject()) == NULL)
		goto out;
	cJSON_AddStringToObject(o, "clusterName", inv->cluster_name);
	cJSON_AddStringToObject(o, "kubernetesVersion", inv->k8s_version);
	cJSON_AddStringToObject(o, "vip", inv->vip);
	cJSON_AddStringToObject(o, "serviceCIDR", inv->service_cidr.text);
	cJSON_AddStringToObject(o, "clusterCIDR", inv->cluster_cidr.text);
	cJSON_AddStringToObject(o, "yaml", (const char *)y.data);
	nodes = cJSON_AddArrayToObject(o, "nodes");
	for (i = 0; i < inv->n_nodes; i++)
		cJSON_AddItemToArray(nodes, node_json(&inv->nodes[i]));
	if (print_json(o) == 0)
		ret = EXIT_OK;
 out:
	cJSON_Delete(o);
	buf_free(&y);
	inventory_free(inv);
	store_close(s);
	return ret;
}

static void
print_change(const struct inv_change *ch)
{
	const struct inv_node *n = ch->to != NULL ? ch->to : ch->from;
	char roles[32];

	inventory_role_names(n->roles, roles, sizeof(roles));
	switch (ch->kind) {
	case INV_ADD:
		printf("+ %s (%s, %s): add\n", n->name, roles, n->ip);
		break;
	case INV_REMOVE:
		printf("- %s (%s, %s): remove\n", n->name, roles, n->ip);
		break;
	case INV_READDRESS:
		printf("~ %s (%s): re-address %s -> %s%s\n", n->name, roles,
		    ch->from->ip, ch->to->ip, strcmp(ch->from->ip, ch->to->ip) ==
		    0 ? " (extra names)" : "");
		break;
	case INV_SSH:
		printf("~ %s (%s, %s): ssh settings\n", n->name, roles, n->ip);
		break;
	}
	printf("    steps: %s\n", inventory_change_steps(ch));
}

static cJSON *
diff_json(const struct inv_diff *df)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	size_t i;

	if (o == NULL)
		return NULL;
	arr = cJSON_AddArrayToObject(o, "changes");
	for (i = 0; i < df->n; i++) {
		const struct inv_change *ch = &df->changes[i];
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "change",
		    inventory_change_name(ch->kind));
		cJSON_AddItemToObject(e, "node", node_json(ch->to != NULL ?
		    ch->to : ch->from));
		if (ch->kind == INV_READDRESS)
			cJSON_AddStringToObject(e, "from", ch->from->ip);
		cJSON_AddStringToObject(e, "steps", inventory_change_steps(ch));
		cJSON_AddItemToArray(arr, e);
	}
	cJSON_AddNumberToObject(o, "unchanged", (double)df->unchanged);
	cJSON_AddStringToObject(o, "settings", df->settings);
	return o;
}

int
cmd_inventory_diff(struct cli *c)
{
	struct store *s = NULL;
	struct inventory *cur = NULL, *next = NULL;
	struct inv_diff *df = NULL;
	struct slw_diag d;
	const char *file = NULL;
	const struct cli_opt opts[] = {
		OPT_ARG("FILE", &file, "inventory diff needs FILE (a cluster.yaml)"),
		OPT_END,
	};
	cJSON *o = NULL;
	size_t i;
	int r, ret = EXIT_FAIL;

	if (cli_opt_parse(c, opts) != 0)
		return EXIT_USAGE;
	slw_diag_clear(&d);
	if ((r = inventory_load(file, &next, &d)) != 0)
		return cli_fail_err(c, r, &d);
	if (cli_open(c, 0, &s) != 0)
		goto out;
	if ((r = cluster_load(s, &cur, &d)) != 0 ||
	    (r = inventory_diff(cur, next, &df, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if (c->json) {
		if ((o = diff_json(df)) != NULL && print_json(o) == 0)
			ret = EXIT_OK;
		goto out;
	}
	for (i = 0; i < df->n; i++)
		print_change(&df->changes[i]);
	if (df->settings[0] != '\0')
		printf("settings: %s (for what is issued from now on)\n",
		    df->settings);
	printf("%zu changed, %zu unchanged\n", df->n, df->unchanged);
	ret = EXIT_OK;
 out:
	cJSON_Delete(o);
	inventory_diff_free(df);
	inventory_free(cur);
	inventory_free(next);
	store_close(s);
	return ret;
}

int
cmd_inventory_apply(struct cli *c)
{
	struct fleet_inventory_opts o;
	struct store *s = NULL;
	struct buf y = { 0 };
	struct slw_diag d;
	const char *file = NULL;
	const struct cli_opt opts[] = {
		OPT_ARG("FILE", &file, "inventory apply needs FILE (a cluster.yaml)"),
		OPT_FLAG("plan", &o.plan_only),
		OPT_FLAG("accept-new-host-keys", &o.op.fleet.accept_new_host_keys),
		OPT_INT("connect-timeout", &o.op.fleet.connect_timeout_s, 1, 600,
		    "--connect-timeout must be 1 to 600 seconds"),
		OPT_INT("gate-timeout", &o.op.gate_timeout_s, 1, 3600,
		    "--gate-timeout must be 1 to 3600 seconds"),
		OPT_FLAG("quiet", &o.op.fleet.quiet),
		OPT_END,
	};
	int r, ret = EXIT_FAIL;

	memset(&o, 0, sizeof(o));
	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	o.op.state = c->state;
	o.op.command = "slipway inventory apply";
	o.op.audit_action = "inventory.apply.run";
	o.op.fleet.actor = cli_actor();
	o.op.fleet.json = c->json;
	slw_diag_clear(&d);
	if ((r = buf_read_file(&y, file, INV_MAX_BYTES)) != 0)
		return cli_fail(c, "cannot read %s: %s", file, slw_strerror(r));
	signal(SIGPIPE, SIG_IGN);
	if (!o.plan_only && (ssh_global_init() != 0 ||
	    https_global_init() != 0)) {
		ret = cli_fail(c, "cannot initialise libssh2 or libcurl");
		goto out;
	}
	if (cli_open(c, !o.plan_only, &s) != 0)
		goto out;
	if ((r = fleet_inventory_apply(s, y.data, y.len, file, &o, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if (d.msg[0] != '\0')
		printf("%s\n", d.msg);
	ret = EXIT_OK;
 out:
	buf_free(&y);
	store_close(s);
	return ret;
}
