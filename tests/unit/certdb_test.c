// SPDX-License-Identifier: Apache-2.0
/*
 * certdb_test.c: every certificate slipway signs is recorded (node or "-",
 * purpose, CA and generation, serial, subject, dates, status).
 *
 * 1. The sources: every call of a signing primitive (cert_sign,
 *    issue_leaf, ca_make_root, signing_sign, and the producers built on
 *    them, bundle_render and approver_sign) must be one of the issuing
 *    paths listed below, each with the recording call that records what it
 *    signs. A new path that is not listed (or whose recorder is gone)
 *    fails this test with the file and what to do.
 * 2. The console paths for real: `init`, `cert issue`, `cert seed-set`,
 *    `bundle render` and `kubeconfig admin`; every certificate in every
 *    file they wrote (PEM and kubeconfig-embedded) has a record that
 *    matches the certificate, with the node and purpose expected.
 */
#define _XOPEN_SOURCE 700	/* nftw */
#include "testutil.h"

#include <ftw.h>
#include <libgen.h>
#include <sys/stat.h>

#include <mbedtls/base64.h>

#include "certdb.h"
#include "pem.h"
#include "store.h"

/* ---- 1. the sources ---- */

static const char *const primitives[] = {
	"cert_sign", "issue_leaf", "ca_make_root", "signing_sign",
	"bundle_render", "approver_sign",
};
#define N_PRIM (sizeof(primitives) / sizeof(primitives[0]))

/* files that implement a primitive with another one (not issuing paths) */
static const struct {
	const char *file, *call;
} implementations[] = {
	{ "ca.c", "cert_sign" },		/* ca_make_root */
	{ "issue.c", "cert_sign" },		/* issue_leaf */
	{ "signing.c", "cert_sign" },		/* signing_sign */
	/* not the PKI's: a sealed serve's throwaway self-signed certificate
	 * (http_tls_throwaway), which no CA signs and nothing trusts */
	{ "http_tls.c", "cert_sign" },
};
#define N_IMPL (sizeof(implementations) / sizeof(implementations[0]))

static const struct issuing_path {
	const char *file;	/* basename of the calling file */
	const char *call;	/* the primitive it calls */
	const char *rec_file;	/* where what it signs is recorded */
	const char *recorder;	/* the call that records it there */
} paths[] = {
	{ "cmd_init.c", "ca_make_root", "cmd_init.c", "certdb_add" },
	{ "ca_rotate.c", "ca_make_root", "ca_rotate.c", "certdb_add" },
	/* cert issue and cert seed-set */
	{ "cmd_cert.c", "issue_leaf", "cmd_cert.c", "signer_set_record" },
	{ "cmd_kubeconfig.c", "signing_sign", "cmd_kubeconfig.c",
	    "signing_result_record" },
	{ "bundle_render.c", "signing_sign", "bundle.c", "signing_result_record" },
	{ "cmd_bundle.c", "bundle_render", "cmd_bundle.c", "bundle_record" },
	{ "redeem_bundle.c", "bundle_render", "redeem_bundle.c",
	    "bundle_record" },
	{ "redeem.c", "signing_sign", "redeem.c", "signing_result_record" },
	{ "http_tls.c", "signing_sign", "http_tls.c", "signing_result_record" },
	/* the approver's signatures: in the monitor, never the approver */
	{ "approver_sign.c", "signing_sign", "approver_monitor.c",
	    "signing_result_record" },
	{ "approver_monitor.c", "approver_sign", "approver_monitor.c",
	    "signing_result_record" },
	{ "kube_session.c", "signing_sign", "kube_session.c",
	    "signing_result_record" },
	{ "id.c", "signing_sign", "id.c", "signing_result_record" },
};
#define N_PATHS (sizeof(paths) / sizeof(paths[0]))

struct src {
	char path[4096];
	char base[256];
	struct buf text;
};

static struct src *srcs;
static size_t n_srcs;

