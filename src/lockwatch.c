/*
 * Losing the lock, noticed.  A local kernel never takes a lock back.  An
 * NFS server does: from a client it has not heard from for a lease (a
 * network partition, a suspended VM), and then gives the key to another
 * host while our COMMAND may still run.  The Linux client is not told:
 * after the partition heals, the lock's descriptor still locks and
 * writes as before (tests/hosts/partition.t shows it).  What can be seen:
 *  - while cut off, a question to the server does not come back at all
 *    (a hard mount waits), so a thread asks every second: a statfs of
 *    the lock's filesystem, which always goes to the server, and
 *    whether anyone else holds the lock (F_OFD_GETLK), neither of which
 *    changes anything or dirties a page; silence longer than the stall
 *    limit counts as a lost lock: lockbuild acts before the server's
 *    lease (90 s by default with Linux's nfsd) runs out, so the other
 *    host's build does not run alongside ours;
 *  - once reachable again, the server names the host it gave the lock
 *    to as a conflicting holder.
 * Writing and flushing the lock file would tell too, but a page left
 * dirty by a write the server does not take makes every close and stat
 * of the file wait for it, COMMAND's included.
 *
 * The questions run in a thread of their own, detached: one that blocks
 * in the kernel must not stop lockbuild from stopping COMMAND.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/vfs.h>
#endif

#include "lockwatch.h"

#define PERIOD 1.0		/* seconds between questions */

#ifndef F_OFD_GETLK
#define F_OFD_GETLK F_GETLK	/* classic locks: the same question */
#endif

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int watch_fd = -1;
static short held_type;		/* F_WRLCK, or F_RDLCK for a shared hold */
static double stall_limit;
static double last_ok;		/* when the last answered question was asked */
static unsigned long done;	/* questions answered */
static bool asked;		/* a question is wanted now */
static int lost;		/* why the lock is lost */

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

/*
 * With mu held: a silence longer than the stall limit is a loss for
 * good, even once the server answers again: it may have given the key
 * away meanwhile, and the other holder may be done with it by now.
 */
static void
note_stall(void)
{
	if (lost == 0 && now() - last_ok > stall_limit)
		lost = ETIMEDOUT;
}

/* One question: does anyone else hold the lock?  0 no, else why it is
 * lost (EBUSY: someone else has it). */
static int
beat(void)
{
	struct flock fl;
#ifdef __linux__
	struct statfs sfs;

	/*
	 * A client holding a delegation answers lock questions itself, even
	 * while cut off; a statfs always goes to the server (and so shows
	 * that it, and with it the lease, can be reached).
	 */
	if (fstatfs(watch_fd, &sfs) == -1)
		return errno;
#endif
	/*
	 * What would conflict with our own hold: for a shared one, only an
	 * exclusive holder, which the server can only have let in after
	 * taking our lock back; other shared holders are company.
	 */
	memset(&fl, 0, sizeof(fl));
	fl.l_type = held_type;
	fl.l_whence = SEEK_SET;
	if (fcntl(watch_fd, F_OFD_GETLK, &fl) == -1)
		return errno;
	return fl.l_type == F_UNLCK ? 0 : EBUSY;
}

static void *
run(void *arg)
{
	struct timespec ts;
	double asked_at;
	int e;

	(void)arg;
	for (;;) {
		/*
		 * The server renewed our lease at some instant after the
		 * question was asked, not when its answer came back: the
		 * stall limit counts from the asking.
		 */
		asked_at = now();
		e = beat();
		pthread_mutex_lock(&mu);
		note_stall();
		if (lost == 0 && e != 0)
			lost = e;
		else if (lost == 0)
			last_ok = asked_at;
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
lockwatch_start(int fd, bool shared, double stall)
{
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;
	int r;

	watch_fd = fd;
	held_type = shared ? F_RDLCK : F_WRLCK;
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
	int r;

	if (watch_fd == -1)
		return 0;
	pthread_mutex_lock(&mu);
	note_stall();
	r = lost;
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
	/* A question under way may have started before now: wait for two. */
	want = done + 2;
	deadline_in(&ts, stall_limit);
	while (done < want && lost == 0) {
		asked = true;
		pthread_cond_broadcast(&cv);
		if (pthread_cond_timedwait(&cv, &mu, &ts) == ETIMEDOUT)
			break;
	}
	if (lost == 0 && done < want)
		lost = ETIMEDOUT;
	r = lost;
	pthread_mutex_unlock(&mu);
	return r;
}

const char *
lockwatch_why(int e)
{
	switch (e) {
	case ETIMEDOUT:
		return "no answer from the file server";
	case EBUSY:
		return "the file server gave it to another holder";
	case EIO:
		return "the file server no longer has it: I/O error";
	case ESTALE:
		return "its lock file is gone from the file server";
	default:
		return strerror(e);
	}
}
