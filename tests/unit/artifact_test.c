// SPDX-License-Identifier: Apache-2.0
/*
 * artifact_test.c: the pieces of air-gapped installs that need no peer:
 * checksums files in every upstream form and every refusal; the versions a
 * kubernetesVersion implies and the inventory's overrides; upstream file
 * names both ways; image names from OCI and docker-save metadata; the
 * store (import verified or nothing, records, no-op re-import, remove) and
 * what an inventory still lacks.
 */
#include "testutil.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "artifact.h"
#include "checksums.h"
#include "release.h"
#include "store.h"

#include <mbedtls/sha256.h>

static const char H1[] =
    "f2ca1bb6c7e907d06dafe4687e579fce76b37e4e93b7605022da52e6ccc26fd2";
static const char H2[] =
    "0000000000000000000000000000000000000000000000000000000000000001";
static const char H5[] =
    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

static int
parse(const char *txt, struct checksums *c, struct slw_diag *d)
{
	slw_diag_clear(d);
	return checksums_parse((const uint8_t *)txt, strlen(txt), c, d);
}

static void
test_checksums_forms(void **st)
{
	struct checksums c;
	struct slw_diag d;
	char txt[1024];
	const struct csum_entry *e;

	(void)st;
	/* GNU text and binary mode, "./", comments, CRLF, BSD tags */
	snprintf(txt, sizeof(txt), "# release checksums\r\n"
	    "%s  etcd-v3.6.8-linux-amd64.tar.gz\r\n"
	    "%s *./cni-plugins-linux-amd64-v1.8.0.tgz\n"
	    "\n"
	    "SHA512 (containerd-2.2.1-linux-amd64.tar.gz) = %s\n"
	    "%s runc.amd64\n", H1, H2, H5, H1);
	assert_int_equal(parse(txt, &c, &d), 0);
	assert_int_equal(c.n, 4);
	e = checksums_find(&c, "/srv/in/etcd-v3.6.8-linux-amd64.tar.gz", 0);
	assert_non_null(e);
	assert_int_equal(e->alg, CSUM_SHA256);
	assert_int_equal(e->digest[0], 0xf2);
	e = checksums_find(&c, "cni-plugins-linux-amd64-v1.8.0.tgz", 0);
	assert_non_null(e);
	assert_int_equal(e->digest[31], 1);
	e = checksums_find(&c, "containerd-2.2.1-linux-amd64.tar.gz", 0);
	assert_non_null(e);
	assert_int_equal(e->alg, CSUM_SHA512);
	assert_non_null(checksums_find(&c, "runc.amd64", 1));
	assert_null(checksums_find(&c, "etcd-v3.6.8-linux-arm64.tar.gz", 1));
	checksums_free(&c);

	/* dl.k8s.io: one bare digest; it fits only a single file */
	snprintf(txt, sizeof(txt), "%s\n", H5);
	assert_int_equal(parse(txt, &c, &d), 0);
	assert_non_null(checksums_find(&c, "kubernetes-server-linux-amd64.tar.gz",
	    1));
	assert_null(checksums_find(&c, "kubernetes-server-linux-amd64.tar.gz", 0));
	checksums_free(&c);

	/* one name, both algorithms: SHA-512 wins */
	snprintf(txt, sizeof(txt), "%s  f.tgz\n%s  f.tgz\n", H1, H5);
	assert_int_equal(parse(txt, &c, &d), 0);
	assert_int_equal(checksums_find(&c, "f.tgz", 0)->alg, CSUM_SHA512);
	checksums_free(&c);
	/* a repeated identical line is fine */
	snprintf(txt, sizeof(txt), "%s  f.tgz\n%s  f.tgz\n", H1, H1);
	assert_int_equal(parse(txt, &c, &d), 0);
	assert_int_equal(c.n, 1);
	checksums_free(&c);
}

/* tmpl with every '@' replaced by H1 */
static void
expand(const char *tmpl, char *out, size_t len)
{
	size_t o = 0;

	for (; *tmpl != '\0' && o + 65 < len; tmpl++) {
		if (*tmpl == '@') {
			memcpy(out + o, H1, 64);
			o += 64;
		} else
			out[o++] = *tmpl;
	}
	out[o] = '\0';
}

