// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_backup.c: `slipway backup --out FILE`: a sealed, consistent backup of
 * the state while serve runs (pki/backup.h, docs/operations.md). Never
 * writes over an existing file or leaves a partial one behind.
 */
#include "backup.h"
#include "cli.h"
#include "diskspace.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void
hexstr(const uint8_t *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* The manifest as JSON (restore prints it too). */
cJSON *
cli_backup_json(const struct backup_manifest *m)
{
	char id[33], head[65], sha[65], tm[32];
	cJSON *o, *counts;
	int i;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	hexstr(m->id, 16, id);
	hexstr(m->head, 32, head);
	hexstr(m->db_sha256, 32, sha);
	cli_time(m->time, tm);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "appliance", m->appliance);
	cJSON_AddStringToObject(o, "time", tm);
	cJSON_AddNumberToObject(o, "generation", (double)m->generation);
	cJSON_AddStringToObject(o, "auditHead", head);
	cJSON_AddNumberToObject(o, "audit_records", (double)m->audit_records);
	if ((counts = cJSON_AddObjectToObject(o, "counts")) != NULL)
		for (i = 0; i < DB__COUNT; i++)
			cJSON_AddNumberToObject(counts,
			    store_db_name((enum store_db)i), (double)m->counts[i]);
	cJSON_AddNumberToObject(o, "size", (double)m->db_size);
	cJSON_AddStringToObject(o, "sha256", sha);
	return o;
}

/* The directory of path, for the disk-full line. */
static void
dir_of(const char *path, char *out, size_t len)
{
	const char *sl = strrchr(path, '/');

	if (sl == NULL)
		snprintf(out, len, ".");
	else if (sl == path)
		snprintf(out, len, "/");
	else
		snprintf(out, len, "%.*s", (int)(sl - path), path);
}

int
cmd_backup(struct cli *c)
{
	struct backup_manifest m;
	struct store *s = NULL;
	struct slw_diag d;
	const char *file = NULL;
	char tmp[PATH_MAX], dir[PATH_MAX], id[33];
	uint64_t avail, total;
	const struct cli_opt opts[] = {
		OPT_STR("out", &file),
		OPT_END,
	};
	cJSON *o;
	char *txt;
	int r, fd = -1, ret = EXIT_FAIL;

	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if (file == NULL || file[0] == '\0')
		return cli_usage(c, "--out FILE is required");
	if (access(file, F_OK) == 0)
		return cli_fail(c, "%s exists; refusing to overwrite it", file);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", file, (long)getpid()) >=
	    (int)sizeof(tmp))
		return cli_fail(c, "path too long: %s", file);
	dir_of(file, dir, sizeof(dir));
	if (cli_open(c, 1, &s) != 0)
		return EXIT_FAIL;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		ret = errno == ENOSPC || errno == EDQUOT ?
		    (diskspace_get(dir, &avail, &total),
		    cli_fail(c, "disk full on %s: %llu bytes free", dir,
		    (unsigned long long)avail)) :
		    cli_fail(c, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	slw_diag_clear(&d);
	r = backup_write(s, fd, &m, &d);
	if (r == 0 && fsync(fd) != 0)
		r = slw_diag(&d, errno == ENOSPC || errno == EDQUOT ?
		    SLW_ERR_NOSPACE : SLW_ERR_IO, "writing %s: %s", file,
		    strerror(errno));
	if (close(fd) != 0 && r == 0)
		r = slw_diag(&d, SLW_ERR_IO, "writing %s: %s", file,
		    strerror(errno));
	fd = -1;
	/* link: never over a file that appeared meanwhile */
	if (r == 0 && link(tmp, file) != 0)
		r = slw_diag(&d, SLW_ERR_IO, "cannot create %s: %s", file,
		    strerror(errno));
	(void)unlink(tmp);
	if (r == SLW_ERR_NOSPACE) {
		(void)diskspace_get(dir, &avail, &total);
		ret = cli_fail(c, "disk full on %s: %llu bytes free", dir,
		    (unsigned long long)avail);
		goto out;
	}
	if (r != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if (c->json) {
		if ((o = cli_backup_json(&m)) == NULL) {
			ret = cli_fail(c, "out of memory");
			goto out;
		}
		cJSON_AddStringToObject(o, "file", file);
		txt = cJSON_Print(o);
		if (txt != NULL)
			printf("%s\n", txt);
		cJSON_free(txt);
		cJSON_Delete(o);
	} else {
		hexstr(m.id, 16, id);
		printf("backup %s written to %s: generation %llu, %llu audit "
		    "records, %llu certificates, %llu tokens, %llu bytes\n", id,
		    file, (unsigned long long)m.generation,
		    (unsigned long long)m.audit_records,
		    (unsigned long long)m.counts[DB_CERTS],
		    (unsigned long long)m.counts[DB_TOKENS],
		    (unsigned long long)m.db_size);
	}
	ret = EXIT_OK;
 out:
	if (fd >= 0) {
		close(fd);
		(void)unlink(tmp);
	}
	store_close(s);
	return ret;
}
