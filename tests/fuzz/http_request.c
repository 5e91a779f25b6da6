// SPDX-License-Identifier: Apache-2.0
/*
 * http_request.c: fuzz target for what the HTTPS endpoint parses from the
 * network: the Authorization header (bearer credentials, then the token
 * syntax), the ?node= parameter, the JSON error writer, the CRL path
 * (/v1/crl/<ca>.pem), and a POST
 * /v1/enroll body (strict PEM CSR, then the enrollment policy against the
 * example inventory). Checks invariants and aborts if one breaks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csr.h"
#include "http.h"
#include "http_redeem.h"
#include "inventory.h"
#include "rand.h"
#include "token.h"

static const char yaml[] =
    "apiVersion: slipway/v1\n"
    "kind: Cluster\n"
    "cluster: { name: kubernetes }\n"
    "apiserver: { vip: 192.168.0.235 }\n"
    "nodes:\n"
    "  - { name: test1, ip: 192.168.0.91, roles: [etcd, master, worker] }\n"
    "  - { name: test2, ip: 192.168.0.92, roles: [worker] }\n";

static struct inventory *inv;

static void
check_bearer(const uint8_t *data, size_t size)
{
	char id[TOKEN_ID_LEN + 1], secret[TOKEN_SECRET_LEN + 1];
	const char *tok;
	size_t n, i;

	if (http_bearer((const char *)data, size, &tok, &n) != 0)
		return;
	if (tok < (const char *)data || tok + n != (const char *)data + size ||
	    n == 0)
		abort();
	if (token_parse(tok, n, id, secret) != 0)
		return;
	if (n != TOKEN_LEN || strlen(id) != TOKEN_ID_LEN ||
	    strlen(secret) != TOKEN_SECRET_LEN)
		abort();
	for (i = 0; i < TOKEN_ID_LEN; i++)
		if (strchr("0123456789abcdef", id[i]) == NULL)
			abort();
}

static void
check_text(const uint8_t *data, size_t size)
{
	char msg[512];
	struct buf b = { 0 };
	size_t i, n = size < sizeof(msg) - 1 ? size : sizeof(msg) - 1;

	memcpy(msg, data, n);
	msg[n] = '\0';
	(void)http_node_name_ok(msg, strlen(msg));
	if (http_error_json(msg, &b) != 0)
		abort();
	/* one line of printable ASCII, quotes and backslashes escaped */
	for (i = 0; i + 1 < b.len; i++)
		if (b.data[i] < 0x20 || b.data[i] >= 0x7f)
			abort();
	if (b.len == 0 || b.data[b.len - 1] != '\n')
		abort();
	buf_free(&b);
}

/* GET /v1/crl/<ca>.pem: only a CA name in between, nothing else */
static void
check_crl_path(const uint8_t *data, size_t size)
{
	char url[HTTP_URL_MAX + 64], ca[32], back[HTTP_URL_MAX + 64];
	size_t n = size < sizeof(url) - 1 ? size : sizeof(url) - 1;

	memcpy(url, data, n);
	url[n] = '\0';
	if (http_crl_path(url, ca, sizeof(ca)) != 0)
		return;
	if (ca[0] == '\0' || strlen(ca) > 31 ||
	    strspn(ca, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(ca))
		abort();
	snprintf(back, sizeof(back), "/v1/crl/%s.pem", ca);
	if (strcmp(back, url) != 0)
		abort();
}

static void
check_enroll(const uint8_t *data, size_t size)
{
	struct csr *c = NULL;
	struct profile prof;
	struct cert_template t;
	const char *purpose;
	size_t i;

	if (csr_parse_pem_strict(data, size, &c, NULL) != 0)
		return;
	for (i = 0; i < inv->n_nodes; i++) {
		if (redeem_enroll_policy(inv, &inv->nodes[i], c, &prof, &t, &purpose,
		    NULL) != 0)
			continue;
		/* anything allowed is that node's own identity */
		if (strncmp(t.subject.cn, "system:node:", 12) != 0 ||
		    strcmp(t.subject.cn + 12, inv->nodes[i].name) != 0 ||
		    t.subject.n_o != 1 || purpose == NULL)
			abort();
	}
	csr_free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	slw_crypto_init();
	if (inv == NULL && inventory_parse((const uint8_t *)yaml,
	    sizeof(yaml) - 1, "fuzz.yaml", &inv, NULL) != 0)
		abort();
	check_bearer(data, size);
	check_text(data, size);
	check_crl_path(data, size);
	check_enroll(data, size);
	return 0;
}
