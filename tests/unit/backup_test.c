// SPDX-License-Identifier: Apache-2.0
/*
 * backup_test.c: sealed backups and their restore. The file verifies and
 * says what it holds; every truncation, a flipped bit anywhere, bytes after
 * the end and another appliance's backup are refused with nothing changed;
 * a store in use is not replaced; an older backup needs the rollback flag,
 * then every token unused at backup time is void, later tokens are
 * unknown, the audit chain verifies and records it, and the database from
 * before the restore no longer opens.
 */
#include "testutil.h"

#include "audit.h"
#include "backup.h"
#include "store.h"
#include "token.h"

#include <fcntl.h>
#include <sys/stat.h>

static char *dir;
static char state[4200], bk[4300];

static int
setup(void **st)
{
	(void)st;
	dir = tu_tmpdir();
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(bk, sizeof(bk), "%s/backup", dir);
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
init_txn(struct store_txn *t, void *arg)
{
	(void)arg;
	return audit_append(t, "test", "init", "state", "");
}

static int
put_txn(struct store_txn *t, void *arg)
{
	return token_put(t, arg);
}

struct use_arg {
	const char *tok;
	struct token_info ti;
	enum token_fail why;
};

static int
use_txn(struct store_txn *t, void *arg)
{
	struct use_arg *a = arg;
	struct token_want w = { NULL, NULL, slw_now() };

	return token_consume(t, a->tok, strlen(a->tok), &w, "bundle", &a->ti,
	    &a->why);
}

static int
check_txn(struct store_txn *t, void *arg)
{
	struct use_arg *a = arg;
	struct token_want w = { NULL, NULL, slw_now() };

	return token_check(t, a->tok, strlen(a->tok), &w, &a->ti, &a->why);
}

static struct store *
open_state(void)
{
	struct store *s = NULL;
	struct slw_diag d;

	slw_diag_clear(&d);
	if (store_open(state, NULL, &s, &d) != 0)
		fail_msg("open: %s", d.msg);
	return s;
}

static void
new_token(struct token_new *tn)
{
	struct store *s = open_state();

	assert_int_equal(token_make("test1", 3600, "", "console:test", slw_now(),
	    tn, NULL), 0);
	assert_int_equal(store_write(s, put_txn, tn, NULL), 0);
	store_close(s);
}

static int
use_token(const char *tok, int write, enum token_fail *why)
{
	struct use_arg a;
	struct store *s = open_state();
	int r;

	memset(&a, 0, sizeof(a));
	a.tok = tok;
	r = write ? store_write(s, use_txn, &a, NULL) :
	    store_read(s, check_txn, &a, NULL);
	store_close(s);
	if (why != NULL)
		*why = a.why;
	return r;
}

static void
take_backup(const char *path, struct backup_manifest *m)
{
	struct store *s = open_state();
	struct slw_diag d;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	slw_diag_clear(&d);
	if (backup_write(s, fd, m, &d) != 0)
		fail_msg("backup: %s", d.msg);
	close(fd);
	store_close(s);
}

static int
void_fixup(struct store_txn *t, void *arg, char *note, size_t len)
{
	size_t n;
	int r;

	(void)arg;
	if ((r = token_void_active(t, "restore", "test rollback", &n)) == 0)
		snprintf(note, len, "%zu unused tokens voided", n);
	return r;
}

static int
restore(const char *path, unsigned int flags, struct backup_restore_result *res,
    struct slw_diag *d)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	assert_true(fd >= 0);
	slw_diag_clear(d);
	r = backup_restore(state, NULL, fd, flags, void_fixup, NULL,
	    "console:test", res, d);
	close(fd);
	return r;
}

static void
read_all(const char *path, struct buf *b)
{
	buf_free(b);
	assert_int_equal(buf_read_file(b, path, 64 << 20), 0);
}

/* The state's bytes: a refused restore must leave them as they were. */
static void
snapshot(struct buf *b)
{
	char p[4400];

	snprintf(p, sizeof(p), "%s/db/data.mdb", state);
	read_all(p, b);
}

static void
unchanged(const struct buf *before)
{
	struct buf now = { 0 };

	snapshot(&now);
	assert_int_equal(now.len, before->len);
	assert_memory_equal(now.data, before->data, now.len);
	buf_free(&now);
}

