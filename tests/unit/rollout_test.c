// SPDX-License-Identifier: Apache-2.0
/*
 * rollout_test.c: the rollout without nodes: the plan's order for the
 * seed's topology and for split roles (where each node fetches its bundle),
 * every step script passes `sh -n`, redaction of tokens and bytes in
 * commands and output, warnings, the journal's records (steps, gates, runs,
 * the command log in order, host keys), the run lock, and the status that
 * folds them per node and phase (failed step, interrupted step, a gate
 * that names a node).
 */
#include "testutil.h"

#include "audit.h"
#include "inventory.h"
#include "redact.h"
#include "rollout.h"
#include "store.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

static struct inventory *
seed_inv(void)
{
	struct inventory *inv = NULL;
	struct slw_diag d;

	slw_diag_clear(&d);
	if (inventory_load(SLW_EXAMPLES_DIR "/seed-cluster.yaml", &inv, &d) != 0)
		fail_msg("seed inventory: %s", d.msg);
	return inv;
}

static const char split_yaml[] =
    "apiVersion: slipway/v1\nkind: Cluster\n"
    "apiserver: { vip: 10.1.0.100 }\n"
    "nodes:\n"
    "  - { name: e1, ip: 10.1.0.1, roles: [etcd] }\n"
    "  - { name: m1, ip: 10.1.0.2, roles: [master] }\n"
    "  - { name: m2, ip: 10.1.0.3, roles: [master, worker] }\n"
    "  - { name: w1, ip: 10.1.0.4, roles: [worker] }\n";

static void
test_phases(void **st)
{
	enum rollout_phase p;

	(void)st;
	assert_int_equal(rollout_phase_parse("prepare", &p), 0);
	assert_int_equal(p, PH_PREPARE);
	assert_int_equal(rollout_phase_parse("ha", &p), 0);
	assert_int_equal(p, PH_HA);
	assert_int_equal(rollout_phase_parse("workers", &p), 0);
	assert_int_equal(p, PH_WORKERS);
	assert_int_equal(rollout_phase_parse("master", &p), SLW_ERR_INVALID);
	assert_int_equal(rollout_phase_parse(NULL, &p), SLW_ERR_INVALID);
	assert_string_equal(rollout_phase_name(PH_MASTERS), "masters");
}

static int
index_of(const struct rollout_plan *p, const char *step, const char *node,
    enum rollout_phase ph)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->items[i].def->phase == ph &&
		    strcmp(p->items[i].def->name, step) == 0 &&
		    ((node == NULL && p->items[i].node == NULL) ||
		    (node != NULL && p->items[i].node != NULL &&
		    strcmp(p->items[i].node->name, node) == 0)))
			return (int)i;
	return -1;
}

static void
test_plan_seed(void **st)
{
	struct inventory *inv = seed_inv();
	struct rollout_plan p;
	size_t i;

	(void)st;
	assert_int_equal(rollout_plan_build(inv, &p), 0);
	/* Phases never go backwards. */
	for (i = 1; i < p.n; i++)
		assert_true(p.items[i - 1].def->phase <= p.items[i].def->phase);
	/* Every node fetches its bundle once, in prepare: its certificate
	 * fetches the binaries, which are checked before anything starts. */
	assert_true(index_of(&p, "bundle", "test1", PH_PREPARE) >= 0);
	assert_int_equal(index_of(&p, "bundle", "test1", PH_ETCD), -1);
	assert_int_equal(index_of(&p, "bundle", "test1", PH_HA), -1);
	assert_int_equal(index_of(&p, "bundle", "test1", PH_MASTERS), -1);
	assert_int_equal(index_of(&p, "bundle", "test1", PH_WORKERS), -1);
	/* Within a node: os, bundle, binaries; apiserver before the others. */
	assert_true(index_of(&p, "os", "test2", PH_PREPARE) <
	    index_of(&p, "bundle", "test2", PH_PREPARE));
	assert_true(index_of(&p, "bundle", "test2", PH_PREPARE) <
	    index_of(&p, "binaries", "test2", PH_PREPARE));
	assert_true(index_of(&p, "kube-apiserver", "test3", PH_MASTERS) <
	    index_of(&p, "kube-scheduler", "test3", PH_MASTERS));
	/* Appliance steps: flannel's config first, cluster objects last. */
	assert_true(index_of(&p, "flannel-config", NULL, PH_MASTERS) <
	    index_of(&p, "kube-apiserver", "test1", PH_MASTERS));
	assert_true(index_of(&p, "cluster-objects", NULL, PH_MASTERS) >
	    index_of(&p, "kube-scheduler", "test3", PH_MASTERS));
	assert_true(index_of(&p, "kubelet", "test1", PH_WORKERS) >
	    index_of(&p, "containerd", "test1", PH_WORKERS));
	/* 6 prepare + 1 etcd + 2 HA + 3 masters + 4 workers per node, + 2. */
	assert_int_equal(p.n, 3 * 16 + 2);
	rollout_plan_free(&p);
	inventory_free(inv);
}

