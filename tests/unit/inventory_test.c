// SPDX-License-Identifier: Apache-2.0
/*
 * inventory_test.c: cluster.yaml parsing and validation: the seed's
 * example, defaults, and every kind of bad inventory (each one error naming
 * line and column, nothing returned).
 */
#include "testutil.h"

#include "identity.h"
#include "inventory.h"

static const char base_head[] =
    "apiVersion: slipway/v1\n"
    "kind: Cluster\n";

static const char nodes3[] =
    "nodes:\n"
    "  - { name: test1, ip: 192.168.0.91, roles: [etcd, master, worker] }\n"
    "  - { name: test2, ip: 192.168.0.92, roles: [etcd, master, worker] }\n"
    "  - { name: test3, ip: 192.168.0.93, roles: [etcd, master, worker] }\n";

static void
test_example(void **st)
{
	struct inventory *inv = NULL;
	struct slw_diag d;
	char url[128], dom[64];

	(void)st;
	slw_diag_clear(&d);
	if (inventory_load(SLW_EXAMPLES_DIR "/seed-cluster.yaml", &inv, &d) != 0)
		fail_msg("%s", d.msg);
	assert_int_equal(inv->n_nodes, 3);
	assert_string_equal(inv->nodes[0].name, "test1");
	assert_string_equal(inv->nodes[2].ip, "192.168.0.93");
	assert_int_equal(inv->nodes[1].roles, ROLE_ETCD | ROLE_MASTER | ROLE_WORKER);
	assert_string_equal(inv->service_cidr.text, "10.254.0.0/16");
	assert_string_equal(inv->cluster_cidr.text, "172.30.0.0/16");
	assert_string_equal(inv->service_ip, "10.254.0.1");
	assert_string_equal(inv->dns_ip, "10.254.0.2");
	assert_int_equal(inv->nodeport_lo, 8400);
	assert_int_equal(inv->nodeport_hi, 9000);
	assert_string_equal(inv->vip, "192.168.0.235");
	inventory_apiserver_url(inv, url, sizeof(url));
	assert_string_equal(url, "https://192.168.0.235:8443");
	inventory_domain(inv, dom, sizeof(dom));
	assert_string_equal(dom, "cluster.local");
	assert_string_equal(inv->subject.c, "CN");
	assert_string_equal(inv->subject.o[0], "k8s");
	assert_string_equal(inv->subject.ou, "4Paradigm");
	assert_int_equal(inv->leaf_hours, 87600);
	assert_int_equal(inv->nodes[0].etcd_client_port, 2379);
	assert_int_equal(inv->token_ttl, 900);
	assert_string_equal(inventory_first(inv, ROLE_MASTER)->name, "test1");
	inventory_free(inv);
}

static void
test_seed_apiserver_sans(void **st)
{
	static const char *want[] = { "127.0.0.1", "192.168.0.91",
	    "192.168.0.92", "192.168.0.93", "192.168.0.235", "10.254.0.1",
	    "kubernetes", "kubernetes.default", "kubernetes.default.svc",
	    "kubernetes.default.svc.cluster",
	    "kubernetes.default.svc.cluster.local" };
	struct inventory *inv = NULL;
	struct identity id;
	size_t i;

	(void)st;
	assert_int_equal(inventory_load(SLW_EXAMPLES_DIR "/seed-cluster.yaml",
	    &inv, NULL), 0);
	assert_int_equal(identity_get(inv, ID_APISERVER, NULL, 1, &id, NULL), 0);
	assert_int_equal(id.t.n_sans, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < id.t.n_sans; i++)
		assert_string_equal(id.t.sans[i].value, want[i]);
	inventory_free(inv);
}

