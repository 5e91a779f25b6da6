// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_artifact.c: `slipway artifact import|list|remove|manifest`: the
 * binaries and images the appliance serves to its nodes (artifact.h,
 * docs/artifacts.md). The command parses and prints; the store does the
 * work. Never imports a file whose digest was not given and matched.
 */
#include "artifact.h"
#include "buf.h"
#include "checksums.h"
#include "cli.h"
#include "cluster.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT_FILES_MAX 64

static cJSON *
artifact_json(const struct artifact *a)
{
	cJSON *o = cJSON_CreateObject();
	char t[32];

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "sha256", a->hex);
	cJSON_AddStringToObject(o, "name", a->name);
	cJSON_AddStringToObject(o, "component", a->component);
	cJSON_AddStringToObject(o, "version", a->version);
	cJSON_AddStringToObject(o, "kind", a->kind == REL_IMAGE ? "image" :
	    "binary");
	cJSON_AddNumberToObject(o, "size", (double)a->size);
	if (a->image[0] != '\0')
		cJSON_AddStringToObject(o, "image", a->image);
	cJSON_AddStringToObject(o, "origin", a->origin);
	cJSON_AddStringToObject(o, "originDigest", a->origin_digest);
	cli_time(a->imported, t);
	cJSON_AddStringToObject(o, "imported", t);
	cJSON_AddStringToObject(o, "importedBy", a->actor);
	return o;
}

static int
print_json(cJSON *root)
{
	char *txt = cJSON_Print(root);

	if (txt == NULL)
		return EXIT_FAIL;
	printf("%s\n", txt);
	free(txt);
	return EXIT_OK;
}

int
cmd_artifact_import(struct cli *c)
{
	const char *files[IMPORT_FILES_MAX], *sha = NULL, *sums = NULL,
	    *name = NULL, *version = NULL;
	size_t nfiles = 0, i, j, failed = 0;
	const struct cli_opt opts[] = {
		OPT_STR("sha256", &sha),
		OPT_STR("checksums", &sums),
		OPT_STR("name", &name),
		OPT_STR("version", &version),
		OPT_ARGS("FILE", files, &nfiles, 1, IMPORT_FILES_MAX,
		    "give one or more FILEs to import"),
		OPT_END,
	};
	struct checksums cs = { NULL, 0 };
	struct buf sb = { 0 };
	struct store *s = NULL;
	struct slw_diag d;
	cJSON *arr = NULL;
	uint8_t want[64];
	enum csum_alg alg = CSUM_SHA256;
	const uint8_t *wants[IMPORT_FILES_MAX];
	enum csum_alg algs[IMPORT_FILES_MAX];
	int r, ret = EXIT_FAIL;

	if (cli_opt_parse(c, opts) != 0)
		return EXIT_USAGE;
	if ((sha == NULL) == (sums == NULL))
		return cli_usage(c, "give the digest to check: --sha256 HEX or "
		    "--checksums FILE");
	if (sha != NULL && nfiles != 1)
		return cli_usage(c, "--sha256 checks one FILE; use --checksums "
		    "for several");
	if (name != NULL && nfiles != 1)
		return cli_usage(c, "--name names one FILE");
	if (version != NULL && !release_version_ok(version))
		return cli_usage(c, "--version: not a version");
	slw_diag_clear(&d);
	/* every file's digest is known before anything is imported */
	if (sha != NULL) {
		if (checksums_hex_digest(sha, strlen(sha), want, &alg) != 0 ||
		    alg != CSUM_SHA256)
			return cli_usage(c, "--sha256 takes 64 hex digits");
		wants[0] = want;
		algs[0] = alg;
	} else {
		if ((r = buf_read_file(&sb, sums, CHECKSUMS_MAX)) != 0) {
			ret = cli_fail(c, "cannot read %s: %s", sums,
			    slw_strerror(r));
			goto out;
		}
		if ((r = checksums_parse(sb.data, sb.len, &cs, &d)) != 0) {
			ret = cli_fail(c, "%s: %s", sums, slw_diag_str(&d, r));
			goto out;
		}
		for (i = 0; i < nfiles; i++) {
			const struct csum_entry *e = checksums_find(&cs, files[i],
			    nfiles == 1);

			if (e == NULL) {
				ret = cli_fail(c, "%s is not listed in %s: nothing "
				    "was imported", files[i], sums);
				goto out;
			}
			wants[i] = e->digest;
			algs[i] = e->alg;
		}
	}
	if (cli_open(c, 1, &s) != 0)
		goto out;
	if (c->json && (arr = cJSON_CreateArray()) == NULL)
		goto out;
	/* several files: each is checked before any is kept, so that one bad
	 * file leaves the store as it was (the import below checks again) */
	for (i = 0; nfiles > 1 && i < nfiles; i++) {
		struct artifact_import_opts o;
		struct artifact_import_result res;

		memset(&o, 0, sizeof(o));
		o.want = wants[i];
		o.want_alg = algs[i];
		o.version = version;
		o.check_only = 1;
		slw_diag_clear(&d);
		if ((r = artifact_import(s, files[i], &o, &res, &d)) != 0) {
			ret = cli_fail_err(c, r, &d);
			goto out;
		}
	}
	for (i = 0; i < nfiles; i++) {
		struct artifact_import_opts o;
		struct artifact_import_result res;

		memset(&o, 0, sizeof(o));
		o.want = wants[i];
		o.want_alg = algs[i];
		o.name = name;
		o.version = version;
		o.actor = cli_actor();
		slw_diag_clear(&d);
		if ((r = artifact_import(s, files[i], &o, &res, &d)) != 0) {
			cli_fail_err(c, r, &d);
			failed++;
			continue;
		}
		for (j = 0; j < res.n; j++) {
			const struct artifact *a = &res.a[j];

			if (arr != NULL)
				cJSON_AddItemToArray(arr, artifact_json(a));
			else
				printf("%s %s %s (sha256 %s, %llu bytes) from %s\n",
				    res.fresh[j] ? "imported" :
				    "already imported:", a->name, a->version, a->hex,
				    (unsigned long long)a->size, a->origin);
		}
		artifact_import_result_free(&res);
	}
	ret = failed ? EXIT_FAIL : EXIT_OK;
	if (arr != NULL && print_json(arr) != EXIT_OK)
		ret = EXIT_FAIL;
 out:
	cJSON_Delete(arr);
	checksums_free(&cs);
	buf_free(&sb);
	store_close(s);
	return ret;
}

