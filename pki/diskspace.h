/* SPDX-License-Identifier: Apache-2.0 */
/*
 * diskspace.h: free space on a filesystem (statvfs) and the one way slipway
 * says a disk is full: "disk full on WHERE: N bytes free", the same text in
 * a command's error, serve's log, /healthz and `slipway status`.
 */
#ifndef SLW_DISKSPACE_H
#define SLW_DISKSPACE_H

#include <stdint.h>

#include "err.h"

/* Below this many free bytes the state's filesystem counts as full. */
#define DISKSPACE_MIN ((uint64_t)1 << 20)

/*
 * Bytes an unprivileged writer may still use on the filesystem holding
 * path, or the open file fd (f_bavail), and its size. SLW_ERR_IO if
 * statvfs fails. The fd form works after a privilege drop that lost the
 * right to search the path.
 */
int diskspace_get(const char *path, uint64_t *avail, uint64_t *total);
int diskspace_fget(int fd, uint64_t *avail, uint64_t *total);
/* Sets d (overwriting: it is the reason) and returns SLW_ERR_NOSPACE. */
int diskspace_full_diag(struct slw_diag *d, const char *where,
    uint64_t avail);

#endif
