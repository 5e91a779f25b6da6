// SPDX-License-Identifier: Apache-2.0
/*
 * expiry_test.c: the expiry view's grouping and its decisions: which
 * certificate of an owner and purpose is in use, which warn, which are due
 * for renewal, and which never count (superseded, revoked, session
 * credentials, removed nodes, retired CAs).
 */
#include "testutil.h"

#include "expiry.h"

#define NOW ((time_t)2000000000)
#define DAY 86400

static struct inventory *
inv3(void)
{
	static const char doc[] =
	    "apiVersion: slipway/v1\nkind: Cluster\n"
	    "nodes:\n"
	    "  - { name: test1, ip: 192.168.0.91, roles: [etcd, master, worker] }\n"
	    "  - { name: test2, ip: 192.168.0.92, roles: [worker] }\n";
	struct inventory *inv = NULL;
	struct slw_diag d;

	slw_diag_clear(&d);
	if (inventory_parse((const uint8_t *)doc, sizeof(doc) - 1, "t.yaml",
	    &inv, &d) != 0)
		fail_msg("%s", d.msg);
	return inv;
}

static void
add(struct expiry_view *v, uint8_t id, const char *node, const char *purpose,
    time_t nb, time_t na, int status)
{
	struct cert_rec r;

	memset(&r, 0, sizeof(r));
	memset(r.serial, id, SERIAL_LEN);
	snprintf(r.ca, sizeof(r.ca), "kubernetes");
	r.ca_gen = 1;
	snprintf(r.node, sizeof(r.node), "%s", node);
	snprintf(r.purpose, sizeof(r.purpose), "%s", purpose);
	r.not_before = nb;
	r.not_after = na;
	r.status = status;
	assert_int_equal(expiry_view_add_cert(v, &r), 0);
}

static const struct expiry_cert *
find(const struct expiry_view *v, uint8_t id)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (v->certs[i].serial[0] == id)
			return &v->certs[i];
	fail_msg("certificate %u not in the view", id);
	return NULL;
}

static struct expiry_view *
view(const struct inventory *inv)
{
	struct expiry_policy p;
	struct expiry_view *v = NULL;

	expiry_policy_of(inv, NOW, &p);
	assert_int_equal(expiry_view_new(&p, inv, &v), 0);
	return v;
}

/* The newest valid one of a node and purpose is in use, whatever order
 * the records come in; newer revoked and older superseded ones are not. */
static void
test_in_use_is_newest_valid(void **st)
{
	struct inventory *inv = inv3();
	struct expiry_view *v = view(inv);

	(void)st;
	add(v, 1, "test1", "etcd-member", NOW - 300 * DAY, NOW + 65 * DAY,
	    CERT_SUPERSEDED);
	add(v, 2, "test1", "etcd-member", NOW - 10 * DAY, NOW + 355 * DAY,
	    CERT_REVOKED);
	add(v, 3, "test1", "etcd-member", NOW - 20 * DAY, NOW + 345 * DAY,
	    CERT_VALID);
	add(v, 4, "test1", "etcd-member", NOW - 200 * DAY, NOW + 5 * DAY,
	    CERT_VALID);	/* older and valid: not the one in use */
	add(v, 5, "test2", "etcd-member", NOW - 100 * DAY, NOW + 265 * DAY,
	    CERT_VALID);
	expiry_view_finish(v);
	assert_int_equal(v->n, 5);
	assert_true(find(v, 3)->flags & EXP_IN_USE);
	assert_true(find(v, 5)->flags & EXP_IN_USE);
	assert_false(find(v, 1)->flags & EXP_IN_USE);
	assert_false(find(v, 2)->flags & EXP_IN_USE);
	assert_false(find(v, 4)->flags & EXP_IN_USE);
	/* the old valid one ends in 5 days but is not in use: no warning */
	assert_false(find(v, 4)->flags & EXP_WARN);
	assert_int_equal(v->in_use, 2);
	assert_int_equal(v->warn, 0);
	assert_int_equal(v->revoked, 1);
	assert_int_equal(v->superseded, 1);
	/* grouped: one node's certificates next to each other, newest first */
	assert_string_equal(v->certs[0].owner, "test1");
	assert_int_equal(v->certs[0].serial[0], 2);
	assert_int_equal(v->certs[1].serial[0], 3);
	assert_int_equal(v->certs[3].serial[0], 1);
	assert_string_equal(v->certs[4].owner, "test2");
	/* the one ending first among those in use */
	assert_int_equal(v->certs[v->soonest].serial[0], 5);
	expiry_view_free(v);
	inventory_free(inv);
}