static void
test_defaults(void **st)
{
	char doc[2048];
	struct inventory *inv = NULL;

	(void)st;
	snprintf(doc, sizeof(doc), "%s%s", base_head,
	    "nodes:\n  - { name: a, ip: 10.0.0.1, roles: [etcd, master] }\n");
	assert_int_equal(inventory_parse((const uint8_t *)doc, strlen(doc), "t.yaml",
	    &inv, NULL), 0);
	assert_string_equal(inv->k8s_version, "v1.36.0");
	assert_string_equal(inv->vip, "10.0.0.1");	/* one master, no VIP */
	assert_int_equal(inv->key_type, KEY_EC_P256);
	assert_string_equal(inv->encryption_provider, "secretbox");
	inventory_free(inv);
}

struct bad {
	const char *name;
	const char *body;	/* inserted between the head and the nodes */
	const char *nodes;	/* NULL: nodes3 */
	const char *want;	/* substring of the error */
	const char *where;	/* "t.yaml:LINE:COL" prefix, or NULL */
};

static const struct bad bads[] = {
	{ "unknown top key", "colour: blue\n", NULL,
	  "unknown key 'colour'", "t.yaml:3:1:" },
	{ "unknown nested key", "network:\n  serviceCidr: 10.254.0.0/16\n", NULL,
	  "unknown key 'serviceCidr' in network", "t.yaml:4:3:" },
	{ "unknown node key", "",
	  "nodes:\n  - { name: a, ip: 10.0.0.1, roles: [etcd, master], hostname: x }\n",
	  "unknown key 'hostname' in node", "t.yaml:4:53:" },
	{ "duplicate node name", "",
	  "nodes:\n  - { name: a, ip: 10.0.0.1, roles: [etcd, master] }\n"
	  "  - { name: a, ip: 10.0.0.2, roles: [worker] }\n",
	  "duplicate node name 'a'", "t.yaml:5:" },
	{ "duplicate node ip", "",
	  "nodes:\n  - { name: a, ip: 10.0.0.1, roles: [etcd, master] }\n"
	  "  - { name: b, ip: 10.0.0.1, roles: [worker] }\n",
	  "duplicate node ip '10.0.0.1'", "t.yaml:5:" },
	{ "VIP in service CIDR", "apiserver:\n  vip: 10.254.1.1\n", NULL,
	  "apiserver.vip 10.254.1.1 is inside network.serviceCIDR", "t.yaml:4:8:" },
	{ "overlapping CIDRs",
	  "network:\n  serviceCIDR: 10.0.0.0/8\n  clusterCIDR: 10.244.0.0/16\n"
	  "  dnsServiceIP: 10.0.0.10\n", NULL,
	  "overlaps network.serviceCIDR", "t.yaml:5:16:" },
	{ "DNS outside service CIDR", "network:\n  dnsServiceIP: 10.96.0.10\n",
	  NULL, "dnsServiceIP 10.96.0.10 is outside", "t.yaml:4:17:" },
	{ "invalid node IP", "",
	  "nodes:\n  - { name: a, ip: 10.0.0.300, roles: [etcd, master] }\n",
	  "invalid IP address '10.0.0.300'", "t.yaml:4:20:" },
	{ "invalid VIP", "apiserver:\n  vip: not-an-ip\n", NULL,
	  "invalid IP address", "t.yaml:4:8:" },
	{ "invalid CIDR", "network:\n  clusterCIDR: 172.30.0.1/16\n", NULL,
	  "invalid CIDR", "t.yaml:4:16:" },
	{ "bad port range", "network:\n  nodePortRange: 9000-8400\n", NULL,
	  "nodePortRange", "t.yaml:4:18:" },
	{ "bad role", "",
	  "nodes:\n  - { name: a, ip: 10.0.0.1, roles: [etcd, boss] }\n",
	  "unknown role 'boss'", NULL },
	{ "no etcd", "",
	  "nodes:\n  - { name: a, ip: 10.0.0.1, roles: [master] }\n",
	  "no node has the etcd role", NULL },
	{ "two masters, no VIP", "",
	  "nodes:\n  - { name: a, ip: 10.0.0.1, roles: [etcd, master] }\n"
	  "  - { name: b, ip: 10.0.0.2, roles: [master] }\n",
	  "several masters need apiserver.vip", NULL },
	{ "unsupported version", "cluster:\n  kubernetesVersion: v1.10.4\n", NULL,
	  "not supported", "t.yaml:4:22:" },
	{ "bad node name", "",
	  "nodes:\n  - { name: Test_1, ip: 10.0.0.1, roles: [etcd, master] }\n",
	  "invalid node name", NULL },
	{ "duplicate key", "network:\n  proxyMode: ipvs\n  proxyMode: iptables\n",
	  NULL, "duplicate key 'proxyMode'", "t.yaml:5:3:" },
	{ "node IP in cluster CIDR", "",
	  "nodes:\n  - { name: a, ip: 172.30.1.1, roles: [etcd, master] }\n",
	  "inside the service or cluster CIDR", NULL },
	{ "syntax error", "network: [unclosed\n", NULL, "t.yaml:", NULL },
	{ "wrong kind", "", "kind: Pod\n" "nodes: []\n", "duplicate key 'kind'",
	  NULL },
	{ "bad key type", "certificates:\n  keyType: dsa\n", NULL,
	  "keyType must be one of", NULL },
	{ "bad country", "certificates:\n  subject: { C: China }\n", NULL,
	  "certificates.subject is invalid", NULL },
	{ "bad token TTL", "bootstrap:\n  tokenTTL: 30d\n", NULL,
	  "bootstrap.tokenTTL", NULL },
	{ "DNS is the service IP", "network:\n  dnsServiceIP: 10.254.0.1\n", NULL,
	  "is the kubernetes service IP", NULL },
	{ "unknown component", "versions:\n  docker: 20.10.1\n", NULL,
	  "unknown component 'docker' in versions", "t.yaml:4:3:" },
	{ "kubernetes in versions", "versions:\n  kubernetes: v1.36.0\n", NULL,
	  "Kubernetes is cluster.kubernetesVersion", "t.yaml:4:3:" },
	{ "bad version", "versions:\n  etcd: \"3.6.8; rm -rf\"\n", NULL,
	  "versions.etcd: '3.6.8; rm -rf' is not a version", "t.yaml:4:9:" },
	{ "bad expiry warning", "certificates:\n  expiryWarning: soon\n", NULL,
	  "certificates.expiryWarning: invalid duration 'soon'",
	  "t.yaml:4:18:" },
	{ "expiry warning under an hour",
	  "certificates:\n  expiryWarning: 10m\n", NULL,
	  "1h to 10 years", "t.yaml:4:18:" },
	{ "expiry warning as long as the validity",
	  "certificates:\n  validity: 720h\n  expiryWarning: 720h\n", NULL,
	  "certificates.expiryWarning (720h) must be shorter than "
	  "certificates.validity (720h)", "t.yaml:5:18:" },
	{ "default expiry warning over a short validity",
	  "certificates:\n  validity: 240h\n", NULL,
	  "must be shorter than certificates.validity (240h)", "t.yaml:4:13:" },
	{ "renewAt of 1", "certificates:\n  renewAt: 3/3\n", NULL,
	  "certificates.renewAt: '3/3' is not a fraction", "t.yaml:4:12:" },
	{ "renewAt in percent over 100", "certificates:\n  renewAt: 150%\n",
	  NULL, "certificates.renewAt: '150%' is not a fraction", "t.yaml:4:12:" },
	{ "renewAt not a number", "certificates:\n  renewAt: often\n",
	  NULL, "certificates.renewAt", "t.yaml:4:12:" },
};

