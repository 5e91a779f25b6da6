// SPDX-License-Identifier: Apache-2.0
/*
 * sandbox.c: the network child's seccomp filter (libseccomp). An allow-list
 * with the reason for each entry; everything else kills the process. Must
 * never be relaxed to "log" or "allow" by default, and never report
 * success unless the kernel took the filter.
 */
#define _GNU_SOURCE	/* CLONE_THREAD, AT_EMPTY_PATH */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <seccomp.h>

/* Allowed whatever their arguments. */
static const struct {
	int nr;
	const char *why;
} allow[] = {
	/* the sockets: TLS records, privsep frames, the listening socket */
	{ SCMP_SYS(read), "privsep frames, eventfd (MHD's inter-thread signal)" },
	{ SCMP_SYS(write), "privsep frames, the log (stderr), eventfd" },
	{ SCMP_SYS(readv), "stdio" },
	{ SCMP_SYS(writev), "stdio" },
	{ SCMP_SYS(recvfrom), "TLS records (MHD's recv)" },
	{ SCMP_SYS(sendto), "TLS records (MHD's send), privsep frames" },
	{ SCMP_SYS(recvmsg), "TLS records" },
	{ SCMP_SYS(sendmsg), "TLS records" },
	{ SCMP_SYS(accept4), "new connections" },
	{ SCMP_SYS(accept), "new connections" },
	{ SCMP_SYS(poll), "MHD's event loops (MHD_USE_POLL)" },
	{ SCMP_SYS(ppoll), "MHD's event loops" },
	{ SCMP_SYS(shutdown), "request deadlines (conntrack), quiesce" },
	{ SCMP_SYS(close), "connections, the listening socket at stop" },
	{ SCMP_SYS(setsockopt), "TCP_NODELAY on accepted connections" },
	{ SCMP_SYS(getsockopt), "MHD: SO_ERROR, socket type" },
	{ SCMP_SYS(getsockname), "MHD: connection addresses" },
	{ SCMP_SYS(getpeername), "MHD: connection addresses" },
	{ SCMP_SYS(fcntl), "MHD: O_NONBLOCK / FD_CLOEXEC on accepted sockets" },
	{ SCMP_SYS(pread64), "artifacts: reading the files the monitor passed "
	    "(GET /v1/artifacts)" },
	{ SCMP_SYS(fstat), "stdio on stderr" },
	{ SCMP_SYS(lseek), "stdio on stderr" },
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
	{ SCMP_SYS(getrandom), "GnuTLS: nonces, key shares, session ids" },
	{ SCMP_SYS(eventfd2), "MHD: one inter-thread signal per event loop" },
	{ SCMP_SYS(pipe2), "MHD: inter-thread signal (pipe fallback)" },
	/* time and signals */
	{ SCMP_SYS(clock_gettime), "timestamps (vDSO fallback)" },
	{ SCMP_SYS(gettimeofday), "timestamps (vDSO fallback)" },
	{ SCMP_SYS(time), "timestamps (vDSO fallback)" },
	{ SCMP_SYS(clock_nanosleep), "drain wait at stop" },
	{ SCMP_SYS(nanosleep), "drain wait at stop" },
	{ SCMP_SYS(rt_sigprocmask), "glibc: thread creation, sigwait" },
	{ SCMP_SYS(rt_sigaction), "glibc: its internal signals, set on the "
	    "first pthread_create" },
	{ SCMP_SYS(rt_sigtimedwait), "sigwait for SIGTERM from the monitor" },
	{ SCMP_SYS(rt_sigreturn), "signal delivery" },
	{ SCMP_SYS(sigaltstack), "sanitizer builds: a signal stack per thread" },
	{ SCMP_SYS(restart_syscall), "interrupted sleeps" },
	{ SCMP_SYS(exit), "thread exit" },
	{ SCMP_SYS(exit_group), "process exit" },
};

/* Fail with an errno (never a kill) so a library probing a file goes on. */
static const struct {
	int nr;
	int err;
	const char *why;
} deny[] = {
	{ SCMP_SYS(open), EACCES, "no file is opened after set-up" },
	{ SCMP_SYS(openat), EACCES, "no file is opened after set-up" },
	{ SCMP_SYS(openat2), ENOSYS, "glibc falls back to openat" },
	{ SCMP_SYS(clone3), ENOSYS, "glibc falls back to clone (checked)" },
	{ SCMP_SYS(stat), EACCES, "GnuTLS checks its config file's time" },
	{ SCMP_SYS(lstat), EACCES, "no paths" },
	{ SCMP_SYS(access), EACCES, "no paths" },
	{ SCMP_SYS(faccessat), EACCES, "no paths" },
	{ SCMP_SYS(faccessat2), EACCES, "no paths" },
	{ SCMP_SYS(readlink), EACCES, "no paths" },
	{ SCMP_SYS(readlinkat), EACCES, "no paths" },
};

int
sandbox_net_install(struct slw_diag *d)
{
	scmp_filter_ctx ctx = NULL;
	const char *what = "seccomp_init";
	size_t i;
	int r = -EINVAL;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return slw_diag(d, SLW_ERR_PERM, "sandbox: cannot set "
		    "no_new_privs: %s", strerror(errno));
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		goto fail;
	what = "allow-list";
	for (i = 0; i < sizeof(allow) / sizeof(allow[0]); i++)
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allow[i].nr,
		    0)) != 0)
			goto fail;
	for (i = 0; i < sizeof(deny) / sizeof(deny[0]); i++)
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(deny[i].err),
		    deny[i].nr, 0)) != 0)
			goto fail;
	what = "argument rules";
	/* memory, never executable: no new code once set up */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) != 0)
		goto fail;
	/* threads only: never a new process */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD))) != 0)
		goto fail;
	/* signals to its own threads only (raise, abort, pthread_kill) */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
	    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0))) != 0)
		goto fail;
	/* thread names (MHD names its threads), nothing else of prctl */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
	    SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME, 0))) != 0)
		goto fail;
	/* fstat (glibc's fstatat(fd, "", AT_EMPTY_PATH)), never a path */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
	    SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH))) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES),
	    SCMP_SYS(newfstatat), 1,
	    SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0))) != 0)
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
