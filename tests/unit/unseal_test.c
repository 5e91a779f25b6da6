// SPDX-License-Identifier: Apache-2.0
/*
 * unseal_test.c: a sealed appliance's unseal socket: the messages (round
 * trip, caps, leftovers), the wrong-passphrase policy (three free tries,
 * then 2, 4, 8 ... s, capped), which peers may speak, and a server on a
 * real sealed store spoken to by the client: sealed until the right
 * passphrase, the delay enforced by the server, the recovery passphrase,
 * the KEK handed out only once unsealed, a passphrase change, and a peer
 * that is neither root nor in the group refused before it is read.
 */
#define _GNU_SOURCE	/* setgroups */
#include "testutil.h"

#include "kekwrap.h"
#include "store.h"
#include "unseal.h"
#include "unseal_msg.h"

#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>

static const char PASS[] = "correct horse battery";

/* ---- messages ---- */

static void
roundtrip(const struct unseal_msg *m, struct unseal_msg *o)
{
	struct buf b = { 0 };
	size_t i;

	assert_int_equal(unseal_msg_write(m, &b), 0);
	assert_int_equal((size_t)b.data[2] << 8 | b.data[3], b.len - 4);
	assert_int_equal(unseal_msg_parse(b.data + 4, b.len - 4, o, NULL), 0);
	assert_int_equal(o->type, m->type);
	/* every shorter frame and one with a byte more are refused */
	for (i = 0; i < b.len - 4; i++)
		assert_int_equal(unseal_msg_parse(b.data + 4, i, o, NULL),
		    SLW_ERR_PARSE);
	assert_int_equal(buf_append(&b, "x", 1), 0);
	assert_int_equal(unseal_msg_parse(b.data + 4, b.len - 4, o, NULL),
	    SLW_ERR_PARSE);
	assert_int_equal(o->type, 0);	/* wiped on refusal */
	b.len--;
	assert_int_equal(unseal_msg_parse(b.data + 4, b.len - 4, o, NULL), 0);
	buf_free(&b);
}

static void
test_msg(void **s)
{
	struct unseal_msg m, o;
	struct buf b = { 0 };
	uint8_t bad[8];

	(void)s;
	unseal_msg_init(&m, UNSEAL_STATUS);
	roundtrip(&m, &o);
	unseal_msg_init(&m, UNSEAL_PASSPHRASE);
	memcpy(m.pass, PASS, sizeof(PASS) - 1);
	m.pass_len = sizeof(PASS) - 1;
	roundtrip(&m, &o);
	assert_string_equal(o.pass, PASS);
	assert_int_equal(o.pass_len, sizeof(PASS) - 1);
	unseal_msg_init(&m, UNSEAL_CHANGE);
	memcpy(m.pass, "old passphrase", 14);
	m.pass_len = 14;
	memcpy(m.new_pass, "new passphrase", 14);
	m.new_pass_len = 14;
	roundtrip(&m, &o);
	assert_string_equal(o.new_pass, "new passphrase");
	unseal_msg_init(&m, UNSEAL_KEK);
	memset(m.kek, 0xab, KEK_LEN);
	roundtrip(&m, &o);
	assert_true(o.has_kek && o.kek[31] == 0xab);
	unseal_msg_init(&m, UNSEAL_ANSWER);
	m.rc = SLW_ERR_LIMIT;
	m.retry_after = 8;
	snprintf(m.text, sizeof(m.text), "the next try in 8 s");
	roundtrip(&m, &o);
	assert_int_equal(o.rc, SLW_ERR_LIMIT);
	assert_int_equal(o.retry_after, 8);
	assert_string_equal(o.text, "the next try in 8 s");
	unseal_msg_init(&m, UNSEAL_ANSWER);
	m.state = UNSEAL_UNSEALED;
	m.has_kek = 1;
	memset(m.kek, 7, KEK_LEN);
	roundtrip(&m, &o);
	assert_true(o.has_kek && o.kek[0] == 7);
	/* a key with an error, a positive rc, a second line: refused */
	m.rc = SLW_ERR_KEK;
	assert_int_equal(unseal_msg_write(&m, &b), 0);
	assert_int_equal(unseal_msg_parse(b.data + 4, b.len - 4, &o, NULL),
	    SLW_ERR_PARSE);
	buf_free(&b);
	m.has_kek = 0;
	m.rc = 1;
	assert_int_equal(unseal_msg_write(&m, &b), 0);
	assert_int_equal(unseal_msg_parse(b.data + 4, b.len - 4, &o, NULL),
	    SLW_ERR_PARSE);
	buf_free(&b);
	m.rc = 0;
	snprintf(m.text, sizeof(m.text), "two\nlines");
	assert_int_equal(unseal_msg_write(&m, &b), 0);
	assert_int_equal(unseal_msg_parse(b.data + 4, b.len - 4, &o, NULL),
	    SLW_ERR_PARSE);
	buf_free(&b);
	/* an empty passphrase, one with a NUL, an unknown type */
	memcpy(bad, "\x02\x00\x00", 3);
	assert_int_equal(unseal_msg_parse(bad, 3, &o, NULL), SLW_ERR_PARSE);
	memcpy(bad, "\x02\x00\x02" "a\0", 5);
	assert_int_equal(unseal_msg_parse(bad, 5, &o, NULL), SLW_ERR_PARSE);
	bad[0] = 99;
	assert_int_equal(unseal_msg_parse(bad, 1, &o, NULL), SLW_ERR_PARSE);
	/* a passphrase over the cap */
	unseal_msg_init(&m, UNSEAL_PASSPHRASE);
	memset(m.pass, 'a', KEKWRAP_PASS_MAX);
	m.pass_len = KEKWRAP_PASS_MAX;
	roundtrip(&m, &o);
	assert_int_equal(unseal_msg_write(&m, &b), 0);
	b.data[5] = 0x04;	/* length 1025 ... */
	b.data[6] = 0x01;
	assert_int_equal(buf_append(&b, "a", 1), 0);	/* ... and its byte */
	assert_int_equal(unseal_msg_parse(b.data + 4, b.len - 4, &o, NULL),
	    SLW_ERR_PARSE);
	buf_free(&b);
	unseal_msg_free(&m);
	unseal_msg_free(&o);
}

