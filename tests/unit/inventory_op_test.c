// SPDX-License-Identifier: Apache-2.0
/*
 * inventory_op_test.c: inventory apply's checks and plans without a
 * cluster: adding a worker plans only that node's steps, removing one
 * plans its drain, revocation and the CRL to every etcd member; removing
 * a master, a CA rotation in progress and a second change while one is
 * unfinished are refused; --plan and refusals leave the store as it was;
 * applying the stored inventory has nothing to change.
 */
#include "testutil.h"

#include "ca_rotate.h"
#include "cluster.h"
#include "inventory_op.h"
#include "journal.h"

#include <fcntl.h>

static char *
example_plus(const char *line)
{
	struct buf b = { 0 };
	char *s;

	assert_int_equal(buf_read_file(&b, SLW_EXAMPLES_DIR "/seed-cluster.yaml",
	    1 << 20), 0);
	assert_int_equal(buf_appendf(&b, "%s", line), 0);
	s = strdup((const char *)b.data);
	buf_free(&b);
	return s;
}

static int
apply(struct store *st, const char *dir, const char *yaml, int plan,
    struct slw_diag *d, struct buf *printed)
{
	struct fleet_inventory_opts o;
	char state[4200], path[4300];
	int fd, saved, r;

	memset(&o, 0, sizeof(o));
	snprintf(state, sizeof(state), "%s/state", dir);
	o.op.state = state;
	o.op.command = "slipway inventory apply";
	o.op.audit_action = "inventory.apply.run";
	o.op.fleet.actor = "test";
	o.op.fleet.quiet = 1;
	o.plan_only = plan;
	/* the plan goes to stdout: keep it */
	snprintf(path, sizeof(path), "%s/plan.txt", dir);
	fflush(stdout);
	saved = dup(1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 1);
	close(fd);
	slw_diag_clear(d);
	r = fleet_inventory_apply(st, (const uint8_t *)yaml, strlen(yaml),
	    "new.yaml", &o, d);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	buf_reset(printed);
	assert_int_equal(buf_read_file(printed, path, 1 << 20), 0);
	return r;
}

static void
stored(struct store *st, char hex[65])
{
	struct buf y = { 0 };

	assert_int_equal(cluster_yaml_get(st, &y, NULL), 0);
	cluster_yaml_hash(y.data, y.len, hex);
	buf_free(&y);
}

static void
test_plans(void **state)
{
	char *dir = tu_tmpdir(), *add, before[65], after[65];
	struct store *st = NULL;
	struct inventory *inv = NULL;
	struct buf out = { 0 };
	struct slw_diag d;

	(void)state;
	tu_init_state(dir, &st, &inv);
	stored(st, before);
	add = example_plus("  - { name: test4, ip: 192.168.0.94, roles: [worker] }\n");
	assert_int_equal(apply(st, dir, add, 1, &d, &out), 0);
	assert_non_null(strstr((char *)out.data, "adds test4"));
	assert_non_null(strstr((char *)out.data, "test4      bundle"));
	assert_non_null(strstr((char *)out.data, "gate:nodes"));
	/* no step on the nodes that stay */
	assert_null(strstr((char *)out.data, "test1      "));
	assert_null(strstr((char *)out.data, "test3      "));
	stored(st, after);
	assert_string_equal(before, after);

	/* removing a master: refused, nothing changed */
	{
		const char *noma = "apiVersion: slipway/v1\nkind: Cluster\n"
		    "apiserver: { vip: 192.168.0.235 }\n"
		    "bootstrap: { address: 127.0.0.1 }\nnodes:\n"
		    "  - { name: test1, ip: 192.168.0.91, roles: [etcd, master, worker] }\n"
		    "  - { name: test2, ip: 192.168.0.92, roles: [etcd, master, worker] }\n";

		assert_int_equal(apply(st, dir, noma, 0, &d, &out),
		    SLW_ERR_UNSUPPORTED);
		assert_non_null(strstr(d.msg, "removing test3"));
	}
	/* the stored one again: nothing to change */
	{
		struct buf y = { 0 };

		assert_int_equal(cluster_yaml_get(st, &y, NULL), 0);
		assert_int_equal(apply(st, dir, (const char *)y.data, 0, &d, &out),
		    0);
		assert_non_null(strstr(d.msg, "nothing to change"));
		buf_free(&y);
	}
	/* a CA rotation in progress */
	{
		uint32_t gen = 0;

		assert_int_equal(ca_rotate_begin_store(st, "etcd", 1000, "test",
		    &gen, NULL), 0);
		assert_int_equal(gen, 2);
	}
	assert_int_equal(apply(st, dir, add, 1, &d, &out), SLW_ERR_BUSY);
	assert_non_null(strstr(d.msg, "rotation of CA etcd"));
	stored(st, after);
	assert_string_equal(before, after);

	free(add);
	buf_free(&out);
	inventory_free(inv);
	store_close(st);
	tu_rmrf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plans),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
