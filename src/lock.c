/*
 * Locking, race-free with lock-file deletion.  The protocol (measured in
 * PITFALLS.md, 0 violations in 40,000 rounds):
 *  - take:    open, lock, then check that the path still names the locked
 *             file (dev+ino); if not, the file was deleted by its last
 *             holder meanwhile: close and start again;
 *  - release: the holder deletes the path *before* it unlocks.
 * Open file description locks are used where the kernel has them: they
 * belong to the open file, so they survive opening and closing the same
 * file elsewhere in the process and are inherited by COMMAND, which keeps
 * the key locked even if lockbuild itself is killed.  Classic POSIX locks
 * are the fallback (BSD, macOS, Linux < 3.15); they are dropped by any
 * close of the file in this process, which this file never does while
 * holding, and are not inherited.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/vfs.h>
#endif

#include "lock.h"

#define FUSE_SUPER_MAGIC_ 0x65735546

#ifdef F_OFD_SETLK
static bool use_ofd = true;
#else
static bool use_ofd = false;
#define F_OFD_SETLK F_SETLK
#define F_OFD_SETLKW F_SETLKW
#define F_OFD_GETLK F_GETLK
#endif

const char *
lock_kind(void)
{
	return use_ofd ? "open file description lock" : "POSIX record lock";
}

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

static int
mkdir_parents(const char *path)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0777) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0777) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

int
lockdir_open(const char *path)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		if (mkdir_parents(path) == -1)
			return -1;
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		/* mkdir said EEXIST yet it is not there: a dangling link. */
		if (fd == -1 && errno == ENOENT && lstat(path, &st) == 0 &&
		    S_ISLNK(st.st_mode))
			errno = EEXIST;
	}
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		close(fd);
		return -1;
	}
#ifdef __linux__
	{
		struct statfs sfs;

		/* FUSE may grant a held lock to a second process: refuse. */
		if (fstatfs(fd, &sfs) == 0 &&
		    (unsigned long)sfs.f_type == FUSE_SUPER_MAGIC_) {
			close(fd);
			errno = ENOLCK;
			return -1;
		}
	}
#endif
	return fd;
}

static int
open_lockfile(int dirfd, const char *name, bool create, int mode)
{
	struct stat st;
	int fd, flags = mode | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;

	/* O_NONBLOCK: a FIFO planted in place of the lock file must not hang. */
	fd = openat(dirfd, name, create ? flags | O_CREAT : flags, 0666);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

/* Does dirfd/name still name the file open as fd?  *size, when not
 * NULL, gets that file's size. */
static bool
same_file(int dirfd, const char *name, int fd, off_t *size)
{
	struct stat a, b;

	if (fstat(fd, &a) == -1 ||
	    fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == -1)
		return false;
	if (size != NULL)
		*size = a.st_size;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int
lock_take(struct lock *l, int dirfd, const char *name, bool shared,
    bool wait)
{
	l->fd = -1;
	l->dirfd = dirfd;
	l->name = name;
	l->shared = shared;
	for (;;) {
		int fd = open_lockfile(dirfd, name, true, O_RDWR);

		if (fd == -1)
			return -1;
		if (setlock(fd, shared ? F_RDLCK : F_WRLCK, wait) == -1) {
			int e = errno;

			close(fd);
			if (e == EAGAIN || e == EACCES)
				return 0;
			errno = e;
			return -1;
		}
		if (same_file(dirfd, name, fd, &l->size)) {
			l->fd = fd;
			return 1;
		}
		/* Deleted by the previous holder after we opened it. */
		close(fd);
	}
}

int
lock_open_ro(int dirfd, const char *name)
{
	/* Read-only is enough to ask, and works in others' LOCKDIRs. */
	return open_lockfile(dirfd, name, false, O_RDONLY);
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

void
lock_release(struct lock *l, bool may_be_shared_fd)
{
	int fd;

	if (l->fd == -1)
		return;
	if (!l->shared && !may_be_shared_fd) {
		/* Sole holder for sure: delete first, then unlock. */
		if (same_file(l->dirfd, l->name, l->fd, NULL))
			unlinkat(l->dirfd, l->name, 0);
		close(l->fd);
		l->fd = -1;
		return;
	}
	/*
	 * Other shared holders, or processes COMMAND left running with our
	 * descriptor, may still hold it.  Let go of our reference, then ask
	 * for the file exclusively without waiting: granted only if nobody
	 * holds it any more, and then we may delete it like any holder.
	 */
	close(l->fd);
	l->fd = -1;
	fd = open_lockfile(l->dirfd, l->name, false, O_RDWR);
	if (fd == -1)
		return;
	if (setlock(fd, F_WRLCK, false) == 0 &&
	    same_file(l->dirfd, l->name, fd, NULL))
		unlinkat(l->dirfd, l->name, 0);
	close(fd);
}
