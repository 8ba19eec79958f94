/*
 * The one place lockbuild runs a second thread.  Comparing two trees and
 * deleting one are almost all kernel work on separate files (one path
 * walk, open or unlink each), and two threads in different directories
 * barely contend: rmtree.c and treecmp.c share the entries of the first
 * directory that has two or more subdirectories, once per walk, so there
 * are never more than two threads.  Items are handed out one at a time
 * from a counter, so one big subtree does not leave the other thread
 * idle while a fixed half would.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include "twothreads.h"

struct job {
	pthread_mutex_t mu;
	size_t n, next, first;	/* first: smallest i that failed */
	int r, err;		/* its result and errno */
	bool stop;
	int (*fn)(void *, size_t, int);
	void *arg;
};

static void
work(struct job *j, int t)
{
	for (;;) {
		size_t i;
		int r, e;

		pthread_mutex_lock(&j->mu);
		if (j->next >= j->n || (j->stop && j->next > j->first)) {
			pthread_mutex_unlock(&j->mu);
			return;
		}
		i = j->next++;
		pthread_mutex_unlock(&j->mu);
		if ((r = j->fn(j->arg, i, t)) == 0)
			continue;
		e = errno;
		pthread_mutex_lock(&j->mu);
		if (i < j->first) {
			j->first = i;
			j->r = r;
			j->err = e;
		}
		pthread_mutex_unlock(&j->mu);
	}
}

static void *
second(void *arg)
{
	work(arg, 1);
	return NULL;
}

int
twothreads(size_t n, int (*fn)(void *arg, size_t i, int t), void *arg,
    bool stop)
{
	struct job j = { .mu = PTHREAD_MUTEX_INITIALIZER, .n = n,
	    .first = SIZE_MAX, .stop = stop, .fn = fn, .arg = arg };
	sigset_t all, old;
	pthread_t t;
	bool started;

	/* Signals stay with the main thread, whose handlers expect them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	started = n > 1 && pthread_create(&t, NULL, second, &j) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	work(&j, 0);
	if (started)
		pthread_join(t, NULL);
	pthread_mutex_destroy(&j.mu);
	if (j.first != SIZE_MAX)
		errno = j.err;
	return j.first != SIZE_MAX ? j.r : 0;
}
