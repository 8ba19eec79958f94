/*
 * The wait blocks in F_OFD_SETLKW, so the kernel wakes us the moment the
 * holder lets go (no polling).  A timer interrupts it for the timeout and
 * for "still waiting" messages.  The timer repeats every 10 ms after its
 * first expiry: if the first one fires before fcntl has started blocking,
 * it would be lost and the call would block forever (the race fixed in
 * util-linux flock by the same means).  Where the lock lives on a file
 * server, the request is also made again every ws->renew seconds.
 */
#include <errno.h>
#include <math.h>
#include <sys/time.h>
#include <time.h>

#include "acquire.h"

#define FIRST_TICK 1.0		/* seconds before the first "waiting" */
#define REARM_INTERVAL 0.01	/* re-fire period, see above */

double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
set_timer(double first)
{
	struct itimerval it;

	if (first < 0.001)
		first = 0.001;
	it.it_value.tv_sec = (time_t)first;
	it.it_value.tv_usec = (suseconds_t)((first - floor(first)) * 1e6);
	it.it_interval.tv_sec = 0;
	it.it_interval.tv_usec = (suseconds_t)(REARM_INTERVAL * 1e6);
	setitimer(ITIMER_REAL, &it, NULL);
}

static void
stop_timer(void)
{
	struct itimerval it = { { 0, 0 }, { 0, 0 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

int
acquire(struct lock *l, int dirfd, const char *name, bool shared,
    struct owner *record, const struct waitspec *ws, double *waited)
{
	double start = now_mono(), deadline, next_tick, now, wake;
	int r;

	*waited = 0;
	r = lock_take(l, dirfd, name, shared, false, record);
	if (r != 0 || ws->kind == WAIT_NONBLOCK ||
	    (ws->kind == WAIT_TIMEOUT && ws->timeout <= 0))
		return r;
	deadline = ws->kind == WAIT_TIMEOUT ? start + ws->timeout : INFINITY;
	next_tick = start + FIRST_TICK;
	for (;;) {
		now = now_mono();
		*waited = now - start;
		if (now >= deadline)
			return 0;
		if (now >= next_tick)
			next_tick = now + (ws->tick ? ws->tick(ws->arg,
			    now - start) : 3600);
		wake = fmin(fmin(deadline, next_tick), now + ws->renew);
		set_timer(wake - now);
		r = lock_take(l, dirfd, name, shared, true, record);
		stop_timer();
		*waited = now_mono() - start;
		if (r == -1 && errno == EINTR)
			continue;
		return r;
	}
}
