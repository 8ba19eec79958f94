/*
 * COMMAND as a child process, and lockbuild's own signal handling, which
 * depends on where we are: waiting for the lock, holding it, or running
 * COMMAND.
 */
#ifndef LOCKBUILD_CHILD_H
#define LOCKBUILD_CHILD_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

enum phase {
	PHASE_WAITING,	/* SIGINT/TERM/HUP end lockbuild at once */
	PHASE_HOLDING,	/* remembered; acted on at the next safe point */
	PHASE_CHILD	/* remembered, and forwarded to COMMAND by
			   child_wait unless its process group got it */
};

/*
 * Installs our handlers; with run_child, also starts the group watcher
 * (groupwatch.h) that lets a signal sent to the whole process group go
 * unforwarded.  Call before the lock is taken.
 */
void signals_install(bool run_child);
void signals_phase(enum phase p);

/* The signal received while holding or running COMMAND, 0 if none. */
int signal_pending(void);

/*
 * Starts argv (PATH search, no shell) as a child in our process group.
 * Returns 0, or an errno value when it could not be started (ENOENT: not
 * found; EACCES, ENOEXEC: not executable; EAGAIN, ENOMEM: no process).
 * COMMAND gets the caller's signal mask and ignored signals.  EINTR: a
 * signal came first (see signal_pending), and nothing was started.
 */
int child_start(char *const argv[], pid_t *pid);

/*
 * Waits for pid, passing on signals sent to lockbuild alone; returns its
 * wait status.
 */
int child_wait(pid_t pid);

/*
 * While child_wait waits, it calls check about once a second.  Once that
 * returns an errno value (the lock is lost, lockwatch.c), it stops
 * COMMAND and its descendants (SIGTERM, then SIGKILL CHILD_STOP_GRACE
 * seconds later), and child_watch_error() returns the value.
 */
#define CHILD_STOP_GRACE 5.0
void child_watch(int (*check)(void));
int child_watch_error(void);

/* exec in place of lockbuild (-F); returns only on failure, with errno. */
void child_exec(char *const argv[]);

/* Exit status for a wait status: the code, or 128 + signal. */
int status_to_exit(int wstatus);

/*
 * errno of a failed start to an exit status: 127 not found, 126 not
 * executable, 71 when no process could be made (EAGAIN, ENOMEM: a fork
 * failure, which posix_spawn reports like an exec failure).
 */
int exec_errno_to_exit(int err);

/* For EAGAIN and ENOMEM, words naming the cause; else NULL. */
const char *start_error_cause(int err);

/* Whether the caller had sig ignored when lockbuild started. */
bool signal_ignored_by_caller(int sig);

/*
 * Ends lockbuild the way a process killed by sig ends, so that a calling
 * shell loop sees it (SIGINT: the shell stops the loop); exit 128 + sig
 * if the signal cannot be raised.
 */
void exit_by_signal(int sig) __attribute__((noreturn));

#endif
