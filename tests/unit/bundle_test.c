// SPDX-License-Identifier: Apache-2.0
/*
 * bundle_test.c: node bundles: each role gets exactly its files with the
 * right owners and modes; no CA private key in any bundle in the default
 * mode (every CA generation's key searched for as DER, PEM, raw scalar and
 * inside base64), and only the kubernetes CA key on masters in signingMode
 * controller-manager; rendering twice changes only keys, certificates and
 * what embeds them; every certificate verifies against its CA for its
 * purpose, the apiserver's has every seed SAN; per-node etcd ports; HA
 * roles; encryption providers; bad input gives one error and no bundle;
 * the tar.gz unpacks with tar into the same files and modes; recording.
 */
#define _XOPEN_SOURCE 700
#include "testutil.h"

#include "artifact.h"
#include "audit.h"
#include "bundle.h"
#include "bundle_units.h"
#include "ca.h"
#include "certdb.h"
#include "chain.h"
#include "crl.h"
#include "cli.h"
#include "cluster.h"
#include "identity.h"
#include "keyset.h"
#include "kubeconfig.h"
#include "pem.h"
#include "signing.h"

#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <mbedtls/base64.h>
#include <mbedtls/ecp.h>

#define TOKEN "abcdef.0123456789abcdef"

/* One initialised state with everything rendering needs. */
struct cluster {
	char state[4200];
	struct store *s;
	struct inventory *inv;
	struct signing *sg;
	struct buf sa, enc, ca_key;
	struct buf crl;		/* the etcd CA's CRL, DER */
};

static char *dir;
static struct cluster seed, mixed, cm;

static const char mixed_yaml[] =
    "apiVersion: slipway/v1\nkind: Cluster\n"
    "cluster: {name: mixed, kubernetesVersion: v1.36.0}\n"
    "network: {proxyMode: iptables}\n"
    "apiserver: {vip: 10.9.0.100, vipPort: 8443, vipInterface: ens3}\n"
    "security: {encryptionProvider: aescbc}\n"
    "nodes:\n"
    "  - {name: m1, ip: 10.9.0.1, roles: [etcd, master]}\n"
    "  - {name: m2, ip: 10.9.0.2, roles: [etcd, master]}\n"
    "  - {name: m3, ip: 10.9.0.3, roles: [master, worker]}\n"
    "  - {name: e1, ip: 10.9.0.4, roles: [etcd], etcdClientPort: 12379,"
    " etcdPeerPort: 12380}\n"
    "  - {name: w1, ip: 10.9.0.5, roles: [worker]}\n"
    "  - {name: w2, ip: 10.9.0.6, roles: [worker]}\n";

static const char cm_yaml[] =
    "apiVersion: slipway/v1\nkind: Cluster\n"
    "cluster: {name: seedmode, kubernetesVersion: v1.35.2}\n"
    "apiserver: {vip: 10.8.0.100}\n"
    "security: {signingMode: controller-manager}\n"
    "nodes:\n"
    "  - {name: a, ip: 10.8.0.1, roles: [etcd, master, worker]}\n"
    "  - {name: b, ip: 10.8.0.2, roles: [etcd, master, worker]}\n"
    "  - {name: c, ip: 10.8.0.3, roles: [etcd, worker]}\n"
    "  - {name: d, ip: 10.8.0.4, roles: [worker]}\n";

struct sec_arg {
	struct cluster *c;
};

static int
secrets_txn(struct store_txn *t, void *arg)
{
	struct cluster *c = ((struct sec_arg *)arg)->c;
	struct signer *sg = NULL;
	char name[CA_NAME_MAX];
	uint32_t gen;
	int r;

	if ((r = store_secret_get(t, "service-account-key", &c->sa)) != 0 ||
	    (r = store_secret_get(t, "encryption-key", &c->enc)) != 0)
		return r;
	if (c->inv->signing_mode != SIGNING_CONTROLLER_MANAGER)
		return 0;
	if ((r = ca_signer(t, CA_KUBERNETES, 0, &sg, &gen, name)) != 0)
		return r;
	r = key_write_pem(sg->key, &c->ca_key);
	signer_free(sg);
	return r;
}

static void
cluster_up(struct cluster *c, const char *name, const char *yaml_path,
    int single)
{
	char *argv[] = { "init", "--cluster", (char *)yaml_path, NULL, NULL };
	struct store_opts o;
	struct slw_diag d;
	struct cli cl;
	struct sec_arg a = { c };
	FILE *saved;
	int r;

	snprintf(c->state, sizeof(c->state), "%s/%s", dir, name);
	if (single)
		argv[3] = "--single-ca";
	memset(&cl, 0, sizeof(cl));
	cl.state = c->state;
	cl.cmdname = "init";
	cl.argv = argv;
	cl.argc = single ? 4 : 3;
	saved = stdout;
	stdout = fopen("/dev/null", "w");
	r = cmd_init(&cl);
	fclose(stdout);
	stdout = saved;
	assert_int_equal(r, 0);
	memset(&o, 0, sizeof(o));
	o.need_kek = 1;
	slw_diag_clear(&d);
	assert_int_equal(store_open(c->state, &o, &c->s, &d), 0);
	assert_int_equal(cluster_load(c->s, &c->inv, &d), 0);
	assert_int_equal(signing_local_new(c->s, &c->sg, &d), 0);
	assert_int_equal(store_read(c->s, secrets_txn, &a, &d), 0);
	assert_int_equal(signing_crl_der(c->s, CA_ETCD, slw_now(), "test",
	    &c->crl, &d), 0);
}

static void
cluster_down(struct cluster *c)
{
	buf_free(&c->sa);
	buf_free(&c->enc);
	buf_free(&c->ca_key);
	buf_free(&c->crl);
	signing_free(c->sg);
	inventory_free(c->inv);
	store_close(c->s);
	memset(c, 0, sizeof(*c));
}

static int
setup(void **st)
{
	char path[4200];

	(void)st;
	dir = tu_tmpdir();
	cluster_up(&seed, "seed", SLW_EXAMPLES_DIR "/seed-cluster.yaml", 0);
	snprintf(path, sizeof(path), "%s/mixed.yaml", dir);
	tu_write(path, mixed_yaml, strlen(mixed_yaml));
	cluster_up(&mixed, "mixed", path, 0);
	snprintf(path, sizeof(path), "%s/cm.yaml", dir);
	tu_write(path, cm_yaml, strlen(cm_yaml));
	cluster_up(&cm, "cm", path, 1);
	return 0;
}

static int
teardown(void **st)
{
	(void)st;
	cluster_down(&seed);
	cluster_down(&mixed);
	cluster_down(&cm);
	tu_rmrf(dir);
	free(dir);
	return 0;
}

static void
input_for(struct cluster *c, const char *node, struct bundle_input *in)
{
	const struct inv_node *n = inventory_node(c->inv, node);

	assert_non_null(n);
	memset(in, 0, sizeof(*in));
	in->inv = c->inv;
	in->node = n;
	in->sg = c->sg;
	in->kubelet_token = TOKEN;
	if (n->roles & ROLE_ETCD)
		in->etcd_crl = &c->crl;
	if (n->roles & ROLE_MASTER) {
		in->sa_key = &c->sa;
		in->enc_key = &c->enc;
		if (c->inv->signing_mode == SIGNING_CONTROLLER_MANAGER)
			in->seed_ca_key = &c->ca_key;
	}
}

static struct bundle *
render(struct cluster *c, const char *node)
{
	struct bundle_input in;
	struct bundle *b = NULL;
	struct slw_diag d;
	int r;

	input_for(c, node, &in);
	slw_diag_clear(&d);
	if ((r = bundle_render(&in, &b, &d)) != 0)
		fail_msg("render %s: %s", node, slw_diag_str(&d, r));
	assert_non_null(b);
	return b;
}

static const char *const node_files[] = {
	"/etc/cni/net.d/10-flannel.conflist",
	"/etc/containerd/config.toml",
	"/etc/flanneld/cert/etcd-ca.pem",
	"/etc/flanneld/cert/flanneld-key.pem",
	"/etc/flanneld/cert/flanneld.pem",
	"/etc/flanneld/net-conf.json",
	"/etc/kubernetes/cert/ca.pem",
	"/etc/kubernetes/kube-proxy.config.yaml",
	"/etc/kubernetes/kube-proxy.kubeconfig",
	"/etc/kubernetes/kubelet-bootstrap.kubeconfig",
	"/etc/kubernetes/kubelet.config.json",
	"/etc/slipway/install.sh",
	"/etc/slipway/node-key.pem",
	"/etc/slipway/node.pem",
	"/etc/systemd/system/containerd.service",
	"/etc/systemd/system/flanneld.service",
	"/etc/systemd/system/kube-proxy.service",
	"/etc/systemd/system/kubelet.service",
	NULL,
};

static const char *const etcd_files[] = {
	"/etc/etcd/cert/ca.pem",
	"/etc/etcd/cert/crl.der",
	"/etc/etcd/cert/etcd-client-key.pem",
	"/etc/etcd/cert/etcd-client.pem",
	"/etc/etcd/cert/etcd-key.pem",
	"/etc/etcd/cert/etcd.pem",
	"/etc/systemd/system/etcd.service",
	NULL,
};

