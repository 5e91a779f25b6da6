// SPDX-License-Identifier: Apache-2.0
/*
 * inventory_diff_test.c: the difference between the stored inventory and
 * a new one: nodes added, removed, re-addressed, ssh-only changes; every
 * cluster-wide setting and a node's roles refused with one line naming it;
 * harmless settings listed.
 */
#include "testutil.h"

#include "inventory.h"
#include "inventory_diff.h"

static const char head[] =
    "apiVersion: slipway/v1\n"
    "kind: Cluster\n"
    "apiserver: { vip: 192.168.0.235 }\n";

static const char nodes3[] =
    "nodes:\n"
    "  - { name: test1, ip: 192.168.0.91, roles: [etcd, master, worker] }\n"
    "  - { name: test2, ip: 192.168.0.92, roles: [etcd, master, worker] }\n"
    "  - { name: test3, ip: 192.168.0.93, roles: [worker] }\n";

static struct inventory *
parse(const char *extra, const char *nodes)
{
	struct inventory *inv = NULL;
	struct slw_diag d;
	char doc[4096];

	slw_diag_clear(&d);
	snprintf(doc, sizeof(doc), "%s%s%s", head, extra, nodes);
	if (inventory_parse((const uint8_t *)doc, strlen(doc), "t.yaml", &inv,
	    &d) != 0)
		fail_msg("%s", d.msg);
	return inv;
}

static void
test_same(void **st)
{
	struct inventory *a = parse("", nodes3), *b = parse("", nodes3);
	struct inv_diff *df = NULL;
	struct slw_diag d;

	(void)st;
	slw_diag_clear(&d);
	assert_int_equal(inventory_diff(a, b, &df, &d), 0);
	assert_int_equal(df->n, 0);
	assert_int_equal(df->unchanged, 3);
	assert_string_equal(df->settings, "");
	inventory_diff_free(df);
	inventory_free(a);
	inventory_free(b);
}

static void
test_nodes(void **st)
{
	struct inventory *a = parse("", nodes3), *b;
	struct inv_diff *df = NULL;
	struct slw_diag d;

	(void)st;
	/* test2 gone, test1 moved, test3 reached on another port, test4 new */
	b = parse("", "nodes:\n"
	    "  - { name: test4, ip: 192.168.0.94, roles: [worker] }\n"
	    "  - { name: test1, ip: 192.168.0.81, roles: [etcd, master, worker] }\n"
	    "  - { name: test3, ip: 192.168.0.93, roles: [worker], "
	    "ssh: { port: 2222 } }\n");
	slw_diag_clear(&d);
	assert_int_equal(inventory_diff(a, b, &df, &d), 0);
	assert_int_equal(df->n, 4);
	assert_int_equal(df->unchanged, 0);
	/* removals first, then changes in the new order, then additions */
	assert_int_equal(df->changes[0].kind, INV_REMOVE);
	assert_string_equal(df->changes[0].from->name, "test2");
	assert_null(df->changes[0].to);
	assert_int_equal(df->changes[1].kind, INV_READDRESS);
	assert_string_equal(df->changes[1].from->ip, "192.168.0.91");
	assert_string_equal(df->changes[1].to->ip, "192.168.0.81");
	assert_int_equal(df->changes[2].kind, INV_SSH);
	assert_string_equal(df->changes[2].to->name, "test3");
	assert_int_equal(df->changes[3].kind, INV_ADD);
	assert_string_equal(df->changes[3].to->name, "test4");
	assert_null(df->changes[3].from);
	assert_non_null(strstr(inventory_change_steps(&df->changes[3]),
	    "Node Ready"));
	assert_non_null(strstr(inventory_change_steps(&df->changes[0]),
	    "etcd member remove"));
	inventory_diff_free(df);
	inventory_free(b);
	/* an extra name alone is a re-addressing too */
	b = parse("", "nodes:\n"
	    "  - { name: test1, ip: 192.168.0.91, roles: [etcd, master, worker] }\n"
	    "  - { name: test2, ip: 192.168.0.92, roles: [etcd, master, worker], "
	    "extraNames: [m2.example] }\n"
	    "  - { name: test3, ip: 192.168.0.93, roles: [worker] }\n");
	assert_int_equal(inventory_diff(a, b, &df, &d), 0);
	assert_int_equal(df->n, 1);
	assert_int_equal(df->changes[0].kind, INV_READDRESS);
	assert_int_equal(df->unchanged, 2);
	inventory_diff_free(df);
	inventory_free(b);
	inventory_free(a);
}

