/*
 * Locking, race-free with lock-file deletion:
 *  - take:    open, lock, then check that the path still names the locked
 *             file (dev+ino); if not, the file was deleted by its last
 *             holder meanwhile: close and start again;
 *  - release: the holder deletes the path *before* it unlocks.
 * Unlocking first, or skipping the re-check, lets two processes hold
 * one key: a waiter gets the lock of a file that has lost (or is about
 * to lose) its name, while a newcomer creates and locks a fresh file
 * under that name.
 * tests/stress/contention.t counts such overlaps; it must find none.
 *
 * A new lock file is made without a name (O_TMPFILE) or under a hidden
 * temporary one, gets its record and its lock, and only then its name,
 * by link(2) or a rename that fails if the name was taken meanwhile.  So no one
 * ever sees a lock file of ours that is empty or unlocked, and a file
 * that does not start as a record, or that has a second name, is not
 * ours: lockbuild never writes into it or deletes it.  That is what
 * keeps LOCKDIR=. from eating a project's yarn.lock, and a hard link
 * planted in a shared LOCKDIR from turning lockbuild into a tool that
 * overwrites the file it points at.
 *
 * Open file description locks are used where the kernel has them: they
 * belong to the open file, so they survive opening and closing the same
 * file elsewhere in the process and are inherited by COMMAND, which keeps
 * the key locked even if lockbuild itself is killed.  Classic POSIX locks
 * are the fallback (BSD, macOS, Linux < 3.15); they are dropped by any
 * close of the file in this process, which this file never does while
 * holding, and are not inherited.
 */
#include <errno.h>
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lock.h"
#include "lockname.h"
#include "owner.h"

#ifndef F_OFD_SETLK
#define F_OFD_SETLK F_SETLK
#define F_OFD_SETLKW F_SETLKW
#define F_OFD_GETLK F_GETLK
static bool use_ofd = false;
#else
static bool use_ofd = true;
#endif

#define TEMP_RAND 8

static bool on_file_server;


/* fcntl lock on the whole file; falls back to classic locks on EINVAL. */
static int
setlock(int fd, short type, bool wait)
{
	struct flock fl;
	int r;

	for (;;) {
		memset(&fl, 0, sizeof(fl));
		fl.l_type = type;
		fl.l_whence = SEEK_SET;	/* l_start = l_len = 0: whole file */
		if (use_ofd) {
			r = fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
			if (r == -1 && errno == EINVAL) {
				use_ofd = false;	/* kernel without OFD locks */
				continue;
			}
		} else {
			r = fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl);
		}
		return r;
	}
}

static void
close_keep_errno(int fd)
{
	int e = errno;

	close(fd);
	errno = e;
}

void
lock_set_network(bool on)
{
	on_file_server = on;
}

mode_t
lockfile_mode(mode_t dirmode)
{
	/*
	 * Read access alone would let anyone hold up a key with a read
	 * lock, and write access is needed to take the lock: those who may
	 * write LOCKDIR get both, nobody else either.  umask does not apply:
	 * a lock file another sharer cannot open locks them out.
	 */
	return 0600 | (dirmode & S_IWGRP ? 0060 : 0) |
	    (dirmode & S_IWOTH ? 0006 : 0);
}

/* 1: starts as a record does; 0: empty; -1: anything else; -2: could
 * not be read (errno). */
static int
content_kind(int fd, off_t size)
{
	char buf[sizeof(OWNER_MAGIC) - 1];
	ssize_t n;

	if (size == 0)
		return 0;
	n = pread(fd, buf, sizeof(buf), 0);
	if (n == -1)
		return -2;
	if (n == 0)
		return 0;
	return n == (ssize_t)sizeof(buf) &&
	    memcmp(buf, OWNER_MAGIC, sizeof(buf)) == 0 ? 1 : -1;
}

/*
 * Is the file open as fd (fstat in l->st) one we may use?  held: we have
 * its lock, so its content is settled (a holder writes its record under
 * the lock) and its link count too (a maker drops its temporary name
 * before it lets go).
 */
static enum lock_refusal
judge_file(struct lock *l, int fd, const struct stat *dir, bool held)
{
	const struct stat *st = &l->st;
	int kind = content_kind(fd, st->st_size);

	if (kind == -2)
		return LR_UNREADABLE;
	if (kind == -1)
		return st->st_nlink > 1 ? LR_LINKS : LR_FORMAT;
	if (held && kind == 0)
		return LR_EMPTY;
	if (held && st->st_nlink != 1)
		return LR_LINKS;
	if (st->st_uid != geteuid() && st->st_uid != dir->st_uid &&
	    !(dir->st_mode & (S_IWGRP | S_IWOTH)))
		return LR_OWNER;
	return LR_NONE;
}

