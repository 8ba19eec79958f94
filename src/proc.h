/*
 * Facts about processes that tell a live holder from a dead one or from
 * a stranger who reused its pid.  Linux reads /proc; elsewhere only
 * kill(pid, 0) is available and start times read as 0 (unknown).
 */
#ifndef LOCKBUILD_PROC_H
#define LOCKBUILD_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum proc_state {
	PROC_GONE,	/* no such process, or the pid was reused */
	PROC_ALIVE,
	PROC_STOPPED,	/* SIGSTOP, job control, ptrace */
	PROC_ZOMBIE	/* exited, not yet reaped */
};

/*
 * Start time of pid in clock ticks since boot (field 22 of
 * /proc/PID/stat), and its state letter.  0 on success, -1 with errno
 * (ENOENT when there is no such process).
 */
int proc_stat(pid_t pid, unsigned long long *start, char *state);

/*
 * Parses the text of a /proc/PID/stat file.  The command name may
 * contain spaces and ')' ("evil) R 1 2"), so parsing starts after the
 * last ')'.  Exposed for tests.
 */
int proc_parse_stat(const char *text, unsigned long long *start, char *state);

/* What has become of pid, which started at start (0: not known). */
enum proc_state proc_state_of(pid_t pid, unsigned long long start);

/*
 * Is pid this process's parent, or its parent's, and so on?  A key held
 * by an ancestor is one that a nested lockbuild would wait for forever
 * if that ancestor waits for it in turn.
 */
bool proc_is_ancestor(pid_t pid);

/*
 * The processes descended from pid (children, their children, ...), at
 * most max of them, found through /proc/PID/stat alone.  Returns how many.
 */
size_t proc_descendants(pid_t pid, pid_t *pids, size_t max);

/* This boot's random id, "" where the system has none. */
const char *proc_boot_id(void);

/* An id for this process's pid namespace, "" where none. */
const char *proc_pidns(void);

/*
 * Pids of processes that hold a lock on dev/ino through an open
 * descriptor (for "the lock is held by processes the holder left
 * behind"); processes only waiting for it are not counted.  Returns how
 * many were stored (at most max); 0 where it cannot be found out.
 */
size_t proc_find_openers(dev_t dev, ino_t ino, pid_t *pids, size_t max);

#endif