static int
collect(const char *path, const struct stat *sb, int type, struct FTW *f)
{
	size_t n = strlen(path);
	struct src *ns;

	(void)sb;
	(void)f;
	if (type != FTW_F || n < 3 || strcmp(path + n - 2, ".c") != 0)
		return 0;
	if ((ns = realloc(srcs, (n_srcs + 1) * sizeof(*srcs))) == NULL)
		return -1;
	srcs = ns;
	memset(&srcs[n_srcs], 0, sizeof(srcs[0]));
	snprintf(srcs[n_srcs].path, sizeof(srcs[0].path), "%s", path);
	snprintf(srcs[n_srcs].base, sizeof(srcs[0].base), "%s",
	    strrchr(path, '/') + 1);
	if (buf_read_file(&srcs[n_srcs].text, path, 4 << 20) != 0 ||
	    buf_append(&srcs[n_srcs].text, "", 1) != 0)
		return -1;
	n_srcs++;
	return 0;
}

static void
load_sources(void)
{
	char root[4096], sub[4200];
	static const char *const dirs[] = { "pki", "bootstrap", "appliance" };
	size_t i;

	snprintf(root, sizeof(root), "%s", SLW_EXAMPLES_DIR);
	*strrchr(root, '/') = '\0';
	for (i = 0; i < 3; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", root, dirs[i]);
		assert_int_equal(nftw(sub, collect, 16, FTW_PHYS), 0);
	}
	assert_true(n_srcs > 50);
}

static int
ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

/* Calls of fn in text (not its definition: a name at a line's start). */
static size_t
calls_of(const char *text, const char *fn)
{
	size_t n = 0, fl = strlen(fn);
	const char *p = text, *q;

	while ((p = strstr(p, fn)) != NULL) {
		q = p + fl;
		if ((p == text || !ident_char(p[-1])) && !ident_char(*q)) {
			while (*q == ' ' || *q == '\t')
				q++;
			if (*q == '(' && !(p == text || p[-1] == '\n'))
				n++;
		}
		p += fl;
	}
	return n;
}

static const struct src *
find_src(const char *base)
{
	size_t i;

	for (i = 0; i < n_srcs; i++)
		if (strcmp(srcs[i].base, base) == 0)
			return &srcs[i];
	return NULL;
}

static void
test_signing_call_sites_are_recorded(void **st)
{
	size_t i, j, k, used[N_PATHS];
	int bad = 0, impl;

	(void)st;
	memset(used, 0, sizeof(used));
	load_sources();
	for (i = 0; i < n_srcs; i++) {
		const char *text = (const char *)srcs[i].text.data;

		/* only cert.c may drive mbedTLS's certificate writer */
		if (strcmp(srcs[i].base, "cert.c") != 0 &&
		    calls_of(text, "mbedtls_x509write_crt_der") > 0) {
			print_error("%s signs certificates without cert_sign\n",
			    srcs[i].path);
			bad++;
		}
		for (j = 0; j < N_PRIM; j++) {
			if (calls_of(text, primitives[j]) == 0)
				continue;
			impl = 0;
			for (k = 0; k < N_IMPL; k++)
				if (strcmp(implementations[k].file,
				    srcs[i].base) == 0 &&
				    strcmp(implementations[k].call,
				    primitives[j]) == 0)
					impl = 1;
			if (impl)
				continue;
			for (k = 0; k < N_PATHS; k++)
				if (strcmp(paths[k].file, srcs[i].base) == 0 &&
				    strcmp(paths[k].call, primitives[j]) == 0)
					break;
			if (k == N_PATHS) {
				print_error("%s calls %s but is not a known "
				    "issuing path: record what it signs (certdb_add, "
				    "signer_set_record, signing_result_record or "
				    "bundle_record, in the transaction that hands "
				    "it out) and list it in certdb_test.c\n",
				    srcs[i].path, primitives[j]);
				bad++;
				continue;
			}
			used[k]++;
		}
	}
	for (k = 0; k < N_PATHS; k++) {
		const struct src *rf = find_src(paths[k].rec_file);

		if (used[k] == 0) {
			print_error("issuing path %s -> %s is listed but no "
			    "longer exists: update certdb_test.c\n",
			    paths[k].file, paths[k].call);
			bad++;
		}
		if (rf == NULL || calls_of((const char *)rf->text.data,
		    paths[k].recorder) == 0) {
			print_error("%s (%s) is no longer recorded: %s does not "
			    "call %s\n", paths[k].file, paths[k].call,
			    paths[k].rec_file, paths[k].recorder);
			bad++;
		}
	}
	/* the recorders end in certdb_add */
	if (calls_of((const char *)find_src("signer_set.c")->text.data,
	    "certdb_add") == 0 ||
	    calls_of((const char *)find_src("signing.c")->text.data,
	    "signer_set_record") == 0 ||
	    calls_of((const char *)find_src("bundle.c")->text.data,
	    "signing_result_record") == 0)
		bad++;
	for (i = 0; i < n_srcs; i++)
		buf_free(&srcs[i].text);
	free(srcs);
	srcs = NULL;
	n_srcs = 0;
	assert_int_equal(bad, 0);
}

