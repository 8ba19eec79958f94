/*
 * Unit tests for src/acquire.c: a waiter blocks in one lock request,
 * which the kernel wakes, unless ws->renew asks it to make the request
 * again every so often (what a file server needs, see run.c); either way
 * it gets the lock once the holder lets go, and gives up at its timeout.
 * fcntl is wrapped (-Wl,--wrap=fcntl64) to count the blocking requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "acquire.h"
#include "owner.h"

int __real_fcntl64(int, int, ...);
int __wrap_fcntl64(int, int, ...);

static volatile int blocking_requests;

int
__wrap_fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (cmd == F_OFD_SETLKW || cmd == F_SETLKW)
		blocking_requests++;
	return __real_fcntl64(fd, cmd, arg);
}

struct fixture {
	char dir[64];
	int dirfd;
	struct owner self;
	struct lock holder;
};

static void
on_alarm(int sig)
{
	(void)sig;
}

static int
setup(void **state)
{
	static char *argv[] = { "true", NULL };
	struct fixture *f = calloc(1, sizeof(*f));
	struct sigaction sa;

	assert_non_null(f);
	/* As lockbuild's own: SIGALRM interrupts the request (no SA_RESTART). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	strcpy(f->dir, "/tmp/test_acquire.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY);
	assert_true(f->dirfd != -1);
	owner_self(&f->self, "k", argv);
	/* A holder on its own open file description: OFD locks conflict
	 * with it even in this process. */
	assert_int_equal(lock_take(&f->holder, f->dirfd, "k.lock", false,
	    false, &f->self), 1);
	blocking_requests = 0;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	if (f->holder.fd != -1)
		lock_release(&f->holder, false);
	unlinkat(f->dirfd, "k.lock", 0);
	close(f->dirfd);
	rmdir(f->dir);
	free(f);
	return 0;
}

static int
wait_for(struct fixture *f, double timeout, double renew, double *waited)
{
	struct waitspec ws = { WAIT_TIMEOUT, timeout, renew, NULL, NULL };
	struct lock l;
	int r;

	r = acquire(&l, f->dirfd, "k.lock", false, &f->self, &ws, waited);
	if (r == 1)
		lock_release(&l, false);
	return r;
}

/* Locally: one request, woken by the kernel or the timeout. */
static void
test_one_request_locally(void **state)
{
	struct fixture *f = *state;
	double waited;

	assert_int_equal(wait_for(f, 0.5, INFINITY, &waited), 0);
	assert_int_equal(blocking_requests, 1);
	assert_true(waited >= 0.5 && waited < 3.0);
}

/* On a file server: the request is made again every renew seconds,
 * and the timeout still holds. */
static void
test_renewed_request(void **state)
{
	struct fixture *f = *state;
	double waited;

	assert_int_equal(wait_for(f, 1.0, 0.1, &waited), 0);
	/* About 10; a loaded machine fires timers late, never early. */
	assert_true(blocking_requests >= 3);
	assert_true(blocking_requests <= 12);
	assert_true(waited >= 1.0 && waited < 4.0);
}

static void *
release_later(void *arg)
{
	struct fixture *f = arg;

	usleep(300000);
	lock_release(&f->holder, false);
	f->holder.fd = -1;
	return NULL;
}

/* Renewing does not lose the hand-off: the waiter gets the lock once
 * the holder lets go, well before its timeout. */
static void
test_renewed_request_gets_lock(void **state)
{
	struct fixture *f = *state;
	pthread_t t;
	double waited;

	assert_int_equal(pthread_create(&t, NULL, release_later, f), 0);
	assert_int_equal(wait_for(f, 10.0, 0.1, &waited), 1);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(waited >= 0.25 && waited < 5.0);
	assert_true(blocking_requests >= 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_request_locally,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_renewed_request, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_renewed_request_gets_lock,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