static void
test_checksums_refused(void **st)
{
	static const struct {
		const char *tmpl;	/* '@': H1 */
		const char *want;	/* NULL: accepted */
	} bad[] = {
		{ "d41d8cd98f00b204e9800998ecf8427e  f.tgz\n", "line 1: not a SHA-256" },
		{ "@  f.tgz\n@\n", "either named digests or one bare" },
		{ "# nothing here\n\n", "no digest" },
		{ "\\@  f\\\\nx\n", "escaped file names" },
		{ "@  \n", NULL },	/* a bare digest and blanks */
		{ "SHA256 (f.tgz) = d41d8cd98f00b204e9800998ecf8427e\n", "not a SHA-256" },
		{ "SHA256 f.tgz @\n", "not a SHA-256 or SHA-512 digest" },
		{ "@x  f.tgz\n", "line 1" },
		{ "@  a\n@  b\n@  a\n", NULL },	/* the same digest again */
	};
	struct checksums c;
	struct slw_diag d;
	char txt[1024];
	size_t i;
	int r;

	(void)st;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		expand(bad[i].tmpl, txt, sizeof(txt));
		r = parse(txt, &c, &d);
		if (bad[i].want == NULL) {
			if (r != 0)
				fail_msg("case %zu refused: %s", i, d.msg);
			checksums_free(&c);
			continue;
		}
		if (r == 0)
			fail_msg("case %zu accepted", i);
		assert_null(c.e);
		if (strstr(d.msg, bad[i].want) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, d.msg, bad[i].want);
	}
	/* two digests for one name */
	snprintf(txt, sizeof(txt), "%s  f.tgz\n%s  f.tgz\n", H1, H2);
	assert_int_equal(parse(txt, &c, &d), SLW_ERR_PARSE);
	assert_non_null(strstr(d.msg, "line 2: 'f.tgz' is listed again"));
	/* NUL bytes, size cap */
	assert_int_equal(checksums_parse((const uint8_t *)"a\0b", 3, &c, &d),
	    SLW_ERR_PARSE);
	assert_int_equal(checksums_parse((const uint8_t *)txt, CHECKSUMS_MAX + 1,
	    &c, &d), SLW_ERR_TOOBIG);
	/* two base names alike, different digests: ambiguous, not found */
	snprintf(txt, sizeof(txt), "%s  a/f.tgz\n%s  b/f.tgz\n", H1, H2);
	assert_int_equal(parse(txt, &c, &d), 0);
	assert_null(checksums_find(&c, "f.tgz", 0));
	checksums_free(&c);
}

static struct inventory *
inv_with(const char *version, const char *extra)
{
	char doc[2048];
	struct inventory *inv = NULL;
	struct slw_diag d;

	snprintf(doc, sizeof(doc), "apiVersion: slipway/v1\nkind: Cluster\n"
	    "cluster: { name: k, kubernetesVersion: %s }\n%s"
	    "nodes:\n"
	    "  - { name: m1, ip: 10.0.0.1, roles: [etcd, master] }\n"
	    "  - { name: w1, ip: 10.0.0.2, roles: [worker] }\n", version, extra);
	slw_diag_clear(&d);
	if (inventory_parse((const uint8_t *)doc, strlen(doc), "t.yaml", &inv,
	    &d) != 0)
		fail_msg("%s", d.msg);
	return inv;
}

