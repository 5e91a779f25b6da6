// SPDX-License-Identifier: Apache-2.0
/*
 * ssh_test.c: the SSH client's pieces that need no remote host: host key
 * lines (parse, refuse bad ones, format, OpenSSH fingerprints), the
 * appliance key (made once, sealed, audited, its public line accepted by
 * ssh-keygen), output capping (head + tail, totals), and the connect
 * errors and timeouts against local sockets (refused, silent server).
 */
#include "testutil.h"

#include "audit.h"
#include "ssh.h"
#include "store.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#define ED "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN9AcW93MQZvgQlzJMhjg79h7Ew3qMz690Zybn0kRFLi"
#define ED_FP "SHA256:baENdo0x2aYi5iEHf5AtBa1LEkCQ7c2Y22sYzeEZuoc"
#define EC "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBN+VTI9Q9rIN/ZxL8VEBcQBlmQUCXA1L0+KRHvlJd1j4jO5hScuQZ1FvZnJminOw0SSlvWqsTjutlsKtwYQP4Ts="
#define EC_FP "SHA256:wC8/mcStGBWodGGiDSE2HNnY7oZYiGHwfnuZstCp3Sk"

static void
test_hostkey_parse(void **st)
{
	struct ssh_hostkey k, k2;
	struct slw_diag d;
	char fp[SSH_FP_MAX], line[SSH_KEYLINE_MAX];

	(void)st;
	slw_diag_clear(&d);
	assert_int_equal(ssh_hostkey_parse(ED " root@test1", strlen(ED) + 11, &k,
	    &d), 0);
	assert_string_equal(k.type, "ssh-ed25519");
	assert_int_equal(k.len, 51);
	ssh_hostkey_fingerprint(&k, fp);
	assert_string_equal(fp, ED_FP);
	assert_int_equal(ssh_hostkey_format(&k, line, sizeof(line)), 0);
	assert_string_equal(line, ED);
	/* Leading blanks, a trailing newline. */
	assert_int_equal(ssh_hostkey_parse("  " EC "\n", strlen(EC) + 3, &k2,
	    &d), 0);
	assert_string_equal(k2.type, "ecdsa-sha2-nistp256");
	ssh_hostkey_fingerprint(&k2, fp);
	assert_string_equal(fp, EC_FP);
	assert_false(ssh_hostkey_equal(&k, &k2));
	assert_true(ssh_hostkey_equal(&k2, &k2));
}

static void
test_hostkey_refused(void **st)
{
	static const char *const bad[] = {
		"",
		"ssh-ed25519",
		"ssh-ed25519 ",
		"ssh-dss AAAAB3NzaC1kc3MAAACBAP",
		"ssh-ed25519 !!!notbase64",
		/* the blob says ecdsa, the line says ed25519 */
		"ssh-ed25519 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBN+VTI9Q9rIN/ZxL8VEBcQBlmQUCXA1L0+KRHvlJd1j4jO5hScuQZ1FvZnJminOw0SSlvWqsTjutlsKtwYQP4Ts=",
		"ssh-ed25519 AAAA",
		"10.0.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN9AcW93MQZvgQlzJMhjg79h7Ew3qMz690Zybn0kRFLi",
	};
	struct ssh_hostkey k;
	struct slw_diag d;
	char big[SSH_KEYLINE_MAX + 10];
	size_t i;

	(void)st;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		slw_diag_clear(&d);
		if (ssh_hostkey_parse(bad[i], strlen(bad[i]), &k, &d) == 0)
			fail_msg("accepted bad host key %zu: '%s'", i, bad[i]);
		assert_true(d.msg[0] != '\0');
	}
	memset(big, 'A', sizeof(big));
	memcpy(big, "ssh-ed25519 ", 12);
	slw_diag_clear(&d);
	assert_int_equal(ssh_hostkey_parse(big, sizeof(big), &k, &d),
	    SLW_ERR_TOOBIG);
}

static char *dir;
static char state[4200];