static const char *const master_files[] = {
	"/etc/haproxy/haproxy.cfg",
	"/etc/keepalived/keepalived.conf",
	"/etc/kubernetes/audit-policy.yaml",
	"/etc/kubernetes/authentication-config.yaml",
	"/etc/kubernetes/cert/apiserver-etcd-client-key.pem",
	"/etc/kubernetes/cert/apiserver-etcd-client.pem",
	"/etc/kubernetes/cert/apiserver-kubelet-client-key.pem",
	"/etc/kubernetes/cert/apiserver-kubelet-client.pem",
	"/etc/kubernetes/cert/etcd-ca.pem",
	"/etc/kubernetes/cert/front-proxy-ca.pem",
	"/etc/kubernetes/cert/front-proxy-client-key.pem",
	"/etc/kubernetes/cert/front-proxy-client.pem",
	"/etc/kubernetes/cert/kube-controller-manager-key.pem",
	"/etc/kubernetes/cert/kube-controller-manager.pem",
	"/etc/kubernetes/cert/kube-scheduler-key.pem",
	"/etc/kubernetes/cert/kube-scheduler.pem",
	"/etc/kubernetes/cert/kubernetes-key.pem",
	"/etc/kubernetes/cert/kubernetes.pem",
	"/etc/kubernetes/cert/sa.key",
	"/etc/kubernetes/cert/sa.pub",
	"/etc/kubernetes/encryption-config.yaml",
	"/etc/kubernetes/kube-controller-manager.kubeconfig",
	"/etc/kubernetes/kube-scheduler.config.yaml",
	"/etc/kubernetes/kube-scheduler.kubeconfig",
	"/etc/systemd/system/kube-apiserver.service",
	"/etc/systemd/system/kube-controller-manager.service",
	"/etc/systemd/system/kube-scheduler.service",
	NULL,
};

static const char *const seed_mode_files[] = {
	"/etc/kubernetes/cert/ca-key.pem",
	"/etc/kubernetes/cert/cluster-signing-ca.pem",
	NULL,
};

static int
in_list(const char *const *l, const char *p)
{
	for (; l != NULL && *l != NULL; l++)
		if (strcmp(*l, p) == 0)
			return 1;
	return 0;
}

static size_t
list_len(const char *const *l)
{
	size_t n = 0;

	while (l != NULL && l[n] != NULL)
		n++;
	return n;
}

/* b has exactly the union of the lists. */
static void
expect_files(const struct bundle *b, const char *const *l1,
    const char *const *l2, const char *const *l3, const char *const *l4)
{
	const char *const *ls[] = { l1, l2, l3, l4 };
	size_t i, k, want = 0;

	for (k = 0; k < 4; k++) {
		want += list_len(ls[k]);
		for (i = 0; ls[k] != NULL && ls[k][i] != NULL; i++)
			if (bundle_find(b, ls[k][i]) == NULL)
				fail_msg("%s: missing %s", b->node, ls[k][i]);
	}
	for (i = 0; i < b->n_files; i++) {
		const char *p = b->files[i].path;

		if (!in_list(l1, p) && !in_list(l2, p) && !in_list(l3, p) &&
		    !in_list(l4, p))
			fail_msg("%s: unexpected file %s", b->node, p);
		if (i > 0)	/* sorted, stable */
			assert_true(strcmp(b->files[i - 1].path, p) < 0);
	}
	assert_int_equal(b->n_files, want);
}

static int
is_keyish(const char *p)
{
	size_t n = strlen(p);

	return (n > 8 && strcmp(p + n - 8, "-key.pem") == 0) ||
	    (n > 4 && strcmp(p + n - 4, ".key") == 0) ||
	    (n > 11 && strcmp(p + n - 11, ".kubeconfig") == 0) ||
	    strstr(p, "encryption-config") != NULL;
}

static void
expect_modes(const struct bundle *b)
{
	size_t i;

	for (i = 0; i < b->n_files; i++) {
		const struct bundle_file *f = &b->files[i];

		if (is_keyish(f->path)) {
			if (f->mode != 0600 || !f->secret)
				fail_msg("%s: %s mode %o secret %d", b->node, f->path,
				    f->mode, f->secret);
		} else if (strcmp(f->path, "/etc/slipway/install.sh") == 0)
			assert_int_equal(f->mode, 0755);
		else if (f->mode != 0644 || f->secret)
			fail_msg("%s: %s mode %o secret %d", b->node, f->path,
			    f->mode, f->secret);
		/* etcd and the control plane run as k8s (the seed's user) */
		if (strncmp(f->path, "/etc/etcd/cert/etcd.", 20) == 0 ||
		    strncmp(f->path, "/etc/etcd/cert/etcd-key", 23) == 0 ||
		    strstr(f->path, "kubernetes-key") != NULL ||
		    strstr(f->path, "encryption-config") != NULL ||
		    strstr(f->path, "kube-scheduler.kubeconfig") != NULL ||
		    strstr(f->path, "sa.key") != NULL)
			assert_string_equal(f->owner, "k8s");
		/* kubelet, kube-proxy and flanneld run as root */
		if ((strstr(f->path, "/kubelet") != NULL ||
		    strstr(f->path, "/kube-proxy") != NULL ||
		    strstr(f->path, "flanneld") != NULL ||
		    strstr(f->path, "/systemd/") != NULL) &&
		    strcmp(f->owner, "root") != 0)
			fail_msg("%s: %s owned by %s", b->node, f->path, f->owner);
	}
}

static void
test_files_per_role(void **st)
{
	struct bundle *b;

	(void)st;
	/* the seed: every node is an etcd member, a master and a worker */
	b = render(&seed, "test2");
	expect_files(b, node_files, etcd_files, master_files, NULL);
	expect_modes(b);
	assert_int_equal(b->n_certs, 11);
	bundle_free(b);
	b = render(&mixed, "m1");	/* etcd + master */
	expect_files(b, node_files, etcd_files, master_files, NULL);
	expect_modes(b);
	bundle_free(b);
	b = render(&mixed, "m3");	/* master + worker */
	expect_files(b, node_files, master_files, NULL, NULL);
	expect_modes(b);
	assert_int_equal(b->n_certs, 9);
	bundle_free(b);
	b = render(&mixed, "e1");	/* etcd only */
	expect_files(b, node_files, etcd_files, NULL, NULL);
	expect_modes(b);
	assert_int_equal(b->n_certs, 5);
	bundle_free(b);
	b = render(&mixed, "w1");	/* a worker: no etcd, no apiserver */
	expect_files(b, node_files, NULL, NULL, NULL);
	expect_modes(b);
	assert_int_equal(b->n_certs, 3);
	bundle_free(b);
	b = render(&cm, "a");		/* the seed's signing mode */
	expect_files(b, node_files, etcd_files, master_files, seed_mode_files);
	expect_modes(b);
	bundle_free(b);
	b = render(&cm, "c");
	expect_files(b, node_files, etcd_files, NULL, NULL);
	bundle_free(b);
}

/* Every base64 run (>= 32 chars) of f, decoded, is scanned too. */
static int
contains(const struct buf *f, const uint8_t *n, size_t nl)
{
	const uint8_t *p = f->data, *end = f->data + f->len;
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
	    "tuvwxyz0123456789+/=";

	if (tu_memmem(f->data, f->len, n, nl) != NULL)
		return 1;
	while (p < end) {
		const uint8_t *q = p;

		while (q < end && *q != '\0' && strchr(b64, *q) != NULL)
			q++;
		if (q - p >= 32) {
			unsigned char *out = malloc((size_t)(q - p));
			size_t ol = 0;
			int hit = 0;

			assert_non_null(out);
			if (mbedtls_base64_decode(out, (size_t)(q - p), &ol, p,
			    (size_t)(q - p)) == 0)
				hit = tu_memmem(out, ol, n, nl) != NULL;
			free(out);
			if (hit)
				return 1;
		}
		p = q + 1;
	}
	return 0;
}

struct needle {
	struct buf der, pem, raw;
	char name[CA_NAME_MAX];
};

struct needles {
	struct needle n[16];
	size_t count;
};

static int
ca_key_cb(void *arg, const struct ca_rec *rec)
{
	struct needles *ns = arg;

	if (ns->count < 16) {
		snprintf(ns->n[ns->count].name, CA_NAME_MAX, "%s", rec->name);
		ns->n[ns->count++].raw.len = rec->gen;	/* fetched below */
	}
	return 0;
}

static int
needles_txn(struct store_txn *t, void *arg)
{
	struct needles *ns = arg;
	size_t i;
	int r;

	if ((r = ca_foreach(t, ca_key_cb, ns)) != 0)
		return r;
	for (i = 0; i < ns->count; i++) {
		struct needle *nd = &ns->n[i];
		uint32_t gen = (uint32_t)nd->raw.len, got;
		struct signer *sg = NULL;
		char name[CA_NAME_MAX];
		mbedtls_mpi d;
		uint8_t raw[66];
		size_t rl;

		nd->raw.len = 0;
		if ((r = ca_signer(t, nd->name, gen, &sg, &got, name)) != 0)
			return r;
		r = key_write_der(sg->key, &nd->der);
		if (r == 0)
			r = key_write_pem(sg->key, &nd->pem);
		if (r == 0 && sg->key->type == KEY_EC_P256) {
			mbedtls_mpi_init(&d);
			rl = 32;
			if (mbedtls_ecp_export(mbedtls_pk_ec(sg->key->pk), NULL, &d,
			    NULL) != 0 || mbedtls_mpi_write_binary(&d, raw, rl) != 0)
				r = SLW_ERR_CRYPTO;
			else
				r = buf_set(&nd->raw, raw, rl);
			mbedtls_mpi_free(&d);
		}
		signer_free(sg);
		if (r != 0)
			return r;
	}
	return 0;
}

static void
needles_free(struct needles *ns)
{
	size_t i;

	for (i = 0; i < ns->count; i++) {
		buf_free(&ns->n[i].der);
		buf_free(&ns->n[i].pem);
		buf_free(&ns->n[i].raw);
	}
}

/* Returns the CA name whose key appears in b, NULL if none. */
static const char *
find_ca_key(const struct bundle *b, const struct needles *ns,
    const char **where)
{
	size_t i, k;

	for (i = 0; i < b->n_files; i++)
		for (k = 0; k < ns->count; k++) {
			const struct needle *nd = &ns->n[k];

			/* the PEM minus its armour lines, and the DER */
			if (contains(&b->files[i].data, nd->der.data, nd->der.len) ||
			    contains(&b->files[i].data, nd->pem.data + 32, 40) ||
			    (nd->raw.len > 0 && contains(&b->files[i].data,
			    nd->raw.data, nd->raw.len))) {
				*where = b->files[i].path;
				return nd->name;
			}
		}
	return NULL;
}

