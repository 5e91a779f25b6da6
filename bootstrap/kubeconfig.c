// SPDX-License-Identifier: Apache-2.0
/*
 * kubeconfig.c: renders kubeconfig files with embedded certificates, key
 * or token. The output is a secret; nothing here logs or keeps it.
 */
#include "kubeconfig.h"
#include "tmpl.h"

#include <string.h>

static int
name_ok(const char *s)
{
	return tmpl_safe(s);
}

int
kubeconfig_render(const struct kubeconfig *k, struct buf *out)
{
	struct tmpl t;
	int cert = k->cert_pem != NULL && k->key_pem != NULL;

	if (k->server == NULL || k->ca_pem == NULL || k->ca_pem->len == 0 ||
	    !name_ok(k->cluster) || !name_ok(k->user) || !name_ok(k->context) ||
	    strncmp(k->server, "https://", 8) != 0 || !tmpl_safe(k->server + 8))
		return SLW_ERR_INVALID;
	if (cert == (k->token != NULL))
		return SLW_ERR_INVALID;	/* exactly one credential */
	if (k->token != NULL && !tmpl_safe(k->token))
		return SLW_ERR_INVALID;
	tmpl_init(&t);
	tmpl_puts(&t, "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n"
	    "    certificate-authority-data: ");
	tmpl_base64(&t, k->ca_pem->data, k->ca_pem->len);
	tmpl_printf(&t, "\n    server: %s\n  name: %s\n", k->server, k->cluster);
	tmpl_printf(&t, "contexts:\n- context:\n    cluster: %s\n    user: %s\n"
	    "  name: %s\ncurrent-context: %s\n", k->cluster, k->user, k->context,
	    k->context);
	tmpl_printf(&t, "users:\n- name: %s\n  user:\n", k->user);
	if (cert) {
		tmpl_puts(&t, "    client-certificate-data: ");
		tmpl_base64(&t, k->cert_pem->data, k->cert_pem->len);
		tmpl_puts(&t, "\n    client-key-data: ");
		tmpl_base64(&t, k->key_pem->data, k->key_pem->len);
		tmpl_puts(&t, "\n");
	} else
		tmpl_printf(&t, "    token: %s\n", k->token);
	return tmpl_finish(&t, out);
}