static void
test_plan_split_roles(void **st)
{
	struct inventory *inv = NULL;
	struct rollout_plan p;
	struct slw_diag d;

	(void)st;
	slw_diag_clear(&d);
	if (inventory_parse((const uint8_t *)split_yaml, strlen(split_yaml),
	    "split.yaml", &inv, &d) != 0)
		fail_msg("split inventory: %s", d.msg);
	assert_int_equal(rollout_plan_build(inv, &p), 0);
	/* Each node fetches its bundle in prepare, whatever its roles. */
	assert_true(index_of(&p, "bundle", "e1", PH_PREPARE) >= 0);
	assert_true(index_of(&p, "bundle", "m1", PH_PREPARE) >= 0);
	assert_true(index_of(&p, "bundle", "w1", PH_PREPARE) >= 0);
	assert_int_equal(index_of(&p, "bundle", "m2", PH_HA), -1);
	assert_int_equal(index_of(&p, "bundle", "w1", PH_WORKERS), -1);
	/* Roles: no etcd on masters, no kubelet on a pure master. */
	assert_int_equal(index_of(&p, "etcd", "m1", PH_ETCD), -1);
	assert_int_equal(index_of(&p, "kubelet", "m1", PH_WORKERS), -1);
	assert_true(index_of(&p, "kubelet", "m2", PH_WORKERS) >= 0);
	assert_int_equal(index_of(&p, "haproxy", "w1", PH_HA), -1);
	assert_true(index_of(&p, "os", "w1", PH_PREPARE) >= 0);
	rollout_plan_free(&p);
	inventory_free(inv);
}

/* Every remote script is valid sh and carries no secret-looking text. */
static void
test_scripts_parse(void **st)
{
	struct inventory *inv = seed_inv();
	size_t i;

	(void)st;
	for (i = 0; i < rollout_steps_n; i++) {
		const struct rollout_step_def *def = &rollout_steps[i];
		struct buf s = { 0 };
		FILE *f;
		int rc;

		if (def->kind != STEP_REMOTE)
			continue;
		assert_int_equal(def->script(inv, &inv->nodes[0], 1700000000, &s),
		    0);
		assert_null(tu_memmem(s.data, s.len, "PRIVATE KEY", 11));
		assert_null(tu_memmem(s.data, s.len, "Bearer", 6));
		f = popen("sh -n 2>&1", "w");
		assert_non_null(f);
		fwrite(s.data, 1, s.len, f);
		rc = pclose(f);
		if (rc != 0)
			fail_msg("step %s/%s: script does not parse:\n%s",
			    rollout_phase_name(def->phase), def->name, s.data);
		buf_free(&s);
	}
	inventory_free(inv);
}

static const struct rollout_step_def *
step_def(const char *name)
{
	size_t i;

	for (i = 0; i < rollout_steps_n; i++)
		if (strcmp(rollout_steps[i].name, name) == 0)
			return &rollout_steps[i];
	return NULL;
}