static void
test_expiry_settings(void **st)
{
	static const char body[] = "apiserver:\n  vip: 192.168.0.235\n"
	    "certificates:\n  validity: 8760h\n"
	    "  expiryWarning: 14d\n  renewAt: 75%\n";
	struct inventory *inv = NULL;
	struct slw_diag d;
	char doc[2048];
	uint32_t n, dd;

	(void)st;
	snprintf(doc, sizeof(doc), "%s%s%s", base_head, body, nodes3);
	slw_diag_clear(&d);
	if (inventory_parse((const uint8_t *)doc, strlen(doc), "t.yaml", &inv,
	    &d) != 0)
		fail_msg("%s", d.msg);
	assert_int_equal(inv->expiry_warn_seconds, 14 * 86400);
	assert_int_equal(inv->renew_num, 75);
	assert_int_equal(inv->renew_den, 100);
	inventory_free(inv);
	/* the defaults: 30 days, two thirds */
	snprintf(doc, sizeof(doc), "%sapiserver:\n  vip: 192.168.0.235\n%s",
	    base_head, nodes3);
	if (inventory_parse((const uint8_t *)doc, strlen(doc), "t.yaml", &inv,
	    &d) != 0)
		fail_msg("%s", d.msg);
	assert_int_equal(inv->expiry_warn_seconds, 30 * 86400);
	assert_int_equal(inv->renew_num, 2);
	assert_int_equal(inv->renew_den, 3);
	inventory_free(inv);
	assert_int_equal(inventory_fraction_parse("2/3", &n, &dd), 0);
	assert_true(n == 2 && dd == 3);
	assert_int_equal(inventory_fraction_parse("1%", &n, &dd), 0);
	assert_true(n == 1 && dd == 100);
	assert_int_not_equal(inventory_fraction_parse("0/3", &n, &dd), 0);
	assert_int_not_equal(inventory_fraction_parse("1/0", &n, &dd), 0);
	assert_int_not_equal(inventory_fraction_parse("100%", &n, &dd), 0);
	assert_int_not_equal(inventory_fraction_parse("2/3x", &n, &dd), 0);
	assert_int_not_equal(inventory_fraction_parse("2/", &n, &dd), 0);
	assert_int_not_equal(inventory_fraction_parse("-1/3", &n, &dd), 0);
	assert_int_not_equal(inventory_fraction_parse("0.5", &n, &dd), 0);
	assert_int_not_equal(inventory_fraction_parse("", &n, &dd), 0);
}