static int
nothing(struct store_txn *t, void *arg)
{
	(void)arg;
	return audit_append(t, "test", "init", "state", "");
}

struct key_arg {
	struct buf pem;
	int created;
};

static int
key_txn(struct store_txn *t, void *arg)
{
	struct key_arg *a = arg;

	return ssh_key_get_or_create(t, "test", &a->pem, &a->created);
}

struct count_arg {
	int n;
};

static int
count_cb(void *arg, const struct audit_entry *e)
{
	struct count_arg *c = arg;

	if (strcmp(e->action, "ssh.key.create") == 0) {
		c->n++;
		assert_non_null(strstr(e->detail, "SHA256:"));
		assert_null(strstr(e->detail, "PRIVATE"));
	}
	return 0;
}

static int
count_txn(struct store_txn *t, void *arg)
{
	return audit_foreach(t, count_cb, arg);
}

static void
test_appliance_key(void **st)
{
	struct store *s = NULL;
	struct slw_diag d;
	struct key_arg a1, a2;
	struct count_arg ca = { 0 };
	struct ssh_hostkey hk;
	char line[SSH_KEYLINE_MAX], path[4300], cmd[4400];

	(void)st;
	dir = tu_tmpdir();
	snprintf(state, sizeof(state), "%s/state", dir);
	slw_diag_clear(&d);
	assert_int_equal(store_create(state, NULL, nothing, NULL, &d), 0);
	assert_int_equal(store_open(state, NULL, &s, &d), 0);
	memset(&a1, 0, sizeof(a1));
	memset(&a2, 0, sizeof(a2));
	assert_int_equal(store_write(s, key_txn, &a1, &d), 0);
	assert_true(a1.created);
	assert_non_null(tu_memmem(a1.pem.data, a1.pem.len, "EC PRIVATE KEY",
	    14));
	assert_int_equal(store_write(s, key_txn, &a2, &d), 0);
	assert_false(a2.created);
	assert_int_equal(a1.pem.len, a2.pem.len);
	assert_memory_equal(a1.pem.data, a2.pem.data, a1.pem.len);
	assert_int_equal(store_read(s, count_txn, &ca, &d), 0);
	assert_int_equal(ca.n, 1);
	/* The public line: ecdsa-sha2-nistp256, parses, ssh-keygen agrees. */
	assert_int_equal(ssh_key_publine(&a1.pem, "slipway@test", line,
	    sizeof(line)), 0);
	assert_int_equal(strncmp(line, "ecdsa-sha2-nistp256 AAAA", 24), 0);
	assert_non_null(strstr(line, " slipway@test"));
	assert_int_equal(ssh_hostkey_parse(line, strlen(line), &hk, &d), 0);
	assert_int_equal(hk.len, 104);
	snprintf(path, sizeof(path), "%s/k.pub", dir);
	tu_write(path, line, strlen(line));
	snprintf(cmd, sizeof(cmd), "ssh-keygen -l -f %s >/dev/null 2>&1", path);
	if (system("command -v ssh-keygen >/dev/null 2>&1") == 0)
		assert_int_equal(system(cmd), 0);
	buf_free(&a1.pem);
	buf_free(&a2.pem);
	store_close(s);
	tu_rmrf(dir);
	free(dir);
}