static void
fake_bin(const char *dir, const char *name, const char *body)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
}

/*
 * The binaries step: install.sh --binaries, then every binary of the
 * node's roles asked for its version against the inventory's; its ver()
 * on stand-ins that answer like the real programs do.
 */
static void
test_binaries_versions(void **st)
{
	struct inventory *inv = seed_inv();
	const struct rollout_step_def *def = step_def("binaries");
	struct buf s = { 0 }, sh = { 0 };
	char *dir = tu_tmpdir(), line[4096];
	const char *a, *b;
	FILE *f;

	(void)st;
	assert_non_null(def);
	assert_int_equal(def->script(inv, &inv->nodes[0], 1700000000, &s), 0);
	assert_non_null(strstr((char *)s.data, "/etc/slipway/install.sh --binaries\n"));
	assert_non_null(strstr((char *)s.data,
	    "ver kubelet /opt/k8s/bin/kubelet v1.36.0 --version\n"));
	assert_non_null(strstr((char *)s.data,
	    "ver etcd /opt/k8s/bin/etcd 3.6.8 --version\n"));
	assert_non_null(strstr((char *)s.data, "ver bridge /opt/cni/bin/bridge 1.8.0 \n"));
	assert_non_null(strstr((char *)s.data, "ver runc /opt/k8s/bin/runc 1.3.4 --version\n"));
	assert_null(strstr((char *)s.data, "ver kubectl"));
	/* the function alone, on stand-ins in dir */
	a = strstr((char *)s.data, "ver() {\n");
	b = strstr(a, "\n}\n");
	assert_non_null(a);
	assert_non_null(b);
	fake_bin(dir, "kube-proxy", "echo Kubernetes v1.36.0");
	fake_bin(dir, "kubelet", "echo Kubernetes v1.35.2");
	fake_bin(dir, "etcd", "echo 'etcd Version: 3.6.80'; echo 'Go Version: go1.24.3'");
	fake_bin(dir, "containerd", "echo 'containerd github.com/containerd/containerd "
	    "1.6.20~ds1 1.6.20~ds1-1+deb12u3'");
	fake_bin(dir, "bridge", "[ -z \"$CNI_COMMAND\" ] && echo 'CNI bridge plugin v1.8.0' >&2");
	fake_bin(dir, "runc", "echo 'runc version 1.3.4'; echo 'spec: 1.2.1'");
	assert_int_equal(buf_appendf(&sh, "set -e\n%.*s\n}\nmissing=\nwrong=\n"
	    "found=\nexport CNI_COMMAND=ADD\n"
	    "ver kube-proxy %s/kube-proxy v1.36.0 --version\n"
	    "ver kubelet %s/kubelet v1.36.0 --version\n"
	    "ver etcd %s/etcd 3.6.8 --version\n"
	    "ver containerd %s/containerd 1.6.20 --version\n"
	    "ver bridge %s/bridge 1.8.0 \n"
	    "ver runc %s/runc v1.3.4 --version\n"
	    "ver flanneld %s/flanneld 0.26.7 --version\n"
	    "echo \"found:$found|missing:$missing|wrong:$wrong\"\n",
	    (int)(b - a), a, dir, dir, dir, dir, dir, dir, dir), 0);
	snprintf(line, sizeof(line), "%s/run.sh", dir);
	tu_write(line, sh.data, sh.len);
	snprintf(line, sizeof(line), "sh %s/run.sh", dir);
	assert_non_null(f = popen(line, "r"));
	assert_non_null(fgets(line, sizeof(line), f));
	assert_int_equal(pclose(f), 0);
	line[strcspn(line, "\n")] = '\0';
	{
		char want[2048];

		snprintf(want, sizeof(want), "found: kube-proxy containerd bridge "
		    "runc|missing: flanneld|wrong:kubelet: %s/kubelet reports "
		    "v1.35.2, the inventory wants 1.36.0; etcd: %s/etcd reports "
		    "3.6.80, the inventory wants 3.6.8", dir, dir);
		assert_string_equal(line, want);
	}
	buf_free(&sh);
	buf_free(&s);
	tu_rmrf(dir);
	free(dir);
	inventory_free(inv);
}

