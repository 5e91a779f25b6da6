// SPDX-License-Identifier: Apache-2.0
/*
 * benchutil.c: the clock and the median the C benchmarks share. Measures,
 * never judges: no benchmark asserts a time.
 */
#include "benchutil.h"

#include <stdlib.h>
#include <time.h>

double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double
bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return v[n / 2];
}
