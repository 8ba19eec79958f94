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
		/* Most of a build tree is plain files: unlink them without a
		 * stat (a directory answers EISDIR). */
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN &&
		    unlinkat(fd, de->d_name, 0) == 0) {
			*removed = true;
			continue;
		}
		if (remove_entry(fd, de->d_name, dev) == 0)
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

/* Empties and removes dirfd/name, a directory open as fd (taken over). */
static int
remove_dir(int dirfd, const char *name, int fd, dev_t dev)
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
	while ((r = empty_pass(d, dev, &removed)) == 0 &&
	    unlinkat(dirfd, name, AT_REMOVEDIR) == -1) {
		if (errno == ENOENT)
			break;
		if (errno != ENOTEMPTY && errno != EEXIST) {
			r = -1;
			break;
		}
		if (!removed) {
			r = -1;		/* something we cannot remove */
			break;
		}
		rewinddir(d);
	}
	closedir(d);
	return r;
}

static int
remove_entry(int dirfd, const char *name, dev_t parent_dev)
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
	return remove_dir(dirfd, name, fd, st.st_dev);
}

int
rmtree_at(int dirfd, const char *name)
{
	struct stat parent;

	if (fstat(dirfd, &parent) == -1)
		return -1;
	return remove_entry(dirfd, name, parent.st_dev);
}