static int
last_audit(void *arg, const struct audit_entry *e)
{
	struct audit_entry *out = arg;

	memmove(out + 1, out, sizeof(*out));	/* keep the last two */
	*out = *e;
	return 0;
}

static int
audit_txn(struct store_txn *t, void *arg)
{
	return audit_foreach(t, last_audit, arg);
}

static void
test_backup_restore_rollback(void **st)
{
	struct token_new used, unused, later;
	struct backup_manifest m, pm;
	struct backup_restore_result res;
	struct buf file = { 0 }, before = { 0 }, oldstore = { 0 };
	struct audit_entry last[2];
	struct slw_diag d;
	struct store *s;
	struct kek k;
	enum token_fail why;
	char p[4400], old[4400];
	uint64_t n;

	(void)st;
	assert_int_equal(store_create(state, NULL, init_txn, NULL, NULL), 0);
	new_token(&used);
	new_token(&unused);
	assert_int_equal(use_token(used.token, 1, NULL), 0);
	take_backup(bk, &m);
	assert_int_equal(m.generation, 4);
	assert_int_equal(m.counts[DB_TOKENS], 2);
	assert_int_equal(m.audit_records, 3);
	assert_true(m.db_size > 0 && m.chunks == 1);

	/* the file verifies under this KEK and says the same */
	snprintf(p, sizeof(p), "%s/kek", state);
	assert_int_equal(kek_load(p, &k, NULL), 0);
	read_all(bk, &file);
	assert_int_equal(backup_parse_buf(&k, file.data, file.len, &pm, NULL), 0);
	assert_memory_equal(pm.id, m.id, 16);
	assert_int_equal(pm.generation, m.generation);
	assert_memory_equal(pm.db_sha256, m.db_sha256, 32);

	/* after the backup: the unused token is used, another one made */
	assert_int_equal(use_token(unused.token, 1, NULL), 0);
	new_token(&later);
	snprintf(old, sizeof(old), "%s/before-restore.mdb", dir);
	snapshot(&oldstore);
	tu_write(old, oldstore.data, oldstore.len);
	snapshot(&before);

	/* older: refused without the flag, nothing changed */
	assert_int_equal(restore(bk, 0, &res, &d), SLW_ERR_DENIED);
	assert_non_null(strstr(d.msg, "older than the store (generation 4 < 6)"));
	assert_non_null(strstr(d.msg, "--rollback"));
	unchanged(&before);

	/* in use (serve running): refused, nothing changed */
	s = open_state();
	assert_int_equal(restore(bk, BACKUP_ROLLBACK, &res, &d), SLW_ERR_BUSY);
	assert_non_null(strstr(d.msg, "in use"));
	store_close(s);
	unchanged(&before);

	/* the rollback */
	if (restore(bk, BACKUP_ROLLBACK, &res, &d) != 0)
		fail_msg("restore: %s", d.msg);
	assert_true(res.older);
	assert_int_equal(res.was_generation, 6);
	assert_int_equal(res.generation, 7);
	assert_string_equal(res.fixup_note, "1 unused tokens voided");
	/* used before the backup: still used; unused then (used since): void;
	 * made after it: unknown */
	assert_int_equal(use_token(used.token, 0, &why), SLW_ERR_AUTH);
	assert_int_equal(why, TOKEN_FAIL_USED);
	assert_int_equal(use_token(unused.token, 1, &why), SLW_ERR_AUTH);
	assert_int_equal(why, TOKEN_FAIL_REVOKED);
	assert_int_equal(use_token(later.token, 1, &why), SLW_ERR_AUTH);
	assert_int_equal(why, TOKEN_FAIL_UNKNOWN);
	/* the chain verifies and ends with the void and the rollback */
	s = open_state();
	assert_int_equal(audit_verify(s, &n, NULL), 0);
	assert_int_equal(n, 5);
	memset(last, 0, sizeof(last));
	assert_int_equal(store_read(s, audit_txn, last, NULL), 0);
	assert_string_equal(last[0].action, "store.rollback");
	assert_string_equal(last[1].action, "token.void");
	assert_non_null(strstr(last[0].detail, "was at generation 6"));
	store_close(s);
	/* the store from before the restore is now older than the anchor */
	snprintf(p, sizeof(p), "%s/db/data.mdb", state);
	snapshot(&before);
	tu_write(p, oldstore.data, oldstore.len);
	slw_diag_clear(&d);
	s = NULL;
	assert_int_equal(store_open(state, NULL, &s, &d), SLW_ERR_CORRUPT);
	assert_non_null(strstr(d.msg, "(generation 6 < 7)"));
	tu_write(p, before.data, before.len);
	/* and the same backup again is older still */
	assert_int_equal(restore(bk, 0, &res, &d), SLW_ERR_DENIED);
	buf_free(&file);
	buf_free(&before);
	buf_free(&oldstore);
	kek_wipe(&k);
}