static void
test_versions(void **st)
{
	struct inventory *inv;
	struct rel_versions v35, v36, v37, o;

	(void)st;
	inv = inv_with("v1.35.2", "");
	assert_int_equal(release_versions(inv, &v35, NULL), 0);
	inventory_free(inv);
	inv = inv_with("v1.36.0", "");
	assert_int_equal(release_versions(inv, &v36, NULL), 0);
	inventory_free(inv);
	inv = inv_with("v1.37.1", "");
	assert_int_equal(release_versions(inv, &v37, NULL), 0);
	inventory_free(inv);
	assert_string_equal(v35.v[RC_KUBERNETES], "v1.35.2");
	assert_string_equal(v35.v[RC_ETCD], "3.6.6");
	assert_string_equal(v36.v[RC_ETCD], "3.6.8");
	assert_string_equal(v35.v[RC_CNI], "1.8.0");
	assert_string_equal(v35.v[RC_PAUSE], "3.10.1");
	assert_string_equal(v37.v[RC_CONTAINERD], "2.3.0");
	/* every component of every minor has a version */
	for (int c = 0; c < RC__COUNT; c++)
		assert_true(release_version_ok(v37.v[c]));
	/* the inventory's versions win */
	inv = inv_with("v1.36.0", "versions: { etcd: 3.4.23, pause: \"3.9\" }\n");
	assert_int_equal(inv->n_versions, 2);
	assert_int_equal(release_versions(inv, &o, NULL), 0);
	assert_string_equal(o.v[RC_ETCD], "3.4.23");
	assert_string_equal(o.v[RC_PAUSE], "3.9");
	assert_string_equal(o.v[RC_CONTAINERD], v36.v[RC_CONTAINERD]);
	inventory_free(inv);

	assert_true(release_version_eq("v1.36.0", "1.36.0"));
	assert_false(release_version_eq("1.36.0", "1.36.01"));
	assert_false(release_version_ok("latest"));
	assert_false(release_version_ok("1.0 ; x"));
	assert_true(release_version_ok("1.6.2-flannel1"));
}

static void
test_release_files(void **st)
{
	static const char *const comps[] = { "etcd", "containerd", "cni",
	    "flannel", "flannelCni" };
	struct rel_file f;
	enum rel_component c, want;
	char v[REL_VERSION_MAX];
	size_t i;

	(void)st;
	/* every versioned release file name parses back to itself */
	for (i = 0; i < sizeof(comps) / sizeof(comps[0]); i++) {
		assert_int_equal(release_component_parse(comps[i], &want), 0);
		assert_int_equal(release_file(want, "1.2.3", &f), 0);
		assert_int_equal(release_file_parse(f.name, &c, v), 0);
		assert_int_equal(c, want);
		assert_string_equal(v, "1.2.3");
		assert_true(f.archive);
	}
	assert_int_equal(release_file(RC_ETCD, "v3.6.8", &f), 0);
	assert_string_equal(f.name, "etcd-v3.6.8-linux-amd64.tar.gz");
	assert_string_equal(f.checksums, "SHA256SUMS");
	assert_int_equal(release_file_parse("/x/kubernetes-server-linux-amd64.tar.gz",
	    &c, v), 0);
	assert_int_equal(c, RC_KUBERNETES);
	assert_string_equal(v, "");
	assert_int_equal(release_file_parse("runc.amd64", &c, v), 0);
	assert_int_equal(c, RC_RUNC);
	assert_int_equal(release_file_parse("etcd-vX;rm-linux-amd64.tar.gz", &c,
	    v), SLW_ERR_NOTFOUND);
	assert_int_equal(release_file_parse("kubelet", &c, v), SLW_ERR_NOTFOUND);
	/* binaries by name and by their upstream file name */
	assert_string_equal(release_binary_find("runc.amd64")->name, "runc");
	assert_string_equal(release_binary_find("flannel-amd64")->name,
	    "flannel");
	assert_int_equal(release_binary_find("pause")->kind, REL_IMAGE);
	assert_null(release_binary_find("docker"));
}

