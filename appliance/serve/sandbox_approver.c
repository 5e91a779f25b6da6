// SPDX-License-Identifier: Apache-2.0
/*
 * sandbox_approver.c: the CSR approver's seccomp filter (libseccomp): an
 * allow-list with the reason for each entry for what libcurl (GnuTLS),
 * cJSON, mbedTLS, glibc and its channel to the monitor need; everything
 * else kills the process. No path is ever resolved by the kernel once it
 * is in place: open, openat and the path stats are trapped (SIGSYS) and
 * answered here, from descriptors the process already holds: the memfds
 * in which libcurl finds the API client key and certificates by
 * /proc/self/fd/N path (GnuTLS-flavour libcurl 7.88 has no in-memory
 * option), and name-service files opened before the filter. Must never
 * be relaxed to "log" or "allow" by default, answer a trapped call by
 * opening anything, or report success unless the kernel took the filter.
 */
#define _GNU_SOURCE	/* CLONE_THREAD, AT_EMPTY_PATH, F_GET_SEALS */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <seccomp.h>

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define SLW_ASAN 1
#else
#define SLW_ASAN 0
#endif

#ifdef SLW_SANDBOX_DEBUG
#define SANDBOX_DEBUG 1
#else
#define SANDBOX_DEBUG 0
#endif

#if defined(__x86_64__)
#define SC_ARG(u, i) ((unsigned long)((i) == 0 ? (u)->uc_mcontext.gregs[REG_RDI] : \
	(i) == 1 ? (u)->uc_mcontext.gregs[REG_RSI] : \
	(i) == 2 ? (u)->uc_mcontext.gregs[REG_RDX] : \
	(u)->uc_mcontext.gregs[REG_R10]))
#define SC_SET_RET(u, v) ((u)->uc_mcontext.gregs[REG_RAX] = (greg_t)(v))
#define SC_SUPPORTED 1
#elif defined(__aarch64__)
#define SC_ARG(u, i) ((unsigned long)(u)->uc_mcontext.regs[i])
#define SC_SET_RET(u, v) ((u)->uc_mcontext.regs[0] = (unsigned long long)(v))
#define SC_SUPPORTED 1
#else
#define SC_SUPPORTED 0
#endif

/* ---- the trapped calls: answered from descriptors already held ---- */

/* Files a resolver may read (glibc's getaddrinfo), opened before the
 * filter; absent ones answer ENOENT. */
static struct {
	const char *path;
	int fd;
} held[] = {
	{ "/etc/hosts", -1 },
	{ "/etc/resolv.conf", -1 },
	{ "/etc/nsswitch.conf", -1 },
	{ "/etc/host.conf", -1 },
	{ "/etc/gai.conf", -1 },
#if SLW_ASAN
	/* LeakSanitizer's exit scan (sanitizer builds only) */
	{ "/proc/self/maps", -1 },
	{ "/proc/self/task", -1 },
	{ NULL, -1 },			/* "/proc/<pid>/task", set at install */
#endif
};
#if SLW_ASAN
static char task_path[64];
#endif
#define N_HELD (sizeof(held) / sizeof(held[0]))

/* A decimal descriptor number ending the string; -1 if not. */
static int
fd_number(const char *s)
{
	long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > 100000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return (int)v;
}

/*
 * The descriptor a path names, if it is one we may hand out: a memfd of
 * this process (/proc/self/fd/N), or a held file. -errno otherwise.
 */
static int
held_fd(const char *path)
{
	size_t i;
	int n;

	if (strncmp(path, "/proc/self/fd/", 14) == 0) {
		n = fd_number(path + 14);
		/* F_GET_SEALS answers for memfds (shmem) only */
		if (n < 0 || fcntl(n, F_GET_SEALS) < 0)
			return -EACCES;
		return n;
	}
	for (i = 0; i < N_HELD; i++)
		if (held[i].path != NULL && strcmp(held[i].path, path) == 0)
			return held[i].fd >= 0 ? held[i].fd : -ENOENT;
	return -EACCES;
}

