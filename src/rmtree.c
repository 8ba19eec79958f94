/*
 * rm -rf for staging dirs and replaced DESTs.  A build may leave a
 * symlink to / in its output, or bind-mount something into it: removal
 * must neither follow the one nor descend into the other.  All walking
 * is relative to directory descriptors opened with O_NOFOLLOW, so a
 * component swapped for a link mid-walk is not followed either.
 *
 * A walk holds one directory open whatever the depth (a build can nest
 * directories deeper than the descriptors a process may have): going
 * down it closes the parent, and coming back it opens ".." and checks
 * by device and inode that it is the parent it left.  Each directory's
 * subdirectories are listed in one readdir pass, files removed on the
 * way, so coming back never reads a directory again from the top.
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


/* Most of a build tree is plain files: unlink them without a stat (a
 * directory answers EISDIR).  Did that remove de? */
static bool
unlink_nondir(int fd, const struct dirent *de)
{
	return de->d_type != DT_DIR && de->d_type != DT_UNKNOWN &&
	    unlinkat(fd, de->d_name, 0) == 0;
}

/* One directory on the way down from the walk's top. */
struct level {
	char *name;		/* in its parent; NULL at the top */
	dev_t dev;
	ino_t ino;
	char **dirs;		/* its subdirectories, from one readdir pass */
	size_t n, next;		/* how many; the next one to enter */
	bool removed;		/* something went in the last pass */
	bool failed;		/* something below cannot go */
};

struct walk {
	struct level *lv;
	size_t depth, cap;
	int err;		/* the first errno */
	bool split;		/* may still share a directory with a thread */
};

static int remove_dir(int dirfd, const char *name, int fd, bool split);

static void
failed(struct walk *w, struct level *l)
{
	if (w->err == 0)
		w->err = errno;
	l->failed = true;
}

static void
drop_dirs(struct level *l)
{
	while (l->n > 0)
		free(l->dirs[--l->n]);
	free(l->dirs);
	l->dirs = NULL;
	l->next = 0;
}

/* One readdir pass over the top level: files go, subdirectories are
 * listed (a subdirectory without memory to list it counts as failed). */
static void
scan(struct walk *w, DIR *d)
{
	struct level *l = &w->lv[w->depth];
	int fd = dirfd(d);
	struct dirent *de;
	struct stat st;
	size_t cap = 0;
	char **more;

	drop_dirs(l);
	l->removed = false;
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (is_dot_entry(de->d_name))
			continue;
		if (unlink_nondir(fd, de)) {
			l->removed = true;
			continue;
		}
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno != ENOENT)
				failed(w, l);
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (unlinkat(fd, de->d_name, 0) == 0)
				l->removed = true;
			else if (errno != ENOENT)
				failed(w, l);
			continue;
		}
		if (is_mount_root(fd, de->d_name, &st, l->dev)) {
			errno = EXDEV;
			failed(w, l);
			continue;
		}
		if (l->n == cap && (more = reallocarray(l->dirs,
		    cap ? cap * 2 : 16, sizeof(*more))) != NULL) {
			l->dirs = more;
			cap = cap ? cap * 2 : 16;
		}
		if (l->n < cap && (l->dirs[l->n] = strdup(de->d_name)) != NULL)
			l->n++;
		else
			failed(w, l);
	}
}

/* The subdirectories of one directory, for twothreads(). */
struct split {
	int fd;
	char **names;
};

static int
remove_item(void *arg, size_t i, int t)
{
	struct split *j = arg;
	int fd;

	(void)t;
	if ((fd = open_subdir(j->fd, j->names[i])) == -1)
		return errno == ENOENT ? 0 : -1;
	return remove_dir(j->fd, j->names[i], fd, false);
}

/*
 * The first directory with two or more subdirectories shares them with
 * a second thread (twothreads.c); each subtree is then a walk of its own.
 */
static void
share(struct walk *w, DIR *d)
{
	struct level *l = &w->lv[w->depth];
	struct split j = { dirfd(d), l->dirs };

	w->split = false;
	if (twothreads(l->n, remove_item, &j, false) == -1)
		failed(w, l);
	l->removed = true;
	l->next = l->n;
}

/* Goes down into the top level's next subdirectory; false if none. */
static bool
down(struct walk *w, DIR **dp)
{
	struct level *l, *c;
	struct stat st;
	DIR *sub;
	int fd;

	if (w->depth + 1 == w->cap) {
		struct level *more = reallocarray(w->lv, w->cap * 2,
		    sizeof(*more));

		if (more == NULL) {
			failed(w, &w->lv[w->depth]);
			return false;
		}
		w->lv = more;
		w->cap *= 2;
	}
	l = &w->lv[w->depth];
	while (l->next < l->n) {
		const char *name = l->dirs[l->next++];

		if ((fd = open_subdir(dirfd(*dp), name)) == -1) {
			if (errno != ENOENT)
				failed(w, l);
			continue;
		}
		if (fstat(fd, &st) == -1 || (sub = fdopendir(fd)) == NULL) {
			failed(w, l);
			close(fd);
			continue;
		}
		if (st.st_dev != l->dev) {	/* mounted since the scan */
			errno = EXDEV;
			failed(w, l);
			closedir(sub);
			continue;
		}
		closedir(*dp);
		*dp = sub;
		c = &w->lv[++w->depth];
		memset(c, 0, sizeof(*c));
		c->name = l->dirs[l->next - 1];
		c->dev = st.st_dev;
		c->ino = st.st_ino;
		return true;
	}
	return false;
}