/* Every truncation, bit flips, trailing bytes, another appliance. */
static void
test_bad_backups_change_nothing(void **st)
{
	struct backup_manifest m;
	struct backup_restore_result res;
	struct buf file = { 0 }, before = { 0 }, bad = { 0 };
	struct slw_diag d;
	struct kek k, other;
	char p[4500], other_state[4300];
	size_t cut, i;
	static const size_t flips[] = { 3, 9, 26, 40, 100 };

	(void)st;
	tu_rmrf(state);
	assert_int_equal(store_create(state, NULL, init_txn, NULL, NULL), 0);
	take_backup(bk, &m);
	snprintf(p, sizeof(p), "%s/kek", state);
	assert_int_equal(kek_load(p, &k, NULL), 0);
	read_all(bk, &file);
	snapshot(&before);
	for (cut = 0; cut < file.len; cut += cut < 64 ? 1 : 509) {
		slw_diag_clear(&d);
		assert_int_not_equal(backup_parse_buf(&k, file.data, cut, &m, &d),
		    0);
		assert_true(d.msg[0] != '\0');
	}
	snprintf(p, sizeof(p), "%s/bad", dir);
	/* a truncated file through the real restore */
	tu_write(p, file.data, file.len - 1);
	assert_int_not_equal(restore(p, BACKUP_ROLLBACK, &res, &d), 0);
	assert_non_null(strstr(d.msg, "truncated"));
	unchanged(&before);
	for (i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		buf_set(&bad, file.data, file.len);
		bad.data[flips[i] < file.len ? flips[i] : file.len - 1] ^= 0x10;
		tu_write(p, bad.data, bad.len);
		assert_int_not_equal(restore(p, BACKUP_ROLLBACK, &res, &d), 0);
		assert_true(d.msg[0] != '\0');
		unchanged(&before);
	}
	buf_set(&bad, file.data, file.len);
	bad.data[file.len - 1] ^= 0x01;
	tu_write(p, bad.data, bad.len);
	assert_int_equal(restore(p, BACKUP_ROLLBACK, &res, &d), SLW_ERR_CORRUPT);
	assert_non_null(strstr(d.msg, "integrity"));
	buf_set(&bad, file.data, file.len);
	buf_append(&bad, "x", 1);
	tu_write(p, bad.data, bad.len);
	assert_int_equal(restore(p, BACKUP_ROLLBACK, &res, &d), SLW_ERR_PARSE);
	assert_non_null(strstr(d.msg, "after its last chunk"));
	unchanged(&before);

	/* another appliance's backup */
	snprintf(other_state, sizeof(other_state), "%s/other", dir);
	assert_int_equal(store_create(other_state, NULL, init_txn, NULL, NULL),
	    0);
	snprintf(p, sizeof(p), "%s/kek", other_state);
	assert_int_equal(kek_load(p, &other, NULL), 0);
	slw_diag_clear(&d);
	assert_int_equal(backup_parse_buf(&other, file.data, file.len, &m, &d),
	    SLW_ERR_KEK);
	assert_non_null(strstr(d.msg, "made by another appliance"));
	/* and through restore, into the other state */
	{
		char keep[4200];
		int fd = open(bk, O_RDONLY | O_CLOEXEC);

		memcpy(keep, state, sizeof(keep));
		snprintf(state, sizeof(state), "%.4100s", other_state);
		snapshot(&before);
		slw_diag_clear(&d);
		assert_int_equal(backup_restore(state, NULL, fd, BACKUP_ROLLBACK,
		    NULL, NULL, "t", &res, &d), SLW_ERR_KEK);
		close(fd);
		unchanged(&before);
		memcpy(state, keep, sizeof(state));
	}
	/* the untouched file still restores: the same generation, no flag */
	assert_int_equal(restore(bk, 0, &res, &d), 0);
	assert_false(res.older);
	buf_free(&file);
	buf_free(&before);
	buf_free(&bad);
	kek_wipe(&k);
	kek_wipe(&other);
}