static void
test_no_ca_key(void **st)
{
	static const char *const seed_nodes[] = { "test1", "test2", "test3" };
	static const char *const mixed_nodes[] = { "m1", "m2", "m3", "e1",
	    "w1", "w2" };
	struct needles ns;
	struct slw_diag d;
	const char *hit, *where = NULL;
	size_t i;
	struct bundle *b;

	(void)st;
	memset(&ns, 0, sizeof(ns));
	slw_diag_clear(&d);
	assert_int_equal(store_read(seed.s, needles_txn, &ns, &d), 0);
	assert_int_equal(ns.count, 3);	/* kubernetes, etcd, front-proxy */
	for (i = 0; i < 3; i++) {
		b = render(&seed, seed_nodes[i]);
		if ((hit = find_ca_key(b, &ns, &where)) != NULL)
			fail_msg("%s: CA key %s in %s", b->node, hit, where);
		bundle_free(b);
	}
	needles_free(&ns);
	memset(&ns, 0, sizeof(ns));
	assert_int_equal(store_read(mixed.s, needles_txn, &ns, &d), 0);
	for (i = 0; i < 6; i++) {
		b = render(&mixed, mixed_nodes[i]);
		if ((hit = find_ca_key(b, &ns, &where)) != NULL)
			fail_msg("%s: CA key %s in %s", b->node, hit, where);
		bundle_free(b);
	}
	needles_free(&ns);

	/* positive control: the seed's mode puts the kubernetes CA key on
	 * masters (the scan finds it), and only there */
	memset(&ns, 0, sizeof(ns));
	assert_int_equal(store_read(cm.s, needles_txn, &ns, &d), 0);
	assert_int_equal(ns.count, 1);	/* --single-ca */
	b = render(&cm, "a");
	hit = find_ca_key(b, &ns, &where);
	assert_non_null(hit);
	assert_string_equal(hit, CA_KUBERNETES);
	assert_string_equal(where, "/etc/kubernetes/cert/ca-key.pem");
	bundle_free(b);
	b = render(&cm, "c");
	assert_null(find_ca_key(b, &ns, &where));
	bundle_free(b);
	b = render(&cm, "d");
	assert_null(find_ca_key(b, &ns, &where));
	bundle_free(b);
	needles_free(&ns);
}

static const char *
text(const struct bundle *b, const char *path)
{
	const struct bundle_file *f = bundle_find(b, path);

	if (f == NULL)
		fail_msg("%s: no %s", b->node, path);
	return (const char *)f->data.data;
}

static void
test_controller_manager_modes(void **st)
{
	struct bundle_input in;
	struct bundle *b;
	struct slw_diag d;
	const char *u;

	(void)st;
	b = render(&seed, "test1");
	u = text(b, "/etc/systemd/system/kube-controller-manager.service");
	assert_non_null(strstr(u, "--controllers=*,bootstrap-signer-controller,"
	    "token-cleaner-controller,-certificatesigningrequest-signing-"
	    "controller,-certificatesigningrequest-approving-controller"));
	assert_null(strstr(u, "cluster-signing"));
	assert_null(strstr(u, "ca-key"));
	bundle_free(b);

	b = render(&cm, "b");
	u = text(b, "/etc/systemd/system/kube-controller-manager.service");
	assert_non_null(strstr(u, "--controllers=*,bootstrap-signer-controller,"
	    "token-cleaner-controller \\\n"));
	assert_non_null(strstr(u, "--cluster-signing-cert-file=/etc/kubernetes/"
	    "cert/cluster-signing-ca.pem"));
	assert_non_null(strstr(u, "--cluster-signing-key-file=/etc/kubernetes/"
	    "cert/ca-key.pem"));
	assert_non_null(strstr(u, "--cluster-signing-duration=8760h"));
	/* exactly one certificate: the one that matches the key */
	u = text(b, "/etc/kubernetes/cert/cluster-signing-ca.pem");
	assert_null(strstr(strstr(u, "END CERTIFICATE") + 1, "BEGIN"));
	bundle_free(b);

	/* a CA key handed to the renderer in the default mode is refused */
	input_for(&seed, "test1", &in);
	in.seed_ca_key = &seed.sa;
	slw_diag_clear(&d);
	b = (struct bundle *)&d;
	assert_int_equal(bundle_render(&in, &b, &d), SLW_ERR_INVALID);
	assert_null(b);
	/* ... and the seed's mode without it too */
	input_for(&cm, "a", &in);
	in.seed_ca_key = NULL;
	assert_int_equal(bundle_render(&in, &b, &d), SLW_ERR_INVALID);
	assert_null(b);
}

/* Kubeconfig text with the client certificate and key lines removed. */
static void
mask(const struct bundle_file *f, struct buf *out)
{
	const char *p = (const char *)f->data.data, *nl;

	assert_int_equal(buf_set(out, "", 0), 0);
	for (; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		if (strstr(p, "client-certificate-data:") != p + 4 &&
		    strstr(p, "client-key-data:") != p + 4)
			assert_int_equal(buf_append(out, p, (size_t)(nl - p + 1)), 0);
		else if (nl - p > 200)	/* there is something there */
			continue;
		else
			fail_msg("%s: short credential line", f->path);
	}
}

static void
test_deterministic(void **st)
{
	static const char *const nodes[] = { "test1", "w1", "e1", "b" };
	struct cluster *cs[] = { &seed, &mixed, &mixed, &cm };
	size_t k, i;

	(void)st;
	for (k = 0; k < 4; k++) {
		struct bundle *a = render(cs[k], nodes[k]);
		struct bundle *b = render(cs[k], nodes[k]);

		assert_int_equal(a->n_files, b->n_files);
		for (i = 0; i < a->n_files; i++) {
			const struct bundle_file *x = &a->files[i], *y = &b->files[i];
			size_t n = strlen(x->path);
			int fresh;

			assert_string_equal(x->path, y->path);
			assert_int_equal(x->mode, y->mode);
			assert_string_equal(x->owner, y->owner);
			/* fresh per render: node keys and their certificates */
			fresh = (n > 8 && strcmp(x->path + n - 8, "-key.pem") == 0 &&
			    strstr(x->path, "ca-key") == NULL) ||
			    (n > 4 && strcmp(x->path + n - 4, ".pem") == 0 &&
			    strstr(x->path, "ca.pem") == NULL &&
			    strstr(x->path, "ca-key") == NULL &&
			    strstr(x->path, "signing-ca") == NULL);
			if (fresh) {
				assert_true(x->data.len != y->data.len ||
				    memcmp(x->data.data, y->data.data, x->data.len) != 0);
			} else if (n > 11 && strcmp(x->path + n - 11, ".kubeconfig") ==
			    0 && strstr(x->path, "bootstrap") == NULL) {
				struct buf mx = { 0 }, my = { 0 };

				mask(x, &mx);
				mask(y, &my);
				assert_int_equal(mx.len, my.len);
				assert_memory_equal(mx.data, my.data, mx.len);
				buf_free(&mx);
				buf_free(&my);
			} else {
				/* everything else: byte for byte (the SA key and
				 * the encryption key are the cluster's, kept
				 * sealed; the token is the caller's) */
				if (x->data.len != y->data.len ||
				    memcmp(x->data.data, y->data.data, x->data.len) != 0)
					fail_msg("%s: %s differs between renders",
					    a->node, x->path);
			}
		}
		bundle_free(a);
		bundle_free(b);
	}
}

static void
load_trust(struct cluster *c, const char *role, mbedtls_x509_crt *trust)
{
	struct buf pem = { 0 };

	mbedtls_x509_crt_init(trust);
	assert_int_equal(signing_trust_pem(c->sg, role, &pem), 0);
	assert_int_equal(chain_trust_parse(pem.data, pem.len, trust, NULL), 0);
	buf_free(&pem);
}

static void
expect_verify(const struct bundle *b, const char *path,
    mbedtls_x509_crt *trust, enum purpose p, mbedtls_x509_crt *wrong)
{
	const struct bundle_file *f = bundle_find(b, path);
	struct slw_diag d;
	int r;

	if (f == NULL)
		fail_msg("%s: no %s", b->node, path);
	slw_diag_clear(&d);
	if ((r = chain_verify(f->data.data, f->data.len, trust, p, &d)) != 0)
		fail_msg("%s: %s: %s", b->node, path, slw_diag_str(&d, r));
	if (wrong != NULL)
		assert_int_not_equal(chain_verify(f->data.data, f->data.len,
		    wrong, PURPOSE_ANY, NULL), 0);
}

static void
sans_of(const struct bundle *b, const char *path, char *out, size_t len)
{
	const struct bundle_file *f = bundle_find(b, path);
	mbedtls_x509_crt crt;
	struct san sans[SAN_MAX];
	size_t n = 0, i;

	assert_non_null(f);
	mbedtls_x509_crt_init(&crt);
	assert_int_equal(mbedtls_x509_crt_parse(&crt, f->data.data,
	    f->data.len + 1), 0);
	assert_int_equal(san_from_x509(&crt.subject_alt_names, sans, SAN_MAX,
	    &n, NULL), 0);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		char s[300];

		san_format(&sans[i], s, sizeof(s));
		snprintf(out + strlen(out), len - strlen(out), "%s%s",
		    i ? "," : "", s);
	}
	mbedtls_x509_crt_free(&crt);
}

