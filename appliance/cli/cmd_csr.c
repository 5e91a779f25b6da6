// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_csr.c: `slipway csr check`: one CSR through the approver's policy,
 * offline. A CSR the approver would deny (not PEM, bad signature, wrong
 * subject...) is a decision (exit 3), not an error; only unreadable files
 * and bad arguments are errors. Changes nothing.
 */
#include "approver.h"
#include "cli.h"
#include "cluster.h"
#include "nodetoken.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSR_FILE_MAX (1u << 20)

static int
token_id(void *arg, const char *node, char id[7])
{
	return nodetoken_lookup_id(arg, node, id);
}

int
cmd_csr_check(struct cli *c)
{
	const char *groups[APPROVER_MAX_GROUPS], *usages[APPROVER_MAX_USAGES];
	const char *file = NULL, *signer = NULL, *user = NULL;
	struct approver_request rq;
	struct approver_policy pol;
	struct approver_decision dec;
	struct inventory *inv = NULL;
	struct store *s = NULL;
	struct buf csr = { 0 };
	struct slw_diag d;
	int es = 0;
	const struct cli_opt opts[] = {
		OPT_STR("csr", &file),
		OPT_STR("signer", &signer),
		OPT_STR("user", &user),
		OPT_LIST("group", groups, &rq.n_groups, APPROVER_MAX_GROUPS),
		OPT_LIST("usage", usages, &rq.n_usages, APPROVER_MAX_USAGES),
		OPT_INT("expiration-seconds", &es, 1, 2147483647,
		    "--expiration-seconds must be a positive number of seconds"),
		OPT_END,
	};
	int r, ret = EXIT_FAIL;

	memset(&rq, 0, sizeof(rq));
	memset(&dec, 0, sizeof(dec));
	slw_diag_clear(&d);
	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if (file == NULL || signer == NULL || user == NULL)
		return cli_usage(c, "--csr, --signer and --user are required");
	if (rq.n_usages == 0) {
		/* what a kubelet sends for the signer */
		usages[rq.n_usages++] = "digital signature";
		if (strcmp(signer, APPROVER_SIGNER_CLIENT) == 0)
			usages[rq.n_usages++] = "client auth";
		else if (strcmp(signer, APPROVER_SIGNER_SERVING) == 0)
			usages[rq.n_usages++] = "server auth";
	}
	if ((r = buf_read_file(&csr, file, CSR_FILE_MAX)) != 0)
		return cli_fail(c, "%s: %s", file, r == SLW_ERR_TOOBIG ?
		    "larger than 1 MiB" : slw_strerror(r));
	if (cli_open(c, 1, &s) != 0)
		goto out;
	if ((r = cluster_load(s, &inv, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	rq.name = file;
	rq.signer = signer;
	rq.username = user;
	rq.groups = groups;
	rq.usages = usages;
	rq.expiration_seconds = es;
	rq.request = csr.data;
	rq.request_len = csr.len;
	memset(&pol, 0, sizeof(pol));
	pol.inv = inv;
	pol.token_id = token_id;
	pol.token_arg = s;
	if ((r = approver_policy_decide(&pol, &rq, &dec)) != 0) {
		ret = cli_fail(c, "cannot decide (reading the node's bootstrap "
		    "token from the state): %s", slw_strerror(r));
		goto out;
	}
	if (c->json) {
		cJSON *o = cJSON_CreateObject();
		char *txt;

		cJSON_AddStringToObject(o, "decision",
		    approver_policy_verdict_name(dec.verdict));
		cJSON_AddStringToObject(o, "reason", dec.reason);
		if (dec.node[0])
			cJSON_AddStringToObject(o, "node", dec.node);
		if (dec.verdict == APPROVER_APPROVE)
			cJSON_AddNumberToObject(o, "validitySeconds",
			    dec.validity);
		if ((txt = cJSON_Print(o)) != NULL)
			printf("%s\n", txt);
		cJSON_free(txt);
		cJSON_Delete(o);
	} else
		printf("%s: %s\n", approver_policy_verdict_name(dec.verdict),
		    dec.reason);
	ret = dec.verdict == APPROVER_APPROVE ? EXIT_OK :
	    dec.verdict == APPROVER_DENY ? EXIT_CSR_DENY : EXIT_CSR_IGNORE;
 out:
	approver_policy_decision_free(&dec);
	buf_free(&csr);
	inventory_free(inv);
	store_close(s);
	return ret;
}