static void
test_image_ref(void **st)
{
	static const char oci[] = "{\"schemaVersion\":2,\"manifests\":[{"
	    "\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	    "\"annotations\":{\"io.containerd.image.name\":"
	    "\"registry.k8s.io/pause:3.10.1\",\"org.opencontainers.image."
	    "ref.name\":\"3.10.1\"}}]}";
	static const char oci_ref[] = "{\"manifests\":[{\"annotations\":{"
	    "\"org.opencontainers.image.ref.name\":\"localhost:5000/pause:3.9\""
	    "}}]}";
	static const char oci_tag[] = "{\"manifests\":[{\"annotations\":{"
	    "\"org.opencontainers.image.ref.name\":\"3.10.1\"}}]}";
	static const char docker[] = "[{\"Config\":\"c.json\",\"RepoTags\":"
	    "[\"registry.k8s.io/pause:3.10.1\"],\"Layers\":[]}]";
	static const char evil[] = "[{\"RepoTags\":[\"a/b:1;rm -rf /\"]}]";
	char ref[ARTIFACT_REF_MAX];
	struct slw_diag d;

	(void)st;
	slw_diag_clear(&d);
	assert_int_equal(artifact_tar_image_ref_parse(ATAR_OCI,
	    (const uint8_t *)oci, strlen(oci), ref, &d), 0);
	assert_string_equal(ref, "registry.k8s.io/pause:3.10.1");
	assert_int_equal(artifact_tar_image_ref_parse(ATAR_OCI,
	    (const uint8_t *)oci_ref, strlen(oci_ref), ref, &d), 0);
	assert_string_equal(ref, "localhost:5000/pause:3.9");
	assert_int_equal(artifact_tar_image_ref_parse(ATAR_OCI,
	    (const uint8_t *)oci_tag, strlen(oci_tag), ref, &d), SLW_ERR_INVALID);
	assert_non_null(strstr(d.msg, "no name"));
	assert_int_equal(artifact_tar_image_ref_parse(ATAR_DOCKER,
	    (const uint8_t *)docker, strlen(docker), ref, &d), 0);
	assert_string_equal(ref, "registry.k8s.io/pause:3.10.1");
	slw_diag_clear(&d);
	assert_int_equal(artifact_tar_image_ref_parse(ATAR_DOCKER,
	    (const uint8_t *)evil, strlen(evil), ref, &d), SLW_ERR_INVALID);
	assert_int_equal(artifact_tar_image_ref_parse(ATAR_DOCKER,
	    (const uint8_t *)"[", 1, ref, &d), SLW_ERR_PARSE);
}

/* ---- the store ---- */

static int
nothing(struct store_txn *t, void *arg)
{
	(void)t;
	(void)arg;
	return 0;
}

static int
list_txn(struct store_txn *t, void *arg)
{
	return artifact_list(t, arg);
}

static void
sha_of(const void *p, size_t n, uint8_t out[32])
{
	mbedtls_sha256(p, n, out, 0);
}

static void
test_store(void **st)
{
	static const char body[] = "#!/bin/sh\necho Kubernetes v1.36.0\n";
	char *dir = tu_tmpdir(), state[512], file[600], path[700];
	struct store *s = NULL;
	struct store_opts so;
	struct slw_diag d;
	struct artifact_import_opts o;
	struct artifact_import_result res;
	struct artifact_list l = { NULL, 0 };
	struct artifact rm;
	struct stat sb;
	uint8_t sha[32], wrong[32];
	int fd;

	(void)st;
	snprintf(state, sizeof(state), "%s/state", dir);
	memset(&so, 0, sizeof(so));
	slw_diag_clear(&d);
	assert_int_equal(store_create(state, &so, nothing, NULL, &d), 0);
	so.need_kek = 1;
	assert_int_equal(store_open(state, &so, &s, &d), 0);
	snprintf(file, sizeof(file), "%s/kubelet", dir);
	tu_write(file, body, sizeof(body) - 1);
	sha_of(body, sizeof(body) - 1, sha);
	memcpy(wrong, sha, 32);
	wrong[5] ^= 1;

	/* a wrong digest: nothing at all */
	memset(&o, 0, sizeof(o));
	o.want = wrong;
	o.want_alg = CSUM_SHA256;
	o.version = "v1.36.0";
	o.actor = "test";
	slw_diag_clear(&d);
	assert_int_equal(artifact_import(s, file, &o, &res, &d), SLW_ERR_VERIFY);
	assert_non_null(strstr(d.msg, "nothing was stored"));
	assert_int_equal(store_read(s, list_txn, &l, &d), 0);
	assert_int_equal(l.n, 0);
	/* no digest at all: refused up front */
	o.want = NULL;
	assert_int_equal(artifact_import(s, file, &o, &res, &d), SLW_ERR_INVALID);

	/* the right one */
	o.want = sha;
	slw_diag_clear(&d);
	if (artifact_import(s, file, &o, &res, &d) != 0)
		fail_msg("%s", d.msg);
	assert_int_equal(res.n, 1);
	assert_int_equal(res.added, 1);
	assert_string_equal(res.a[0].name, "kubelet");
	assert_string_equal(res.a[0].version, "v1.36.0");
	assert_string_equal(res.a[0].component, "kubernetes");
	assert_int_equal(res.a[0].size, sizeof(body) - 1);
	snprintf(path, sizeof(path), "%s/artifacts/%s", state, res.a[0].hex);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0444);
	artifact_import_result_free(&res);
	/* version without its "v": stored the Kubernetes way */
	assert_int_equal(store_read(s, list_txn, &l, &d), 0);
	assert_int_equal(l.n, 1);
	assert_non_null(artifact_list_find(&l, "kubelet", "1.36.0"));
	assert_null(artifact_list_find(&l, "kubelet", "1.35.0"));

	/* again: a no-op */
	slw_diag_clear(&d);
	assert_int_equal(artifact_import(s, file, &o, &res, &d), 0);
	assert_int_equal(res.added, 0);
	assert_int_equal(res.fresh[0], 0);
	artifact_import_result_free(&res);
	/* the same bytes as another version: refused */
	o.version = "v1.35.0";
	slw_diag_clear(&d);
	assert_int_equal(artifact_import(s, file, &o, &res, &d), SLW_ERR_EXISTS);
	assert_non_null(strstr(d.msg, "is stored as kubelet v1.36.0 already"));

	/* served through a directory descriptor */
	assert_int_equal(artifact_dir_open(state, 0, &fd, &d), 0);
	{
		int f = -1;
		char got[64] = "";

		assert_int_equal(artifact_open(fd, &l.a[0], &f), 0);
		assert_int_equal(read(f, got, sizeof(got) - 1),
		    (ssize_t)sizeof(body) - 1);
		assert_string_equal(got, body);
		close(f);
		l.a[0].size++;	/* a record that does not fit its file */
		assert_int_equal(artifact_open(fd, &l.a[0], &f), SLW_ERR_CORRUPT);
		l.a[0].size--;
	}
	artifact_list_free(&l);

	/* remove */
	slw_diag_clear(&d);
	assert_int_equal(artifact_remove(s, sha, "test", &rm, &d), 0);
	assert_string_equal(rm.name, "kubelet");
	assert_int_equal(stat(path, &sb), -1);
	assert_int_equal(artifact_remove(s, sha, "test", &rm, &d),
	    SLW_ERR_NOTFOUND);
	close(fd);
	store_close(s);
	tu_rmrf(dir);
	free(dir);
}