static void
test_redact(void **st)
{
	static const char line[] =
	    "curl -fsS --pinnedpubkey 'sha256//abcDEF=' -k -H 'Authorization: "
	    "Bearer sk_0123456789abcdef0123456789' https://10.0.0.1:8443/v1/bundle"
	    " | tar -xz -C / && /etc/slipway/install.sh";
	struct buf out = { 0 };
	const char *secret = "sk_0123456789abcdef0123456789";
	const uint8_t bytes[] = { 'o', 'k', 0xff, 0xc3, 0xa9, '\n', 0x01, 'x',
	    0xe4, 0xbd, 0xa0 };
	const char raw[] = "token=sk_0123456789abcdef0123456789&x\n"
	    "echo sk_0123456789abcdef0123456789\n";
	char w[64];

	(void)st;
	assert_int_equal(redact_text((const uint8_t *)line, strlen(line),
	    NULL, 4096, &out), 0);
	assert_null(strstr((char *)out.data, secret));
	assert_non_null(strstr((char *)out.data, "Bearer [redacted]'"));
	assert_non_null(strstr((char *)out.data, "sha256//abcDEF="));
	assert_non_null(strstr((char *)out.data, "| tar -xz -C /"));
	/* The secret itself, wherever it appears, and token= forms. */
	assert_int_equal(redact_text((const uint8_t *)raw, strlen(raw),
	    secret, 4096, &out), 0);
	assert_null(strstr((char *)out.data, secret));
	assert_non_null(strstr((char *)out.data, "token=[redacted]&x"));
	assert_non_null(strstr((char *)out.data, "echo [redacted]"));
	/* Non-UTF-8 and control bytes become '?', valid UTF-8 stays. */
	assert_int_equal(redact_text(bytes, sizeof(bytes), NULL, 4096, &out),
	    0);
	assert_string_equal((char *)out.data, "ok?\xc3\xa9\n?x\xe4\xbd\xa0");
	/* Capped. */
	assert_int_equal(redact_text((const uint8_t *)line, strlen(line),
	    NULL, 10, &out), 0);
	assert_int_equal(out.len, 10);
	assert_int_equal(redact_text(NULL, 0, NULL, 10, &out), 0);
	assert_int_equal(out.len, 0);
	/* Warnings. */
	fleet_remote_warnings((const uint8_t *)"a\nWARN: one\nb\nWARN: two", 23, w,
	    sizeof(w));
	assert_string_equal(w, "one; two");
	fleet_remote_warnings((const uint8_t *)"WARN: 0123456789", 16, w, 5);
	assert_string_equal(w, "0123");
	buf_free(&out);
}

static char *dir;
static char state[4200];

static int
setup(void **st)
{
	(void)st;
	dir = tu_tmpdir();
	snprintf(state, sizeof(state), "%s/state", dir);
	return 0;
}

static int
teardown(void **st)
{
	(void)st;
	tu_rmrf(dir);
	free(dir);
	return 0;
}

static int
nothing(struct store_txn *t, void *arg)
{
	(void)arg;
	return audit_append(t, "test", "init", "state", "");
}

static struct store *
new_store(void)
{
	struct store *s = NULL;
	struct slw_diag d;

	slw_diag_clear(&d);
	if (store_create(state, NULL, nothing, NULL, &d) != 0 ||
	    store_open(state, NULL, &s, &d) != 0)
		fail_msg("store: %s", d.msg);
	return s;
}

