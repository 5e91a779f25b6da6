// SPDX-License-Identifier: Apache-2.0
/*
 * buf_bench.c: appending a response to a struct buf in small chunks, as
 * libcurl hands a body over (pki/buf.h). For 1 MiB and 8 MiB in 100-byte
 * appends, in the same run: the time per size, and the reference, one
 * memcpy of the same bytes into a block made once. Prints the ratios
 * 8 MiB / 1 MiB (8 for a linear append, 64 for a quadratic one) and
 * append / memcpy. Never asserts a time.
 *
 * usage: buf_bench [--runs 5]
 */
#include "benchutil.h"
#include "buf.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK 100
#define MAX_RUNS 21

/* Seconds to append total bytes in CHUNK-byte pieces to an empty buf. */
static double
appends(size_t total, const uint8_t *src)
{
	struct buf b = { 0 };
	size_t off;
	double t0 = bench_now(), t;

	for (off = 0; off < total; off += CHUNK)
		if (buf_append(&b, src + off, total - off < CHUNK ?
		    total - off : CHUNK) != 0) {
			fprintf(stderr, "buf_bench: out of memory\n");
			exit(1);
		}
	t = bench_now() - t0;
	if (b.len != total || memcmp(b.data, src, total) != 0) {
		fprintf(stderr, "buf_bench: wrong contents\n");
		exit(1);
	}
	buf_free(&b);
	return t;
}

/* The reference: the same bytes copied once into a block made once. */
static double
one_copy(size_t total, const uint8_t *src)
{
	uint8_t *dst = malloc(total + 1);
	double t0 = bench_now(), t;

	if (dst == NULL)
		exit(1);
	memcpy(dst, src, total);
	dst[total] = 0;
	t = bench_now() - t0;
	if (memcmp(dst, src, total) != 0)
		exit(1);
	free(dst);
	return t;
}

int
main(int argc, char **argv)
{
	const size_t sizes[2] = { (size_t)1 << 20, (size_t)8 << 20 };
	double a[2][MAX_RUNS], m[2][MAX_RUNS], am[2], mm[2];
	uint8_t *src;
	int runs = 5, i, j;
	size_t k;

	if (argc == 3 && strcmp(argv[1], "--runs") == 0)
		runs = atoi(argv[2]);
	if (runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: buf_bench [--runs 1..%d]\n", MAX_RUNS);
		return 2;
	}
	/* a fixed mmap threshold: every large block is fresh pages, for the
	 * appends and the reference alike (glibc would otherwise move the
	 * threshold after the first free and reuse warm heap for some) */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	if ((src = malloc(sizes[1])) == NULL)
		return 1;
	for (k = 0; k < sizes[1]; k++)
		src[k] = (uint8_t)(k * 131 + 7);
	for (j = 0; j < runs; j++)
		for (i = 0; i < 2; i++) {
			a[i][j] = appends(sizes[i], src);
			m[i][j] = one_copy(sizes[i], src);
		}
	for (i = 0; i < 2; i++) {
		am[i] = bench_median(a[i], runs);
		mm[i] = bench_median(m[i], runs);
		printf("%zu MiB in %d-byte appends: %.2f ms (one memcpy: %.2f ms, "
		    "%.1f x)\n", sizes[i] >> 20, CHUNK, am[i] * 1e3, mm[i] * 1e3,
		    am[i] / mm[i]);
	}
	printf("8 MiB / 1 MiB: %.1f x the time for 8 x the bytes (linear: 8, "
	    "quadratic: 64; one memcpy: %.1f x)\n", am[1] / am[0],
	    mm[1] / mm[0]);
	free(src);
	return 0;
}