static void
test_need(void **st)
{
	struct inventory *inv = inv_with("v1.36.0", "versions: { etcd: 3.4.23 }\n");
	struct artifact_list l = { NULL, 0 };
	struct artifact_needs n;
	struct artifact a[2];
	size_t i, found = 0;

	(void)st;
	memset(a, 0, sizeof(a));
	snprintf(a[0].name, sizeof(a[0].name), "etcd");
	snprintf(a[0].version, sizeof(a[0].version), "3.4.23");
	snprintf(a[1].name, sizeof(a[1].name), "kubelet");
	snprintf(a[1].version, sizeof(a[1].version), "v1.35.0");	/* not ours */
	l.a = a;
	l.n = 2;
	assert_int_equal(artifact_need(inv, 0, &l, &n, NULL), 0);
	for (i = 0; i < n.n; i++) {
		if (strcmp(n.e[i].bin->name, "etcd") == 0) {
			assert_ptr_equal(n.e[i].have, &a[0]);
			assert_string_equal(n.e[i].file.name,
			    "etcd-v3.4.23-linux-amd64.tar.gz");
			found++;
		}
		if (strcmp(n.e[i].bin->name, "kubelet") == 0) {
			assert_null(n.e[i].have);
			found++;
		}
	}
	assert_int_equal(found, 2);
	assert_int_equal(n.missing, n.n - 1);
	artifact_need_free(&n);
	/* a worker needs no etcd and no control plane */
	assert_int_equal(artifact_need(inv, ROLE_WORKER, &l, &n, NULL), 0);
	assert_true(n.n > 0);
	for (i = 0; i < n.n; i++) {
		assert_true(n.e[i].bin->roles & ROLE_WORKER);
		assert_string_not_equal(n.e[i].bin->name, "etcd");
		assert_string_not_equal(n.e[i].bin->name, "kube-apiserver");
	}
	artifact_need_free(&n);
	inventory_free(inv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checksums_forms),
		cmocka_unit_test(test_checksums_refused),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_release_files),
		cmocka_unit_test(test_image_ref),
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_need),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