/* ---- the delay ---- */

static void
test_limit(void **s)
{
	struct unseal_limit l;
	double t = 1000;
	unsigned int i, want = 2;

	(void)s;
	memset(&l, 0, sizeof(l));
	assert_int_equal(unseal_limit_wait(&l, t), 0);
	unseal_limit_fail(&l, t);
	unseal_limit_fail(&l, t);
	assert_int_equal(unseal_limit_wait(&l, t), 0);	/* two tries: free */
	unseal_limit_fail(&l, t);			/* the third */
	for (i = 0; i < 12; i++) {
		assert_int_equal(unseal_limit_wait(&l, t), want);
		assert_int_equal(unseal_limit_wait(&l, t + want - 0.5), 1);
		t += want;
		assert_int_equal(unseal_limit_wait(&l, t), 0);
		unseal_limit_fail(&l, t);
		want = want * 2 > UNSEAL_DELAY_MAX ? UNSEAL_DELAY_MAX : want * 2;
	}
	assert_int_equal(unseal_limit_wait(&l, t), UNSEAL_DELAY_MAX);
	unseal_limit_ok(&l);
	assert_int_equal(unseal_limit_wait(&l, t), 0);
	unseal_limit_fail(&l, t);
	assert_int_equal(unseal_limit_wait(&l, t), 0);
}

static void
test_peer(void **s)
{
	(void)s;
	assert_true(unseal_peer_allowed(0, 0, (gid_t)-1));
	assert_true(unseal_peer_allowed(0, 1234, 4321));
	assert_true(unseal_peer_allowed(1000, 4321, 4321));
	assert_false(unseal_peer_allowed(1000, 1000, (gid_t)-1));
	assert_false(unseal_peer_allowed(65534, 65534, 4321));
}

/* ---- a server on a sealed store ---- */

static char *dir;
static char state[4200], wrapped[4300], sock[4300];
static struct kek kek;
static char recovery[KEKWRAP_RECOVERY_LEN + 1];

static int
put_secret(struct store_txn *t, void *arg)
{
	(void)arg;
	return store_secret_put(t, "sa", (const uint8_t *)"secret", 6);
}

