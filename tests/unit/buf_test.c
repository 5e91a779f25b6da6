// SPDX-License-Identifier: Apache-2.0
/*
 * buf_test.c: the one growable buffer (pki/buf.h). Appending 8 MiB in
 * 100-byte chunks makes O(log n) blocks, not one per append (the
 * quadratic copy of a capacity-less buffer), and copies less than twice
 * the final size in all; every block it leaves behind on growth, and the
 * last one on free, is all zeros when free() gets it (free is wrapped for
 * this test: -Wl,--wrap=free); a buf filled by hand (cap 0) owns len + 1;
 * reset keeps the block; reserve prevents growth; appendf past its stack
 * buffer.
 */
#include "testutil.h"

#include "err.h"


/* ---- free(), watched ---- */

void __real_free(void *p);
void __wrap_free(void *p);

static struct {
	const void *p;		/* the block to look at when it is freed */
	size_t n;		/* its bytes that must be zero */
	int seen, zero;
} watch;

void
__wrap_free(void *p)
{
	if (p != NULL && p == watch.p) {
		const uint8_t *b = p;
		size_t i;

		watch.seen++;
		watch.zero = 1;
		for (i = 0; i < watch.n; i++)
			if (b[i] != 0)
				watch.zero = 0;
		watch.p = NULL;
	}
	__real_free(p);
}

static void
watch_block(const struct buf *b)
{
	watch.p = b->data;
	watch.n = b->cap > b->len ? b->cap : b->len + 1;
	watch.seen = watch.zero = 0;
}

/* ---- tests ---- */

static void
test_append_8mib_is_linear(void **s)
{
	struct buf b = { 0 };
	uint8_t chunk[100];
	const uint8_t *last = NULL;
	size_t i, blocks = 0, copied = 0, total = (size_t)8 << 20;

	(void)s;
	for (i = 0; i < sizeof(chunk); i++)
		chunk[i] = (uint8_t)i;
	for (i = 0; i * sizeof(chunk) < total; i++) {
		size_t before = b.len;

		assert_int_equal(buf_append(&b, chunk, sizeof(chunk)), 0);
		if (b.data != last) {
			blocks++;
			copied += before;	/* what the new block got copied */
			last = b.data;
		}
	}
	assert_int_equal(b.len, i * sizeof(chunk));
	assert_int_equal(b.data[b.len], 0);
	assert_int_equal(b.data[b.len - 1], 99);
	assert_int_equal(b.data[12345 * 100 + 42], 42);
	/* 64 bytes doubling to 8 MiB: 18 blocks; one per append would be
	 * 83,887 (and 350 GB copied) */
	print_message("# 8 MiB in %zu appends of 100 bytes: %zu blocks, %zu "
	    "bytes copied on growth (%.2f x the data)\n", i, blocks, copied,
	    (double)copied / (double)b.len);
	assert_true(blocks <= 18);
	assert_true(copied < 2 * b.cap);
	assert_true(b.cap >= b.len + 1 && b.cap <= 2 * (b.len + 1));
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
}

static void
test_wiped_on_grow_and_free(void **s)
{
	struct buf b = { 0 };
	char secret[48];
	size_t i;

	(void)s;
	memset(secret, 'S', sizeof(secret));
	assert_int_equal(buf_append(&b, secret, sizeof(secret)), 0);
	/* grow until the block moves; the old one must be freed wiped */
	for (i = 0; i < 10; i++) {
		const uint8_t *old = b.data;

		watch_block(&b);
		assert_int_equal(buf_append(&b, secret, sizeof(secret)), 0);
		if (b.data != old) {
			assert_int_equal(watch.seen, 1);
			assert_true(watch.zero);
		} else
			assert_int_equal(watch.seen, 0);
	}
	/* the positive control: the bytes were there a moment ago */
	assert_int_equal(b.data[0], 'S');
	watch_block(&b);
	buf_free(&b);
	assert_int_equal(watch.seen, 1);
	assert_true(watch.zero);
	/* set, move, appendf: the same */
	assert_int_equal(buf_set(&b, secret, sizeof(secret)), 0);
	assert_int_equal(b.cap, sizeof(secret) + 1);
	watch_block(&b);
	assert_int_equal(buf_appendf(&b, "%0600d", 7), 0);
	assert_int_equal(b.len, sizeof(secret) + 600);
	assert_int_equal(watch.seen, 1);
	assert_true(watch.zero);
	buf_free(&b);
}

static void
test_filled_by_hand(void **s)
{
	struct buf b = { 0 };
	uint8_t *p = malloc(6);

	(void)s;
	assert_non_null(p);
	memcpy(p, "hello", 6);
	b.data = p;
	b.len = 5;		/* cap left 0: it owns 6 bytes */
	watch_block(&b);
	assert_int_equal(watch.n, 6);
	assert_int_equal(buf_append(&b, " world", 6), 0);
	assert_string_equal((char *)b.data, "hello world");
	assert_int_equal(watch.seen, 1);
	assert_true(watch.zero);
	assert_true(b.cap >= 12);
	buf_free(&b);
	/* a NULL data with a stale cap (a struct copy whose block went) */
	b.cap = 4096;
	assert_int_equal(buf_append(&b, "x", 1), 0);
	assert_string_equal((char *)b.data, "x");
	assert_true(b.cap < 4096);
	buf_free(&b);
}

static void
test_reset_reserve_move(void **s)
{
	struct buf a = { 0 }, b = { 0 };
	const uint8_t *blk;
	size_t i;

	(void)s;
	assert_int_equal(buf_reserve(&a, 10000), 0);
	blk = a.data;
	assert_true(a.cap >= 10001);
	for (i = 0; i < 100; i++)
		assert_int_equal(buf_append(&a, "0123456789", 10), 0);
	assert_ptr_equal(a.data, blk);
	assert_int_equal(a.len, 1000);
	buf_reset(&a);
	assert_ptr_equal(a.data, blk);
	assert_int_equal(a.len, 0);
	assert_int_equal(a.data[0], 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(a.data[i], 0);	/* the old bytes wiped */
	assert_int_equal(buf_append(&a, "x", 1), 0);
	assert_ptr_equal(a.data, blk);
	buf_move(&b, &a);
	assert_null(a.data);
	assert_int_equal(a.cap, 0);
	assert_ptr_equal(b.data, blk);
	assert_true(b.cap >= 10001);
	assert_int_equal(buf_reserve(&b, SIZE_MAX), SLW_ERR_TOOBIG);
	assert_int_equal(buf_append(&b, "y", SIZE_MAX - 1), SLW_ERR_TOOBIG);
	assert_string_equal((char *)b.data, "x");
	buf_free(&b);
	buf_reset(&b);		/* empty: nothing to do */
	buf_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_8mib_is_linear),
		cmocka_unit_test(test_wiped_on_grow_and_free),
		cmocka_unit_test(test_filled_by_hand),
		cmocka_unit_test(test_reset_reserve_move),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
