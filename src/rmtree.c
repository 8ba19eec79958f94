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
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirent_at.h"
#include "rmtree.h"

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

static int
open_subdir(int dirfd, const char *name)
{
	int fd = openat(dirfd, name,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd == -1 && errno == EACCES) {
		/* A build may leave read-only dirs (Go's module cache does). */
		if (fchmodat(dirfd, name, 0700, 0) == 0)
			fd = openat(dirfd, name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	return fd;
}

static int remove_entry(int dirfd, const char *name, dev_t parent_dev);

/* Empties the directory open as fd. */
static int
empty_dir(int fd, dev_t dev)
{
	int err = 0;
	bool removed;

	/* Entries deleted during readdir may make it skip others: repeat. */
	do {
		DIR *d = opendir_dup(fd);
		struct dirent *de;

		removed = false;
		if (d == NULL)
			return -1;
		while ((de = readdir(d)) != NULL) {
			if (is_dot_entry(de->d_name))
				continue;
			/* Most of a build tree is plain files: unlink them
			 * without a stat (a directory answers EISDIR). */
			if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN &&
			    unlinkat(fd, de->d_name, 0) == 0) {
				removed = true;
				continue;
			}
			if (remove_entry(fd, de->d_name, dev) == 0)
				removed = true;
			else if (err == 0)
				err = errno;
		}
		closedir(d);
	} while (removed && err == 0);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

static int
remove_entry(int dirfd, const char *name, dev_t parent_dev)
{
	struct stat st;
	int fd, r;

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
	r = empty_dir(fd, st.st_dev);
	close(fd);
	if (r == -1)
		return -1;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) == -1 && errno != ENOENT)
		return -1;
	return 0;
}

int
rmtree_at(int dirfd, const char *name)
{
	struct stat parent;

	if (fstat(dirfd, &parent) == -1)
		return -1;
	return remove_entry(dirfd, name, parent.st_dev);
}