/* A purpose whose every certificate is revoked has nothing in use. */
static void
test_all_revoked(void **st)
{
	struct expiry_view *v = view(NULL);

	(void)st;
	add(v, 1, "test1", "kube-proxy", NOW - DAY, NOW + 3 * DAY, CERT_REVOKED);
	add(v, 2, "test1", "kube-proxy", NOW - 2 * DAY, NOW + 2 * DAY,
	    CERT_REVOKED);
	expiry_view_finish(v);
	assert_int_equal(v->in_use, 0);
	assert_int_equal(v->warn, 0);
	assert_int_equal(v->soonest, -1);
	expiry_view_free(v);
}

/* Warns strictly inside the window; an expired one in use warns too. */
static void
test_warning_window(void **st)
{
	struct expiry_view *v = view(NULL);	/* default: 30 days */

	(void)st;
	assert_int_equal(v->pol.warn_seconds, 30 * DAY);
	add(v, 1, "a", "p1", NOW - DAY, NOW + 30 * DAY, CERT_VALID);
	add(v, 2, "a", "p2", NOW - DAY, NOW + 30 * DAY - 1, CERT_VALID);
	add(v, 3, "a", "p3", NOW - 400 * DAY, NOW, CERT_VALID);
	add(v, 4, "a", "p4", NOW - 400 * DAY, NOW - 3 * DAY, CERT_VALID);
	expiry_view_finish(v);
	assert_false(find(v, 1)->flags & EXP_WARN);
	assert_true(find(v, 2)->flags & EXP_WARN);
	assert_true(find(v, 3)->flags & EXP_WARN);
	assert_true(find(v, 3)->flags & EXP_EXPIRED);
	assert_true(find(v, 4)->flags & EXP_EXPIRED);
	assert_int_equal(v->warn, 3);
	assert_int_equal(v->expired, 2);
	assert_int_equal(v->in_use, 4);
	assert_int_equal(expiry_days_left(NOW - 3 * DAY, NOW), -3);
	assert_int_equal(expiry_days_left(NOW - 1, NOW), -1);
	assert_int_equal(expiry_days_left(NOW + 30 * DAY - 1, NOW), 29);
	expiry_view_free(v);
}

/* Renewal at 2/3 of the lifetime (the default) or the inventory's. */
static void
test_renewal_due(void **st)
{
	struct expiry_view *v = view(NULL);

	(void)st;
	assert_int_equal(expiry_renew_at(1000, 4000, 2, 3), 3000);
	assert_int_equal(expiry_renew_at(0, 7, 2, 3), 4);
	/* ten years at 999999/1000000: no overflow */
	assert_int_equal(expiry_renew_at(0, 3650 * (time_t)DAY, 999999,
	    1000000), 3650 * (time_t)DAY - 316);	/* floor(L - 315.36) */
	add(v, 1, "a", "due", NOW - 200 * DAY, NOW + 100 * DAY, CERT_VALID);
	add(v, 2, "a", "later", NOW - 100 * DAY, NOW + 200 * DAY, CERT_VALID);
	add(v, 3, "a", "sooner", NOW - 150 * DAY, NOW + 150 * DAY, CERT_VALID);
	expiry_view_finish(v);
	assert_true(find(v, 1)->flags & EXP_DUE);
	assert_false(find(v, 2)->flags & EXP_DUE);
	assert_int_equal(find(v, 3)->renew_at, NOW + 50 * DAY);
	assert_int_equal(v->due, 1);
	assert_int_equal(v->certs[v->next_renewal].serial[0], 3);
	expiry_view_free(v);
}

/* Session credentials and removed nodes are listed but never in use; a
 * longer-lived certificate without a node is. */
