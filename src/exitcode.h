/*
 * Every exit status lockbuild itself can produce, in one place.
 * The man page's EXIT STATUS section mirrors this file.  COMMAND's own
 * status is passed through unchanged; these cover lockbuild's own outcomes
 * (sysexits(3) values, as flock(1) does) and the shell's conventions for
 * exec failures and signals.
 */
#ifndef LOCKBUILD_EXITCODE_H
#define LOCKBUILD_EXITCODE_H

enum {
	EXIT_STALE_FOUND = 1,	/* --status: something is stale */
	EXIT_USAGE = 64,	/* EX_USAGE: bad command line */
	EXIT_DATAERR = 65,	/* EX_DATAERR: --check refused, or no output */
	EXIT_NOINPUT = 66,	/* EX_NOINPUT: a path that must exist is missing */
	EXIT_UNAVAILABLE = 69,	/* EX_UNAVAILABLE: filesystem cannot lock */
	EXIT_SOFTWARE = 70,	/* EX_SOFTWARE: internal error */
	EXIT_OSERR = 71,	/* EX_OSERR: fork, exec setup, other OS error */
	EXIT_CANTCREAT = 73,	/* EX_CANTCREAT: lock, staging or DEST path */
	EXIT_IOERR = 74,	/* EX_IOERR: write or flush failed (ENOSPC) */
	EXIT_CONFLICT = 75,	/* EX_TEMPFAIL: lock not acquired (-E) */
	EXIT_LOCKLOST = 76,	/* EX_PROTOCOL: the file server took the lock
				   back (NFS): COMMAND stopped, nothing
				   published */
	EXIT_NOPERM = 77,	/* EX_NOPERM: permission denied */
	EXIT_NOEXEC = 126,	/* COMMAND found but not executable */
	EXIT_NOTFOUND = 127,	/* COMMAND not found */
	EXIT_SIGNAL_BASE = 128	/* 128 + N: COMMAND or lockbuild got signal N */
};

/*
 * Not an exit status (those are 0 to 255): what a step of lockbuild's
 * flow returns when all went well and the caller goes on to the next
 * step.  A step returns an exit status only when lockbuild is to end
 * with it.  (Elsewhere -1 means an error, with errno.)
 */
#define CARRY_ON (-1)

/* Maps the errno of a failed file operation to the closest code above. */
int exit_for_errno(int err, int fallback);

#endif
