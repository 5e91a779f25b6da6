// SPDX-License-Identifier: Apache-2.0
/*
 * diskspace.c: statvfs and the disk-full message. Only measures and
 * formats; never writes, never decides what to refuse (the store does).
 */
#include "diskspace.h"

#include <sys/statvfs.h>

static void
fill(const struct statvfs *sv, uint64_t *avail, uint64_t *total)
{
	*avail = (uint64_t)sv->f_bavail * sv->f_frsize;
	*total = (uint64_t)sv->f_blocks * sv->f_frsize;
}

int
diskspace_get(const char *path, uint64_t *avail, uint64_t *total)
{
	struct statvfs sv;

	*avail = *total = 0;
	if (statvfs(path, &sv) != 0)
		return SLW_ERR_IO;
	fill(&sv, avail, total);
	return 0;
}

int
diskspace_fget(int fd, uint64_t *avail, uint64_t *total)
{
	struct statvfs sv;

	*avail = *total = 0;
	if (fstatvfs(fd, &sv) != 0)
		return SLW_ERR_IO;
	fill(&sv, avail, total);
	return 0;
}

int
diskspace_full_diag(struct slw_diag *d, const char *where, uint64_t avail)
{
	return slw_diag_set(d, SLW_ERR_NOSPACE, "disk full on %s: %llu bytes free",
	    where, (unsigned long long)avail);
}