static int
journal_write(struct store_txn *t, void *arg)
{
	struct journal_step s;
	struct journal_gate g;
	struct journal_run r;
	struct journal_exec e;
	int i, rc;

	(void)arg;
	memset(&s, 0, sizeof(s));
	s.state = JS_DONE;
	s.run = 1;
	s.attempts = 1;
	s.elapsed = 0.25;
	s.exit_status = 0;
	snprintf(s.warnings, sizeof(s.warnings), "cannot set vm.swappiness");
	if ((rc = journal_step_put(t, "rollout", "prepare", "test1", "kernel", &s)) != 0)
		return rc;
	s.state = JS_FAILED;
	s.exit_status = 1;
	snprintf(s.reason, sizeof(s.reason), "exit 1: missing: kubelet");
	if ((rc = journal_step_put(t, "rollout", "prepare", "test2", "binaries", &s)) != 0)
		return rc;
	memset(&g, 0, sizeof(g));
	g.state = JS_FAILED;
	snprintf(g.reason, sizeof(g.reason), "2 of 3 etcd members healthy");
	snprintf(g.nodes, sizeof(g.nodes), "test3: https://x/health: refused\n");
	if ((rc = journal_gate_put(t, "rollout", "etcd", &g)) != 0)
		return rc;
	memset(&r, 0, sizeof(r));
	r.id = 7;
	r.state = JS_RUNNING;
	r.pid = 1;
	if ((rc = journal_run_put(t, "rollout", &r)) != 0)
		return rc;
	for (i = 0; i < 3; i++) {
		memset(&e, 0, sizeof(e));
		e.run = 7;
		snprintf(e.phase, sizeof(e.phase), "etcd");
		snprintf(e.node, sizeof(e.node), "test%d", i + 1);
		snprintf(e.step, sizeof(e.step), "etcd");
		e.exit_status = i;
		buf_set(&e.cmd, "sh -c 'x'", 9);
		buf_set(&e.out, "out", 3);
		if ((rc = journal_exec_append(t, &e)) != 0)
			return rc;
		assert_int_equal(e.seq, (uint64_t)i + 1);
		journal_exec_free(&e);
	}
	return journal_hostkey_put(t, "test1", "ssh-ed25519 AAAA");
}

struct seen {
	int n;
	uint64_t last;
};

static int
exec_cb(void *arg, const struct journal_exec *e)
{
	struct seen *s = arg;

	assert_true(e->seq > s->last);
	s->last = e->seq;
	assert_int_equal(e->exit_status, s->n);
	assert_string_equal((char *)e->out.data, "out");
	s->n++;
	return 0;
}

static int
journal_read(struct store_txn *t, void *arg)
{
	struct journal_step s;
	struct journal_gate g;
	struct journal_run r;
	struct seen sn = { 0, 0 };
	char line[64];

	(void)arg;
	assert_int_equal(journal_step_get(t, "rollout", "prepare", "test1", "kernel", &s), 0);
	assert_int_equal(s.state, JS_DONE);
	assert_string_equal(s.warnings, "cannot set vm.swappiness");
	assert_true(s.elapsed > 0.2 && s.elapsed < 0.3);
	assert_int_equal(journal_step_get(t, "rollout", "prepare", "test3", "kernel", &s), 0);
	assert_int_equal(s.state, JS_PENDING);
	assert_int_equal(s.exit_status, -1);
	assert_int_equal(journal_gate_get(t, "rollout", "etcd", &g), 0);
	assert_int_equal(g.state, JS_FAILED);
	assert_int_equal(journal_gate_get(t, "rollout", "ha", &g), 0);
	assert_int_equal(g.state, JS_PENDING);
	assert_int_equal(journal_run_get(t, "rollout", &r), 0);
	assert_int_equal(r.id, 7);
	assert_int_equal(journal_exec_foreach(t, exec_cb, &sn), 0);
	assert_int_equal(sn.n, 3);
	assert_int_equal(journal_hostkey_get(t, "test1", line, sizeof(line)), 0);
	assert_string_equal(line, "ssh-ed25519 AAAA");
	assert_int_equal(journal_hostkey_get(t, "test2", line, sizeof(line)),
	    SLW_ERR_NOTFOUND);
	return 0;
}

