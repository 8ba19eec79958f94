/*
 * Staging and atomic publish.
 *
 * The staging container lives in DEST's own directory, so the final
 * rename never crosses a filesystem (rename across bind mounts of one
 * filesystem fails with EXDEV too).  It is 0700 and named
 * .lockbuild.XXXXXXXX.<base>: hidden, unpredictable, created with mkdir's
 * exclusivity, and recognisable as ours when a killed build leaves it.
 *
 * Replacing a directory uses RENAME_EXCHANGE: readers see the old tree or
 * the new one at every instant, where renaming the old tree aside and the
 * new one in leaves a moment with no DEST at all, which a reader meets as
 * ENOENT (tests/stress/publish_load.t counts readers that find DEST
 * missing; it must find none).  The old tree is then inside the
 * container and is deleted with it.
 *
 * NFS has no exchange (EINVAL), and there the moment without DEST is
 * worse than a moment: a reader on another client that looks DEST up
 * then caches the miss and keeps getting ENOENT for up to half a minute.
 * rename(2) of a link over a link is atomic for every client, so there
 * a directory DEST is a symbolic link to a version directory next to it,
 * .lockbuild-v.XXXXXXXX.<base>, and publishing renames the staged tree
 * to a new version and a new link over DEST (flip()).  A DEST that is
 * our link stays one, whatever the filesystem can do later.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirent_at.h"
#include "netfs.h"
#include "rmtree.h"
#include "stage.h"
#include "treecmp.h"

static const char alnum[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* Longest base kept in a container name: NAME_MAX less ".lockbuild.XXXXXXXX." */
#define BASE_IN_NAME_MAX (NAME_MAX - (sizeof(STAGE_PREFIX) - 1) - \
	STAGE_RAND_LEN - 1)
/*
 * Longest base kept in a version name.  Whole, never cut as in container
 * names: versions are removed by name, and two DESTs whose names share
 * their first 233 bytes must not remove each other's.  A longer DEST is
 * replaced with two renames, as before (exchange_dir).
 */
#define BASE_IN_VERSION_MAX (NAME_MAX - \
	(sizeof(STAGE_VERSION_PREFIX) - 1) - STAGE_RAND_LEN - 1)

/* What DEST is, at publishing time. */
enum dest_kind {
	KIND_NONE,
	KIND_FILE,		/* anything but a directory or a link */
	KIND_DIR,
	KIND_LINK,		/* our link to a version (s->target) */
	KIND_OTHER		/* any other symbolic link */
};

static int
fail(struct stage *s, const char *step)
{
	int e = errno;

	s->step = step;
	errno = e;
	return -1;
}

/* Is name prefix, STAGE_RAND_LEN letters or digits, '.', then base? */
static bool
is_named(const char *name, const char *prefix, const char *base)
{
	size_t plen = strlen(prefix), i;

	if (strncmp(name, prefix, plen) != 0)
		return false;
	for (i = 0; i < STAGE_RAND_LEN; i++)
		if (name[plen + i] == '\0' ||
		    strchr(alnum, name[plen + i]) == NULL)
			return false;
	if (name[plen + STAGE_RAND_LEN] != '.')
		return false;
	return strcmp(name + plen + STAGE_RAND_LEN + 1, base) == 0;
}

/* Is name a version directory's name for this DEST? */
static bool
is_version(const struct stage *s, const char *name)
{
	return strlen(s->base) <= BASE_IN_VERSION_MAX &&
	    is_named(name, STAGE_VERSION_PREFIX, s->base);
}

/* Makes a fresh name prefix + XXXXXXXX + "." + base (cut to fit). */
static void
random_name(char *out, size_t outsz, const char *prefix, const char *base,
    size_t basemax)
{
	char rnd[STAGE_RAND_LEN + 1];
	size_t i;

	for (i = 0; i < STAGE_RAND_LEN; i++)
		rnd[i] = alnum[arc4random_uniform(sizeof(alnum) - 1)];
	rnd[i] = '\0';
	snprintf(out, outsz, "%s%s.%.*s", prefix, rnd, (int)basemax, base);
}

/*
 * Is DEST a link that lockbuild made?  Its target must be exactly a
 * version name of this DEST (so no '/': it leads nowhere but next to
 * DEST), and that version a directory of ours.  Any other link is
 * refused as before, never followed.  Sets s->target.
 */