static void
test_never_in_use(void **st)
{
	struct inventory *inv = inv3();
	struct expiry_view *v = view(inv);

	(void)st;
	add(v, 1, "", "rollout etcd client", NOW - 3600, NOW + 3 * 3600,
	    CERT_VALID);
	add(v, 2, "", "rollout etcd client", NOW - 7200, NOW + 2 * 3600,
	    CERT_VALID);
	add(v, 3, "", "console", NOW - DAY, NOW + 9 * DAY, CERT_VALID);
	add(v, 4, "test9", "kube-proxy", NOW - DAY, NOW + 2 * DAY, CERT_VALID);
	add(v, 5, "(serve)", "serving", NOW - 340 * DAY, NOW + 25 * DAY,
	    CERT_VALID);
	expiry_view_finish(v);
	assert_true(find(v, 1)->flags & EXP_SESSION);
	assert_false(find(v, 1)->flags & EXP_IN_USE);
	assert_false(find(v, 2)->flags & EXP_IN_USE);
	assert_true(find(v, 3)->flags & EXP_IN_USE);
	assert_true(find(v, 3)->flags & EXP_WARN);
	assert_true(find(v, 4)->flags & EXP_GONE);
	assert_false(find(v, 4)->flags & EXP_IN_USE);
	assert_true(find(v, 5)->flags & EXP_IN_USE);
	assert_true(find(v, 5)->flags & EXP_WARN);
	assert_int_equal(v->sessions, 2);
	assert_int_equal(v->in_use, 2);
	assert_int_equal(v->warn, 2);
	expiry_view_free(v);
	inventory_free(inv);
}

/* Each operator's newest admin kubeconfig is in use. */
static void
test_kubeconfigs(void **st)
{
	struct expiry_view *v = view(NULL);
	char to[64];

	(void)st;
	add(v, 1, "(admin:alice)", EXPIRY_KUBECONFIG_PURPOSE, NOW - 9 * DAY,
	    NOW + 20 * DAY, CERT_VALID);
	add(v, 2, "(admin:alice)", EXPIRY_KUBECONFIG_PURPOSE, NOW - DAY,
	    NOW + 300 * DAY, CERT_VALID);
	add(v, 3, "(admin:bob)", EXPIRY_KUBECONFIG_PURPOSE, NOW - 9 * DAY,
	    NOW + 20 * DAY, CERT_VALID);
	add(v, 4, "", EXPIRY_KUBECONFIG_PURPOSE, NOW - 9 * DAY, NOW + 2 * DAY,
	    CERT_VALID);
	expiry_view_finish(v);
	assert_false(find(v, 1)->flags & EXP_IN_USE);
	assert_true(find(v, 2)->flags & EXP_IN_USE);
	assert_true(find(v, 3)->flags & EXP_WARN);
	assert_true(find(v, 4)->flags & EXP_WARN);
	assert_true(find(v, 4)->flags & EXP_KUBECONFIG);
	assert_string_equal(expiry_kubeconfig_holder(find(v, 2), to,
	    sizeof(to)), "alice");
	assert_string_equal(expiry_kubeconfig_holder(find(v, 4), to,
	    sizeof(to)), "-");
	assert_int_equal(v->warn, 2);
	expiry_view_free(v);
}

/* CA generations: every one not retired is in use; those warn too. */
static void
test_ca_generations(void **st)
{
	struct expiry_view *v = view(NULL);
	struct ca_rec c;

	(void)st;
	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "etcd");
	c.gen = 1;
	c.state = CA_RETIRED;
	c.not_after = NOW + DAY;
	assert_int_equal(expiry_view_add_ca(v, &c), 0);
	c.gen = 3;
	c.state = CA_PENDING;
	c.not_after = NOW + 3650 * (time_t)DAY;
	assert_int_equal(expiry_view_add_ca(v, &c), 0);
	c.gen = 2;
	c.state = CA_PREVIOUS;
	c.not_after = NOW + 10 * DAY;
	assert_int_equal(expiry_view_add_ca(v, &c), 0);
	expiry_view_finish(v);
	assert_int_equal(v->cas[0].gen, 1);
	assert_int_equal(v->cas[1].gen, 2);
	assert_false(v->cas[0].flags & EXP_IN_USE);
	assert_false(v->cas[0].flags & EXP_WARN);
	assert_true(v->cas[1].flags & EXP_WARN);
	assert_true(v->cas[2].flags & EXP_IN_USE);
	assert_false(v->cas[2].flags & EXP_WARN);
	assert_int_equal(v->ca_warn, 1);
	expiry_view_free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_use_is_newest_valid),
		cmocka_unit_test(test_all_revoked),
		cmocka_unit_test(test_warning_window),
		cmocka_unit_test(test_renewal_due),
		cmocka_unit_test(test_never_in_use),
		cmocka_unit_test(test_kubeconfigs),
		cmocka_unit_test(test_ca_generations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