static void
test_bad(void **st)
{
	char doc[4096];
	struct inventory *inv;
	struct slw_diag d;
	size_t i;
	int r;

	(void)st;
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		const struct bad *b = &bads[i];

		snprintf(doc, sizeof(doc), "%s%s%s", base_head, b->body,
		    b->nodes ? b->nodes : nodes3);
		inv = (struct inventory *)0x1;
		slw_diag_clear(&d);
		r = inventory_parse((const uint8_t *)doc, strlen(doc), "t.yaml",
		    &inv, &d);
		if (r == 0 || inv != NULL)
			fail_msg("case '%s': accepted", b->name);
		if (strstr(d.msg, b->want) == NULL)
			fail_msg("case '%s': error '%s' lacks '%s'", b->name, d.msg,
			    b->want);
		if (b->where && strncmp(d.msg, b->where, strlen(b->where)) != 0)
			fail_msg("case '%s': error '%s' not at '%s'", b->name, d.msg,
			    b->where);
		if (strchr(d.msg, '\n') != NULL)
			fail_msg("case '%s': error is not one line", b->name);
	}
}

static void
test_too_big(void **st)
{
	struct inventory *inv = NULL;
	struct slw_diag d;

	(void)st;
	slw_diag_clear(&d);
	assert_int_equal(inventory_parse((const uint8_t *)"x", INV_MAX_BYTES + 1,
	    "t.yaml", &inv, &d), SLW_ERR_TOOBIG);
	assert_null(inv);
	assert_int_equal(inventory_load("/nonexistent/cluster.yaml", &inv, &d),
	    SLW_ERR_NOTFOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_seed_apiserver_sans),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_expiry_settings),
		cmocka_unit_test(test_too_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