/* Opens an existing lock file without following links or blocking on
 * a FIFO; EINVAL for anything but a regular file. */
static int
open_existing(struct lock *l, int mode)
{
	int fd = openat(l->dirfd, l->name,
	    mode | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd == -1)
		return -1;
	if (fstat(fd, &l->st) == -1) {
		close_keep_errno(fd);
		return -1;
	}
	if (!S_ISREG(l->st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	/*
	 * An NFSv4 server may give this host a read delegation of the file
	 * with its open.  Should this host then die, another host's open
	 * for writing waits until the server takes the delegation back (the
	 * lease), and then for its client's next try (pauses growing to
	 * 15 s): the key moved up to 15 s after the lease.  The Linux client
	 * hands a read delegation back before it changes a file's mode, so
	 * setting the mode the file has gives it back.  Only the owner may;
	 * others' files keep that delay.
	 */
	if (on_file_server && l->st.st_uid == geteuid())
		(void)fchmod(fd, l->st.st_mode & 07777);
	return fd;
}

/* Does dirfd/name still name the file open as fd? */
static bool
same_file(int dirfd, const char *name, int fd)
{
	struct stat a, b;

	if (fstat(fd, &a) == -1 ||
	    fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == -1)
		return false;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_nlink > 0;
}

/*
 * A new file in dirfd, not yet reachable by the lock file's name: with no
 * name at all where the kernel can (linkname then names it in /proc, for
 * linkat), so that a lockbuild killed at this point leaves nothing
 * behind; else (NFS, the BSDs) under a random hidden name, which escaped
 * keys never have (tmpname), and which --clean removes if one is left.
 */
static int
new_file(int dirfd, const char *name, mode_t mode, char *linkname,
    size_t linksz, char *tmpname, size_t tmpsz)
{
	static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789";
	mode_t old = umask(0);
	int fd = -1, tries, i;

	linkname[0] = tmpname[0] = '\0';
#ifdef O_TMPFILE
	fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
	if (fd != -1) {
		umask(old);
		snprintf(linkname, linksz, "/proc/self/fd/%d", fd);
		return fd;
	}
#else
	(void)linksz;
#endif
	for (tries = 0; tries < 100; tries++) {
		char rnd[TEMP_RAND + 1];

		for (i = 0; i < TEMP_RAND; i++)
			rnd[i] = chars[arc4random_uniform(sizeof(chars) - 1)];
		rnd[i] = '\0';
		snprintf(tmpname, tmpsz, ".%s.%s", name, rnd);
		fd = openat(dirfd, tmpname, O_RDWR | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd != -1 || errno != EEXIST)
			break;
	}
	if (fd == -1)
		tmpname[0] = '\0';
	umask(old);
	return fd;
}

/*
 * Gives the new file, open as fd, the lock file's name, unless that is
 * taken (-1, EEXIST).  A nameless file is linked through /proc (linkat's
 * AT_EMPTY_PATH needs privilege); a named one is renamed, which keeps
 * the name /proc and lsof show for the descriptor.  0: named, and fd
 * still holds it; otherwise fd is closed.
 *
 * Where the filesystem cannot rename without replacing (NFS), it is
 * linked and its temporary name removed.  An NFS client that removes a
 * name of a file it has open keeps it as .nfsXXXX until the close, so
 * the lock file would show two links to every other host meanwhile (and
 * forever, if this host died): fd is closed first, and then 1 says the
 * file is named but no longer held.
 */
static int
name_file(int dirfd, int fd, const char *linkname, const char *tmpname,
    const char *name)
{
	int r, e;

	if (linkname[0] != '\0') {
		if (linkat(AT_FDCWD, linkname, dirfd, name,
		    AT_SYMLINK_FOLLOW) == 0)
			return 0;
		close_keep_errno(fd);
		return -1;
	}
#ifdef RENAME_NOREPLACE
	if (renameat2(dirfd, tmpname, dirfd, name, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
		e = errno;
		unlinkat(dirfd, tmpname, 0);
		close(fd);
		errno = e;
		return -1;
	}
#endif
	close(fd);
	r = linkat(dirfd, tmpname, dirfd, name, 0);
	e = errno;
	unlinkat(dirfd, tmpname, 0);
	errno = e;
	return r == -1 ? -1 : 1;
}

/*
 * Makes the lock file: 1 made and held, 0 someone else made it first
 * (open theirs), -1 error.
 */
static int
make_locked(struct lock *l, const struct stat *dir, struct owner *record)
{
	char linkname[64], tmpname[NAME_MAX + 1];
	int fd;

	fd = new_file(l->dirfd, l->name, lockfile_mode(dir->st_mode),
	    linkname, sizeof(linkname), tmpname, sizeof(tmpname));
	if (fd == -1)
		return -1;
	/*
	 * The record only informs (ulimit -f, a full disk): a file we could
	 * not write is still ours to lock and delete, but the next holder
	 * will not take it for one of ours if we die holding it.
	 */
	record->since = owner_now();
	l->size = 0;
	l->record_err = 0;
	if (owner_write(fd, record, &l->size) == -1)
		l->record_err = errno;
	if (setlock(fd, l->shared ? F_RDLCK : F_WRLCK, false) == -1) {
		if (tmpname[0] != '\0')
			unlinkat(l->dirfd, tmpname, 0);
		close_keep_errno(fd);
		return -1;
	}
	switch (name_file(l->dirfd, fd, linkname, tmpname, l->name)) {
	case 0:
		l->fd = fd;
		l->created = true;
		return 1;
	case 1:
		return 0;	/* named, let go: take it as anyone's */
	default:
		return errno == EEXIST ? 0 : -1;  /* 0: someone was first */
	}
}

/* Takes the lock on an existing file open as fd: as lock_take. */
/* The file could not be looked at: -1 with errno, or 2 (again) when it
 * was deleted under us, which on NFS another host does (ESTALE). */
static int
unreadable(int fd)
{
	close_keep_errno(fd);
	return errno == ESTALE ? 2 : -1;
}

/* A refused file: -1 with EEXIST, or as unreadable(). */
static int
refuse(struct lock *l, int fd)
{
	if (l->refusal == LR_UNREADABLE)
		return unreadable(fd);
	close(fd);
	errno = EEXIST;
	return -1;
}

static int
lock_existing(struct lock *l, int fd, const struct stat *dir, bool writable,
    bool wait)
{
	if ((l->refusal = judge_file(l, fd, dir, false)) != LR_NONE)
		return refuse(l, fd);
	/* Only to wait for the file to go: a read lock is all we may ask. */
	if (setlock(fd, writable && !l->shared ? F_WRLCK : F_RDLCK,
	    wait) == -1) {
		if (errno == EAGAIN || errno == EACCES) {
			close(fd);
			return 0;
		}
		return unreadable(fd);
	}
	if (!same_file(l->dirfd, l->name, fd)) {
		close(fd);
		return 2;	/* deleted by its last holder: again */
	}
	if (fstat(fd, &l->st) == -1)
		return unreadable(fd);
	if (!writable) {
		close(fd);
		l->refusal = LR_NOT_WRITABLE;
		errno = EACCES;
		return -1;
	}
	if ((l->refusal = judge_file(l, fd, dir, true)) == LR_LINKS &&
	    content_kind(fd, l->st.st_size) == 1 && ++l->link_waits <= 50) {
		/*
		 * A record with a second name: on NFS, another host's maker
		 * between linking it and removing its temporary name.  A
		 * hard link planted to a lock file stays, and is refused
		 * after a second of looking again.
		 */
		const struct timespec pause = { 0, 20000000 };

		close(fd);
		nanosleep(&pause, NULL);
		return 2;
	}
	if (l->refusal != LR_NONE)
		return refuse(l, fd);
	/* Left by an older lockbuild with another mode: make it ours. */
	if (l->st.st_uid == geteuid() &&
	    (l->st.st_mode & 07777) != lockfile_mode(dir->st_mode))
		(void)fchmod(fd, lockfile_mode(dir->st_mode));
	l->fd = fd;
	l->size = l->st.st_size;
	return 1;
}

int
lock_take(struct lock *l, int dirfd, const char *name, bool shared,
    bool wait, struct owner *record)
{
	struct stat dir;
	int stale = 0;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->dirfd = dirfd;
	l->name = name;
	l->shared = shared;
	if (fstat(dirfd, &dir) == -1)
		return -1;
	for (;;) {
		bool writable = true;
		int fd, r;

		fd = open_existing(l, O_RDWR);
		if (fd == -1 && errno == EACCES) {
			writable = false;
			fd = open_existing(l, O_RDONLY);
		}
		/* Deleted by another host between lookup and open (NFS). */
		if (fd == -1 && errno == ESTALE && ++stale < 1000)
			continue;
		if (fd == -1 && errno == ENOENT && record != NULL) {
			if ((r = make_locked(l, &dir, record)) != 0)
				return r;
			continue;	/* made by someone else meanwhile */
		}
		if (fd == -1)
			return -1;
		r = lock_existing(l, fd, &dir, writable, wait);
		if (r != 2)
			return r;
	}
}

int
lock_open_ro(int dirfd, const char *name)
{
	struct lock l = { .dirfd = dirfd, .name = name };

	/* Read-only is enough to ask, and works in others' LOCKDIRs. */
	return open_existing(&l, O_RDONLY);
}

int
lock_probe(int fd, bool *shared)
{
	struct flock fl;
	int r;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	r = fcntl(fd, use_ofd ? F_OFD_GETLK : F_GETLK, &fl);
	if (r == -1 && use_ofd && errno == EINVAL) {
		use_ofd = false;
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		r = fcntl(fd, F_GETLK, &fl);
	}
	if (r == -1)
		return -1;
	if (fl.l_type == F_UNLCK)
		return 0;
	*shared = fl.l_type == F_RDLCK;
	return 1;
}

int
lock_release(struct lock *l, bool may_be_shared_fd)
{
	int fd, r = 0;

	if (l->fd == -1)
		return 0;
	if (!l->shared && !may_be_shared_fd) {
		/* Sole holder for sure: delete first, then unlock. */
		if (same_file(l->dirfd, l->name, l->fd))
			r = unlinkat(l->dirfd, l->name, 0) == 0 ? 1 : -1;
		close_keep_errno(l->fd);
		l->fd = -1;
		return r;
	}
	/*
	 * Other shared holders, or processes COMMAND left running with our
	 * descriptor, may still hold it.  Let go of our reference, then ask
	 * for the file exclusively without waiting: granted only if nobody
	 * holds it any more, and then we may delete it like any holder.
	 * It was ours when we took it, and a file with its name now is
	 * judged again before it goes.
	 */
	close(l->fd);
	l->fd = -1;
	fd = open_existing(l, O_RDWR);
	if (fd == -1)
		return 0;
	if (setlock(fd, F_WRLCK, false) == 0 &&
	    same_file(l->dirfd, l->name, fd) && fstat(fd, &l->st) == 0 &&
	    l->st.st_nlink == 1 && content_kind(fd, l->st.st_size) != -1)
		r = unlinkat(l->dirfd, l->name, 0) == 0 ? 1 : -1;
	close_keep_errno(fd);
	return r;
}

void
lock_abandon(struct lock *l)
{
	if (l->fd != -1)
		close(l->fd);
	l->fd = -1;
}

/* Is entry a temporary name new_file gives: "." NAME ".lock." RANDOM? */
static bool
is_temp_name(const char *entry)
{
	struct lockname f;
	char mid[NAME_MAX + 1];
	size_t len = strlen(entry), i;

	if (entry[0] != '.' || len < TEMP_RAND + 3 || len > NAME_MAX ||
	    entry[len - TEMP_RAND - 1] != '.')
		return false;
	for (i = len - TEMP_RAND; i < len; i++)
		if (!isalnum((unsigned char)entry[i]))
			return false;
	memcpy(mid, entry + 1, len - TEMP_RAND - 2);
	mid[len - TEMP_RAND - 2] = '\0';
	return lockname_for_entry(mid, &f);
}

int
lock_sweep_temp(int dirfd, const char *entry, time_t min_age)
{
	struct stat st, again;
	int fd, r = 0;

	if (!is_temp_name(entry))
		return 0;
	fd = openat(dirfd, entry, O_RDWR | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		/* Gone, or no file of ours: a link, a directory, a device
		 * without a reader, a file we may not write. */
		if (errno == ENOENT || errno == ELOOP || errno == EISDIR ||
		    errno == ENXIO || errno == EACCES || errno == EPERM)
			return 0;
		return -1;
	}
	/*
	 * Ours, alone, old and unlocked: a maker writes its record and
	 * locks the file within moments of creating it, and drops the name
	 * right after linking the real one, all while holding the lock.
	 */
	if (fstat(fd, &st) == -1) {
		r = -1;
	} else if (S_ISREG(st.st_mode) && st.st_nlink == 1 &&
	    st.st_uid == geteuid() && time(NULL) - st.st_mtime >= min_age &&
	    setlock(fd, F_WRLCK, false) == 0 &&
	    fstatat(dirfd, entry, &again, AT_SYMLINK_NOFOLLOW) == 0 &&
	    again.st_dev == st.st_dev && again.st_ino == st.st_ino) {
		r = unlinkat(dirfd, entry, 0) == 0 ? 1 : -1;
	}
	close_keep_errno(fd);
	return r;
}
