/*
 * The per-key lock: an fcntl lock on LOCKDIR/<name>.lock.  Follows the
 * skalibs convention: 1 held, 0 busy, -1 error with errno set.  Never
 * prints, never exits.
 */
#ifndef LOCKBUILD_LOCK_H
#define LOCKBUILD_LOCK_H

#include <stdbool.h>
#include <sys/types.h>

struct lock {
	int fd;			/* -1 while not held */
	int dirfd;		/* LOCKDIR, borrowed */
	const char *name;	/* lock file name in dirfd, borrowed */
	bool shared;
	off_t size;		/* the file's size: the owner record's length */
};

/*
 * Opens LOCKDIR for locking, creating it and its parents (mode 0777 less
 * umask) when missing.  -1 with errno: ENOTDIR when it is not a
 * directory, ENOLCK when its filesystem does not honour fcntl locks
 * across processes (FUSE).
 */
int lockdir_open(const char *path);

/*
 * Takes the lock on dirfd/name, creating the file.  With wait, blocks in
 * the kernel until it is free; a signal makes it return -1 with EINTR.
 * Without wait, returns 0 at once when it is busy.  A lock file that is
 * a symbolic link, a directory, a FIFO or anything but a regular file is
 * refused (-1, errno ELOOP/EISDIR/EINVAL), never followed or truncated.
 */
int lock_take(struct lock *l, int dirfd, const char *name, bool shared,
    bool wait);

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
 * passed to another process.
 */
void lock_release(struct lock *l, bool may_be_shared_fd);

/* Which kind of lock the kernel gave us, for messages and the man page. */
const char *lock_kind(void);

#endif