/*
 * Back up from the top level to its parent, through "..", which must
 * be the directory we came down from (else the tree was moved under
 * us: ESTALE, and the walk stops).  Then the level's directory goes.
 */
static int
up(struct walk *w, DIR **dp)
{
	struct level *c = &w->lv[w->depth], *l = c - 1;
	struct stat st;
	DIR *d;
	int fd;

	fd = openat(dirfd(*dp), "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		close(fd);
		return -1;
	}
	if (st.st_dev != l->dev || st.st_ino != l->ino) {
		close(fd);
		errno = ESTALE;
		return -1;
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	closedir(*dp);
	*dp = d;
	drop_dirs(c);
	w->depth--;
	if (c->failed) {
		l->failed = true;
	} else if (unlinkat(fd, c->name, AT_REMOVEDIR) == 0 ||
	    errno == ENOENT) {
		l->removed = true;
	} else if ((errno == ENOTEMPTY || errno == EEXIST) && c->removed) {
		/* Deleting during readdir made it skip some: once more. */
		l->next--;
	} else {
		failed(w, l);
	}
	return 0;
}

/*
 * Empties the directory open as *dp, one readdir pass each directory.
 * *dp is the same directory (maybe another stream) at the end.
 * *removed: did the last pass at the top remove anything?
 */
static int
empty(DIR **dp, bool split, bool *removed)
{
	struct walk w = { NULL, 0, 8, 0, split };
	struct stat st;
	int r = 0;

	if (fstat(dirfd(*dp), &st) == -1 ||
	    (w.lv = calloc(w.cap, sizeof(*w.lv))) == NULL)
		return -1;
	w.lv[0].dev = st.st_dev;
	w.lv[0].ino = st.st_ino;
	scan(&w, *dp);
	for (;;) {
		struct level *l = &w.lv[w.depth];

		if (w.split && l->n >= 2)
			share(&w, *dp);
		if (down(&w, dp)) {
			scan(&w, *dp);
			continue;
		}
		if (w.depth == 0)
			break;
		if (up(&w, dp) == -1) {
			r = -1;
			break;
		}
	}
	*removed = w.lv[0].removed;
	while (w.depth > 0)
		drop_dirs(&w.lv[w.depth--]);
	drop_dirs(&w.lv[0]);
	free(w.lv);
	if (r == 0 && w.err != 0) {
		errno = w.err;
		r = -1;
	}
	return r;
}

/* Empties and removes dirfd/name, a directory open as fd (taken over). */
static int
remove_dir(int dirfd, const char *name, int fd, bool split)
{
	DIR *d = fdopendir(fd);
	bool removed;
	int r;

	if (d == NULL) {
		close(fd);
		return -1;
	}
	/* rmdir's ENOTEMPTY says when readdir skipped entries that were
	 * deleted meanwhile, and costs nothing when all went in one pass. */
	while ((r = empty(&d, split, &removed)) == 0 &&
	    unlinkat(dirfd, name, AT_REMOVEDIR) == -1) {
		if (errno == ENOENT)
			break;
		if ((errno != ENOTEMPTY && errno != EEXIST) || !removed) {
			r = -1;		/* something we cannot remove */
			break;
		}
		split = false;
	}
	closedir(d);
	return r;
}

int
rmtree_at(int dirfd, const char *name)
{
	struct stat parent, st;
	int fd;

	if (fstat(dirfd, &parent) == -1)
		return -1;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) == -1 && errno != ENOENT)
			return -1;
		return 0;
	}
	if (is_mount_root(dirfd, name, &st, parent.st_dev)) {
		errno = EXDEV;
		return -1;
	}
	if ((fd = open_subdir(dirfd, name)) == -1)
		return -1;
	return remove_dir(dirfd, name, fd, true);
}

int
rmtree_open(int dirfd, const char *name, int fd)
{
	struct stat st, here;
	int dfd;

	if (fstat(fd, &st) == -1)
		return -1;
	if (fstatat(dirfd, name, &here, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -1;	/* gone already */
	/* The name no longer leads to the directory that was checked. */
	if (st.st_dev != here.st_dev || st.st_ino != here.st_ino ||
	    !S_ISDIR(st.st_mode)) {
		errno = ESTALE;
		return -1;
	}
	if ((dfd = dup(fd)) == -1)
		return -1;
	return remove_dir(dirfd, name, dfd, true);
}
