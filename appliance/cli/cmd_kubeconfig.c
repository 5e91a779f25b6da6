// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_kubeconfig.c: `slipway kubeconfig admin [--out FILE] [--server URL]`:
 * the operator's kubeconfig (CN=admin, O=system:masters, the seed's
 * kubectl credentials) with a fresh key, issued through the signing
 * interface and recorded with an audit entry. Printed to stdout, or
 * written 0600 to a new FILE. Never part of a node's bundle.
 */
#include "audit.h"
#include "cli.h"
#include "cluster.h"
#include "expiry.h"
#include "identity.h"
#include "kubeconfig.h"
#include "rand.h"
#include "signing.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct admin_arg {
	const struct signing_result *res;
	const char *actor;
	char owner[64];		/* "(admin:NAME)" (expiry.h) */
	const char *to;
};

static int
record_txn(struct store_txn *t, void *arg)
{
	struct admin_arg *a = arg;
	char detail[128];
	int r;

	if ((r = signing_result_record(t, a->res, a->owner,
	    EXPIRY_KUBECONFIG_PURPOSE, a->actor)) != 0)
		return r;
	snprintf(detail, sizeof(detail), "O=system:masters, handed to %s",
	    a->to);
	return audit_append(t, a->actor, "kubeconfig.admin", "admin", detail);
}

/* Whom a kubeconfig is for: a name to show, never a path or markup. */
static int
holder_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 48)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("._@-", s[i]) == NULL)
			return 0;
	return 1;
}

int
cmd_kubeconfig_admin(struct cli *c)
{
	struct inventory *inv = NULL;
	struct signing *sg = NULL;
	struct store *s = NULL;
	struct key *k = NULL;
	struct identity id;
	struct signing_request req;
	struct signing_result res;
	struct admin_arg a;
	struct kubeconfig kc;
	struct buf ca = { 0 }, cert = { 0 }, kpem = { 0 }, out = { 0 };
	struct slw_diag d;
	const char *file = NULL, *server = NULL, *to = NULL;
	char url[160];
	const struct cli_opt opts[] = {
		OPT_STR("out", &file),
		OPT_STR("server", &server),
		OPT_STR("for", &to),
		OPT_END,
	};
	int r, ret = EXIT_FAIL;

	memset(&res, 0, sizeof(res));
	slw_diag_clear(&d);
	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if (file != NULL && (file[0] == '\0' || access(file, F_OK) == 0))
		return cli_fail(c, "%s already exists; not overwriting", file);
	if (server != NULL && strncmp(server, "https://", 8) != 0)
		return cli_usage(c, "--server must be an https:// URL");
	if (to == NULL)
		to = strchr(cli_actor(), ':') + 1;	/* "console:USER" */
	if (!holder_valid(to))
		return cli_usage(c, "--for must be 1 to 48 letters, digits, "
		    "'.', '_', '@' or '-'");
	if (cli_open(c, 1, &s) != 0)
		goto out;
	if ((r = cluster_load(s, &inv, &d)) != 0 ||
	    (r = signing_local_new(s, &sg, &d)) != 0 ||
	    (r = identity_get(inv, ID_ADMIN, NULL, 0, &id, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if ((r = key_generate(inv->key_type, &k)) != 0) {
		ret = cli_fail(c, "key generation failed");
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.ca_role = id.ca_role;
	req.t = &id.t;
	req.subject = k;
	req.now = slw_now();
	if ((r = signing_sign(sg, &req, &res, &d)) != 0 ||
	    (r = signing_trust_pem(sg, CA_KUBERNETES, &ca)) != 0 ||
	    (r = cert_pem_append(&cert, res.der.data, res.der.len)) != 0 ||
	    (r = key_write_pem(k, &kpem)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	inventory_apiserver_url(inv, url, sizeof(url));
	memset(&kc, 0, sizeof(kc));
	kc.server = server != NULL ? server : url;
	kc.cluster = inv->cluster_name;
	kc.user = "admin";
	kc.context = "admin";
	kc.ca_pem = &ca;
	kc.cert_pem = &cert;
	kc.key_pem = &kpem;
	if ((r = kubeconfig_render(&kc, &out)) != 0) {
		ret = cli_fail(c, "cannot render the kubeconfig (server '%.100s'"
		    ", cluster '%.64s')", kc.server, kc.cluster);
		goto out;
	}
	a.res = &res;
	a.actor = cli_actor();
	a.to = to;
	snprintf(a.owner, sizeof(a.owner), EXPIRY_ADMIN_OWNER "%s)", to);
	if ((r = store_write(s, record_txn, &a, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if (file != NULL) {
		if ((r = buf_write_file(file, out.data, out.len, 0600, 1)) != 0) {
			ret = cli_fail(c, "cannot write %s: %s", file,
			    slw_strerror(r));
			goto out;
		}
	} else if (fwrite(out.data, 1, out.len, stdout) != out.len ||
	    fflush(stdout) != 0) {
		ret = cli_fail(c, "cannot write the kubeconfig to stdout");
		goto out;
	}
	ret = EXIT_OK;
 out:
	key_free(k);
	signing_result_free(&res);
	buf_free(&ca);
	buf_free(&cert);
	buf_free(&kpem);
	buf_free(&out);
	signing_free(sg);
	inventory_free(inv);
	store_close(s);
	return ret;
}
