/*
 * A watcher in lockbuild's process group, which is also COMMAND's: it
 * tells a signal sent to the whole group (COMMAND got it already) from
 * one sent to lockbuild alone (COMMAND did not), which siginfo cannot:
 * both arrive as SI_USER with the sender's pid.
 */
#ifndef LOCKBUILD_GROUPWATCH_H
#define LOCKBUILD_GROUPWATCH_H

#include <signal.h>
#include <stddef.h>

/*
 * Forks the watcher, which keeps sigs[0..n-1] blocked so that a signal
 * sent to the group stays pending in it until asked.  0, or -1 with errno.
 * Call before any thread starts and before the lock is taken: the
 * watcher must hold no descriptor of ours.
 */
int groupwatch_start(const int *sigs, size_t n);

/*
 * Which of the watched signals reached the group since the last call,
 * into *got.  0, or -1 when it cannot tell (no watcher, it died).
 */
int groupwatch_take(sigset_t *got);

/* Ends and reaps the watcher; runs at exit. */
void groupwatch_stop(void);

#endif