static long
trap_open(const char *path, unsigned long flags)
{
	int fd, nfd;

	if ((flags & O_ACCMODE) != O_RDONLY ||
	    (flags & (O_CREAT | O_TRUNC | O_PATH | O_TMPFILE)) != 0)
		return -EACCES;
	if ((fd = held_fd(path)) < 0)
		return fd;
	/* a new descriptor for the same open file, read (or listed) from
	 * its start; it shares the offset, and one caller reads at a time */
	if ((nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return -errno;
	(void)lseek(nfd, 0, SEEK_SET);
	return nfd;
}

static long
trap_stat(const char *path, void *st)
{
	int fd;

	if ((fd = held_fd(path)) < 0)
		return fd;
	return fstat(fd, st) == 0 ? 0 : -errno;
}

static void
on_sigsys(int sig, siginfo_t *si, void *ctx)
{
#if SC_SUPPORTED
	ucontext_t *u = ctx;
	int saved = errno;
	long ret = -EACCES;

	(void)sig;
	switch (si->si_syscall) {
#ifdef SYS_open
	case SYS_open:
		ret = trap_open((const char *)SC_ARG(u, 0), SC_ARG(u, 1));
		break;
#endif
	case SYS_openat:
		/* absolute paths only: nothing is relative to a directory */
		ret = trap_open((const char *)SC_ARG(u, 1), SC_ARG(u, 2));
		break;
#ifdef SYS_stat
	case SYS_stat:
	case SYS_lstat:
		ret = trap_stat((const char *)SC_ARG(u, 0), (void *)SC_ARG(u, 1));
		break;
#endif
	case SYS_newfstatat:
		ret = trap_stat((const char *)SC_ARG(u, 1), (void *)SC_ARG(u, 2));
		break;
#ifdef SYS_access
	case SYS_access:
		ret = held_fd((const char *)SC_ARG(u, 0));
		ret = ret < 0 ? ret : 0;
		break;
#endif
	case SYS_faccessat:
		ret = held_fd((const char *)SC_ARG(u, 1));
		ret = ret < 0 ? ret : 0;
		break;
	default:
#ifdef SLW_SANDBOX_DEBUG
		{
			char m[64];
			int n = snprintf(m, sizeof(m), "SANDBOX-DEBUG syscall %d\n",
			    si->si_syscall);
			(void)!write(2, m, (size_t)n);
			ret = -ENOSYS;
		}
#endif
		break;
	}
	SC_SET_RET(u, ret);
	errno = saved;
#else
	(void)sig;
	(void)si;
	(void)ctx;
	_exit(127);
#endif
}

/* ---- the filter ---- */

/* Allowed whatever their arguments. */
static const struct {
	int nr;
	const char *why;
} allow[] = {
	/* the channel to the monitor, the API connection, the log */
	{ SCMP_SYS(read), "privsep frames, TLS records, held files" },
	{ SCMP_SYS(write), "privsep frames, TLS records, the log (stderr)" },
	{ SCMP_SYS(readv), "stdio" },
	{ SCMP_SYS(writev), "stdio" },
	{ SCMP_SYS(recvfrom), "TLS records, DNS answers" },
	{ SCMP_SYS(sendto), "TLS records, privsep frames, DNS queries" },
	{ SCMP_SYS(recvmsg), "TLS records, DNS answers" },
	{ SCMP_SYS(sendmsg), "TLS records, DNS queries" },
	{ SCMP_SYS(sendmmsg), "glibc's resolver: A and AAAA queries at once" },
	{ SCMP_SYS(connect), "the API server, the DNS server" },
	{ SCMP_SYS(poll), "libcurl's and the resolver's waits" },
	{ SCMP_SYS(ppoll), "libcurl's waits" },
	{ SCMP_SYS(shutdown), "libcurl closing a connection" },
	{ SCMP_SYS(close), "connections, descriptors of held files" },
	{ SCMP_SYS(setsockopt), "libcurl: TCP_NODELAY, keepalive" },
	{ SCMP_SYS(getsockopt), "libcurl: SO_ERROR after connect" },
	{ SCMP_SYS(getsockname), "libcurl: the local address" },
	{ SCMP_SYS(getpeername), "libcurl: the peer's address" },
	{ SCMP_SYS(fcntl), "O_NONBLOCK; the trap handler's F_DUPFD_CLOEXEC" },
	{ SCMP_SYS(fstat), "stdio, GnuTLS reading a held memfd" },
	{ SCMP_SYS(lseek), "stdio, reading a held file from its start" },
	{ SCMP_SYS(memfd_create), "the API client's key and certificates, in "
	    "memory (kube.c)" },
	{ SCMP_SYS(ftruncate), "emptying those memfds when a client ends" },
	{ SCMP_SYS(pipe2), "libcurl's wakeup (pipe fallback)" },
	{ SCMP_SYS(eventfd2), "libcurl's wakeup" },
	/* threads and memory */
	{ SCMP_SYS(futex), "mutexes, condition variables" },
	{ SCMP_SYS(set_robust_list), "new threads (glibc)" },
	{ SCMP_SYS(rseq), "new threads (glibc)" },
	{ SCMP_SYS(madvise), "malloc, thread stacks" },
	{ SCMP_SYS(munmap), "malloc, thread stacks" },
	{ SCMP_SYS(mremap), "realloc of large buffers" },
	{ SCMP_SYS(brk), "malloc" },
	{ SCMP_SYS(sched_yield), "glibc, GnuTLS" },
	{ SCMP_SYS(sched_getaffinity), "glibc: thread creation" },
	{ SCMP_SYS(gettid), "glibc" },
	{ SCMP_SYS(getpid), "glibc" },
	{ SCMP_SYS(getuid), "GnuTLS, glibc" },
	{ SCMP_SYS(geteuid), "GnuTLS, glibc" },
	{ SCMP_SYS(getgid), "GnuTLS, glibc" },
	{ SCMP_SYS(getegid), "GnuTLS, glibc" },
	{ SCMP_SYS(getrandom), "mbedTLS and GnuTLS: keys, nonces" },
	{ SCMP_SYS(uname), "glibc's resolver" },
	/* time and signals */
	{ SCMP_SYS(clock_gettime), "timestamps (vDSO fallback)" },
	{ SCMP_SYS(gettimeofday), "timestamps (vDSO fallback)" },
	{ SCMP_SYS(time), "timestamps (vDSO fallback)" },
	{ SCMP_SYS(clock_nanosleep), "backoff between retries" },
	{ SCMP_SYS(nanosleep), "backoff between retries" },
	{ SCMP_SYS(rt_sigprocmask), "glibc: thread creation" },
	{ SCMP_SYS(rt_sigaction), "glibc: its internal signals" },
	{ SCMP_SYS(rt_sigreturn), "signal delivery (SIGTERM, SIGSYS)" },
	{ SCMP_SYS(sigaltstack), "sanitizer builds: a signal stack per thread" },
	{ SCMP_SYS(restart_syscall), "interrupted sleeps" },
	{ SCMP_SYS(exit), "thread exit" },
	{ SCMP_SYS(exit_group), "process exit" },
};

/* Fail with an errno (never a kill) so a library probing goes on. */
static const struct {
	int nr;
	int err;
	const char *why;
} deny[] = {
	{ SCMP_SYS(openat2), ENOSYS, "glibc falls back to openat (trapped)" },
	{ SCMP_SYS(clone3), ENOSYS, "glibc falls back to clone (checked)" },
	{ SCMP_SYS(readlink), EACCES, "no paths" },
	{ SCMP_SYS(readlinkat), EACCES, "no paths" },
	{ SCMP_SYS(faccessat2), ENOSYS, "glibc falls back to faccessat "
	    "(trapped)" },
	{ SCMP_SYS(statx), ENOSYS, "glibc falls back to newfstatat" },
	{ SCMP_SYS(bind), EACCES, "nothing to listen on" },
	{ SCMP_SYS(ioctl), ENOTTY, "isatty (stdio, a sanitizer's colour "
	    "check): no terminal" },
#if SLW_ASAN
	/* LeakSanitizer reports a leak without symbols rather than die */
	{ SCMP_SYS(execve), EPERM, "sanitizer builds: no symbolizer" },
	{ SCMP_SYS(vfork), EPERM, "sanitizer builds: no symbolizer" },
	{ SCMP_SYS(fork), EPERM, "sanitizer builds: no symbolizer" },
#endif
};

/* Answered by on_sigsys, from what the process holds. */
static const struct {
	int nr;
	const char *why;
} trap[] = {
#if !SLW_ASAN
	{ SCMP_SYS(open), "libcurl's key and certificates by /proc/self/fd "
	    "path; resolver files" },
	{ SCMP_SYS(openat), "the same, through glibc's openat" },
#endif
	{ SCMP_SYS(stat), "glibc's resolver checks its files' times" },
	{ SCMP_SYS(lstat), "the same" },
	{ SCMP_SYS(access), "the same" },
	{ SCMP_SYS(faccessat), "the same" },
};

static int
add_rules(scmp_filter_ctx ctx, const char **what)
{
#if SLW_ASAN
	static const unsigned int writes[] = { O_WRONLY, O_RDWR, O_CREAT,
	    O_TRUNC };
#endif
	size_t i;
	int r;

	*what = "allow-list";
	for (i = 0; i < sizeof(allow) / sizeof(allow[0]); i++)
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allow[i].nr,
		    0)) != 0)
			return r;
	for (i = 0; i < sizeof(deny) / sizeof(deny[0]); i++)
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(deny[i].err),
		    deny[i].nr, 0)) != 0)
			return r;
	for (i = 0; i < sizeof(trap) / sizeof(trap[0]); i++)
		if (!SANDBOX_DEBUG && (r = seccomp_rule_add(ctx, SCMP_ACT_TRAP,
		    trap[i].nr, 0)) != 0)
			return r;
	*what = "argument rules";
	/* memory, never executable: no new code once set up */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) != 0)
		return r;
	/* sockets to the network (the API server, DNS) and socketpairs
	 * (libcurl's wakeup); never a Unix socket by path, never netlink */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_INET, 0))) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_INET6, 0))) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket),
	    1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0))) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket),
	    1, SCMP_A0(SCMP_CMP_EQ, AF_NETLINK, 0))) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socketpair), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0))) != 0)
		return r;
	/* signals to its own threads only (raise, abort, pthread_kill) */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
	    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0))) != 0)
		return r;
	/* fstat (glibc's fstatat(fd, "", AT_EMPTY_PATH)); by path: trapped */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
	    SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH))) != 0)
		return r;