/* ---- 2. the console paths ---- */

static char *dir;
static char state[4200];

struct expect {
	const char *node;	/* certdb_rec_node() expected */
	const char *purpose;	/* expected purpose, or NULL: any non-empty */
	size_t checked;
};

struct check_arg {
	const uint8_t *der;
	size_t len;
	const struct expect *want;
	const char *where;
	int ok;
};

static int
check_txn(struct store_txn *t, void *arg)
{
	struct check_arg *a = arg;
	struct cert_info info;
	struct cert_rec rec;
	int r;

	if ((r = cert_info_der(a->der, a->len, &info)) != 0)
		return r;
	if (info.serial_len != SERIAL_LEN) {
		print_error("%s: serial of %zu bytes\n", a->where,
		    info.serial_len);
		return 0;
	}
	if ((r = certdb_get(t, info.serial, &rec)) != 0) {
		print_error("%s: certificate %s (%s) is not recorded\n",
		    a->where, info.serial_hex, info.subject);
		return 0;
	}
	a->ok = 1;
	if (strcmp(rec.subject, info.subject) != 0 ||
	    rec.not_before != info.not_before ||
	    rec.not_after != info.not_after || rec.ca[0] == '\0' ||
	    rec.ca_gen == 0 || rec.purpose[0] == '\0' ||
	    rec.status == 0 || rec.der.len != a->len ||
	    memcmp(rec.der.data, a->der, a->len) != 0) {
		print_error("%s: record of %s does not match the certificate\n",
		    a->where, info.serial_hex);
		a->ok = 0;
	}
	if (info.is_ca) {
		if (strcmp(rec.purpose, "ca") != 0 ||
		    strcmp(certdb_rec_node(&rec), "-") != 0)
			a->ok = 0;
	} else if (strcmp(certdb_rec_node(&rec), a->want->node) != 0 ||
	    (a->want->purpose != NULL &&
	    strcmp(rec.purpose, a->want->purpose) != 0)) {
		print_error("%s: %s recorded for node '%s' purpose '%s', "
		    "expected '%s' '%s'\n", a->where, info.serial_hex,
		    certdb_rec_node(&rec), rec.purpose, a->want->node,
		    a->want->purpose ? a->want->purpose : "(any)");
		a->ok = 0;
	}
	certdb_rec_free(&rec);
	return 0;
}

static struct store *check_store;

static void
check_der(const uint8_t *der, size_t len, struct expect *want,
    const char *where)
{
	struct check_arg a = { der, len, want, where, 0 };

	assert_int_equal(store_read(check_store, check_txn, &a, NULL), 0);
	assert_true(a.ok);
	want->checked++;
}

/* Every PEM certificate and every kubeconfig-embedded one in a file. */
static void
check_file(const char *path, struct expect *want)
{
	struct buf b = { 0 }, der = { 0 };
	char label[PEM_LABEL_MAX];
	const char *key = "client-certificate-data: ", *p, *e;
	size_t off = 0, used, olen;
	unsigned char *dec;

	assert_int_equal(buf_read_file(&b, path, 4 << 20), 0);
	while (off < b.len && pem_next(b.data + off, b.len - off, label, &der,
	    &used, NULL) == 0) {
		if (strcmp(label, "CERTIFICATE") == 0)
			check_der(der.data, der.len, want, path);
		buf_free(&der);
		off += used;
	}
	assert_int_equal(buf_append(&b, "", 1), 0);
	for (p = (const char *)b.data; (p = strstr(p, key)) != NULL; p = e) {
		struct buf pem = { 0 };

		p += strlen(key);
		e = p + strcspn(p, "\n");
		dec = malloc((size_t)(e - p));
		assert_non_null(dec);
		assert_int_equal(mbedtls_base64_decode(dec, (size_t)(e - p),
		    &olen, (const unsigned char *)p, (size_t)(e - p)), 0);
		assert_int_equal(buf_set(&pem, dec, olen), 0);
		free(dec);
		off = 0;
		while (off < pem.len && pem_next(pem.data + off, pem.len - off,
		    label, &der, &used, NULL) == 0) {
			check_der(der.data, der.len, want, path);
			buf_free(&der);
			off += used;
		}
		buf_free(&pem);
	}
	buf_free(&b);
}