static void
test_certificates(void **st)
{
	mbedtls_x509_crt kube, etcd, fp;
	struct bundle *b;
	char sans[2048];
	size_t i;

	(void)st;
	load_trust(&seed, CA_KUBERNETES, &kube);
	load_trust(&seed, CA_ETCD, &etcd);
	load_trust(&seed, CA_FRONT_PROXY, &fp);
	b = render(&seed, "test2");
	expect_verify(b, "/etc/kubernetes/cert/kubernetes.pem", &kube,
	    PURPOSE_SERVER, &etcd);
	expect_verify(b, "/etc/kubernetes/cert/apiserver-kubelet-client.pem",
	    &kube, PURPOSE_CLIENT, &etcd);
	expect_verify(b, "/etc/kubernetes/cert/kube-controller-manager.pem",
	    &kube, PURPOSE_CLIENT, NULL);
	expect_verify(b, "/etc/kubernetes/cert/kube-controller-manager.pem",
	    &kube, PURPOSE_SERVER, NULL);
	expect_verify(b, "/etc/kubernetes/cert/kube-scheduler.pem", &kube,
	    PURPOSE_CLIENT, NULL);
	expect_verify(b, "/etc/kubernetes/cert/apiserver-etcd-client.pem",
	    &etcd, PURPOSE_CLIENT, &kube);
	expect_verify(b, "/etc/kubernetes/cert/front-proxy-client.pem", &fp,
	    PURPOSE_CLIENT, &kube);
	expect_verify(b, "/etc/etcd/cert/etcd.pem", &etcd, PURPOSE_SERVER, &kube);
	expect_verify(b, "/etc/etcd/cert/etcd.pem", &etcd, PURPOSE_CLIENT, NULL);
	expect_verify(b, "/etc/etcd/cert/etcd-client.pem", &etcd, PURPOSE_CLIENT,
	    &kube);
	expect_verify(b, "/etc/flanneld/cert/flanneld.pem", &etcd,
	    PURPOSE_CLIENT, &kube);
	/* client-only certificates are not servers */
	assert_int_not_equal(chain_verify(bundle_find(b,
	    "/etc/etcd/cert/etcd-client.pem")->data.data, bundle_find(b,
	    "/etc/etcd/cert/etcd-client.pem")->data.len, &etcd, PURPOSE_SERVER,
	    NULL), 0);

	/* every SAN the seed lists for the apiserver, nothing else */
	sans_of(b, "/etc/kubernetes/cert/kubernetes.pem", sans, sizeof(sans));
	assert_string_equal(sans, "IP:127.0.0.1,IP:192.168.0.91,"
	    "IP:192.168.0.92,IP:192.168.0.93,IP:192.168.0.235,IP:10.254.0.1,"
	    "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,"
	    "DNS:kubernetes.default.svc.cluster,"
	    "DNS:kubernetes.default.svc.cluster.local");
	/* a member's own certificate: its IP and loopback, not the others' */
	sans_of(b, "/etc/etcd/cert/etcd.pem", sans, sizeof(sans));
	assert_string_equal(sans, "IP:192.168.0.92,IP:127.0.0.1");
	/* recorded purposes */
	for (i = 0; i < b->n_certs; i++)
		assert_true(b->certs[i].purpose[0] != '\0' &&
		    b->certs[i].r.der.len > 0);
	bundle_free(b);
	mbedtls_x509_crt_free(&kube);
	mbedtls_x509_crt_free(&etcd);
	mbedtls_x509_crt_free(&fp);

	/* the single-CA layout: everything under the kubernetes CA */
	load_trust(&cm, CA_KUBERNETES, &kube);
	b = render(&cm, "a");
	expect_verify(b, "/etc/etcd/cert/etcd.pem", &kube, PURPOSE_SERVER, NULL);
	expect_verify(b, "/etc/kubernetes/cert/front-proxy-client.pem", &kube,
	    PURPOSE_CLIENT, NULL);
	bundle_free(b);
	mbedtls_x509_crt_free(&kube);
}

static void
test_etcd_topology(void **st)
{
	static const char *const nodes[] = { "m1", "m2", "m3", "e1", "w1", "w2" };
	struct bundle *b;
	const char *u;
	size_t i, k;

	(void)st;
	b = render(&mixed, "e1");
	u = text(b, "/etc/systemd/system/etcd.service");
	assert_non_null(strstr(u, "--listen-client-urls=https://10.9.0.4:12379,"
	    "https://127.0.0.1:12379 \\\n"));
	assert_non_null(strstr(u, "--listen-peer-urls=https://10.9.0.4:12380 "));
	assert_non_null(strstr(u, "--initial-cluster=m1=https://10.9.0.1:2380,"
	    "m2=https://10.9.0.2:2380,e1=https://10.9.0.4:12380 \\\n"));
	assert_non_null(strstr(u, "--client-cert-auth=true"));
	assert_non_null(strstr(u, "--peer-client-cert-auth=true"));
	/* revocation: both listeners check the CRL the bundle carries, the
	 * etcd CA's current one (DER, signed by that CA) */
	assert_non_null(strstr(u, "--client-crl-file=/etc/etcd/cert/crl.der "));
	assert_non_null(strstr(u, "--peer-crl-file=/etc/etcd/cert/crl.der "));
	{
		const struct bundle_file *f = bundle_find(b,
		    "/etc/etcd/cert/crl.der");
		struct crl_info info;
		struct buf ca = { 0 };
		mbedtls_x509_crt crt;

		assert_non_null(f);
		assert_int_equal(f->mode, 0644);
		assert_string_equal(f->owner, "k8s");
		assert_int_equal(f->data.len, mixed.crl.len);
		assert_memory_equal(f->data.data, mixed.crl.data, f->data.len);
		assert_int_equal(crl_info_der(f->data.data, f->data.len, &info,
		    NULL, NULL), 0);
		assert_true(info.next_update > slw_now());
		assert_int_equal(signing_trust_pem(mixed.sg, CA_ETCD, &ca), 0);
		mbedtls_x509_crt_init(&crt);
		assert_int_equal(mbedtls_x509_crt_parse(&crt, ca.data,
		    ca.len + 1), 0);
		assert_int_equal(crl_verify(f->data.data, f->data.len,
		    crt.raw.p, crt.raw.len), 0);
		mbedtls_x509_crt_free(&crt);
		buf_free(&ca);
	}
	bundle_free(b);
	/* only etcd members get it */
	b = render(&mixed, "w1");
	assert_null(bundle_find(b, "/etc/etcd/cert/crl.der"));
	bundle_free(b);
	{
		struct bundle_input in;
		struct slw_diag d;

		input_for(&mixed, "e1", &in);
		in.etcd_crl = NULL;
		slw_diag_clear(&d);
		b = NULL;
		assert_int_equal(bundle_render(&in, &b, &d), SLW_ERR_INVALID);
		assert_null(b);
		assert_non_null(strstr(d.msg, "needs the etcd CA's CRL"));
	}
	/* nothing anywhere talks or listens plain http */
	for (k = 0; k < 6; k++) {
		b = render(&mixed, nodes[k]);
		for (i = 0; i < b->n_files; i++)
			if (strstr(b->files[i].path, "/systemd/") != NULL)
				assert_null(strstr((char *)b->files[i].data.data,
				    "http://"));
		u = text(b, "/etc/systemd/system/flanneld.service");
		assert_non_null(strstr(u, "--etcd-endpoints=https://10.9.0.1:2379,"
		    "https://10.9.0.2:2379,https://10.9.0.4:12379 \\\n"));
		if (bundle_find(b, "/etc/systemd/system/kube-apiserver.service")) {
			u = text(b, "/etc/systemd/system/kube-apiserver.service");
			assert_non_null(strstr(u, "--etcd-servers=https://10.9.0.1:"
			    "2379,https://10.9.0.2:2379,https://10.9.0.4:12379 \\\n"));
		}
		bundle_free(b);
	}
}

static void
test_ha(void **st)
{
	static const char *const nodes[] = { "test1", "test2", "test3" };
	static const char *const want[] = {
		"state MASTER\n", "state BACKUP\n", "state BACKUP\n" };
	static const char *const prio[] = {
		"priority 120\n", "priority 110\n", "priority 109\n" };
	struct bundle *b;
	const char *h, *k;
	size_t i;

	(void)st;
	for (i = 0; i < 3; i++) {
		b = render(&seed, nodes[i]);
		k = text(b, "/etc/keepalived/keepalived.conf");
		assert_non_null(strstr(k, want[i]));
		assert_non_null(strstr(k, prio[i]));
		assert_non_null(strstr(k, "interface eth0\n"));
		assert_non_null(strstr(k, "192.168.0.235 dev eth0\n"));
		assert_non_null(strstr(k, "track_script"));
		h = text(b, "/etc/haproxy/haproxy.cfg");
		assert_non_null(strstr(h, "bind *:8443\n"));
		assert_non_null(strstr(h, "server test1 192.168.0.91:6443 check"));
		assert_non_null(strstr(h, "server test2 192.168.0.92:6443 check"));
		assert_non_null(strstr(h, "server test3 192.168.0.93:6443 check"));
		assert_non_null(strstr(h, "bind 127.0.0.1:10080\n"));
		assert_null(strstr(h, "stats auth"));
		assert_null(strstr(h, "123456"));
		assert_null(strstr(h, "stats admin"));
		bundle_free(b);
	}
	b = render(&mixed, "m3");	/* listed last among masters */
	k = text(b, "/etc/keepalived/keepalived.conf");
	assert_non_null(strstr(k, "state BACKUP\n"));
	assert_non_null(strstr(k, "priority 109\n"));
	assert_non_null(strstr(k, "interface ens3\n"));
	bundle_free(b);
}

static void
check_enc(struct cluster *c, const char *node, const char *provider)
{
	struct bundle *b = render(c, node);
	const char *e = text(b, "/etc/kubernetes/encryption-config.yaml"), *s;
	unsigned char key[64];
	size_t kl = 0, n;
	char want[64];

	snprintf(want, sizeof(want), "      - %s:\n", provider);
	assert_non_null(strstr(e, want));
	assert_non_null(strstr(e, "      - identity: {}\n"));
	s = strstr(e, "secret: ");
	assert_non_null(s);
	s += 8;
	n = strcspn(s, "\n");
	assert_int_equal(mbedtls_base64_decode(key, sizeof(key), &kl,
	    (const unsigned char *)s, n), 0);
	assert_int_equal(kl, 32);
	assert_memory_equal(key, c->enc.data, 32);
	bundle_free(b);
}

