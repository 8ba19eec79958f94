/* Waiting for a lock: blocking in the kernel, with a timeout and ticks. */
#ifndef LOCKBUILD_ACQUIRE_H
#define LOCKBUILD_ACQUIRE_H

#include "cli.h"
#include "lock.h"

/*
 * Called while still waiting, first after about a second; returns the
 * seconds until it wants to be called again.
 */
typedef double (*wait_tick_fn)(void *arg, double waited);

struct waitspec {
	enum wait_kind kind;
	double timeout;		/* seconds, with WAIT_TIMEOUT */
	/*
	 * Longest time one lock request may wait before it is made again
	 * (INFINITY: one request, which the kernel wakes).  A file server
	 * may forget a waiter that does not ask again; see run.c.
	 */
	double renew;
	wait_tick_fn tick;	/* may be NULL */
	void *arg;		/* for tick */
};

/*
 * Takes the lock as ws says (record: as lock_take).  1 held, 0 not
 * acquired (busy with WAIT_NONBLOCK, or timed out), -1 error with errno.
 * *waited gets the seconds spent.
 */
int acquire(struct lock *l, int dirfd, const char *name, bool shared,
    struct owner *record, const struct waitspec *ws, double *waited);

/* CLOCK_MONOTONIC in seconds. */
double now_mono(void);

#endif
