/*
 * rm -rf for staging dirs and replaced DESTs.  A build may leave a
 * symlink to / in its output, or bind-mount something into it: removal
 * must neither follow the one nor descend into the other.  All walking
 * is relative to directory descriptors opened with O_NOFOLLOW, so a
 * component swapped for a link mid-walk is not followed either.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirent_at.h"
#include "rmtree.h"
#include "twothreads.h"

/* Is dirfd/name the root of a mount (also a bind mount of the same fs)? */
static bool
is_mount_root(int dirfd, const char *name, const struct stat *st,
    dev_t parent_dev)
{
	if (st->st_dev != parent_dev)
		return true;
#if defined(__linux__) && defined(STATX_ATTR_MOUNT_ROOT)
	{
		struct statx stx;

		if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
		    STATX_BASIC_STATS, &stx) == 0 &&
		    (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
		    (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
			return true;
	}
#else
	(void)dirfd;
	(void)name;
#endif
	return false;
}

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/*
 * Makes an unreadable directory of ours readable and opens it.  A build
 * may leave such directories (Go's module cache makes its dirs read-only).
 * The name may be swapped for a symlink, or for someone else's directory,
 * by whoever can write next to it, at any moment: so the mode is changed
 * through a descriptor of the very directory whose owner was checked
 * (an O_PATH descriptor needs no read access, and /proc/self/fd reaches
 * its inode without looking the name up again).  Without O_PATH or /proc
 * the directory is left alone.
 */
static int
open_unreadable(int dirfd, const char *name)
{
	int fd = -1;
#ifdef O_PATH
	char self[64];
	struct stat st;
	int pfd;

	pfd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (pfd == -1)
		return -1;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	if (fstat(pfd, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == geteuid() && chmod(self, 0700) == 0)
		fd = open(self, DIR_FLAGS & ~O_NOFOLLOW);
	close(pfd);
#else
	(void)dirfd;
	(void)name;
#endif
	if (fd == -1)
		errno = EACCES;
	return fd;
}

static int
open_subdir(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, DIR_FLAGS);

	if (fd == -1 && errno == EACCES)
		fd = open_unreadable(dirfd, name);
	return fd;
}

static int remove_entry(int dirfd, const char *name, dev_t parent_dev,
    bool split);

/* Most of a build tree is plain files: unlink them without a stat (a
 * directory answers EISDIR).  Did that remove de? */
static bool
unlink_nondir(int fd, const struct dirent *de)
{
	return de->d_type != DT_DIR && de->d_type != DT_UNKNOWN &&
	    unlinkat(fd, de->d_name, 0) == 0;
}

/* One pass over d, removing every entry; *removed says if any went. */
static int
empty_pass(DIR *d, dev_t dev, bool *removed)
{
	int fd = dirfd(d), err = 0;
	struct dirent *de;

	*removed = false;
	while ((de = readdir(d)) != NULL) {
		if (is_dot_entry(de->d_name))
			continue;
		if (unlink_nondir(fd, de) ||
		    remove_entry(fd, de->d_name, dev, false) == 0)
			*removed = true;
		else if (err == 0)
			err = errno;
	}
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

/* The subdirectories of one directory, for twothreads(). */
struct split {
	int fd;
	dev_t dev;
	char **names;
};

static int
remove_item(void *arg, size_t i, int t)
{
	struct split *j = arg;

	(void)t;
	return remove_entry(j->fd, j->names[i], j->dev, false);
}

/*
 * empty_pass where the tree has not been split yet: files go at once,
 * subdirectories are collected; two or more are shared with a second
 * thread (twothreads.c), a single one may be split further down.  Without
 * memory for the list, a subdirectory is removed on the spot.
 */
static int
split_pass(DIR *d, dev_t dev, bool *removed)
{
	int fd = dirfd(d), err = 0;
	struct dirent *de;
	char **dirs = NULL, **more;
	size_t n = 0, cap = 0;

	*removed = false;
	while ((de = readdir(d)) != NULL) {
		if (is_dot_entry(de->d_name))
			continue;
		if (unlink_nondir(fd, de)) {
			*removed = true;
			continue;
		}
		if (n == cap && (more = reallocarray(dirs, cap ? cap * 2 : 64,
		    sizeof(*dirs))) != NULL) {
			dirs = more;
			cap = cap ? cap * 2 : 64;
		}
		if (n < cap && (dirs[n] = strdup(de->d_name)) != NULL)
			n++;
		else if (remove_entry(fd, de->d_name, dev, false) == 0)
			*removed = true;
		else if (err == 0)
			err = errno;
	}
	if (n == 1 && remove_entry(fd, dirs[0], dev, true) == -1 && err == 0)
		err = errno;
	if (n > 1) {
		struct split j = { fd, dev, dirs };

		if (twothreads(n, remove_item, &j, false) == -1 && err == 0)
			err = errno;
	}
	*removed = *removed || n > 0;
	while (n > 0)
		free(dirs[--n]);
	free(dirs);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

/* Empties and removes dirfd/name, a directory open as fd (taken over). */
static int
remove_dir(int dirfd, const char *name, int fd, dev_t dev, bool split)
{
	DIR *d = fdopendir(fd);
	bool removed;
	int r;

	if (d == NULL) {
		close(fd);
		return -1;
	}
	/* Entries deleted during readdir may make it skip others; rmdir's
	 * ENOTEMPTY says so, and costs nothing when all went in one pass
	 * (a second readdir pass on every directory would). */
	r = split ? split_pass(d, dev, &removed) : empty_pass(d, dev, &removed);
	while (r == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) == -1) {
		if (errno == ENOENT)
			break;
		if ((errno != ENOTEMPTY && errno != EEXIST) || !removed) {
			r = -1;		/* something we cannot remove */
			break;
		}
		rewinddir(d);
		r = empty_pass(d, dev, &removed);
	}
	closedir(d);
	return r;
}

/* split: may this subtree still be shared with a second thread? */
static int
remove_entry(int dirfd, const char *name, dev_t parent_dev, bool split)
{
	struct stat st;
	int fd;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) == -1 && errno != ENOENT)
			return -1;
		return 0;
	}
	if (is_mount_root(dirfd, name, &st, parent_dev)) {
		errno = EXDEV;
		return -1;
	}
	fd = open_subdir(dirfd, name);
	if (fd == -1)
		return -1;
	return remove_dir(dirfd, name, fd, st.st_dev, split);
}

int
rmtree_at(int dirfd, const char *name)
{
	struct stat parent;

	if (fstat(dirfd, &parent) == -1)
		return -1;
	return remove_entry(dirfd, name, parent.st_dev, true);
}

int
rmtree_open(int dirfd, const char *name, int fd)
{
	struct stat st, here;
	int dfd;

	if (fstat(fd, &st) == -1 ||
	    fstatat(dirfd, name, &here, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	/* The name no longer leads to the directory that was checked. */
	if (st.st_dev != here.st_dev || st.st_ino != here.st_ino ||
	    !S_ISDIR(st.st_mode)) {
		errno = ESTALE;
		return -1;
	}
	if ((dfd = dup(fd)) == -1)
		return -1;
	return remove_dir(dirfd, name, dfd, st.st_dev, true);
}
