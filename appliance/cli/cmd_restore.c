// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_restore.c: `slipway restore FILE [--rollback]` (pki/backup.h,
 * docs/operations.md). Changes nothing unless the whole backup verified;
 * an older backup only with --rollback, which voids every token unused at
 * backup time.
 */
#include "backup.h"
#include "cli.h"
#include "token.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct void_arg {
	const char *actor;
	const char *why;
};

/* Runs in the restored copy's transaction, before it replaces the store. */
static int
void_tokens(struct store_txn *t, void *arg, char *note, size_t len)
{
	struct void_arg *a = arg;
	size_t n;
	int r;

	if ((r = token_void_active(t, a->actor, a->why, &n)) == 0)
		snprintf(note, len, "%zu unused token%s voided", n,
		    n == 1 ? "" : "s");
	return r;
}

int
cmd_restore(struct cli *c)
{
	struct backup_restore_result res;
	struct store_opts o;
	struct slw_diag d;
	struct void_arg va;
	char tm[32];
	const char *file = NULL;
	int rollback = 0;
	const struct cli_opt opts[] = {
		OPT_FLAG("rollback", &rollback),
		OPT_ARG("FILE", &file, "exactly one backup FILE is required"),
		OPT_END,
	};
	cJSON *j;
	char *txt;
	int r, fd;

	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		return cli_fail(c, "cannot open %s: %s", file, strerror(errno));
	memset(&o, 0, sizeof(o));
	o.kek_path = c->kek;
	o.need_kek = 1;
	va.actor = cli_actor();
	va.why = "rollback restore: any of them may have been used since the "
	    "backup";
	slw_diag_clear(&d);
	r = backup_restore(c->state, &o, fd, rollback ? BACKUP_ROLLBACK : 0,
	    void_tokens, &va,
	    cli_actor(), &res, &d);
	close(fd);
	if (r != 0)
		return cli_fail_err(c, r, &d);
	cli_time(res.m.time, tm);
	if (c->json) {
		if ((j = cli_backup_json(&res.m)) == NULL)
			return cli_fail(c, "out of memory");
		cJSON_AddStringToObject(j, "file", file);
		cJSON_AddBoolToObject(j, "rollback", res.older);
		cJSON_AddNumberToObject(j, "was_generation",
		    (double)res.was_generation);
		/* "generation": the store's now; the backup's under its name */
		cJSON_DeleteItemFromObject(j, "generation");
		cJSON_AddNumberToObject(j, "backup_generation",
		    (double)res.m.generation);
		cJSON_AddNumberToObject(j, "generation", (double)res.generation);
		cJSON_AddStringToObject(j, "note", res.fixup_note);
		txt = cJSON_Print(j);
		if (txt != NULL)
			printf("%s\n", txt);
		cJSON_free(txt);
		cJSON_Delete(j);
		return EXIT_OK;
	}
	printf("restored %s: backup of %s at generation %llu; the store is now "
	    "at generation %llu", file, tm, (unsigned long long)res.m.generation,
	    (unsigned long long)res.generation);
	if (res.older)
		printf("; rollback from generation %llu: %s",
		    (unsigned long long)res.was_generation,
		    res.fixup_note[0] ? res.fixup_note : "no token to void");
	printf("\n");
	return EXIT_OK;
}