static struct unseal_server *
sealed_server(struct store **sp)
{
	struct store_opts o;
	struct kekwrap w;
	struct unseal_server_config c;
	struct unseal_server *u = NULL;
	struct slw_diag d;

	dir = tu_tmpdir();
	chmod(dir, 0711);	/* the socket's peers need to reach it */
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(wrapped, sizeof(wrapped), "%s/%s", state, UNSEAL_WRAPPED_NAME);
	snprintf(sock, sizeof(sock), "%s/unseal.sock", dir);
	assert_int_equal(kek_generate(&kek), 0);
	memset(&o, 0, sizeof(o));
	o.kek = &kek;
	assert_int_equal(store_create(state, &o, put_secret, NULL, NULL), 0);
	memset(&w, 0, sizeof(w));
	assert_int_equal(kekwrap_recovery_new(recovery), 0);
	assert_int_equal(kekwrap_set_pass(&w, KEKWRAP_PASSPHRASE, &kek, PASS,
	    strlen(PASS), NULL, NULL), 0);
	assert_int_equal(kekwrap_set_pass(&w, KEKWRAP_RECOVERY, &kek, recovery,
	    strlen(recovery), NULL, NULL), 0);
	assert_int_equal(kekwrap_save(wrapped, &w, 1, NULL), 0);
	kekwrap_wipe(&w);
	memset(&o, 0, sizeof(o));
	assert_int_equal(store_open(state, &o, sp, NULL), 0);
	assert_null(store_kek(*sp));
	memset(&c, 0, sizeof(c));
	c.socket_path = sock;
	c.wrapped_path = wrapped;
	c.group = 4321;
	c.store = *sp;
	slw_diag_clear(&d);
	if (unseal_server_start(&c, &u, &d) != 0)
		fail_msg("start: %s", d.msg);
	return u;
}

/* One request; the answer's rc. */
static int
call(enum unseal_type t, const char *pass, const char *new_pass,
    struct unseal_msg *a)
{
	struct unseal_msg q;
	struct slw_diag d;
	int r;

	unseal_msg_init(&q, t);
	if (pass != NULL) {
		q.pass_len = strlen(pass);
		memcpy(q.pass, pass, q.pass_len);
	}
	if (new_pass != NULL) {
		q.new_pass_len = strlen(new_pass);
		memcpy(q.new_pass, new_pass, q.new_pass_len);
	}
	slw_diag_clear(&d);
	if ((r = unseal_call(sock, &q, a, 60, &d)) != 0)
		fail_msg("call: %s", d.msg);
	unseal_msg_free(&q);
	return a->rc;
}