#ifndef SLW_SANDBOX_DEBUG
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_TRAP, SCMP_SYS(newfstatat), 1,
	    SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0))) != 0)
		return r;
#endif
#if !SLW_ASAN
	/* threads only: never a new process */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD))) != 0)
		return r;
	/* thread names, nothing else of prctl */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
	    SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME, 0))) != 0)
		return r;
#else
	/*
	 * Sanitizer builds only: LeakSanitizer's scan at exit stops the
	 * world with a tracer task that shares the memory (clone with
	 * CLONE_VM), attaches to each thread with ptrace, lists
	 * /proc/<pid>/task and reads /proc/self/maps (held, above), and
	 * makes the process dumpable for that moment.
	 */
	*what = "sanitizer rules";
	/* The tracer runs with every signal blocked, so a trapped call would
	 * kill it (the kernel resets a blocked SIGSYS to its default): what
	 * it opens, read-only, with the raw open or openat (/proc/PID/task,
	 * /proc/PID/task/TID/status), the kernel opens. Opens for writing are
	 * trapped (EACCES) as above. */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 1,
	    SCMP_A1(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC,
	    O_RDONLY))) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC,
	    O_RDONLY))) != 0)
		return r;
	for (i = 0; !SANDBOX_DEBUG && i < sizeof(writes) / sizeof(writes[0]);
	    i++)
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_TRAP, SCMP_SYS(open), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, writes[i], writes[i]))) != 0 ||
		    (r = seccomp_rule_add(ctx, SCMP_ACT_TRAP, SCMP_SYS(openat),
		    1, SCMP_A2(SCMP_CMP_MASKED_EQ, writes[i], writes[i]))) != 0)
			return r;
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_VM, CLONE_VM))) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ptrace), 0)) !=
	    0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(wait4), 0)) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(getdents64),
	    0)) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(getdents),
	    0)) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(getppid), 0)) !=
	    0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
	    SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME, 0))) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
	    SCMP_A0(SCMP_CMP_EQ, PR_GET_DUMPABLE, 0))) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
	    SCMP_A0(SCMP_CMP_EQ, PR_SET_DUMPABLE, 0))) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
	    SCMP_A0(SCMP_CMP_EQ, PR_SET_PTRACER, 0))) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
	    SCMP_A0(SCMP_CMP_EQ, PR_SET_PDEATHSIG, 0))) != 0)
		return r;