static void
test_encryption_and_sa(void **st)
{
	struct bundle *a, *b;
	const struct bundle_file *x, *y;

	(void)st;
	check_enc(&seed, "test1", "secretbox");
	check_enc(&seed, "test3", "secretbox");
	check_enc(&mixed, "m2", "aescbc");
	/* the same service-account key pair on every master */
	a = render(&seed, "test1");
	b = render(&seed, "test3");
	x = bundle_find(a, "/etc/kubernetes/cert/sa.key");
	y = bundle_find(b, "/etc/kubernetes/cert/sa.key");
	assert_non_null(x);
	assert_non_null(y);
	assert_int_equal(x->data.len, y->data.len);
	assert_memory_equal(x->data.data, y->data.data, x->data.len);
	assert_non_null(strstr((char *)x->data.data, "PRIVATE KEY"));
	assert_non_null(strstr(text(a, "/etc/kubernetes/cert/sa.pub"),
	    "BEGIN PUBLIC KEY"));
	bundle_free(a);
	bundle_free(b);
}

static void expect_fail(struct bundle_input *in, int want, const char *why);

/* Occurrences of needle in hay. */
static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/*
 * While a key rotation is under way a master gets both generations: sa.key
 * is the key that signs, sa.pub holds both public keys (the signing one
 * first); the encryption config lists the encrypting key first, named
 * after its generation, the other second, then identity. The apiserver
 * runs with the flags the rotations rely on.
 */
static void
test_rotating_keys(void **st)
{
	struct bundle_input in;
	struct bundle *b = NULL;
	struct buf sa2 = { 0 }, enc2 = { 0 }, pub1 = { 0 }, pub2 = { 0 };
	struct key *k = NULL;
	struct slw_diag d;
	const char *e, *u, *p1, *p2, *k3, *k1;
	char want[128];
	unsigned char dec[64];
	size_t dl = 0;

	(void)st;
	assert_int_equal(keyset_generate(KEYSET_SA, KEY_EC_P256, &sa2), 0);
	assert_int_equal(keyset_generate(KEYSET_ENC, KEY_NONE, &enc2), 0);
	input_for(&seed, "test1", &in);
	in.sa_key = &sa2;		/* generation 2 signs ... */
	in.sa_key2 = &seed.sa;		/* ... 1 still verifies */
	in.enc_key = &enc2;
	in.enc_gen = 3;
	in.enc_key2 = &seed.enc;
	in.enc_gen2 = 1;
	slw_diag_clear(&d);
	assert_int_equal(bundle_render(&in, &b, &d), 0);
	assert_int_equal(key_parse(sa2.data, sa2.len, &k, NULL), 0);
	assert_int_equal(key_write_public_pem(k, &pub2), 0);
	key_free(k);
	assert_int_equal(key_parse(seed.sa.data, seed.sa.len, &k, NULL), 0);
	assert_int_equal(key_write_public_pem(k, &pub1), 0);
	key_free(k);
	p1 = text(b, "/etc/kubernetes/cert/sa.pub");
	assert_int_equal(count(p1, "BEGIN PUBLIC KEY"), 2);
	p2 = strstr(p1, (const char *)pub2.data);
	assert_non_null(p2);
	assert_ptr_equal(p2, p1);	/* the signing key first */
	assert_non_null(strstr(p1, (const char *)pub1.data));
	e = text(b, "/etc/kubernetes/encryption-config.yaml");
	k3 = strstr(e, "- name: key3\n");
	k1 = strstr(e, "- name: key1\n");
	assert_non_null(k3);
	assert_non_null(k1);
	assert_true(k3 < k1);
	assert_true(k1 < strstr(e, "- identity: {}"));
	k3 = strstr(k3, "secret: ") + 8;
	assert_int_equal(mbedtls_base64_decode(dec, sizeof(dec), &dl,
	    (const unsigned char *)k3, strcspn(k3, "\n")), 0);
	assert_int_equal(dl, 32);
	assert_memory_equal(dec, enc2.data, 32);
	u = text(b, "/etc/systemd/system/kube-apiserver.service");
	assert_non_null(strstr(u, "--authentication-config="
	    "/etc/kubernetes/authentication-config.yaml"));
	assert_null(strstr(u, "--anonymous-auth"));
	assert_non_null(strstr(u, "--service-account-max-token-expiration=24h"));
	assert_non_null(strstr(u, "--service-account-extend-token-expiration="
	    "false"));
	snprintf(want, sizeof(want), "--shutdown-delay-duration=%us", 5u);
	assert_non_null(strstr(u, want));
	assert_non_null(strstr(text(b, "/etc/kubernetes/authentication-config"
	    ".yaml"), "    - path: /readyz\n"));
	assert_non_null(strstr(text(b, "/etc/haproxy/haproxy.cfg"),
	    "    option httpchk GET /readyz\n"));
	/* the key files alone, byte for byte as in the whole bundle */
	{
		static const char *const kf[] = {
			"/etc/kubernetes/cert/sa.key", "/etc/kubernetes/cert/sa.pub",
			"/etc/kubernetes/encryption-config.yaml",
		};
		struct bundle *kb = NULL;
		const struct bundle_file *x, *y;
		size_t i;

		assert_int_equal(bundle_render_keys(&in, &kb, &d), 0);
		assert_int_equal(kb->n_files, 3);
		for (i = 0; i < 3; i++) {
			x = bundle_find(b, kf[i]);
			y = bundle_find(kb, kf[i]);
			assert_non_null(x);
			assert_non_null(y);
			assert_int_equal(x->data.len, y->data.len);
			assert_memory_equal(x->data.data, y->data.data, x->data.len);
			assert_int_equal(x->mode, y->mode);
		}
		bundle_free(kb);
	}
	bundle_free(b);
	/* two keys of one generation are refused */
	in.enc_gen = 1;
	expect_fail(&in, SLW_ERR_INVALID, "two encryption keys of one "
	    "generation");
	buf_free(&sa2);
	buf_free(&enc2);
	buf_free(&pub1);
	buf_free(&pub2);
}

static void
expect_fail(struct bundle_input *in, int want, const char *why)
{
	struct bundle *b = (struct bundle *)in;	/* must come back NULL */
	struct slw_diag d;
	int r;

	slw_diag_clear(&d);
	r = bundle_render(in, &b, &d);
	if (r != want)
		fail_msg("%s: got %d (%s), want %d", why, r, d.msg, want);
	assert_null(b);
	assert_true(d.msg[0] != '\0');
	/* one clear line that never holds a secret */
	assert_null(strchr(d.msg, '\n'));
	assert_null(strstr(d.msg, "0123456789abcdef"));
}

/* The private key (PEM) of a key file, or of a kubeconfig's user. */
static void
key_of(const struct bundle *b, const char *path, struct buf *out)
{
	const char *t = text(b, path), *k = strstr(t, "client-key-data: ");
	unsigned char dec[4096];
	size_t n = 0;

	if (k == NULL) {
		assert_int_equal(buf_set(out, t, strlen(t)), 0);
		return;
	}
	k += 17;
	assert_int_equal(mbedtls_base64_decode(dec, sizeof(dec), &n,
	    (const unsigned char *)k, strcspn(k, "\n")), 0);
	assert_int_equal(buf_set(out, dec, n), 0);
}

static void
test_node_keys(void **st)
{
	static const char *const own[] = {
		"/etc/etcd/cert/etcd-key.pem",
		"/etc/etcd/cert/etcd-client-key.pem",
		"/etc/kubernetes/cert/kubernetes-key.pem",
		"/etc/kubernetes/cert/apiserver-etcd-client-key.pem",
		"/etc/kubernetes/cert/apiserver-kubelet-client-key.pem",
		"/etc/kubernetes/cert/front-proxy-client-key.pem",
		"/etc/kubernetes/cert/kube-controller-manager-key.pem",
		"/etc/kubernetes/cert/kube-scheduler-key.pem",
		"/etc/flanneld/cert/flanneld-key.pem",
	};
	struct buf keys[9], proxy = { 0 }, kc = { 0 };
	struct bundle *b = render(&seed, "test1");
	size_t i, k;

	(void)st;
	memset(keys, 0, sizeof(keys));
	for (i = 0; i < 9; i++)
		key_of(b, own[i], &keys[i]);
	/* each its own key, but flanneld's, which kube-proxy shares (both
	 * client identities of root on the node itself) */
	for (i = 0; i < 9; i++)
		for (k = i + 1; k < 9; k++)
			assert_false(keys[i].len == keys[k].len &&
			    memcmp(keys[i].data, keys[k].data, keys[i].len) == 0);
	key_of(b, "/etc/kubernetes/kube-proxy.kubeconfig", &proxy);
	assert_int_equal(proxy.len, keys[8].len);
	assert_memory_equal(proxy.data, keys[8].data, proxy.len);
	/* and install.sh's node certificate for GET /v1/artifacts */
	assert_string_equal(text(b, "/etc/slipway/node-key.pem"),
	    text(b, "/etc/flanneld/cert/flanneld-key.pem"));
	/* the components' kubeconfigs hold their own keys */
	key_of(b, "/etc/kubernetes/kube-scheduler.kubeconfig", &kc);
	assert_memory_equal(kc.data, keys[7].data, kc.len);
	buf_free(&kc);
	for (i = 0; i < 9; i++)
		buf_free(&keys[i]);
	buf_free(&proxy);
	bundle_free(b);
}

