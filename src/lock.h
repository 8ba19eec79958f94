/*
 * The per-key lock: an fcntl lock on LOCKDIR/<name>.lock.  Follows the
 * skalibs convention: 1 held, 0 busy, -1 error with errno set.  Never
 * prints, never exits.
 */
#ifndef LOCKBUILD_LOCK_H
#define LOCKBUILD_LOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Why an existing file was not used as a lock file (errno EEXIST or,
 * for LR_NOT_WRITABLE, EACCES). */
enum lock_refusal {
	LR_NONE,
	LR_FORMAT,	/* does not start as a lock file does */
	LR_EMPTY,	/* empty: nothing says lockbuild made it */
	LR_LINKS,	/* more than one name: a hard link to some file */
	LR_OWNER,	/* a stranger's, in a LOCKDIR not shared with them */
	LR_NOT_WRITABLE, /* another user's, and we may only read it */
	LR_UNREADABLE	/* (internal: could not be read) */
};

struct lock {
	int fd;			/* -1 while not held */
	int dirfd;		/* LOCKDIR, borrowed */
	const char *name;	/* lock file name in dirfd, borrowed */
	bool shared;
	bool created;		/* we made it, with the record given */
	int record_err;		/* errno of writing that record, or 0 */
	off_t size;		/* the file's size: the owner record's length */
	enum lock_refusal refusal;
	int link_waits;		/* looks at a record with two links */
	struct stat st;		/* the file refused, for messages */
};

/*
 * Takes the lock on dirfd/name.  With wait, blocks in the kernel until
 * it is free; a signal makes it return -1 with EINTR.  Without wait,
 * returns 0 at once when it is busy.
 *
 * A missing lock file is made with record (the owner record, its since
 * set to that moment) already in it and the lock already on it before
 * it gets its name, so every lock file lockbuild makes can be told from
 * any other file; with record NULL none is made (-1, ENOENT).  Its mode
 * gives read and write access to exactly those who may write LOCKDIR.
 * If the record could not be written (l->record_err), the file is still
 * ours to use and delete.
 *
 * An existing file is written to, and later deleted, only if it is
 * provably a lockbuild lock file: a regular file with one link,
 * starting as a record does, owned by us or by LOCKDIR's owner (anyone
 * in a group- or world-writable LOCKDIR).  Otherwise -1 with EEXIST
 * (l->refusal and l->st say why), and the file is left as it was.  A
 * symbolic link, directory or FIFO is refused (ELOOP, EISDIR, EINVAL).
 * Another user's lock file that we may only read is waited for, and
 * refused (EACCES, LR_NOT_WRITABLE) if it is still there when free.
 */
struct owner;
int lock_take(struct lock *l, int dirfd, const char *name, bool shared,
    bool wait, struct owner *record);

/* LOCKDIR is on a file server: lock files opened there are made to
 * give back the delegation the server may hand out with them. */
void lock_set_network(bool on);

/*
 * Opens dirfd/name read-only, to read its record and probe its lock
 * without taking it.  Never while holding it: with classic POSIX locks,
 * closing any descriptor of the file would drop ours.  -1 with errno
 * (ENOENT: no such key).
 */
int lock_open_ro(int dirfd, const char *name);

/* Whether anyone holds the lock file open as fd: 1 held (*shared tells
 * how), 0 free, -1 error. */
int lock_probe(int fd, bool *shared);

/*
 * Releases the lock and, when nobody else holds it any more, removes the
 * lock file, and with it the owner record it holds.  "Nobody else"
 * matters because COMMAND inherits the lock's open file description: a
 * background process it left behind still holds the lock, and the file
 * must then stay.  may_be_shared_fd says whether the descriptor was ever
 * passed to another process.  1 deleted, 0 left for others still
 * holding it, -1 could not delete it (errno; EPERM: another user's
 * file in a sticky LOCKDIR).
 */
int lock_release(struct lock *l, bool may_be_shared_fd);

/*
 * Lets go of a lock that the file server took back: closes the
 * descriptor and deletes nothing, since the lock file may be another
 * host's now.
 */
void lock_abandon(struct lock *l);

/*
 * Removes entry when it is the temporary name of a lock file that its
 * maker never named (a lockbuild killed while making one where O_TMPFILE
 * is missing, as on NFS): ours, unlocked, and not changed for min_age
 * seconds.  1 removed, 0 not such a file (left alone), -1 with errno.
 */
int lock_sweep_temp(int dirfd, const char *entry, time_t min_age);

/* The mode of lock files in a LOCKDIR of mode dirmode. */
mode_t lockfile_mode(mode_t dirmode);

#endif