#endif
	return 0;
}

/* The files a resolver reads, held before the filter (missing: ENOENT). */
static void
hold_files(void)
{
	size_t i;

#if SLW_ASAN
	snprintf(task_path, sizeof(task_path), "/proc/%ld/task",
	    (long)getpid());
	held[N_HELD - 1].path = task_path;
#endif
	for (i = 0; i < N_HELD; i++) {
		int dir = held[i].path != NULL &&
		    strstr(held[i].path, "/task") != NULL;

		if (held[i].path != NULL && held[i].fd < 0)
			held[i].fd = open(held[i].path, O_RDONLY | O_CLOEXEC |
			    (dir ? O_DIRECTORY : 0));
	}
}

int
sandbox_approver_install(struct slw_diag *d)
{
	scmp_filter_ctx ctx = NULL;
	struct sigaction sa;
	const char *what = "seccomp_init";
	int r = -EINVAL;

	if (!SC_SUPPORTED)
		return slw_diag(d, SLW_ERR_UNSUPPORTED, "sandbox: this "
		    "architecture has no trapped-call handler");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return slw_diag(d, SLW_ERR_PERM, "sandbox: cannot set "
		    "no_new_privs: %s", strerror(errno));
	hold_files();
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) != 0)
		return slw_diag(d, SLW_ERR_PERM, "sandbox: cannot handle "
		    "SIGSYS: %s", strerror(errno));
#ifdef SLW_SANDBOX_DEBUG
	if ((ctx = seccomp_init(SCMP_ACT_TRAP)) == NULL)
#else
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
#endif
		goto fail;
	if ((r = add_rules(ctx, &what)) != 0)
		goto fail;
	what = "seccomp_load";
	if ((r = seccomp_load(ctx)) != 0)
		goto fail;
	seccomp_release(ctx);
	return 0;
 fail:
	if (ctx != NULL)
		seccomp_release(ctx);
	return slw_diag(d, SLW_ERR_PERM, "sandbox: cannot install the seccomp "
	    "filter (%s: %s)", what, strerror(r < 0 ? -r : ENOMEM));
}
