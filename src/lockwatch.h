/*
 * Noticing that a network filesystem's server took our lock back, while
 * COMMAND runs and just before publishing.
 */
#ifndef LOCKBUILD_LOCKWATCH_H
#define LOCKBUILD_LOCKWATCH_H

#include <stdbool.h>
#include <sys/types.h>

#define LOCKWATCH_STALL 10.0	/* default silence taken as a lost lock */

/*
 * Starts a thread that, every second, writes the lock file's first byte
 * again (the same byte, when poke) and flushes it to the server.  stall:
 * seconds without a successful flush after which the lock counts as
 * lost.  0, or -1 with errno.
 */
int lockwatch_start(int fd, bool poke, double stall);

/* Is the lock still ours, as far as can be told?  0, or EIO (the server
 * refused a flush: it took the lock back) or ETIMEDOUT (no answer for
 * longer than the stall limit). */
int lockwatch_check(void);

/*
 * The same after one more flush that starts now, waiting for it at most
 * the stall limit: for the last moment before the rename into DEST.
 */
int lockwatch_confirm(void);

/* Is a watch running? */
bool lockwatch_active(void);

#endif
