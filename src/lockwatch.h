/*
 * Noticing that a network filesystem's server took our lock back, while
 * COMMAND runs and just before publishing.
 */
#ifndef LOCKBUILD_LOCKWATCH_H
#define LOCKBUILD_LOCKWATCH_H

#include <stdbool.h>
#include <sys/types.h>

#define LOCKWATCH_STALL 10.0	/* silence taken as a lost lock, seconds */

/*
 * Starts a thread that asks the lock's server every second whether
 * anyone else holds the lock open as fd (held shared or not) in a way
 * that conflicts with our hold.  stall: seconds without an
 * answer after which the lock counts as lost.  0, or -1 with errno.
 */
int lockwatch_start(int fd, bool shared, double stall);

/* Is the lock still ours, as far as can be told?  0, or EBUSY (another
 * holder has it: the server gave it away), another errno of a refused
 * question, or ETIMEDOUT (no answer for longer than the stall limit).
 * Once lost, it stays lost. */
int lockwatch_check(void);

/*
 * The same after one more answer to a question asked now, waiting for
 * it at most the stall limit: for the last moment before the rename
 * into DEST.
 */
int lockwatch_confirm(void);

/* Words for a lost lock's reason, as lockwatch_check gives it. */
const char *lockwatch_why(int e);

/* Is a watch running? */
bool lockwatch_active(void);

#endif
