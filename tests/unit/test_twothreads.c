/*
 * Unit tests for twothreads (src/twothreads.c): every item runs once,
 * and the result is that of the first failing item in index order, not
 * in time order, also when a later item fails first; and the second
 * thread does some of the items.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "twothreads.h"

#define N 200

static atomic_int calls[N];
static atomic_int bad_t;

/* Item 3 fails late (after a pause), item 5 at once: 7/EIO vs 9/EACCES. */
static int
item(void *arg, size_t i, int t)
{
	(void)arg;
	atomic_fetch_add(&calls[i], 1);
	if (t != 0 && t != 1)
		atomic_store(&bad_t, 1);
	if (i == 3) {
		usleep(50000);
		errno = EIO;
		return 7;
	}
	if (i == 5) {
		errno = EACCES;
		return 9;
	}
	return 0;
}

static int
ok_item(void *arg, size_t i, int t)
{
	(void)arg;
	(void)t;
	atomic_fetch_add(&calls[i], 1);
	return 0;
}

/*
 * Whichever thread takes item 0 holds it until the other thread has done
 * an item (bounded: 10 s), so both must take part whatever the timing.
 */
static atomic_int by_thread[2];

static int
wait_item(void *arg, size_t i, int t)
{
	(void)arg;
	atomic_fetch_add(&calls[i], 1);
	if (t != 0 && t != 1) {
		atomic_store(&bad_t, 1);
		return 0;
	}
	if (i == 0) {
		for (int w = 0; w < 10000 && atomic_load(&by_thread[!t]) == 0;
		    w++)
			usleep(1000);
	}
	atomic_fetch_add(&by_thread[t], 1);
	return 0;
}

static void
reset(void)
{
	for (size_t i = 0; i < N; i++)
		atomic_store(&calls[i], 0);
	atomic_store(&bad_t, 0);
	atomic_store(&by_thread[0], 0);
	atomic_store(&by_thread[1], 0);
}

static void
test_none(void **state)
{
	(void)state;
	reset();
	assert_int_equal(twothreads(0, ok_item, NULL, true), 0);
	assert_int_equal(atomic_load(&calls[0]), 0);
}

static void
test_all_once(void **state)
{
	(void)state;
	reset();
	assert_int_equal(twothreads(N, ok_item, NULL, true), 0);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(atomic_load(&calls[i]), 1);
}

/* The second thread does part of the work, and the caller the rest. */
static void
test_second_thread_works(void **state)
{
	(void)state;
	reset();
	assert_int_equal(twothreads(N, wait_item, NULL, true), 0);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(atomic_load(&calls[i]), 1);
	assert_int_equal(atomic_load(&bad_t), 0);
	assert_true(atomic_load(&by_thread[1]) > 0);
	assert_true(atomic_load(&by_thread[0]) > 0);
	assert_int_equal(atomic_load(&by_thread[0]) +
	    atomic_load(&by_thread[1]), N);
}

static void
test_first_by_index_keep_going(void **state)
{
	(void)state;
	reset();
	errno = 0;
	assert_int_equal(twothreads(N, item, NULL, false), 7);
	assert_int_equal(errno, EIO);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(atomic_load(&calls[i]), 1);
	assert_int_equal(atomic_load(&bad_t), 0);
}

static void
test_first_by_index_stop(void **state)
{
	(void)state;
	reset();
	errno = 0;
	assert_int_equal(twothreads(N, item, NULL, true), 7);
	assert_int_equal(errno, EIO);
	for (size_t i = 0; i <= 3; i++)
		assert_int_equal(atomic_load(&calls[i]), 1);
	/* Stopped: not all of the 200 ran (item 3 took 50 ms). */
	assert_int_equal(atomic_load(&calls[N - 1]), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_all_once),
		cmocka_unit_test(test_second_thread_works),
		cmocka_unit_test(test_first_by_index_keep_going),
		cmocka_unit_test(test_first_by_index_stop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