static struct expect *walk_want;

static int
walk_one(const char *path, const struct stat *sb, int type, struct FTW *f)
{
	(void)sb;
	(void)f;
	if (type == FTW_F)
		check_file(path, walk_want);
	return 0;
}

static void
check_tree(const char *root, struct expect *want)
{
	walk_want = want;
	assert_int_equal(nftw(root, walk_one, 16, FTW_PHYS), 0);
}

static void
slipway(const char *args)
{
	char cmd[9000];
	const char *bin = getenv("SLIPWAY");

	assert_non_null(bin);
	snprintf(cmd, sizeof(cmd), "'%s' --state '%s' %s >/dev/null", bin,
	    state, args);
	if (system(cmd) != 0)
		fail_msg("failed: %s", cmd);
}

struct count_arg {
	size_t n, unexpected;
};

static int
count_one(void *arg, const struct cert_rec *rec)
{
	struct count_arg *a = arg;

	a->n++;
	if (rec->status != CERT_VALID && rec->status != CERT_SUPERSEDED)
		a->unexpected++;
	return 0;
}

static int
count_txn(struct store_txn *t, void *arg)
{
	return certdb_foreach(t, count_one, arg);
}

static void
test_console_paths_record(void **st)
{
	char args[9000], out[4300];
	struct expect console = { "-", "console", 0 };
	struct expect seed = { "-", NULL, 0 };
	struct expect node = { "test2", NULL, 0 };
	struct expect admin = { "-", "admin-kubeconfig", 0 };
	struct count_arg c = { 0, 0 };
	size_t files;

	(void)st;
	dir = tu_tmpdir();
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(args, sizeof(args), "init --cluster '%s/seed-cluster.yaml'",
	    SLW_EXAMPLES_DIR);
	slipway(args);
	snprintf(args, sizeof(args), "cert issue --profile client --cn tester "
	    "--out '%s/issued/tester'", dir);
	snprintf(out, sizeof(out), "%s/issued", dir);
	assert_int_equal(mkdir(out, 0700), 0);
	slipway(args);
	snprintf(args, sizeof(args), "cert seed-set --out '%s/seed'", dir);
	slipway(args);
	snprintf(args, sizeof(args), "bundle render --node test2 --out "
	    "'%s/bundle'", dir);
	slipway(args);
	snprintf(args, sizeof(args), "kubeconfig admin --out '%s/admin.conf'",
	    dir);
	slipway(args);

	assert_int_equal(store_open(state, NULL, &check_store, NULL), 0);
	snprintf(out, sizeof(out), "%s/issued", dir);
	check_tree(out, &console);
	assert_int_equal(console.checked, 1);
	snprintf(out, sizeof(out), "%s/seed", dir);
	check_tree(out, &seed);
	assert_true(seed.checked >= 8);		/* 7 leaves + the CA(s) */
	snprintf(out, sizeof(out), "%s/bundle", dir);
	check_tree(out, &node);
	assert_true(node.checked >= 10);	/* a master and etcd member */
	snprintf(out, sizeof(out), "%s/admin.conf", dir);
	check_file(out, &admin);
	assert_true(admin.checked >= 1);
	files = console.checked + seed.checked + node.checked + admin.checked;
	assert_int_equal(store_read(check_store, count_txn, &c, NULL), 0);
	assert_int_equal(c.unexpected, 0);
	assert_true(c.n >= 10);
	(void)files;
	store_close(check_store);
	check_store = NULL;
	tu_rmrf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signing_call_sites_are_recorded),
		cmocka_unit_test(test_console_paths_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
