/* Sharing one loop between two threads (the only threads lockbuild has). */
#ifndef LOCKBUILD_TWOTHREADS_H
#define LOCKBUILD_TWOTHREADS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Calls fn(arg, i, t) for i = 0 .. n-1, on the calling thread (t = 0)
 * and one more (t = 1), each taking the next i.  fn returns 0 to go on.
 * Returns the value, with errno, of the smallest i whose fn returned
 * anything else, or 0: the outcome of a loop in order, whatever the
 * timing.  With stop, once an i has failed no higher i is handed out
 * (one may already be running).  Without a second thread
 * (pthread_create failed) all of it runs on the caller.
 */
int twothreads(size_t n, int (*fn)(void *arg, size_t i, int t), void *arg,
    bool stop);

#endif
