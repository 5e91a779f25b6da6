// SPDX-License-Identifier: Apache-2.0
/*
 * sandbox_test.c: the seccomp filters of serve's children, each case in a
 * forked process. The network child's (appliance/serve/sandbox.c): what the child needs still works (threads,
 * memory, randomness, sockets it already has), open() fails with EACCES,
 * and a new socket, exec, fork, ptrace, kill of another process or
 * executable memory kill the whole process (SIGSYS), from any thread. And
 * it fails closed: where the kernel refuses the filter, sandbox_net_install
 * says so, and `slipway serve` does not start. The approver's
 * (sandbox_approver.c): libcurl's key memfd opens by /proc/self/fd path
 * (read-only, a memfd only), resolver files as held before the filter,
 * network sockets and socketpairs; any other path fails with EACCES, a
 * Unix or netlink socket with EACCES; exec, kill of another process,
 * executable memory, a packet socket or listen() kill it, from any thread;
 * and it fails closed too.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* Runs fn in a child; returns its wait status. */
static int
in_child(int (*fn)(void))
{
	pid_t p;
	int st;

	fflush(NULL);
	p = fork();
	assert_true(p >= 0);
	if (p == 0)
		_exit(fn());	/* _exit: no atexit handlers under the filter */
	assert_int_equal(waitpid(p, &st, 0), p);
	return st;
}

static void
assert_killed(int st, const char *what)
{
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
		fail_msg("%s: expected SIGSYS, got status %#x", what, st);
}

static void *
thread_fn(void *arg)
{
	return arg;
}

static int
allowed(void)
{
	char b[32];
	void *p;
	pthread_t t;
	int sv[2], fd;

	/* a socketpair made before the filter is used after it */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 10;
	if (sandbox_net_install(NULL) != 0)
		return 11;
	fd = open("/etc/passwd", O_RDONLY);
	if (fd >= 0 || errno != EACCES)
		return 13;
	fd = openat(AT_FDCWD, "/etc/hostname", O_RDONLY);
	if (fd >= 0 || errno != EACCES)
		return 14;
	if (pthread_create(&t, NULL, thread_fn, NULL) != 0 ||
	    pthread_join(t, NULL) != 0)
		return 15;
	if ((p = malloc(1 << 20)) == NULL)
		return 16;
	memset(p, 1, 1 << 20);
	free(p);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	if (p == MAP_FAILED || munmap(p, 4096) != 0)
		return 17;
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return 18;
	if (send(sv[0], "x", 1, MSG_NOSIGNAL) != 1 || read(sv[1], b, 1) != 1)
		return 19;
	return 0;
}

static int
new_socket(void)
{
	if (sandbox_net_install(NULL) != 0)
		return 11;
	(void)socket(AF_INET, SOCK_STREAM, 0);
	return 0;
}

static int
do_exec(void)
{
	char *argv[] = { "true", NULL }, *envp[] = { NULL };

	if (sandbox_net_install(NULL) != 0)
		return 11;
	execve("/bin/true", argv, envp);
	return 0;
}

static int
do_fork(void)
{
	if (sandbox_net_install(NULL) != 0)
		return 11;
	if (fork() == 0)
		_exit(0);
	return 0;
}