static void
test_bad_input(void **st)
{
	struct bundle_input in;
	struct inv_node fake;
	struct buf short_key = { 0 };

	(void)st;
	input_for(&seed, "test1", &in);
	in.kubelet_token = NULL;
	expect_fail(&in, SLW_ERR_INVALID, "no token");
	in.kubelet_token = "ABCDEF.0123456789abcdef";
	expect_fail(&in, SLW_ERR_INVALID, "upper-case token");
	in.kubelet_token = "abcdef.0123456789abcde";
	expect_fail(&in, SLW_ERR_INVALID, "short token");
	in.kubelet_token = "abcdef.0123456789abcdef\n";
	expect_fail(&in, SLW_ERR_INVALID, "token with a newline");
	input_for(&seed, "test1", &in);
	in.sa_key = NULL;
	expect_fail(&in, SLW_ERR_INVALID, "master without SA key");
	input_for(&seed, "test1", &in);
	assert_int_equal(buf_set(&short_key, "0123456789", 10), 0);
	in.enc_key = &short_key;
	expect_fail(&in, SLW_ERR_INVALID, "short encryption key");
	buf_free(&short_key);
	/* a node that is not in the inventory */
	input_for(&seed, "test1", &in);
	fake = *in.node;
	snprintf(fake.name, sizeof(fake.name), "intruder");
	in.node = &fake;
	expect_fail(&in, SLW_ERR_NOTFOUND, "unknown node");
	/* same name, other address */
	input_for(&seed, "test1", &in);
	fake = *in.node;
	snprintf(fake.ip, sizeof(fake.ip), "10.0.0.66");
	in.node = &fake;
	expect_fail(&in, SLW_ERR_NOTFOUND, "node with another IP");
	input_for(&seed, "test1", &in);
	in.sg = NULL;
	expect_fail(&in, SLW_ERR_INVALID, "no signer");
	/* a worker needs no cluster secrets and gets none */
	input_for(&mixed, "w2", &in);
	in.sa_key = NULL;
	in.enc_key = NULL;
	{
		struct bundle *b = NULL;

		assert_int_equal(bundle_render(&in, &b, NULL), 0);
		assert_null(bundle_find(b, "/etc/kubernetes/cert/sa.key"));
		bundle_free(b);
	}
}

static void
test_kubeconfigs(void **st)
{
	struct bundle *b;
	const char *k;
	struct kubeconfig kc;
	struct buf ca = { 0 }, out = { 0 };

	(void)st;
	b = render(&seed, "test3");
	k = text(b, "/etc/kubernetes/kubelet-bootstrap.kubeconfig");
	assert_non_null(strstr(k, "    server: https://192.168.0.235:8443\n"));
	assert_non_null(strstr(k, "    token: " TOKEN "\n"));
	assert_null(strstr(k, "client-key-data"));
	k = text(b, "/etc/kubernetes/kube-proxy.kubeconfig");
	assert_non_null(strstr(k, "- name: system:kube-proxy\n"));
	assert_non_null(strstr(k, "client-key-data: "));
	k = text(b, "/etc/kubernetes/kube-scheduler.kubeconfig");
	assert_non_null(strstr(k, "current-context: system:kube-scheduler\n"));
	k = text(b, "/etc/kubernetes/kubelet.config.json");
	assert_non_null(strstr(k, "\"clusterDomain\": \"cluster.local\""));
	assert_non_null(strstr(k, "\"10.254.0.2\""));
	assert_non_null(strstr(k, "\"rotateCertificates\": true"));
	assert_non_null(strstr(k, "\"serverTLSBootstrap\": true"));
	k = text(b, "/etc/kubernetes/kube-proxy.config.yaml");
	assert_non_null(strstr(k, "mode: \"iptables\"\n"));
	assert_non_null(strstr(k, "clusterCIDR: \"172.30.0.0/16\"\n"));
	bundle_free(b);
	/* kubeconfig_render refuses ambiguous or unsafe input */
	assert_int_equal(buf_set(&ca, "x", 1), 0);
	memset(&kc, 0, sizeof(kc));
	kc.server = "https://1.2.3.4:6443";
	kc.cluster = "c";
	kc.user = "u";
	kc.context = "x";
	kc.ca_pem = &ca;
	assert_int_equal(kubeconfig_render(&kc, &out), SLW_ERR_INVALID);
	kc.token = "a b";
	assert_int_equal(kubeconfig_render(&kc, &out), SLW_ERR_INVALID);
	kc.token = "abc";
	kc.server = "http://1.2.3.4";
	assert_int_equal(kubeconfig_render(&kc, &out), SLW_ERR_INVALID);
	kc.server = "https://1.2.3.4:6443\nx: y";
	assert_int_equal(kubeconfig_render(&kc, &out), SLW_ERR_INVALID);
	kc.server = "https://1.2.3.4:6443";
	assert_int_equal(kubeconfig_render(&kc, &out), 0);
	buf_free(&out);
	buf_free(&ca);
}

static void
test_targz(void **st)
{
	struct bundle *b = render(&seed, "test1");
	struct buf tgz = { 0 };
	struct archive *a;
	struct archive_entry *e;
	char path[4700], cmd[9600], x[4200];
	size_t i, seen = 0;
	struct stat sb;

	(void)st;
	assert_int_equal(bundle_write_targz(b, &tgz, NULL), 0);
	assert_true(tgz.len > 100);
	assert_int_equal(tgz.data[0], 0x1f);	/* gzip */
	assert_int_equal(tgz.data[1], 0x8b);
	/* read back with libarchive */
	a = archive_read_new();
	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, tgz.data, tgz.len),
	    ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		const struct bundle_file *f;
		const char *name = archive_entry_pathname(e);

		snprintf(path, sizeof(path), "/%s", name);
		f = bundle_find(b, path);
		if (f == NULL)
			fail_msg("archive has %s", name);
		assert_int_equal(archive_entry_perm(e), f->mode);
		assert_int_equal(archive_entry_size(e), (la_int64_t)f->data.len);
		assert_int_equal(archive_entry_uid(e), 0);
		seen++;
	}
	archive_read_free(a);
	assert_int_equal(seen, b->n_files);
	/* unpacked by tar, as a node does: `tar -xz -C /` */
	snprintf(path, sizeof(path), "%s/bundle.tar.gz", dir);
	tu_write(path, tgz.data, tgz.len);
	snprintf(x, sizeof(x), "%s/x", dir);
	assert_int_equal(mkdir(x, 0700), 0);
	snprintf(cmd, sizeof(cmd), "tar -xzf '%s' -C '%s'", path, x);
	assert_int_equal(system(cmd), 0);
	for (i = 0; i < b->n_files; i++) {
		const struct bundle_file *f = &b->files[i];
		struct buf got = { 0 };

		snprintf(path, sizeof(path), "%s%s", x, f->path);
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_mode & 07777, f->mode);
		assert_int_equal(buf_read_file(&got, path, 1 << 20), 0);
		assert_int_equal(got.len, f->data.len);
		assert_memory_equal(got.data, f->data.data, got.len);
		buf_free(&got);
	}
	buf_free(&tgz);
	bundle_free(b);
}

static void
test_write_dir(void **st)
{
	struct bundle *b = render(&mixed, "w2");
	char root[4200], path[4700];
	struct stat sb;
	size_t i;

	(void)st;
	snprintf(root, sizeof(root), "%s/dir-w2", dir);
	assert_int_equal(bundle_write_dir(b, root, NULL), 0);
	/* twice: the same files again */
	assert_int_equal(bundle_write_dir(b, root, NULL), 0);
	for (i = 0; i < b->n_files; i++) {
		snprintf(path, sizeof(path), "%s%s", root, b->files[i].path);
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_mode & 07777, b->files[i].mode);
		assert_int_equal((size_t)sb.st_size, b->files[i].data.len);
	}
	bundle_free(b);
}

struct count_arg {
	const char *node;
	size_t n;
};

static int
count_cb(void *arg, const struct cert_rec *rec)
{
	struct count_arg *c = arg;

	if (strcmp(rec->node, c->node) == 0)
		c->n++;
	return 0;
}

static int
count_txn(struct store_txn *t, void *arg)
{
	return certdb_foreach(t, count_cb, arg);
}

static int
record_txn(struct store_txn *t, void *arg)
{
	return bundle_record(t, arg, "test");
}

static void
test_record(void **st)
{
	struct bundle *b = render(&mixed, "m2");
	struct count_arg c = { "m2", 0 };
	struct slw_diag d;

	(void)st;
	slw_diag_clear(&d);
	assert_int_equal(store_read(mixed.s, count_txn, &c, &d), 0);
	assert_int_equal(c.n, 0);	/* rendering recorded nothing */
	assert_int_equal(store_write(mixed.s, record_txn, b, &d), 0);
	assert_int_equal(store_read(mixed.s, count_txn, &c, &d), 0);
	assert_int_equal(c.n, b->n_certs);
	/* a second record of the same certificates is refused as a whole */
	assert_int_not_equal(store_write(mixed.s, record_txn, b, &d), 0);
	c.n = 0;
	assert_int_equal(store_read(mixed.s, count_txn, &c, &d), 0);
	assert_int_equal(c.n, b->n_certs);
	bundle_free(b);
}

static void
test_install_sh(void **st)
{
	struct bundle *b = render(&mixed, "w1");
	const char *s = text(b, "/etc/slipway/install.sh");
	size_t i;

	(void)st;
	assert_true(strncmp(s, "#!/bin/sh\n", 10) == 0);
	/* a worker needs no k8s user; every file is listed with its mode */
	assert_null(strstr(s, "run useradd"));
	for (i = 0; i < b->n_files; i++) {
		char line[400];

		snprintf(line, sizeof(line), "f %04o %s %s\n", b->files[i].mode,
		    b->files[i].owner, b->files[i].path);
		if (strstr(s, line) == NULL)
			fail_msg("install.sh lacks '%s'", line);
	}
	assert_non_null(strstr(s, "run systemctl enable flanneld.service "
	    "containerd.service kubelet.service kube-proxy.service\n"));
	assert_null(strstr(s, "systemctl start"));
	assert_null(strstr(s, "systemctl restart"));
	bundle_free(b);
	b = render(&seed, "test1");
	s = text(b, "/etc/slipway/install.sh");
	assert_non_null(strstr(s, "run useradd --system"));
	assert_non_null(strstr(s, "d 0700 k8s /var/lib/etcd\n"));
	assert_non_null(strstr(s, " etcd.service "));
	assert_non_null(strstr(s, " kube-apiserver.service "));
	bundle_free(b);
}