static const struct {
	const char *extra;
	const char *want;
} refused[] = {
	{ "cluster: { name: other }\n", "cluster.name is cluster-wide" },
	{ "network: { serviceCIDR: 10.96.0.0/16, dnsServiceIP: 10.96.0.10 }\n",
	  "network.serviceCIDR is cluster-wide" },
	{ "network: { clusterCIDR: 10.244.0.0/16 }\n",
	  "network.clusterCIDR is cluster-wide" },
	{ "etcd: { clientPort: 12379 }\n", "etcd.clientPort is cluster-wide" },
	{ "bootstrap: { port: 9443 }\n", "bootstrap.port is cluster-wide" },
	{ "security: { encryptionProvider: aescbc }\n",
	  "security.encryptionProvider is cluster-wide" },
	{ "certificates: { keyType: rsa-2048 }\n",
	  "certificates.keyType is cluster-wide and cannot change after init "
	  "('ecdsa-p256' -> 'rsa-2048')" },
};

static void
test_refused(void **st)
{
	struct inventory *a = parse("", nodes3), *b;
	struct inv_diff *df = NULL;
	struct slw_diag d;
	size_t i;

	(void)st;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		b = parse(refused[i].extra, nodes3);
		slw_diag_clear(&d);
		assert_int_equal(inventory_diff(a, b, &df, &d), SLW_ERR_INVALID);
		assert_null(df);
		if (strstr(d.msg, refused[i].want) == NULL)
			fail_msg("%s: got '%s'", refused[i].want, d.msg);
		assert_null(strchr(d.msg, '\n'));
		inventory_free(b);
	}
	/* the VIP: the head's is replaced */
	{
		const char *doc = "apiVersion: slipway/v1\nkind: Cluster\n"
		    "apiserver: { vip: 192.168.0.236 }\n";
		char full[2048];

		snprintf(full, sizeof(full), "%s%s", doc, nodes3);
		slw_diag_clear(&d);
		assert_int_equal(inventory_parse((const uint8_t *)full,
		    strlen(full), "t.yaml", &b, &d), 0);
		assert_int_equal(inventory_diff(a, b, &df, &d), SLW_ERR_INVALID);
		if (strstr(d.msg, "apiserver.vip is cluster-wide") == NULL)
			fail_msg("%s", d.msg);
		assert_non_null(strstr(d.msg, "192.168.0.236"));
		inventory_free(b);
	}
	/* a node's roles */
	b = parse("", "nodes:\n"
	    "  - { name: test1, ip: 192.168.0.91, roles: [etcd, master, worker] }\n"
	    "  - { name: test2, ip: 192.168.0.92, roles: [etcd, master, worker] }\n"
	    "  - { name: test3, ip: 192.168.0.93, roles: [master, worker] }\n");
	slw_diag_clear(&d);
	assert_int_equal(inventory_diff(a, b, &df, &d), SLW_ERR_INVALID);
	assert_null(df);
	assert_non_null(strstr(d.msg, "node test3: roles cannot change "
	    "(worker -> master,worker)"));
	inventory_free(b);
	inventory_free(a);
}

static void
test_settings(void **st)
{
	struct inventory *a = parse("", nodes3), *b;
	struct inv_diff *df = NULL;
	struct slw_diag d;

	(void)st;
	b = parse("bootstrap: { tokenTTL: 30m }\n"
	    "certificates: { validity: 8760h }\n", nodes3);
	slw_diag_clear(&d);
	assert_int_equal(inventory_diff(a, b, &df, &d), 0);
	assert_int_equal(df->n, 0);
	assert_string_equal(df->settings,
	    "certificates.validity, bootstrap.tokenTTL");
	inventory_diff_free(df);
	inventory_free(b);
	inventory_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same),
		cmocka_unit_test(test_nodes),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_settings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