static int
list_txn(struct store_txn *t, void *arg)
{
	return artifact_list(t, arg);
}

int
cmd_artifact_list(struct cli *c)
{
	struct artifact_list l = { NULL, 0 };
	struct store *s = NULL;
	struct slw_diag d;
	cJSON *arr = NULL;
	size_t i;
	int r, ret = EXIT_FAIL;

	if (cli_opt_parse(c, NULL) != 0)
		return EXIT_USAGE;
	slw_diag_clear(&d);
	if (cli_open(c, 0, &s) != 0)
		return EXIT_FAIL;
	if ((r = store_read(s, list_txn, &l, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if (c->json) {
		if ((arr = cJSON_CreateArray()) == NULL)
			goto out;
		for (i = 0; i < l.n; i++)
			cJSON_AddItemToArray(arr, artifact_json(&l.a[i]));
		ret = print_json(arr);
		goto out;
	}
	printf("%-24s %-16s %-11s %-6s %12s  %s\n", "NAME", "VERSION",
	    "COMPONENT", "KIND", "SIZE", "SHA256");
	for (i = 0; i < l.n; i++)
		printf("%-24s %-16s %-11s %-6s %12llu  %s\n", l.a[i].name,
		    l.a[i].version, l.a[i].component, l.a[i].kind == REL_IMAGE ?
		    "image" : "binary", (unsigned long long)l.a[i].size,
		    l.a[i].hex);
	ret = EXIT_OK;
 out:
	cJSON_Delete(arr);
	artifact_list_free(&l);
	store_close(s);
	return ret;
}

int
cmd_artifact_remove(struct cli *c)
{
	const char *hex = NULL;
	const struct cli_opt opts[] = {
		OPT_ARG("SHA256", &hex, "give the SHA256 of the artifact "
		    "(slipway artifact list)"),
		OPT_END,
	};
	struct artifact a;
	struct store *s = NULL;
	struct slw_diag d;
	uint8_t sha[32];
	int r, ret = EXIT_FAIL;

	if (cli_opt_parse(c, opts) != 0)
		return EXIT_USAGE;
	if (artifact_hex_parse(hex, sha) != 0)
		return cli_usage(c, "SHA256: 64 hex digits");
	slw_diag_clear(&d);
	if (cli_open(c, 1, &s) != 0)
		return EXIT_FAIL;
	if ((r = artifact_remove(s, sha, cli_actor(), &a, &d)) != 0)
		ret = cli_fail_err(c, r, &d);
	else {
		printf("removed %s %s (sha256 %s)\n", a.name, a.version, a.hex);
		ret = EXIT_OK;
	}
	store_close(s);
	return ret;
}

struct manifest_arg {
	struct inventory *inv;
	struct artifact_list l;
};

static int
manifest_txn(struct store_txn *t, void *arg)
{
	struct manifest_arg *m = arg;
	int r;

	if ((r = cluster_load_txn(t, &m->inv)) != 0)
		return r;
	return artifact_list(t, &m->l);
}

static const char *
file_note(const struct rel_file *f)
{
	if (f->comp == RC_PAUSE)
		return "an OCI or docker-archive tarball of the image "
		    "(docs/artifacts.md)";
	if (f->checksums[0] == '\0')
		return "no checksums file upstream: --sha256 of a digest you "
		    "trust";
	return NULL;
}

int
cmd_artifact_manifest(struct cli *c)
{
	struct manifest_arg m;
	struct artifact_needs n = { NULL, 0, 0 };
	struct store *s = NULL;
	struct slw_diag d;
	cJSON *root = NULL, *arr, *o;
	size_t i, j;
	int r, ret = EXIT_FAIL;

	if (cli_opt_parse(c, NULL) != 0)
		return EXIT_USAGE;
	memset(&m, 0, sizeof(m));
	slw_diag_clear(&d);
	if (cli_open(c, 0, &s) != 0)
		return EXIT_FAIL;
	if ((r = store_read(s, manifest_txn, &m, &d)) != 0 ||
	    (r = artifact_need(m.inv, 0, &m.l, &n, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if (c->json) {
		if ((root = cJSON_CreateObject()) == NULL ||
		    (arr = cJSON_AddArrayToObject(root, "artifacts")) == NULL)
			goto out;
		cJSON_AddStringToObject(root, "kubernetesVersion",
		    m.inv->k8s_version);
		cJSON_AddNumberToObject(root, "missing", (double)n.missing);
		for (i = 0; i < n.n; i++) {
			const struct artifact_need *e = &n.e[i];

			if ((o = cJSON_CreateObject()) == NULL)
				goto out;
			cJSON_AddStringToObject(o, "name", e->bin->name);
			cJSON_AddStringToObject(o, "component",
			    release_component_name(e->bin->comp));
			cJSON_AddStringToObject(o, "version", e->version);
			cJSON_AddStringToObject(o, "kind", e->bin->kind ==
			    REL_IMAGE ? "image" : "binary");
			cJSON_AddStringToObject(o, "file", e->file.name);
			cJSON_AddStringToObject(o, "checksums", e->file.checksums);
			if (e->have != NULL)
				cJSON_AddStringToObject(o, "sha256", e->have->hex);
			else
				cJSON_AddNullToObject(o, "sha256");
			cJSON_AddItemToArray(arr, o);
		}
		ret = print_json(root);
		goto out;
	}
	printf("Kubernetes %s: what to bring for this inventory (linux/amd64)"
	    "\n", m.inv->k8s_version);
	/* one block per upstream file, in table order */
	for (i = 0; i < n.n; i++) {
		const struct artifact_need *e = &n.e[i];
		const char *note = file_note(&e->file);
		int seen = 0;

		for (j = 0; j < i && !seen; j++)
			seen = strcmp(n.e[j].file.name, e->file.name) == 0;
		if (seen)
			continue;
		printf("\n%s %s: %s\n", release_component_name(e->bin->comp),
		    e->version, e->file.name);
		if (e->file.checksums[0] != '\0')
			printf("  checksums: %s\n", e->file.checksums);
		if (note != NULL)
			printf("  note: %s\n", note);
		for (j = i; j < n.n; j++) {
			const struct artifact_need *f = &n.e[j];

			if (strcmp(f->file.name, e->file.name) != 0)
				continue;
			if (f->have != NULL)
				printf("  %-24s stored (sha256 %s)\n", f->bin->name,
				    f->have->hex);
			else
				printf("  %-24s missing\n", f->bin->name);
		}
	}
	printf("\n%zu of %zu missing\n", n.missing, n.n);
	ret = EXIT_OK;
 out:
	cJSON_Delete(root);
	artifact_need_free(&n);
	artifact_list_free(&m.l);
	inventory_free(m.inv);
	store_close(s);
	return ret;
}