static struct bundle *
render_scope(struct cluster *c, const char *node, uint64_t scope)
{
	struct bundle_input in;
	struct bundle *b = NULL;
	struct slw_diag d;
	int r;

	input_for(c, node, &in);
	in.scope = scope;
	slw_diag_clear(&d);
	if ((r = bundle_render(&in, &b, &d)) != 0)
		fail_msg("render %s: %s", node, slw_diag_str(&d, r));
	return b;
}

static size_t
count_keys(const struct bundle *b)
{
	size_t i, n = 0;

	for (i = 0; i < b->n_files; i++)
		if (strstr(b->files[i].path, "-key.pem") != NULL ||
		    strstr(b->files[i].path, ".kubeconfig") != NULL)
			n++;
	return n;
}

/* A fleet delivery's bundle: only the certificates in its scope. */
static void
test_partial(void **st)
{
	struct bundle *full = render(&seed, "test1"), *b;
	struct buf m = { 0 };
	char line[400];
	size_t i;

	(void)st;
	/* trust only: no certificate, no key, no kubeconfig that embeds one;
	 * every trust bundle, unit and config as in the full bundle */
	b = render_scope(&seed, "test1", BUNDLE_SCOPE_PARTIAL);
	assert_int_equal(b->n_certs, 0);
	/* the kubelet's bootstrap kubeconfig carries a token, not a key */
	assert_int_equal(count_keys(b), 1);
	assert_non_null(bundle_find(b, "/etc/kubernetes/kubelet-bootstrap.kubeconfig"));
	assert_null(bundle_find(b, "/etc/etcd/cert/etcd.pem"));
	assert_string_equal(text(b, "/etc/etcd/cert/ca.pem"),
	    text(full, "/etc/etcd/cert/ca.pem"));
	assert_string_equal(text(b, "/etc/systemd/system/etcd.service"),
	    text(full, "/etc/systemd/system/etcd.service"));
	assert_non_null(bundle_find(b, "/etc/kubernetes/cert/etcd-ca.pem"));
	assert_non_null(bundle_find(b, "/etc/flanneld/cert/etcd-ca.pem"));
	assert_non_null(bundle_find(b, "/etc/kubernetes/kube-proxy.config.yaml"));
	/* install.sh lists exactly the files of this bundle */
	assert_null(strstr(text(b, "/etc/slipway/install.sh"), "etcd-key.pem"));
	bundle_free(b);

	/* the etcd CA's leaves: the member, its client, the apiserver's etcd
	 * client and flanneld (with a key of its own: kube-proxy, which shares
	 * it in a full bundle, is not re-issued) */
	b = render_scope(&seed, "test1", BUNDLE_SCOPE_PARTIAL |
	    BUNDLE_SCOPE_ID(ID_ETCD_MEMBER) | BUNDLE_SCOPE_ID(ID_ETCD_CLIENT) |
	    BUNDLE_SCOPE_ID(ID_APISERVER_ETCD_CLIENT) |
	    BUNDLE_SCOPE_ID(ID_FLANNELD));
	assert_int_equal(b->n_certs, 4);
	for (i = 0; i < b->n_certs; i++)
		assert_string_equal(b->certs[i].r.ca_name, "etcd");
	assert_non_null(bundle_find(b, "/etc/etcd/cert/etcd-key.pem"));
	assert_non_null(bundle_find(b, "/etc/flanneld/cert/flanneld-key.pem"));
	assert_null(bundle_find(b, "/etc/kubernetes/kube-proxy.kubeconfig"));
	assert_null(bundle_find(b, "/etc/kubernetes/cert/kubernetes.pem"));
	bundle_free(b);

	/* kube-proxy alone gets a key of its own too */
	b = render_scope(&seed, "test1", BUNDLE_SCOPE_PARTIAL |
	    BUNDLE_SCOPE_ID(ID_KUBE_PROXY));
	assert_int_equal(b->n_certs, 1);
	assert_non_null(bundle_find(b, "/etc/kubernetes/kube-proxy.kubeconfig"));
	assert_null(bundle_find(b, "/etc/flanneld/cert/flanneld.pem"));
	bundle_free(b);

	/* the manifest: one sha256sum line per file, in path order */
	assert_int_equal(bundle_manifest(full, &m), 0);
	for (i = 0; i < full->n_files; i++) {
		snprintf(line, sizeof(line), "  %s\n", full->files[i].path);
		assert_non_null(strstr((const char *)m.data, line));
	}
	{
		/* the first line: SHA-256 of the first file */
		unsigned char h[32];
		char hex[65];
		size_t k;

		assert_int_equal(mbedtls_sha256(full->files[0].data.data,
		    full->files[0].data.len, h, 0), 0);
		for (k = 0; k < 32; k++)
			snprintf(hex + 2 * k, 3, "%02x", h[k]);
		assert_memory_equal(m.data, hex, 64);
		assert_int_equal(strlen((const char *)m.data),
		    m.len);
	}
	buf_free(&m);
	bundle_free(full);
}

/* Reads a whole small file into out (NUL-terminated). */
static void
slurp(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	fclose(f);
}

/*
 * install.sh with SLIPWAY_FROM (a delivery to a running node): only the
 * files that differ are replaced, by rename, and named; nothing is left
 * beside them; an unchanged file keeps its inode.
 */
static void
test_install_delivery(void **st)
{
	struct bundle *full = render(&seed, "test1"), *b;
	struct slw_diag d;
	char root[1024], stage[1024], cmd[4000], out[8192], path[1200];
	struct stat s1, s2;
	FILE *p;
	size_t n;

	(void)st;
	snprintf(root, sizeof(root), "%s/deliv-root", dir);
	snprintf(stage, sizeof(stage), "%s/deliv-stage", dir);
	slw_diag_clear(&d);
	assert_int_equal(bundle_write_dir(full, root, &d), 0);
	/* the node's etcd trust is older than what is delivered */
	snprintf(path, sizeof(path), "%s/etc/etcd/cert/ca.pem", root);
	tu_write(path, "old\n", 4);
	snprintf(path, sizeof(path), "%s/etc/systemd/system/etcd.service", root);
	assert_int_equal(stat(path, &s1), 0);
	b = render_scope(&seed, "test1", BUNDLE_SCOPE_PARTIAL);
	assert_int_equal(bundle_write_dir(b, stage, &d), 0);
	snprintf(cmd, sizeof(cmd), "SLIPWAY_ROOT=%s SLIPWAY_FROM=%s sh "
	    "%s/etc/slipway/install.sh 2>&1", root, stage, stage);
	assert_non_null(p = popen(cmd, "r"));
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
	assert_non_null(strstr(out, "install.sh: changed /etc/etcd/cert/ca.pem\n"));
	/* install.sh itself differs (a partial bundle lists fewer files) */
	assert_non_null(strstr(out, "changed /etc/slipway/install.sh\n"));
	assert_null(strstr(out, "changed /etc/systemd"));
	assert_null(strstr(out, "changed /etc/kubernetes/cert/etcd-ca.pem"));
	snprintf(path, sizeof(path), "%s/etc/etcd/cert/ca.pem", root);
	slurp(path, out, sizeof(out));
	assert_string_equal(out, text(b, "/etc/etcd/cert/ca.pem"));
	snprintf(path, sizeof(path), "%s/etc/etcd/cert/ca.pem.slipway-new", root);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/etc/systemd/system/etcd.service", root);
	assert_int_equal(stat(path, &s2), 0);
	assert_true(s1.st_ino == s2.st_ino && s1.st_mtime == s2.st_mtime);
	/* the keys the partial bundle leaves out stay as they were */
	snprintf(path, sizeof(path), "%s/etc/etcd/cert/etcd-key.pem", root);
	slurp(path, out, sizeof(out));
	assert_string_equal(out, text(full, "/etc/etcd/cert/etcd-key.pem"));
	bundle_free(b);
	bundle_free(full);
	tu_rmrf(root);
	tu_rmrf(stage);
}

/* Every file of every role's bundle is read by a unit the fleet engine
 * knows, or is one that no unit reads at start. */
static void
test_units_cover_files(void **st)
{
	static const char *const unread[] = {
		"/etc/slipway/install.sh",
		"/etc/cni/net.d/10-flannel.conflist",	/* read per pod */
	};
	static const char *const nodes[] = { "test1", "test2", "test3" };
	const char *tf[8];
	size_t i, j, k;

	(void)st;
	for (k = 0; k < 3; k++) {
		struct bundle *b = render(k < 3 ? &seed : &mixed, nodes[k]);

		for (i = 0; i < b->n_files; i++) {
			int known = 0;

			for (j = 0; j < bundle_units_n; j++)
				known |= bundle_unit_reads(&bundle_units[j],
				    b->files[i].path);
			for (j = 0; j < sizeof(unread) / sizeof(unread[0]); j++)
				known |= strcmp(unread[j], b->files[i].path) == 0;
			for (j = 0; bundle_unread[j] != NULL; j++)
				known |= strcmp(bundle_unread[j], b->files[i].path) == 0;
			if (!known)
				fail_msg("%s: no unit reads %s", nodes[k],
				    b->files[i].path);
		}
		/* the trust files are in the bundle and hold the trust */
		bundle_trust_files(CA_ETCD, ROLE_ETCD | ROLE_MASTER | ROLE_WORKER,
		    tf, 8);
		for (j = 0; tf[j] != NULL; j++)
			assert_string_equal(text(b, tf[j]),
			    text(b, "/etc/etcd/cert/ca.pem"));
		bundle_free(b);
	}
	assert_non_null(bundle_unit_find("etcd"));
	assert_null(bundle_unit_find("nope"));
	assert_true(bundle_unit_reads(bundle_unit_find("etcd"),
	    "/etc/etcd/cert/etcd.pem"));
	assert_false(bundle_unit_reads(bundle_unit_find("etcd"),
	    "/etc/kubernetes/cert/etcd-ca.pem"));
	assert_false(bundle_unit_reads(bundle_unit_find("etcd"),
	    "/etc/etcd/cert/etcd-client.pem"));
}

