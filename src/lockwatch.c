/*
 * Losing the lock, noticed.  A local kernel never takes a lock back.  An
 * NFS server does: from a client it has not heard from for a lease (a
 * network partition, a suspended VM), and then gives the key to another
 * host while our COMMAND may still run.  The Linux client is not told.
 * After the partition heals, F_OFD_GETLK, F_OFD_SETLK and write(2) on
 * the lock's descriptor still succeed; only fsync(2) fails, with EIO,
 * because the server refuses the write under the revoked lock state
 * (tests/hosts/partition.t shows both).  While cut off, the flush does
 * not return at all (a hard mount), so silence counts as well: a flush
 * that has not come back within the stall limit means the lock may be
 * gone, and lockbuild acts before the server's lease (90 s by default
 * with Linux's nfsd) runs out, so that the other host's build does not
 * run alongside ours.
 *
 * The flushes run in a thread of their own, detached: one that blocks in
 * the kernel must not stop lockbuild from stopping COMMAND.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "lockwatch.h"

#define PERIOD 1.0		/* seconds between flushes */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int watch_fd = -1;
static bool watch_poke;
static double stall_limit;
static double last_ok;		/* when the last flush came back */
static unsigned long done;	/* flushes completed */
static bool asked;		/* a flush is wanted now */
static int lost;		/* errno of a refused flush */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
deadline_in(struct timespec *ts, double s)
{
	double t;

	clock_gettime(CLOCK_REALTIME, ts);
	t = (double)ts->tv_nsec / 1e9 + s;
	ts->tv_sec += (time_t)t;
	ts->tv_nsec = (long)((t - (double)(time_t)t) * 1e9);
}

/* One flush: the record's first byte again ('l' of "lockbuild-owner",
 * so the content never changes), then fsync. */
static int
beat(void)
{
	if (watch_poke && pwrite(watch_fd, "l", 1, 0) != 1)
		return errno != 0 ? errno : EIO;
	return fsync(watch_fd) == -1 ? errno : 0;
}

static void *
run(void *arg)
{
	struct timespec ts;
	int e;

	(void)arg;
	for (;;) {
		e = beat();
		pthread_mutex_lock(&mu);
		if (e == 0)
			last_ok = now();
		else if (lost == 0)
			lost = e;
		done++;
		pthread_cond_broadcast(&cv);
		deadline_in(&ts, PERIOD);
		while (!asked && lost == 0 &&
		    pthread_cond_timedwait(&cv, &mu, &ts) == 0)
			;
		asked = false;
		pthread_mutex_unlock(&mu);
		if (lost != 0)
			return NULL;
	}
}

int
lockwatch_start(int fd, bool poke, double stall)
{
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;
	int r;

	watch_fd = fd;
	watch_poke = poke;
	stall_limit = stall;
	last_ok = now();
	/* Signals stay with the main thread, which waits for COMMAND. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &attr, run, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		watch_fd = -1;
		errno = r;
		return -1;
	}
	return 0;
}

bool
lockwatch_active(void)
{
	return watch_fd != -1;
}

int
lockwatch_check(void)
{
	int r = 0;

	if (watch_fd == -1)
		return 0;
	pthread_mutex_lock(&mu);
	if (lost != 0)
		r = lost;
	else if (now() - last_ok > stall_limit)
		r = ETIMEDOUT;
	pthread_mutex_unlock(&mu);
	return r;
}

int
lockwatch_confirm(void)
{
	struct timespec ts;
	unsigned long want;
	int r;

	if (watch_fd == -1)
		return 0;
	pthread_mutex_lock(&mu);
	/* A flush under way may have started before now: wait for two. */
	want = done + 2;
	deadline_in(&ts, stall_limit);
	while (done < want && lost == 0) {
		asked = true;
		pthread_cond_broadcast(&cv);
		if (pthread_cond_timedwait(&cv, &mu, &ts) == ETIMEDOUT)
			break;
	}
	r = lost != 0 ? lost : done < want ? ETIMEDOUT : 0;
	pthread_mutex_unlock(&mu);
	return r;
}
