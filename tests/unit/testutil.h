/* SPDX-License-Identifier: Apache-2.0 */
/*
 * testutil.h: small helpers shared by the unit tests (temporary state
 * directories, fixed clocks, CSR construction).
 */
#ifndef SLW_TESTUTIL_H
#define SLW_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "key.h"
#include "rand.h"

/* mkdtemp under $TMPDIR; removed by tu_rmrf. */
char *tu_tmpdir(void);
void tu_rmrf(const char *path);
/* Writes a file (mode 0600). */
void tu_write(const char *path, const void *p, size_t len);
/* A CSR signed by k (PEM "CERTIFICATE REQUEST" unless der). */
void tu_make_csr(struct key *k, const char *subject, const char **dns,
    size_t n_dns, int der, struct buf *out);
time_t tu_fixed_now(void);
/*
 * A state made by `slipway init` ($SLIPWAY) in DIR/state for the example
 * inventory (examples/seed-cluster.yaml), opened with its KEK, and the
 * inventory it holds.
 */
struct store;
struct inventory;
void tu_init_state(const char *dir, struct store **st, struct inventory **inv);
/* memmem, which POSIX lacks. */
void *tu_memmem(const void *h, size_t hl, const void *n, size_t nl);
extern time_t tu_now_value;

#endif