static int
do_ptrace(void)
{
	if (sandbox_net_install(NULL) != 0)
		return 11;
	(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	return 0;
}

static int
do_kill_other(void)
{
	if (sandbox_net_install(NULL) != 0)
		return 11;
	(void)kill(getppid(), 0);
	return 0;
}

static int
do_exec_memory(void)
{
	if (sandbox_net_install(NULL) != 0)
		return 11;
	(void)mmap(NULL, 4096, PROT_READ | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return 0;
}

static void *
thread_socket(void *arg)
{
	(void)socket(AF_INET6, SOCK_DGRAM, 0);
	return arg;
}

static int
from_thread(void)
{
	pthread_t t;

	if (sandbox_net_install(NULL) != 0)
		return 11;
	if (pthread_create(&t, NULL, thread_socket, NULL) != 0)
		return 12;
	pthread_join(t, NULL);
	return 0;
}

static void
test_allow_and_deny(void **s)
{
	int st;

	(void)s;
	st = in_child(allowed);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("what the child needs: status %#x (step %d)", st,
		    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	assert_killed(in_child(new_socket), "socket()");
	assert_killed(in_child(do_exec), "execve()");
	assert_killed(in_child(do_fork), "fork()");
	assert_killed(in_child(do_ptrace), "ptrace()");
	assert_killed(in_child(do_kill_other), "kill() of another process");
	assert_killed(in_child(do_exec_memory), "mmap(PROT_EXEC)");
	assert_killed(in_child(from_thread), "socket() from a thread");
}

/* ---- the approver's filter (sandbox_approver.c) ---- */

static int refuse_seccomp(void);

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define SLW_ASAN 1	/* its filter lets LeakSanitizer's exit scan run */
#else
#define SLW_ASAN 0
#endif

/* Reads what path opens to (at most len - 1 bytes); -errno on failure. */
static long
read_path(const char *path, char *out, size_t len)
{
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	n = read(fd, out, len - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	out[n] = '\0';
	return n;
}

static int
approver_allowed(void)
{
	char b[256], path[64], hosts[256];
	struct stat sb;
	pthread_t t;
	int mfd, pfd[2], s, sv[2];
	long hn;

	/* what kube.c does: the key in a memfd, read by /proc/self/fd path */
	if ((mfd = memfd_create("slipway-key", MFD_CLOEXEC)) < 0 ||
	    write(mfd, "KEY-PEM", 7) != 7 || pipe(pfd) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 10;
	hn = read_path("/etc/hosts", hosts, sizeof(hosts));
	if (sandbox_approver_install(NULL) != 0)
		return 11;
	/* files: none by path (in sanitizer builds the filter lets
	 * LeakSanitizer's tracer read /proc at exit, so there reads by path
	 * pass, and only writes are refused) */
	if (!SLW_ASAN && (read_path("/etc/passwd", b, sizeof(b)) != -EACCES ||
	    openat(AT_FDCWD, "/etc/hostname", O_RDONLY) != -1 ||
	    errno != EACCES))
		return 12;
	if (open("/tmp/slipway-sandbox-test", O_WRONLY | O_CREAT, 0600) != -1 ||
	    errno != EACCES ||
	    openat(AT_FDCWD, "/etc/hostname", O_RDWR) != -1 || errno != EACCES)
		return 12;
	if (stat("/etc/passwd", &sb) == 0 || errno != EACCES)
		return 13;
	/* the memfd, twice (each open reads from the start) */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	if (read_path(path, b, sizeof(b)) != 7 || strcmp(b, "KEY-PEM") != 0 ||
	    read_path(path, b, sizeof(b)) != 7)
		return 14;
	/* ... but only to read it, and only a memfd */
	if (open(path, O_RDWR) != -1 || errno != EACCES)
		return 15;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", pfd[0]);
	if (!SLW_ASAN && read_path(path, b, sizeof(b)) != -EACCES)
		return 16;	/* (a read would block under ASan: reads pass) */
	/* the resolver's files, as they were before the filter */
	if (hn >= 0 && (read_path("/etc/hosts", b, sizeof(b)) != hn ||
	    strcmp(b, hosts) != 0))
		return 17;
	/* sockets to the network, never a Unix one by path or netlink */
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return 18;
	close(s);
	if ((s = socket(AF_INET6, SOCK_DGRAM, 0)) < 0)
		return 19;
	close(s);
	if (socket(AF_UNIX, SOCK_STREAM, 0) != -1 || errno != EACCES ||
	    socket(AF_NETLINK, SOCK_RAW, 0) != -1 || errno != EACCES)
		return 20;
	if (send(sv[0], "x", 1, MSG_NOSIGNAL) != 1 || read(sv[1], b, 1) != 1)
		return 21;
	if (pthread_create(&t, NULL, thread_fn, NULL) != 0 ||
	    pthread_join(t, NULL) != 0)
		return 22;
	if (getrandom(b, 32, 0) != 32)
		return 23;
	return 0;
}

static int
apr_exec(void)
{
	char *argv[] = { "true", NULL }, *envp[] = { NULL };

	if (sandbox_approver_install(NULL) != 0)
		return 11;
	execve("/bin/true", argv, envp);
	return 0;
}

static int
apr_kill_other(void)
{
	if (sandbox_approver_install(NULL) != 0)
		return 11;
	(void)kill(getppid(), 0);
	return 0;
}

static int
apr_exec_memory(void)
{
	if (sandbox_approver_install(NULL) != 0)
		return 11;
	(void)mmap(NULL, 4096, PROT_READ | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return 0;
}

static int
apr_packet_socket(void)
{
	if (sandbox_approver_install(NULL) != 0)
		return 11;
	(void)socket(AF_PACKET, SOCK_RAW, 0);
	return 0;
}

static int
apr_listen(void)
{
	int s;

	if (sandbox_approver_install(NULL) != 0)
		return 11;
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return 12;
	(void)listen(s, 1);
	return 0;
}

static void *
thread_kill(void *arg)
{
	(void)kill(getppid(), 0);
	return arg;
}

static int
apr_from_thread(void)
{
	pthread_t t;

	if (sandbox_approver_install(NULL) != 0)
		return 11;
	if (pthread_create(&t, NULL, thread_kill, NULL) != 0)
		return 12;
	pthread_join(t, NULL);
	return 0;
}

static int
apr_refused(void)
{
	struct slw_diag d;

	if (refuse_seccomp() != 0)
		return 10;
	slw_diag_clear(&d);
	if (sandbox_approver_install(&d) == 0)
		return 11;	/* claimed a filter the kernel refused */
	if (strstr(d.msg, "cannot install the seccomp filter") == NULL)
		return 12;
	return 0;
}

static void
test_approver_filter(void **s)
{
	int st;

	(void)s;
	st = in_child(approver_allowed);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("what the approver needs: status %#x (step %d)", st,
		    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	if (!SLW_ASAN)	/* there: EPERM, so LeakSanitizer can report */
		assert_killed(in_child(apr_exec), "execve()");
	assert_killed(in_child(apr_kill_other), "kill() of another process");
	assert_killed(in_child(apr_exec_memory), "mmap(PROT_EXEC)");
	assert_killed(in_child(apr_packet_socket), "socket(AF_PACKET)");
	assert_killed(in_child(apr_listen), "listen()");
	assert_killed(in_child(apr_from_thread), "kill() from a thread");
	st = in_child(apr_refused);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("refused filter: status %#x (step %d)", st,
		    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* A filter that makes seccomp() and prctl(PR_SET_SECCOMP) fail: EPERM. */
static int
refuse_seccomp(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_seccomp, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_prctl, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PR_SET_SECCOMP, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		return -1;
	return 0;
}

static int
install_refused(void)
{
	struct slw_diag d;
	int fd;

	if (refuse_seccomp() != 0)
		return 10;
	slw_diag_clear(&d);
	if (sandbox_net_install(&d) == 0)
		return 11;	/* claimed a filter the kernel refused */
	if (strstr(d.msg, "cannot install the seccomp filter") == NULL)
		return 12;
	/* and indeed nothing is filtered */
	if ((fd = open("/etc/passwd", O_RDONLY)) < 0)
		return 13;
	close(fd);
	return 0;
}

static void
test_fails_closed(void **s)
{
	char dir_state[4200], cmd[9000], errpath[4200];
	const char *bin = getenv("SLIPWAY");
	struct buf err = { 0 };
	char *dir;
	pid_t p;
	int st, i, fd;

	(void)s;
	st = in_child(install_refused);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("refused filter: status %#x (step %d)", st,
		    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	/* end to end: serve whose child cannot get its filter stops */
	assert_non_null(bin);
	dir = tu_tmpdir();
	snprintf(dir_state, sizeof(dir_state), "%s/state", dir);
	snprintf(errpath, sizeof(errpath), "%s/serve.err", dir);
	snprintf(cmd, sizeof(cmd), "'%s' --state '%s' init --cluster '%s' "
	    ">/dev/null", bin, dir_state, SLW_EXAMPLES_DIR "/seed-cluster.yaml");
	assert_int_equal(system(cmd), 0);
	fflush(NULL);
	p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		char *argv[] = { (char *)bin, "--state", dir_state, "serve",
		    "--listen", "127.0.0.1:0", "--no-approve", NULL };

		fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 2) < 0 || dup2(fd, 1) < 0 ||
		    refuse_seccomp() != 0)
			_exit(100);
		execv(bin, argv);
		_exit(101);
	}
	for (i = 0; i < 600; i++) {	/* at most 60 s */
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		if (waitpid(p, &st, WNOHANG) == p)
			break;
		nanosleep(&ts, NULL);
	}
	if (i == 600) {
		kill(p, SIGKILL);
		waitpid(p, &st, 0);
		fail_msg("serve kept running without its sandbox");
	}
	assert_int_equal(buf_read_file(&err, errpath, 1 << 20), 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) == 0)
		fail_msg("serve: status %#x: %s", st, (char *)err.data);
	assert_non_null(strstr((char *)err.data,
	    "sandbox: cannot install the seccomp filter"));
	assert_non_null(strstr((char *)err.data,
	    "the network child did not start"));
	assert_null(strstr((char *)err.data, "ready https"));
	buf_free(&err);
	tu_rmrf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allow_and_deny),
		cmocka_unit_test(test_approver_filter),
		cmocka_unit_test(test_fails_closed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