/* A new machine: the KEK (and its anchor) kept, the state lost. */
static void
test_restore_into_empty_state(void **st)
{
	struct backup_manifest m;
	struct backup_restore_result res;
	struct slw_diag d;
	struct store *s;
	uint64_t n;
	char p[4400], q[4400];

	(void)st;
	tu_rmrf(state);
	assert_int_equal(store_create(state, NULL, init_txn, NULL, NULL), 0);
	take_backup(bk, &m);
	snprintf(p, sizeof(p), "%s/db", state);
	snprintf(q, sizeof(q), "%s/lost-db", dir);
	assert_int_equal(rename(p, q), 0);
	assert_false(store_exists(state));
	if (restore(bk, 0, &res, &d) != 0)
		fail_msg("restore: %s", d.msg);
	assert_false(res.older);
	s = open_state();
	assert_int_equal(audit_verify(s, &n, NULL), 0);
	assert_int_equal(n, 2);		/* init, store.restore */
	store_close(s);
}

/*
 * The fuzz corpus of tests/fuzz/backup_file.c: real backups under the fuzz
 * target's test KEK. SLW_WRITE_FUZZ_SEEDS=DIR writes them; every run
 * checks that the committed ones still verify (the format has not moved).
 */
static void
test_fuzz_seeds(void **st)
{
	static const char corpus[] = SLW_DATA_DIR "/../fuzz/corpus/backup_file";
	const char *out = getenv("SLW_WRITE_FUZZ_SEEDS");
	struct backup_manifest m;
	struct store_opts o;
	struct token_new tn;
	struct buf file = { 0 }, pt = { 0 };
	struct kek k;
	struct store *s = NULL;
	uint8_t key[KEK_LEN];
	char p[4400], aad[96];
	int fd;

	(void)st;
	memset(key, 0x5a, sizeof(key));
	assert_int_equal(kek_set(&k, key), 0);
	if (out == NULL) {
		snprintf(p, sizeof(p), "%s/backup-1", corpus);
		read_all(p, &file);
		assert_int_equal(backup_parse_buf(&k, file.data, file.len, &m,
		    NULL), 0);
		buf_free(&file);
		kek_wipe(&k);
		return;
	}
	tu_rmrf(state);
	memset(&o, 0, sizeof(o));
	o.kek = &k;
	assert_int_equal(store_create(state, &o, init_txn, NULL, NULL), 0);
	assert_int_equal(store_open(state, &o, &s, NULL), 0);
	assert_int_equal(token_make("test1", 3600, "", "fuzz", slw_now(), &tn,
	    NULL), 0);
	assert_int_equal(store_write(s, put_txn, &tn, NULL), 0);
	snprintf(p, sizeof(p), "%s/backup-1", out);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(backup_write(s, fd, &m, NULL), 0);
	close(fd);
	store_close(s);
	read_all(p, &file);
	/* the manifest's plaintext, for the manifest parser */
	snprintf(aad, sizeof(aad), "backup/%s/manifest", m.appliance);
	assert_int_equal(seal_open(&k, aad, file.data + 28,
	    (size_t)file.data[24] << 24 | (size_t)file.data[25] << 16 |
	    (size_t)file.data[26] << 8 | file.data[27], &pt), 0);
	snprintf(p, sizeof(p), "%s/manifest-1", out);
	tu_write(p, pt.data, pt.len);
	snprintf(p, sizeof(p), "%s/kek.anchor", state);
	read_all(p, &pt);
	snprintf(aad, sizeof(aad), "%s/anchor-1", out);
	tu_write(aad, pt.data, pt.len);
	buf_free(&file);
	buf_free(&pt);
	kek_wipe(&k);
	token_new_wipe(&tn);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backup_restore_rollback),
		cmocka_unit_test(test_bad_backups_change_nothing),
		cmocka_unit_test(test_restore_into_empty_state),
		cmocka_unit_test(test_fuzz_seeds),
	};

	slw_crypto_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