static const char *
node_field(const cJSON *root, const char *phase, const char *node,
    const char *field)
{
	const cJSON *ph, *n;

	cJSON_ArrayForEach(ph, cJSON_GetObjectItem(cJSON_GetObjectItem(root,
	    "rollout"), "phases")) {
		if (strcmp(cJSON_GetObjectItem(ph, "phase")->valuestring, phase))
			continue;
		cJSON_ArrayForEach(n, cJSON_GetObjectItem(ph, "nodes"))
			if (strcmp(cJSON_GetObjectItem(n, "node")->valuestring,
			    node) == 0) {
				const cJSON *v = cJSON_GetObjectItem(n, field);

				return cJSON_IsString(v) ? v->valuestring : "";
			}
	}
	return NULL;
}

static const char *
phase_field(const cJSON *root, const char *phase, const char *field)
{
	const cJSON *ph;

	cJSON_ArrayForEach(ph, cJSON_GetObjectItem(cJSON_GetObjectItem(root,
	    "rollout"), "phases"))
		if (strcmp(cJSON_GetObjectItem(ph, "phase")->valuestring,
		    phase) == 0)
			return cJSON_GetObjectItem(ph, field)->valuestring;
	return NULL;
}

struct status_arg {
	struct inventory *inv;
	cJSON *root;
};

static int
status_txn(struct store_txn *t, void *arg)
{
	struct status_arg *a = arg;

	return rollout_status_json(t, a->inv, state, a->root);
}

/* The command log is a ring: the last JOURNAL_EXEC_KEEP records, in order. */
static int
ring_write(struct store_txn *t, void *arg)
{
	struct journal_exec e;
	size_t i, n = *(size_t *)arg;
	int rc;

	for (i = 0; i < n; i++) {
		memset(&e, 0, sizeof(e));
		e.exit_status = (int)(i % 256);
		snprintf(e.step, sizeof(e.step), "s");
		if ((rc = journal_exec_append(t, &e)) != 0)
			return rc;
		journal_exec_free(&e);
	}
	return 0;
}

struct ring_seen {
	size_t n;
	uint64_t first, last;
};

static int
ring_cb(void *arg, const struct journal_exec *e)
{
	struct ring_seen *s = arg;

	if (s->n == 0)
		s->first = e->seq;
	else
		assert_int_equal(e->seq, s->last + 1);
	s->last = e->seq;
	s->n++;
	return 0;
}

static int
ring_read(struct store_txn *t, void *arg)
{
	return journal_exec_foreach(t, ring_cb, arg);
}

static void
test_exec_log_ring(void **st)
{
	struct store *s = new_store();
	struct ring_seen seen;
	size_t n = JOURNAL_EXEC_KEEP - 5;

	(void)st;
	assert_int_equal(store_write(s, ring_write, &n, NULL), 0);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_read(s, ring_read, &seen, NULL), 0);
	assert_int_equal(seen.n, JOURNAL_EXEC_KEEP - 5);	/* under the cap: all */
	assert_int_equal(seen.first, 1);
	n = 12;		/* two transactions past the cap */
	assert_int_equal(store_write(s, ring_write, &n, NULL), 0);
	n = 3;
	assert_int_equal(store_write(s, ring_write, &n, NULL), 0);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_read(s, ring_read, &seen, NULL), 0);
	assert_int_equal(seen.n, JOURNAL_EXEC_KEEP);
	assert_int_equal(seen.last, JOURNAL_EXEC_KEEP + 10);
	assert_int_equal(seen.first, 11);
	store_close(s);
}