static void
test_cap(void **st)
{
	struct ssh_cap c;
	struct buf out = { 0 };
	char big[10000];
	size_t total, i;
	int trunc;

	(void)st;
	/* Small: kept whole. */
	assert_int_equal(ssh_cap_init(&c, 8, 8), 0);
	assert_int_equal(ssh_cap_add(&c, "hello ", 6), 0);
	assert_int_equal(ssh_cap_add(&c, "world", 5), 0);
	assert_int_equal(ssh_cap_finish(&c, &out, &trunc, &total), 0);
	assert_string_equal((char *)out.data, "hello world");
	assert_false(trunc);
	assert_int_equal(total, 11);
	/* Large, in odd pieces: head, marker, tail. */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	assert_int_equal(ssh_cap_init(&c, 10, 20), 0);
	for (i = 0; i < sizeof(big); i += 7)
		assert_int_equal(ssh_cap_add(&c, big + i,
		    sizeof(big) - i < 7 ? sizeof(big) - i : 7), 0);
	assert_int_equal(ssh_cap_finish(&c, &out, &trunc, &total), 0);
	assert_true(trunc);
	assert_int_equal(total, sizeof(big));
	assert_memory_equal(out.data, big, 10);
	assert_non_null(strstr((char *)out.data, "[... 9970 bytes omitted ...]"));
	assert_memory_equal(out.data + out.len - 20, big + sizeof(big) - 20, 20);
	/* One piece larger than the tail. */
	assert_int_equal(ssh_cap_init(&c, 0, 4), 0);
	assert_int_equal(ssh_cap_add(&c, "0123456789", 10), 0);
	assert_int_equal(ssh_cap_finish(&c, &out, &trunc, &total), 0);
	assert_non_null(strstr((char *)out.data, "6789"));
	assert_true(trunc);
	buf_free(&out);
}

/* A TCP server on loopback that accepts and then says nothing. */
struct silent {
	int lfd;
	int port;
};

static void *
silent_accept(void *arg)
{
	struct silent *sv = arg;
	int c = accept(sv->lfd, NULL, NULL);

	if (c >= 0) {
		sleep(2);
		close(c);
	}
	return NULL;
}

static void
test_connect_errors(void **st)
{
	struct ssh_opts o;
	struct ssh_conn *c = NULL;
	struct ssh_hostkey seen;
	struct slw_diag d;
	struct buf pem = { 0 };
	struct key *k = NULL;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct silent sv;
	pthread_t th;
	time_t t0;
	int r;

	(void)st;
	assert_int_equal(ssh_global_init(), 0);
	assert_int_equal(key_generate(KEY_EC_P256, &k), 0);
	assert_int_equal(key_write_pem(k, &pem), 0);
	key_free(k);
	/* A closed port: refused at once. */
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sv.lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(sv.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(sv.lfd, (struct sockaddr *)&sa, &sl), 0);
	sv.port = ntohs(sa.sin_port);
	close(sv.lfd);		/* nothing listens there now */
	memset(&o, 0, sizeof(o));
	o.host = "127.0.0.1";
	o.port = (uint16_t)sv.port;
	o.user = "root";
	o.key_pem = &pem;
	o.connect_timeout_ms = 2000;
	slw_diag_clear(&d);
	assert_int_equal(ssh_connect(&o, &c, &seen, &d), SLW_ERR_IO);
	assert_null(c);
	assert_non_null(strstr(d.msg, "refused"));
	/* A server that never speaks: the handshake times out. */
	sv.lfd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_port = 0;
	assert_int_equal(bind(sv.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	sl = sizeof(sa);
	assert_int_equal(getsockname(sv.lfd, (struct sockaddr *)&sa, &sl), 0);
	assert_int_equal(listen(sv.lfd, 1), 0);
	pthread_create(&th, NULL, silent_accept, &sv);
	o.port = ntohs(sa.sin_port);
	o.connect_timeout_ms = 500;
	slw_diag_clear(&d);
	t0 = time(NULL);
	r = ssh_connect(&o, &c, &seen, &d);
	assert_int_equal(r, SLW_ERR_EXPIRED);
	assert_true(time(NULL) - t0 <= 2);
	assert_non_null(strstr(d.msg, "timed out"));
	pthread_join(th, NULL);
	close(sv.lfd);
	/* Bad arguments. */
	o.key_pem = NULL;
	assert_int_equal(ssh_connect(&o, &c, &seen, NULL), SLW_ERR_INVALID);
	buf_free(&pem);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostkey_parse),
		cmocka_unit_test(test_hostkey_refused),
		cmocka_unit_test(test_appliance_key),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_connect_errors),
	};

	slw_crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