static bool
is_our_link(struct stage *s)
{
	char buf[NAME_MAX + 2];
	struct stat st;
	ssize_t n;

	s->target[0] = '\0';
	n = readlinkat(s->parentfd, s->base, buf, sizeof(buf) - 1);
	if (n <= 0 || n > NAME_MAX)
		return false;
	buf[n] = '\0';
	if (!is_version(s, buf) ||
	    fstatat(s->parentfd, buf, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return false;
	strlcpy(s->target, buf, sizeof(s->target));
	return true;
}

static enum dest_kind
dest_kind(struct stage *s)
{
	struct stat st;

	s->target[0] = '\0';
	if (fstatat(s->parentfd, s->base, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return KIND_NONE;
	if (S_ISDIR(st.st_mode))
		return KIND_DIR;
	if (S_ISLNK(st.st_mode))
		return is_our_link(s) ? KIND_LINK : KIND_OTHER;
	return KIND_FILE;
}

enum dest_problem
stage_init(struct stage *s, const char *dest, bool file)
{
	const char *slash = strrchr(dest, '/');
	char dirpart[PATH_MAX];
	size_t dlen;
	int i;

	memset(s, 0, sizeof(*s));
	s->dest = dest;
	s->file = file;
	s->parentfd = s->containerfd = -1;
	s->grace = STAGE_VERSION_GRACE;
	for (i = 0; i < STAGE_RESERVE; i++)
		s->reserve[i] = -1;
	/* Longer than any file name: no mkdir or rename could make it. */
	if (strlen(slash ? slash + 1 : dest) > NAME_MAX)
		return DEST_NAME_TOO_LONG;
	if (slash == NULL) {
		strlcpy(dirpart, ".", sizeof(dirpart));
		strlcpy(s->base, dest, sizeof(s->base));
	} else {
		dlen = slash == dest ? 1 : (size_t)(slash - dest);
		if (dlen >= sizeof(dirpart)) {
			errno = ENAMETOOLONG;
			return DEST_NO_PARENT;
		}
		memcpy(dirpart, dest, dlen);
		dirpart[dlen] = '\0';
		strlcpy(s->base, slash + 1, sizeof(s->base));
	}
	if (s->base[0] == '\0' || strcmp(s->base, ".") == 0 ||
	    strcmp(s->base, "..") == 0 || strncmp(s->base, STAGE_PREFIX,
	    sizeof(STAGE_PREFIX) - 1) == 0 || strncmp(s->base,
	    STAGE_VERSION_PREFIX, sizeof(STAGE_VERSION_PREFIX) - 1) == 0)
		return DEST_BAD_NAME;

	if (dirpart[0] == '/') {
		strlcpy(s->dir, dirpart, sizeof(s->dir));
	} else {
		if (getcwd(s->dir, sizeof(s->dir)) == NULL)
			return DEST_NO_PARENT;
		if (strcmp(dirpart, ".") != 0 &&
		    (strlcat(s->dir, "/", sizeof(s->dir)) >= sizeof(s->dir) ||
		    strlcat(s->dir, dirpart, sizeof(s->dir)) >= sizeof(s->dir))) {
			errno = ENAMETOOLONG;
			return DEST_NO_PARENT;
		}
	}
	s->parentfd = open(dirpart, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->parentfd == -1)
		return DEST_NO_PARENT;
	if (faccessat(s->parentfd, ".", W_OK | X_OK, AT_EACCESS) == -1)
		return DEST_PARENT_NOT_WRITABLE;
	switch (dest_kind(s)) {
	case KIND_OTHER:
		return DEST_IS_LINK;
	case KIND_DIR:
	case KIND_LINK:
		return file ? DEST_WRONG_TYPE : DEST_OK;
	case KIND_FILE:
		return file ? DEST_OK : DEST_WRONG_TYPE;
	case KIND_NONE:
		break;
	}
	return DEST_OK;
}

bool
dest_exists(const struct stage *s)
{
	struct stat st;

	return fstatat(s->parentfd, s->base, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/*
 * On NFS a lookup that found nothing is cached, and the name can still
 * read as missing after another host created it, until the directory's
 * attributes are looked at again.  Opening the directory by name makes
 * the client do that (close-to-open), and a changed directory drops the
 * cached misses; dev and ino make sure it is the same directory.
 */
bool
dest_exists_now(const struct stage *s)
{
	struct stat a, b;
	bool r;
	int fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1)
		return dest_exists(s);
	if (fstat(fd, &a) == 0 && fstat(s->parentfd, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		r = fstatat(fd, s->base, &a, AT_SYMLINK_NOFOLLOW) == 0;
	else
		r = dest_exists(s);
	close(fd);
	return r;
}

/* Makes an absolute, lexically normal path ("a/./b/../c" -> "/cwd/a/c"). */
static int
normalize(const char *path, char *out, size_t outsz)
{
	char buf[PATH_MAX * 2], *p, *save = NULL;
	size_t o = 0;

	if (path[0] == '/') {
		if (strlcpy(buf, path, sizeof(buf)) >= sizeof(buf))
			return -1;
	} else {
		if (getcwd(buf, PATH_MAX) == NULL ||
		    strlcat(buf, "/", sizeof(buf)) >= sizeof(buf) ||
		    strlcat(buf, path, sizeof(buf)) >= sizeof(buf))
			return -1;
	}
	out[0] = '\0';
	for (p = strtok_r(buf, "/", &save); p != NULL;
	    p = strtok_r(NULL, "/", &save)) {
		if (strcmp(p, ".") == 0)
			continue;
		if (strcmp(p, "..") == 0) {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			out[o] = '\0';
			continue;
		}
		if (o + 1 + strlen(p) + 1 > outsz)
			return -1;
		out[o++] = '/';
		strlcpy(out + o, p, outsz - o);
		o += strlen(p);
	}
	if (o == 0)
		strlcpy(out, "/", outsz);
	return 0;
}

static bool
under(const char *path, const char *top)
{
	size_t n = strlen(top);

	if (strcmp(top, "/") == 0)
		return true;
	return strncmp(path, top, n) == 0 && (path[n] == '\0' ||
	    path[n] == '/');
}

/*
 * realpath() for a path that may not exist yet: the deepest existing
 * ancestor resolved, the rest appended as written.
 */
static int
resolve(const char *path, char *out, size_t outsz)
{
	char norm[PATH_MAX], head[PATH_MAX], real[PATH_MAX];
	char *cut;

	if (normalize(path, norm, sizeof(norm)) == -1)
		return -1;
	strlcpy(head, norm, sizeof(head));
	for (;;) {
		if (realpath(head, real) != NULL)
			break;
		cut = strrchr(head, '/');
		if (cut == NULL || cut == head)
			return -1;
		*cut = '\0';
	}
	strlcpy(out, real, outsz);
	if (strlen(head) < strlen(norm)) {
		if (strcmp(out, "/") == 0)
			out[0] = '\0';
		if (strlcat(out, norm + strlen(head), outsz) >= outsz)
			return -1;
	}
	return 0;
}

bool
dest_contains(const struct stage *s, const char *path)
{
	char d[PATH_MAX + NAME_MAX + 2], dn[PATH_MAX], pn[PATH_MAX];

	snprintf(d, sizeof(d), "%s/%s", s->dir, s->base);
	if (normalize(d, dn, sizeof(dn)) == 0 &&
	    normalize(path, pn, sizeof(pn)) == 0 && under(pn, dn))
		return true;
	/* Symbolic links in either path: compare where they lead. */
	return resolve(d, dn, sizeof(dn)) == 0 &&
	    resolve(path, pn, sizeof(pn)) == 0 && under(pn, dn);
}

void
stage_release(struct stage *s)
{
	int i, e = errno;

	for (i = 0; i < STAGE_RESERVE; i++) {
		if (s->reserve[i] != -1)
			close(s->reserve[i]);
		s->reserve[i] = -1;
	}
	errno = e;
}

int
stage_create(struct stage *s)
{
	int i, tries, n;

	/*
	 * Flushing, comparing and removing trees need a few descriptors
	 * (a bounded number: rmtree.c).  Had COMMAND's run left too few,
	 * the container could not even be removed: take them now.
	 */
	for (i = 0; i < STAGE_RESERVE; i++) {
		s->reserve[i] = fcntl(s->parentfd, F_DUPFD_CLOEXEC, 0);
		if (s->reserve[i] == -1) {
			stage_release(s);
			return fail(s, "set aside descriptors for staging");
		}
	}
	/* What COMMAND might create meanwhile must not be overwritten. */
	s->existed = dest_exists(s);
	for (tries = 0; tries < 100; tries++) {
		random_name(s->container, sizeof(s->container), STAGE_PREFIX,
		    s->base, BASE_IN_NAME_MAX);
		if (mkdirat(s->parentfd, s->container, 0700) == 0)
			break;
		if (errno != EEXIST)
			return fail(s, "create staging dir");
	}
	if (tries == 100)
		return fail(s, "create staging dir");
	s->containerfd = openat(s->parentfd, s->container,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->containerfd == -1 || flock(s->containerfd, LOCK_EX) == -1) {
		int e = errno;

		stage_release(s);
		if (s->containerfd != -1)
			close(s->containerfd);
		s->containerfd = -1;
		rmtree_at(s->parentfd, s->container);
		errno = e;
		return fail(s, "open staging dir");
	}
	if (!s->file && mkdirat(s->containerfd, s->base, 0777) == -1) {
		int e = errno;

		stage_remove(s);
		errno = e;
		return fail(s, "create staging dir");
	}
	n = snprintf(s->path, sizeof(s->path), "%s/%s/%s",
	    strcmp(s->dir, "/") == 0 ? "" : s->dir, s->container, s->base);
	if (n < 0 || (size_t)n >= sizeof(s->path)) {
		stage_remove(s);
		errno = ENAMETOOLONG;
		return fail(s, "name staging dir");
	}
	return 0;
}

int
stage_has_output(struct stage *s, bool allow_empty, const char **why)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int fd, found = 0;

	if (fstatat(s->containerfd, s->base, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		*why = s->file ? "COMMAND created no file at $LOCKBUILD_STAGING"
		    : "COMMAND removed the staging directory";
		return 0;
	}
	if (s->file) {
		if (S_ISDIR(st.st_mode)) {
			*why = "$LOCKBUILD_STAGING is a directory, not a file "
			    "(-f)";
			return 0;
		}
		/* A FIFO, socket or device cannot be the output: publishing
		 * would hand readers something that blocks or is no file. */
		if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
			*why = S_ISFIFO(st.st_mode) ? "$LOCKBUILD_STAGING is "
			    "a FIFO, not a regular file (-f)" :
			    S_ISSOCK(st.st_mode) ? "$LOCKBUILD_STAGING is a "
			    "socket, not a regular file (-f)" :
			    "$LOCKBUILD_STAGING is a device, not a regular "
			    "file (-f)";
			return 0;
		}
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		*why = "$LOCKBUILD_STAGING is no longer a directory";
		return 0;
	}
	if (allow_empty)
		return 1;
	fd = openat(s->containerfd, s->base,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		*why = "cannot read the staging directory";
		return 0;
	}
	while (!found && (de = readdir(d)) != NULL)
		found = !is_dot_entry(de->d_name);
	closedir(d);
	if (!found)
		*why = "the staging directory is empty (--allow-empty "
		    "publishes it anyway)";
	return found;
}

/*
 * Opens dir/name to flush it, if it is a regular file or a directory:
 * O_NONBLOCK | O_NOCTTY so that a FIFO or a device (which a tree may
 * hold, and which may replace a checked name meanwhile) is never waited
 * on or taken as a terminal, and fstat on the open file says what it is.
 * -1 with ELOOP for a symlink, ENODEV for anything else.
 */
static int
open_flushable(int dir, const char *name, struct stat *st)
{
	int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC);

	if (fd == -1)
		return -1;
	if (fstat(fd, st) == -1 ||
	    !(S_ISDIR(st->st_mode) || S_ISREG(st->st_mode))) {
		close(fd);
		errno = ENODEV;
		return -1;
	}
	return fd;
}

/* A directory on fsync_tree's way down: its subdirectories, listed by
 * the readdir pass that flushed its files. */
struct flush_level {
	dev_t dev;
	ino_t ino;
	char **dirs;
	size_t n, next;
};

static void
flush_note(int *err)
{
	if (*err == 0)
		*err = errno;
}

/*
 * One readdir pass over the directory open as fd: regular files are
 * flushed, subdirectories listed in l.  What cannot be opened is passed
 * over, as before; *err takes the first error.
 */
static void
flush_dir(int fd, struct flush_level *l, int *err)
{
	DIR *d = opendir_dup(fd);
	struct dirent *de;
	size_t cap = 0;

	if (d == NULL) {
		flush_note(err);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		char **more;
		int sub;

		if (is_dot_entry(de->d_name))
			continue;
		if (de->d_type != DT_DIR) {
			if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
				continue;
			if ((sub = open_flushable(fd, de->d_name, &st)) == -1)
				continue;
			if (S_ISREG(st.st_mode) && fsync(sub) == -1)
				flush_note(err);
			close(sub);
			if (S_ISREG(st.st_mode))
				continue;
		}
		if (l->n == cap) {
			more = reallocarray(l->dirs, cap ? cap * 2 : 16,
			    sizeof(*more));
			if (more == NULL) {
				flush_note(err);
				continue;
			}
			l->dirs = more;
			cap = cap ? cap * 2 : 16;
		}
		if ((l->dirs[l->n] = strdup(de->d_name)) == NULL)
			flush_note(err);
		else
			l->n++;
	}
	closedir(d);
}

static void
flush_level_free(struct flush_level *l)
{
	while (l->n > 0)
		free(l->dirs[--l->n]);
	free(l->dirs);
	l->dirs = NULL;
}

/* Opens the parent of the directory open as fd, which must be the one
 * that l was (else ESTALE: the tree was moved). */
static int
open_parent(int fd, const struct flush_level *l)
{
	struct stat st;
	int p = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (p == -1)
		return -1;
	if (fstat(p, &st) == -1) {
		close(p);
		return -1;
	}
	if (st.st_dev != l->dev || st.st_ino != l->ino) {
		close(p);
		errno = ESTALE;
		return -1;
	}
	return p;
}

/*
 * Flushes everything under fd (fallback where syncfs is missing), each
 * directory after what is in it.  One directory is open at a time
 * whatever the depth, as in rmtree.c: going down closes the parent,
 * coming back opens ".." and checks by device and inode that it is the
 * directory left.
 */
static int
fsync_tree(int fd)
{
	struct flush_level *lv;
	struct stat st;
	size_t depth = 0, cap = 8;
	int cur, sub, err = 0;

	if ((lv = calloc(cap, sizeof(*lv))) == NULL)
		return -1;
	if ((cur = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1 ||
	    fstat(cur, &st) == -1) {
		flush_note(&err);
		goto out;
	}
	lv[0].dev = st.st_dev;
	lv[0].ino = st.st_ino;
	flush_dir(cur, &lv[0], &err);
	for (;;) {
		struct flush_level *l = &lv[depth];

		if (l->next < l->n) {
			const char *name = l->dirs[l->next++];

			if (depth + 1 == cap) {
				struct flush_level *more = reallocarray(lv,
				    cap * 2, sizeof(*more));

				if (more == NULL) {
					flush_note(&err);
					continue;
				}
				lv = more;
				cap *= 2;
			}
			if ((sub = open_flushable(cur, name, &st)) == -1)
				continue;
			if (!S_ISDIR(st.st_mode)) {	/* a file since */
				if (fsync(sub) == -1)
					flush_note(&err);
				close(sub);
				continue;
			}
			close(cur);
			cur = sub;
			l = &lv[++depth];
			memset(l, 0, sizeof(*l));
			l->dev = st.st_dev;
			l->ino = st.st_ino;
			flush_dir(cur, l, &err);
			continue;
		}
		if (fsync(cur) == -1)
			flush_note(&err);
		if (depth == 0)
			break;
		if ((sub = open_parent(cur, &lv[depth - 1])) == -1) {
			flush_note(&err);
			break;
		}
		close(cur);
		cur = sub;
		flush_level_free(&lv[depth--]);
	}
out:
	if (cur != -1)
		close(cur);
	for (;;) {
		flush_level_free(&lv[depth]);
		if (depth-- == 0)
			break;
	}
	free(lv);
	errno = err;
	return err ? -1 : 0;
}

static int
flush_staged(struct stage *s)
{
	struct stat st;
	int fd, r;

	fd = open_flushable(s->containerfd, s->base, &st);
	if (fd == -1) {
		if (errno != ELOOP && errno != ENODEV)
			return -1;
		/* A symlink (or special file) is all in its directory. */
		return fsync(s->containerfd);
	}
	if (s->file) {
		r = fsync(fd);
	} else {
#ifdef __linux__
		/* One syncfs costs what a few fsyncs do, while an fsync per
		 * file waits for the disk once per file: seconds for a tree
		 * of 10,000 files. */
		r = syncfs(fd);
		/*
		 * syncfs also reports a write that failed anywhere on the
		 * filesystem since fd was opened: on a network filesystem
		 * shared with other work (another build's lost lock, in the
		 * NFS lab), often not ours.  Our own files decide, then.
		 */
		if (r == -1 && (errno == ENOSYS ||
		    (errno == EIO && netfs_is_network(fd))))
			r = fsync_tree(fd);
#else
		r = fsync_tree(fd);
#endif
	}
	if (r == 0)
		r = fsync(s->containerfd);
	{
		int e = errno;

		close(fd);
		errno = e;
	}
	return r;
}

/*
 * Renames the staged output (or our link, which has its name in the
 * container) to DEST, which must not exist.  linkable: it is a file or
 * a link, and link(2) can place it instead.
 */
static int
rename_noreplace(struct stage *s, bool linkable)
{
#ifdef RENAME_NOREPLACE
	if (renameat2(s->containerfd, s->base, s->parentfd, s->base,
	    RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
		return -1;
#endif
	if (linkable) {
		/* link(2) fails with EEXIST atomically; then drop the stage. */
		if (linkat(s->containerfd, s->base, s->parentfd, s->base,
		    0) == 0)
			return 0;
		if (errno == EEXIST)
			return -1;
	}
	/* Last resort: a window between this check and the rename. */
	if (dest_exists(s)) {
		errno = EEXIST;
		return -1;
	}
	return renameat(s->containerfd, s->base, s->parentfd, s->base);
}

/* Names in the container that no staged output can have: DEST's name
 * cannot start with STAGE_PREFIX. */
#define PROBE_A STAGE_PREFIX "probe-a"
#define PROBE_B STAGE_PREFIX "probe-b"

/*
 * Is a new directory DEST to be a link to versions?  Yes where two
 * directories cannot be exchanged, asked by exchanging two empty ones in
 * the container: when DEST does not exist yet, nothing else says what
 * the next publication will be able to do.  No when DEST's name is too
 * long for a version name, or (as before) when the question cannot be
 * asked.
 */
static bool
needs_versions(struct stage *s)
{
#ifdef RENAME_EXCHANGE
	bool r;
	int e;

	if (strlen(s->base) > BASE_IN_VERSION_MAX)
		return false;
	if (mkdirat(s->containerfd, PROBE_A, 0700) == -1)
		return false;
	if (mkdirat(s->containerfd, PROBE_B, 0700) == -1) {
		unlinkat(s->containerfd, PROBE_A, AT_REMOVEDIR);
		return false;
	}
	r = renameat2(s->containerfd, PROBE_A, s->containerfd, PROBE_B,
	    RENAME_EXCHANGE) == -1;
	e = errno;
	unlinkat(s->containerfd, PROBE_A, AT_REMOVEDIR);
	unlinkat(s->containerfd, PROBE_B, AT_REMOVEDIR);
	return r && (e == EINVAL || e == ENOSYS || e == ENOTSUP);
#else
	return strlen(s->base) <= BASE_IN_VERSION_MAX;
#endif
}

/* Creates an empty version directory with a fresh name: mkdir is the
 * exclusive step, and a directory renamed over it replaces it. */
static int
make_version(struct stage *s, char *out, size_t outsz)
{
	int tries;

	for (tries = 0; tries < 100; tries++) {
		random_name(out, outsz, STAGE_VERSION_PREFIX, s->base,
		    BASE_IN_VERSION_MAX);
		if (mkdirat(s->parentfd, out, 0700) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

/* Opens the version name if it is a directory of ours, never following
 * a link; -1 otherwise. */
static int
open_version(struct stage *s, const char *name, struct stat *st)
{
	int fd = openat(s->parentfd, name,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd == -1)
		return -1;
	if (fstat(fd, st) == -1 || !S_ISDIR(st->st_mode) ||
	    st->st_uid != geteuid()) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Marks the version DEST has just left: its change time becomes now (a
 * chmod to its own mode), which sweep_versions reads as the moment it
 * was replaced.  The time comes from the filesystem, the server's clock
 * on NFS, as does the one it is compared with.  A version whose group
 * the user is not in loses a set-group-ID bit here; no one creates
 * files in a replaced version.
 */
static void
retire(struct stage *s, const char *name)
{
	struct stat st;
	int fd = open_version(s, name, &st);

	if (fd == -1)
		return;
	(void)fchmod(fd, st.st_mode & 07777);
	close(fd);
}

/*
 * Removes versions of this DEST that are neither DEST's (cur) nor the
 * one it has just replaced (prev), once they were replaced s->grace
 * seconds ago or more.  A reader on another NFS client can be led into
 * an old version by what its client still trusts from earlier lookups
 * (the link's old target, the version's files) until its attribute
 * cache of DEST's directory expires; emptying the version under it then
 * gives it ENOENT, while a version that is gone altogether only costs it
 * an ESTALE that the kernel retries with fresh lookups.  The previous
 * version is also kept for readers whose working directory it is.
 * Removal is that of staging containers: directories of ours only, no
 * link followed, no mount entered.  Failures leave a version for the
 * next publication to try again.
 */
static void
sweep_versions(struct stage *s, const char *cur, const char *prev)
{
	struct stat now;
	struct dirent *de;
	DIR *d;

	/* DEST's directory has just changed: its mtime is now, by the
	 * clock that stamped the versions' change times. */
	if (fstat(s->parentfd, &now) == -1 ||
	    (d = opendir_dup(s->parentfd)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		int fd;

		if (!is_version(s, de->d_name) ||
		    strcmp(de->d_name, cur) == 0 ||
		    strcmp(de->d_name, prev) == 0)
			continue;
		if ((fd = open_version(s, de->d_name, &st)) == -1)
			continue;
		if (now.st_mtim.tv_sec - st.st_ctim.tv_sec >= s->grace)
			(void)rmtree_open(s->parentfd, de->d_name, fd);
		close(fd);
	}
	closedir(d);
}

/*
 * Publishes the staged tree as a new version directory and points DEST
 * at it, where directories cannot be exchanged.  The tree is renamed,
 * not copied, to the version name, a link to that name (relative, in
 * DEST's own directory) is made in the container and renamed over DEST:
 * rename(2) of a link over a link is atomic for readers on every NFS
 * client.  kind is what DEST is: KIND_NONE, KIND_LINK, or KIND_DIR, a
 * real directory, which must first be renamed aside: that conversion,
 * once per DEST, leaves readers a moment without DEST.  The old
 * directory becomes a version (if it is ours) and is kept like one.  On
 * failure DEST and the staged tree are as they were.
 */
static int
flip(struct stage *s, enum dest_kind kind)
{
	char v[NAME_MAX + 1], prev[NAME_MAX + 1] = "";
	const char *aname = strcmp(s->base, "old") == 0 ? "old.1" : "old";
	struct stat st;
	int adir = s->containerfd, e;

	if (make_version(s, v, sizeof(v)) == -1)
		return -1;
	if (renameat(s->containerfd, s->base, s->parentfd, v) == -1) {
		e = errno;
		unlinkat(s->parentfd, v, AT_REMOVEDIR);
		errno = e;
		return -1;
	}
	if (symlinkat(v, s->containerfd, s->base) == -1)
		goto untree;
	switch (kind) {
	case KIND_NONE:
		if (rename_noreplace(s, true) == -1)
			goto unlink;
		break;
	case KIND_LINK:
		strlcpy(prev, s->target, sizeof(prev));
		if (renameat(s->containerfd, s->base, s->parentfd,
		    s->base) == -1)
			goto unlink;
		break;
	default:
		/* Another user's tree goes into the container instead, to
		 * be deleted with it as after an exchange. */
		if (fstatat(s->parentfd, s->base, &st,
		    AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
		    st.st_uid == geteuid()) {
			if (make_version(s, prev, sizeof(prev)) == -1)
				goto unlink;
			adir = s->parentfd;
			aname = prev;
		}
		if (renameat(s->parentfd, s->base, adir, aname) == -1) {
			e = errno;
			if (prev[0] != '\0')
				unlinkat(s->parentfd, prev, AT_REMOVEDIR);
			errno = e;
			goto unlink;
		}
		/* From here until the next rename there is no DEST. */
		if (renameat(s->containerfd, s->base, s->parentfd,
		    s->base) == -1) {
			e = errno;
			renameat(adir, aname, s->parentfd, s->base);
			errno = e;
			goto unlink;
		}
		break;
	}
	if (prev[0] != '\0')
		retire(s, prev);
	sweep_versions(s, v, prev);
	return 0;

unlink:
	e = errno;
	unlinkat(s->containerfd, s->base, 0);
	errno = e;
untree:
	e = errno;
	/* Back where publish_finish expects it (--keep-failed); should
	 * even that fail, a later sweep removes the version. */
	renameat(s->parentfd, v, s->containerfd, s->base);
	errno = e;
	return -1;
}

static int
exchange_dir(struct stage *s)
{
	const char *aside = strcmp(s->base, "old") == 0 ? "old.1" : "old";

#ifdef RENAME_EXCHANGE
	if (renameat2(s->containerfd, s->base, s->parentfd, s->base,
	    RENAME_EXCHANGE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
		return -1;
#endif
	if (strlen(s->base) <= BASE_IN_VERSION_MAX)
		return flip(s, KIND_DIR);
	/* No exchange and no version name: DEST is missing for an
	 * instant, never partial. */
	if (renameat(s->parentfd, s->base, s->containerfd, aside) == -1)
		return -1;
	if (renameat(s->containerfd, s->base, s->parentfd, s->base) == -1) {
		int e = errno;

		renameat(s->containerfd, aside, s->parentfd, s->base);
		errno = e;
		return -1;
	}
	return 0;
}

int
stage_publish(struct stage *s, bool no_fsync, bool if_changed,
    bool *published)
{
	enum dest_kind kind;
	bool exists;

	*published = false;
	stage_release(s);
	kind = dest_kind(s);
	exists = kind != KIND_NONE;
	if (kind == KIND_OTHER || (exists && (kind == KIND_FILE) != s->file)) {
		errno = kind == KIND_DIR || kind == KIND_LINK ? EISDIR :
		    ENOTDIR;
		return fail(s, "DEST changed type while building");
	}
	if (exists && !s->existed) {
		errno = EEXIST;
		return fail(s, "DEST appeared while building; left alone");
	}
	if (exists && if_changed) {
		/* Our link: the version it names, checked to be ours. */
		int same = treecmp_at(s->parentfd, kind == KIND_LINK ?
		    s->target : s->base, s->containerfd, s->base);

		if (same == 1)
			return 0;
		if (same == -1)
			return fail(s, "compare with DEST");
	}
	if (!no_fsync && flush_staged(s) == -1)
		return fail(s, "flush staged output to disk");
	if (s->file && !exists) {
		if (rename_noreplace(s, true) == -1)
			return fail(s, errno == EEXIST ?
			    "DEST appeared while building; left alone" :
			    "rename into place");
	} else if (s->file) {
		if (renameat(s->containerfd, s->base, s->parentfd, s->base) == -1)
			return fail(s, "rename over DEST");
	} else if (kind == KIND_LINK ||
	    (kind == KIND_NONE && needs_versions(s))) {
		if (flip(s, kind) == -1)
			return fail(s, errno == EEXIST ?
			    "DEST appeared while building; left alone" :
			    "publish a new version of DEST");
	} else if (!exists) {
		if (rename_noreplace(s, false) == -1)
			return fail(s, errno == EEXIST ?
			    "DEST appeared while building; left alone" :
			    "rename into place");
	} else if (exchange_dir(s) == -1) {
		return fail(s, errno == EXDEV ? "exchange with DEST (a "
		    "directory from a lower overlayfs layer cannot be "
		    "replaced atomically; remove it once)" :
		    "exchange with DEST");
	}
	*published = true;
	if (!no_fsync && fsync(s->parentfd) == -1)
		return fail(s, "flush DEST's directory");
	return 0;
}

int
stage_remove(struct stage *s)
{
	int r = 0;

	stage_release(s);
	if (s->container[0] != '\0') {
		/* Through containerfd when open: what we made, not whatever
		 * the name leads to now. */
		r = s->containerfd != -1 ? rmtree_open(s->parentfd,
		    s->container, s->containerfd) :
		    rmtree_at(s->parentfd, s->container);
		if (r == -1)
			fail(s, "remove staging dir");
	}
	stage_close(s);
	return r;
}

void
stage_close(struct stage *s)
{
	stage_release(s);
	if (s->containerfd != -1) {
		int e = errno;

		close(s->containerfd);
		errno = e;
	}
	s->containerfd = -1;
	/* Done with: a later stage_remove must not look it up by name. */
	s->container[0] = '\0';
}

/* Is name a container of this DEST: .lockbuild.XXXXXXXX.<base>? */
static bool
is_our_container(const struct stage *s, const char *name)
{
	char base[BASE_IN_NAME_MAX + 1];

	strlcpy(base, s->base, sizeof(base));
	return is_named(name, STAGE_PREFIX, base);
}

int
stage_sweep(struct stage *s, void (*found)(const char *path, int err))
{
	int removed = 0;
	DIR *d = opendir_dup(s->parentfd);
	struct dirent *de;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX + NAME_MAX + 2];
		struct stat st;
		int fd, err = 0;

		if (!is_our_container(s, de->d_name) ||
		    strcmp(de->d_name, s->container) == 0)
			continue;
		fd = openat(s->parentfd, de->d_name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1)
			continue;
		/*
		 * Only a container that we could have made: a directory of
		 * ours, mode 0700.  In a shared directory (a 1777 /tmp)
		 * anyone can plant one by that name, to have us delete
		 * what is in it or trip over it on every build: it is
		 * neither entered nor reported.
		 */
		if (fstat(fd, &st) == -1 || !S_ISDIR(st.st_mode) ||
		    st.st_uid != geteuid() || (st.st_mode & 07777) != 0700) {
			close(fd);
			continue;
		}
		/* A live lockbuild holds its container's flock: leave it. */
		if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
			close(fd);
			continue;
		}
		if (rmtree_open(s->parentfd, de->d_name, fd) == -1)
			err = errno;
		else
			removed++;
		close(fd);
		snprintf(path, sizeof(path), "%s/%s", s->dir, de->d_name);
		if (found != NULL)
			found(path, err);
	}
	closedir(d);
	return removed;
}