static void
test_journal_and_status(void **st)
{
	struct store *s = new_store();
	struct slw_diag d;
	struct status_arg a;
	const char *v;

	(void)st;
	slw_diag_clear(&d);
	assert_int_equal(store_write(s, journal_write, NULL, &d), 0);
	assert_int_equal(store_read(s, journal_read, NULL, &d), 0);
	a.inv = seed_inv();
	a.root = cJSON_CreateObject();
	assert_int_equal(store_read(s, status_txn, &a, &d), 0);
	/* A failed step fails its node with the step's reason. */
	assert_string_equal(node_field(a.root, "prepare", "test2", "state"),
	    "failed");
	v = node_field(a.root, "prepare", "test2", "reason");
	assert_non_null(strstr(v, "binaries: exit 1: missing: kubelet"));
	/* Steps not run: pending. */
	assert_string_equal(node_field(a.root, "ha", "test1", "state"),
	    "pending");
	/* The run is RUNNING but nobody holds the lock: interrupted. */
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(a.root, "rollout"), "run"), "state")->valuestring,
	    "interrupted");
	cJSON_Delete(a.root);
	inventory_free(a.inv);
	store_close(s);
}

static int
status_gate_write(struct store_txn *t, void *arg)
{
	static const char *const steps[] = { "bundle", "etcd" };
	struct journal_step s;
	size_t i;
	int n, rc;

	(void)arg;
	memset(&s, 0, sizeof(s));
	for (n = 1; n <= 3; n++)
		for (i = 0; i < 2; i++) {
			char node[8];

			snprintf(node, sizeof(node), "test%d", n);
			s.state = n == 1 && i == 1 ? JS_RUNNING : JS_DONE;
			s.run = 2;
			if ((rc = journal_step_put(t, "rollout", "etcd", node, steps[i], &s)) != 0)
				return rc;
		}
	return 0;
}

static void
test_status_gate_and_interrupted(void **st)
{
	struct store *s = new_store();
	struct slw_diag d;
	struct status_arg a;

	(void)st;
	slw_diag_clear(&d);
	assert_int_equal(store_write(s, journal_write, NULL, &d), 0);
	assert_int_equal(store_write(s, status_gate_write, NULL, &d), 0);
	a.inv = seed_inv();
	a.root = cJSON_CreateObject();
	assert_int_equal(store_read(s, status_txn, &a, &d), 0);
	/* test1's etcd step was running when its run died. */
	assert_string_equal(node_field(a.root, "etcd", "test1", "state"),
	    "failed");
	assert_non_null(strstr(node_field(a.root, "etcd", "test1", "reason"),
	    "interrupted"));
	/* test3: steps done, but the gate names it. */
	assert_string_equal(node_field(a.root, "etcd", "test3", "state"),
	    "failed");
	assert_non_null(strstr(node_field(a.root, "etcd", "test3", "reason"),
	    "gate: https://x/health: refused"));
	/* test2: steps done; the gate failed for another node. */
	assert_string_equal(node_field(a.root, "etcd", "test2", "state"),
	    "done");
	assert_string_equal(phase_field(a.root, "etcd", "state"), "failed");
	/* Nothing of the HA phase ran: pending. */
	assert_string_equal(phase_field(a.root, "ha", "state"), "pending");
	cJSON_Delete(a.root);
	inventory_free(a.inv);
	store_close(s);
}

static void
test_lock(void **st)
{
	struct slw_diag d;
	int fd1 = -1, fd2 = -1, fd3 = -1;

	(void)st;
	assert_int_equal(mkdir(state, 0700), 0);
	assert_false(journal_lock_held(state));
	slw_diag_clear(&d);
	assert_int_equal(journal_lock_take(state, "test", &fd1, &d), 0);
	assert_true(journal_lock_held(state));
	assert_int_equal(journal_lock_take(state, "test", &fd2, &d), SLW_ERR_BUSY);
	assert_non_null(strstr(d.msg, "in progress"));
	close(fd1);
	assert_false(journal_lock_held(state));
	assert_int_equal(journal_lock_take(state, "test", &fd3, &d), 0);
	close(fd3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phases),
		cmocka_unit_test(test_plan_seed),
		cmocka_unit_test(test_plan_split_roles),
		cmocka_unit_test(test_scripts_parse),
		cmocka_unit_test(test_binaries_versions),
		cmocka_unit_test(test_redact),
		cmocka_unit_test_setup_teardown(test_journal_and_status, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_status_gate_and_interrupted,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec_log_ring, setup,
		    teardown),
	};

	slw_crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
