/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sandbox.h: the seccomp-BPF filters of serve's children. The network
 * child's (net.c, sandbox.c):
 * what libmicrohttpd, GnuTLS, glibc's threads and malloc, and the privsep
 * channels need once the child is set up, and nothing else. The default
 * is to kill the process; open/openat and path stats fail with EACCES (no
 * file is ever opened once it is in place); clone3 fails with ENOSYS so
 * glibc falls back to clone, which is allowed for threads only. The table
 * and the reason for each entry are in sandbox.c and docs/endpoint.md.
 */
#ifndef SLW_SANDBOX_H
#define SLW_SANDBOX_H

#include "err.h"

/*
 * Sets no_new_privs and installs the filter on the calling thread; threads
 * it creates afterwards inherit it. Any failure is returned (never skipped):
 * the caller must treat it as fatal.
 */
int sandbox_net_install(struct slw_diag *d);

/*
 * The CSR approver's filter (sandbox_approver.c): libcurl, GnuTLS, cJSON,
 * mbedTLS, glibc's resolver and its channel to the monitor; open, openat
 * and path stats are trapped and answered from descriptors it already
 * holds (the memfds libcurl reads its key from, resolver files held here
 * before the filter). Installs a SIGSYS handler, then the filter, as
 * sandbox_net_install; any failure is returned and must be fatal.
 */
int sandbox_approver_install(struct slw_diag *d);

#endif