/* The node's artifact client certificate: kubernetes CA, client only. */
static void
test_node_certificate(void **st)
{
	struct bundle *b = render(&mixed, "w1");
	const struct bundle_file *f = bundle_find(b, "/etc/slipway/node.pem");
	mbedtls_x509_crt kube, etcd, crt;
	char subj[512];
	size_t i, seen = 0;

	(void)st;
	load_trust(&mixed, CA_KUBERNETES, &kube);
	load_trust(&mixed, CA_ETCD, &etcd);
	expect_verify(b, "/etc/slipway/node.pem", &kube, PURPOSE_CLIENT, &etcd);
	assert_int_not_equal(chain_verify(f->data.data, f->data.len, &kube,
	    PURPOSE_SERVER, NULL), 0);
	mbedtls_x509_crt_init(&crt);
	assert_int_equal(mbedtls_x509_crt_parse(&crt, f->data.data,
	    f->data.len + 1), 0);
	assert_true(mbedtls_x509_dn_gets(subj, sizeof(subj), &crt.subject) > 0);
	/* its node by name, and no group the API server would use */
	assert_non_null(strstr(subj, "CN=slipway-node:w1"));
	assert_null(strstr(subj, "O="));
	assert_int_equal(bundle_find(b, "/etc/slipway/node-key.pem")->mode, 0600);
	for (i = 0; i < b->n_certs; i++)
		if (strcmp(b->certs[i].purpose, "slipway-node") == 0)
			seen++;
	assert_int_equal(seen, 1);
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&kube);
	mbedtls_x509_crt_free(&etcd);
	bundle_free(b);
}

static void
fake_artifact(struct artifact *a, const char *name, const char *version,
    char fill, const char *image)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", name);
	snprintf(a->version, sizeof(a->version), "%s", version);
	memset(a->hex, fill, 64);
	a->kind = image != NULL ? REL_IMAGE : REL_BINARY;
	if (image != NULL)
		snprintf(a->image, sizeof(a->image), "%s", image);
}

static struct bundle *
render_arts(struct cluster *c, const char *node,
    const struct artifact_list *l, const char *pin)
{
	struct bundle_input in;
	struct bundle *b = NULL;
	struct slw_diag d;
	int r;

	input_for(c, node, &in);
	in.arts = l;
	in.endpoint_url = "https://10.9.0.200:8443";
	in.endpoint_pin = pin;
	slw_diag_clear(&d);
	if ((r = bundle_render(&in, &b, &d)) != 0)
		fail_msg("render %s: %s", node, slw_diag_str(&d, r));
	return b;
}

/* install.sh fetches what the appliance has, at the inventory's versions */
static void
test_install_artifacts(void **st)
{
	struct artifact a[5];
	struct artifact_list l = { a, 5 };
	struct bundle *b;
	const char *s;
	char line[200];
	int status;

	(void)st;
	fake_artifact(&a[0], "kubelet", "v1.36.0", 'a', NULL);
	fake_artifact(&a[1], "etcd", "3.6.8", 'b', NULL);
	fake_artifact(&a[2], "pause", "3.10.1", 'c', "reg.local:5000/pause:3.10.1");
	fake_artifact(&a[3], "kube-proxy", "v1.35.2", 'd', NULL);	/* not ours */
	fake_artifact(&a[4], "bridge", "1.8.0", 'e', NULL);
	b = render_arts(&mixed, "w1", &l, "AbCd+/0123456789AbCd+/0123456789AbCd+/01234=");
	s = text(b, "/etc/slipway/install.sh");
	snprintf(line, sizeof(line), "\tbin kubelet %.64s /opt/k8s/bin/kubelet\n",
	    a[0].hex);
	assert_non_null(strstr(s, line));
	snprintf(line, sizeof(line), "\tbin bridge %.64s /opt/cni/bin/bridge\n",
	    a[4].hex);
	assert_non_null(strstr(s, line));
	snprintf(line, sizeof(line), "\timg pause %.64s reg.local:5000/pause:"
	    "3.10.1\n", a[2].hex);
	assert_non_null(strstr(s, line));
	/* a worker: no etcd; a kube-proxy of another version is not used */
	assert_null(strstr(s, "bin etcd "));
	assert_null(strstr(s, "bin kube-proxy "));
	assert_non_null(strstr(s, "note: kube-proxy v1.36.0 is not on the "
	    "appliance"));
	assert_non_null(strstr(s, "SLIPWAY_URL=\"https://10.9.0.200:8443\"\n"));
	assert_non_null(strstr(s, "SLIPWAY_PIN=\"sha256//AbCd+/"));
	assert_non_null(strstr(s, "--cert \"$NODE_CERT\""));
	/* the sandbox image is the imported one: nothing is pulled */
	assert_non_null(strstr(text(b, "/etc/containerd/config.toml"),
	    "  sandbox = \"reg.local:5000/pause:3.10.1\"\n"));
	/* the script is valid sh */
	{
		char path[4300];
		FILE *f;

		snprintf(path, sizeof(path), "%s/install-arts.sh", dir);
		assert_non_null(f = fopen(path, "w"));
		fputs(s, f);
		fclose(f);
		snprintf(path, sizeof(path), "sh -n %s/install-arts.sh", dir);
		status = system(path);
		assert_int_equal(status, 0);
	}
	bundle_free(b);
	/* an etcd-only member fetches etcd */
	b = render_arts(&mixed, "e1", &l, "AbCd+/0123456789AbCd+/0123456789AbCd+/01234=");
	snprintf(line, sizeof(line), "\tbin etcd %.64s /opt/k8s/bin/etcd\n",
	    a[1].hex);
	assert_non_null(strstr(text(b, "/etc/slipway/install.sh"), line));
	bundle_free(b);
	/* no pin (no serving key yet): nothing fetched, upstream's pause */
	b = render_arts(&mixed, "w1", &l, NULL);
	s = text(b, "/etc/slipway/install.sh");
	assert_null(strstr(s, "\tbin "));
	assert_null(strstr(s, "\timg "));
	assert_non_null(strstr(text(b, "/etc/containerd/config.toml"),
	    "  sandbox = \"registry.k8s.io/pause:3.10.1\"\n"));
	bundle_free(b);
}

/* The containerd version picks the config format. */
static void
test_containerd_versions(void **st)
{
	struct inventory *inv = mixed.inv;
	struct bundle *b;
	const char *t;

	(void)st;
	b = render(&mixed, "w1");
	t = text(b, "/etc/containerd/config.toml");
	assert_non_null(strstr(t, "version = 3\n"));
	assert_non_null(strstr(t, "[plugins.\"io.containerd.cri.v1.images\"."
	    "pinned_images]\n  sandbox = \"registry.k8s.io/pause:3.10.1\"\n"));
	bundle_free(b);
	/* versions: { containerd: 1.7.28, pause: "3.9" } */
	snprintf(inv->versions[0].component, sizeof(inv->versions[0].component),
	    "containerd");
	snprintf(inv->versions[0].version, sizeof(inv->versions[0].version),
	    "1.7.28");
	snprintf(inv->versions[1].component, sizeof(inv->versions[1].component),
	    "pause");
	snprintf(inv->versions[1].version, sizeof(inv->versions[1].version),
	    "3.9");
	inv->n_versions = 2;
	b = render(&mixed, "w1");
	inv->n_versions = 0;
	t = text(b, "/etc/containerd/config.toml");
	assert_non_null(strstr(t, "version = 2\n"));
	assert_non_null(strstr(t, "[plugins.\"io.containerd.grpc.v1.cri\"]\n"
	    "  sandbox_image = \"registry.k8s.io/pause:3.9\"\n"));
	assert_non_null(strstr(t, "  bin_dir = \"/opt/cni/bin\"\n"));
	assert_null(strstr(t, "io.containerd.cri.v1"));
	bundle_free(b);
}

/* kubernetesVersion drives the apiserver's flags (v1.36 added one). */
static void
test_k8s_version_flags(void **st)
{
	struct bundle *b;
	const char *u;

	(void)st;
	b = render(&seed, "test1");		/* v1.36.0 */
	u = text(b, "/etc/systemd/system/kube-apiserver.service");
	assert_non_null(strstr(u, "--tls-curve-preferences=4588,29,23 \\\n"));
	bundle_free(b);
	b = render(&cm, "a");			/* v1.35.2 */
	u = text(b, "/etc/systemd/system/kube-apiserver.service");
	assert_non_null(strstr(u, "--tls-min-version=VersionTLS12"));
	assert_null(strstr(u, "tls-curve-preferences"));
	bundle_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files_per_role),
		cmocka_unit_test(test_no_ca_key),
		cmocka_unit_test(test_controller_manager_modes),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_certificates),
		cmocka_unit_test(test_etcd_topology),
		cmocka_unit_test(test_ha),
		cmocka_unit_test(test_encryption_and_sa),
		cmocka_unit_test(test_rotating_keys),
		cmocka_unit_test(test_node_keys),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_kubeconfigs),
		cmocka_unit_test(test_targz),
		cmocka_unit_test(test_write_dir),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_install_sh),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_install_delivery),
		cmocka_unit_test(test_units_cover_files),
		cmocka_unit_test(test_node_certificate),
		cmocka_unit_test(test_install_artifacts),
		cmocka_unit_test(test_containerd_versions),
		cmocka_unit_test(test_k8s_version_flags),
	};

	if (slw_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