static void
test_server(void **s)
{
	struct store *st = NULL;
	struct unseal_server *u;
	struct unseal_msg a;
	struct kek got;
	struct kekwrap w;
	struct stat sb;
	struct slw_diag d;
	int i;

	(void)s;
	u = sealed_server(&st);
	assert_int_equal(stat(sock, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(call(UNSEAL_STATUS, NULL, NULL, &a), 0);
	assert_int_equal(a.state, UNSEAL_SEALED);
	assert_non_null(strstr(a.text, "sealed"));
	slw_diag_clear(&d);
	assert_int_equal(unseal_get_kek(sock, &got, &d), SLW_ERR_NOKEK);
	assert_non_null(strstr(d.msg, "sealed"));
	/* three wrong tries, then the server makes the next one wait */
	for (i = 0; i < 3; i++) {
		assert_int_equal(call(UNSEAL_PASSPHRASE, "not the passphrase",
		    NULL, &a), SLW_ERR_KEK);
		assert_int_equal(a.retry_after, i < 2 ? 0 : UNSEAL_DELAY_FIRST);
	}
	assert_int_equal(call(UNSEAL_PASSPHRASE, PASS, NULL, &a), SLW_ERR_LIMIT);
	assert_true(a.retry_after >= 1 && a.retry_after <= UNSEAL_DELAY_FIRST);
	assert_null(store_kek(st));	/* the right one was not even tried */
	assert_int_equal(call(UNSEAL_STATUS, NULL, NULL, &a), 0);
	assert_non_null(strstr(a.text, "3 wrong in a row"));
	sleep(UNSEAL_DELAY_FIRST);
	assert_int_equal(call(UNSEAL_PASSPHRASE, "still not it!", NULL, &a),
	    SLW_ERR_KEK);
	assert_int_equal(a.retry_after, 2 * UNSEAL_DELAY_FIRST);	/* doubled */
	sleep(2 * UNSEAL_DELAY_FIRST);
	/* the recovery passphrase, typed in capitals with spaces */
	{
		char loose[KEKWRAP_RECOVERY_LEN + 1];

		for (i = 0; recovery[i] != '\0'; i++)
			loose[i] = recovery[i] == '-' ? ' ' : (recovery[i] >= 'a' &&
			    recovery[i] <= 'z' ? (char)(recovery[i] - 32) :
			    recovery[i]);
		loose[i] = '\0';
		assert_int_equal(call(UNSEAL_PASSPHRASE, loose, NULL, &a), 0);
	}
	assert_int_equal(a.state, UNSEAL_UNSEALED);
	assert_non_null(strstr(a.text, "recovery passphrase"));
	assert_non_null(store_kek(st));
	assert_memory_equal(store_kek(st)->key, kek.key, KEK_LEN);
	assert_string_equal(unseal_server_how(u), "recovery passphrase");
	assert_int_equal(call(UNSEAL_STATUS, NULL, NULL, &a), 0);
	assert_int_equal(a.state, UNSEAL_UNSEALED);
	assert_int_equal(call(UNSEAL_PASSPHRASE, PASS, NULL, &a), 0);
	assert_non_null(strstr(a.text, "already unsealed"));
	assert_int_equal(unseal_get_kek(sock, &got, NULL), 0);
	assert_memory_equal(got.key, kek.key, KEK_LEN);
	assert_memory_equal(got.audit_key, kek.audit_key, sizeof(kek.audit_key));
	/* a new operator passphrase: proven with the old one */
	assert_int_equal(call(UNSEAL_CHANGE, "wrong old passphrase",
	    "brand new passphrase", &a), SLW_ERR_KEK);
	assert_int_equal(call(UNSEAL_CHANGE, PASS, "short", &a),
	    SLW_ERR_INVALID);
	assert_non_null(strstr(a.text, "at least 8"));
	assert_int_equal(call(UNSEAL_CHANGE, PASS, "brand new passphrase", &a),
	    0);
	assert_int_equal(kekwrap_load(wrapped, &w, NULL), 0);
	assert_int_equal(kekwrap_open_pass(&w, KEKWRAP_PASSPHRASE, PASS,
	    strlen(PASS), &got), SLW_ERR_KEK);
	assert_int_equal(kekwrap_open_pass(&w, KEKWRAP_PASSPHRASE,
	    "brand new passphrase", 20, &got), 0);
	assert_memory_equal(got.key, kek.key, KEK_LEN);
	assert_int_equal(kekwrap_open_pass(&w, KEKWRAP_RECOVERY, recovery,
	    strlen(recovery), &got), 0);	/* the recovery slot stays */
	assert_int_equal(stat(wrapped, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	kekwrap_wipe(&w);
	/* a peer neither root nor in the group: refused, nothing read */
	if (geteuid() == 0) {
		pid_t p = fork();
		int st_;

		assert_true(p >= 0);
		if (p == 0) {
			struct unseal_msg q2, a2;

			if (setgroups(0, NULL) != 0 || setgid(65534) != 0 ||
			    setuid(65534) != 0)
				_exit(3);
			unseal_msg_init(&q2, UNSEAL_GET_KEK);
			if (unseal_call(sock, &q2, &a2, 10, NULL) != 0)
				_exit(4);
			_exit(a2.rc == SLW_ERR_DENIED && !a2.has_kek ? 0 : 5);
		}
		assert_int_equal(waitpid(p, &st_, 0), p);
		assert_true(WIFEXITED(st_));
		assert_int_equal(WEXITSTATUS(st_), 0);
	}
	unseal_server_stop(u);
	assert_int_not_equal(stat(sock, &sb), 0);	/* removed */
	slw_diag_clear(&d);
	assert_int_equal(unseal_get_kek(sock, &got, &d), SLW_ERR_NOTFOUND);
	assert_non_null(strstr(d.msg, "not running"));
	kek_wipe(&got);
	unseal_msg_free(&a);
	store_close(st);
	tu_rmrf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_peer),
		cmocka_unit_test(test_server),
	};

	slw_crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
