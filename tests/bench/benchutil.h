/* SPDX-License-Identifier: Apache-2.0 */
/* benchutil.h: what the C benchmarks share: a monotonic clock, medians. */
#ifndef SLW_BENCHUTIL_H
#define SLW_BENCHUTIL_H

/* Seconds on CLOCK_MONOTONIC. */
double bench_now(void);
/* The median of n values (sorts v). */
double bench_median(double *v, int n);

#endif
