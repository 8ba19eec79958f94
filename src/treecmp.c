/*
 * Tree comparison for --if-changed.  What make cares about is content,
 * so times are ignored; what a build output's users care about includes
 * the exec bit, which diff -r misses.  Stops at the first difference and
 * reads a file only when type, mode and size already agree, so a
 * changed tree usually costs a few stats.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirent_at.h"
#include "treecmp.h"
#include "twothreads.h"

#define CHUNK (256 * 1024)

/* A directory entry: the name and readdir's d_type (may be DT_UNKNOWN). */
struct ent {
	char *name;
	unsigned char type;
};

/* One thread's walk: its read buffers, and whether it may still split. */
struct walk {
	char *bufa, *bufb;
	bool split;
};

static int cmp_entry(struct walk *w, int adir, const char *a, int bdir,
    const char *b, unsigned char hint);

/*
 * Opens a file to read its bytes.  O_NOATIME: comparing is not a use of
 * the file, and with relatime the first read after a cp -al or an unlink
 * of a sibling link (both change ctime) dirties the inode in the journal.
 * It is refused (EPERM) for files of other users unless privileged: from
 * then on the process goes without (atomic: two threads may compare).
 */
static int
open_read(int dir, const char *name, int extra)
{
	static _Atomic int noatime = O_NOATIME;
	int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | extra, fd;

	fd = openat(dir, name, flags | noatime);
	if (fd == -1 && errno == EPERM && noatime != 0) {
		noatime = 0;
		fd = openat(dir, name, flags);
	}
	return fd;
}

/* Compares the bytes of two open files of the same size. */
static int
cmp_fds(struct walk *w, int fa, int fb, off_t size)
{
	char *bufa, *bufb;
	int r = 1;
	off_t done = 0;

	if (w->bufa == NULL && (w->bufa = malloc(CHUNK)) == NULL)
		return -1;
	if (w->bufb == NULL && (w->bufb = malloc(CHUNK)) == NULL)
		return -1;
	bufa = w->bufa;
	bufb = w->bufb;
#ifdef POSIX_FADV_SEQUENTIAL
	/* Worth a system call only where read-ahead has room to help. */
	if (size > CHUNK) {
		posix_fadvise(fa, 0, 0, POSIX_FADV_SEQUENTIAL);
		posix_fadvise(fb, 0, 0, POSIX_FADV_SEQUENTIAL);
	}
#endif
	/* Up to the size fstat gave, so no read at EOF to find the end. */
	while (r == 1 && done < size) {
		ssize_t na = read(fa, bufa, CHUNK), nb;

		if (na <= 0) {
			r = na == 0 ? 0 : -1;
			break;
		}
		/* The other file may return short reads: fill to na. */
		for (nb = 0; nb < na;) {
			ssize_t n = read(fb, bufb + nb, (size_t)(na - nb));

			if (n <= 0) {
				r = n == 0 ? 0 : -1;
				break;
			}
			nb += n;
		}
		if (r == 1 && memcmp(bufa, bufb, (size_t)na) != 0)
			r = 0;
		done += na;
	}
	return r;
}

/*
 * Two names that fstatat found to be regular files of this size.  They
 * may have been replaced since by a FIFO or a device: O_NONBLOCK |
 * O_NOCTTY never waits on one, and what was opened is checked again.
 */
static int
cmp_files(struct walk *w, int adir, const char *a, int bdir, const char *b,
    off_t size)
{
	struct stat sa, sb;
	int fa, fb, r;

	if ((fa = open_read(adir, a, O_NONBLOCK | O_NOCTTY)) == -1)
		return -1;
	if ((fb = open_read(bdir, b, O_NONBLOCK | O_NOCTTY)) == -1) {
		close(fa);
		return -1;
	}
	if (fstat(fa, &sa) == -1 || fstat(fb, &sb) == -1)
		r = -1;
	else if (!S_ISREG(sa.st_mode) || !S_ISREG(sb.st_mode) ||
	    sa.st_size != size || sb.st_size != size)
		r = 0;	/* changed under us: not the same output */
	else
		r = cmp_fds(w, fa, fb, size);
	close(fa);
	close(fb);
	return r;
}

/*
 * Both readdir entries say regular file: open both and fstat the open
 * files, which saves a path lookup per file over fstatat-then-open and
 * tests the very inodes that are read.  O_NONBLOCK | O_NOCTTY: should an
 * entry have been replaced by a FIFO or device since readdir, the open
 * neither hangs nor takes a terminal.  2: not two regular files after
 * all, or not opened here: the caller looks again with fstatat.
 */
static int
cmp_regular(struct walk *w, int adir, const char *a, int bdir, const char *b)
{
	struct stat sa, sb;
	int fa, fb, r = 2;

	if ((fa = open_read(adir, a, O_NONBLOCK | O_NOCTTY)) == -1)
		return 2;
	if ((fb = open_read(bdir, b, O_NONBLOCK | O_NOCTTY)) == -1) {
		close(fa);
		return 2;
	}
	if (fstat(fa, &sa) == -1 || fstat(fb, &sb) == -1)
		r = -1;
	else if (!S_ISREG(sa.st_mode) || !S_ISREG(sb.st_mode))
		r = 2;
	else if ((sa.st_mode & 07777) != (sb.st_mode & 07777) ||
	    sa.st_size != sb.st_size)
		r = 0;
	else if (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino)
		r = 1;	/* the same file, hard-linked */
	else
		r = cmp_fds(w, fa, fb, sa.st_size);
	close(fa);
	close(fb);
	return r;
}

/* Link targets longer than PATH_MAX do not exist on Linux; a read that
 * fills the buffer compares the first 4 KiB, which is all there is. */
static int
cmp_links(int adir, const char *a, int bdir, const char *b)
{
	char ta[4096], tb[4096];
	ssize_t na, nb;

	na = readlinkat(adir, a, ta, sizeof(ta));
	nb = readlinkat(bdir, b, tb, sizeof(tb));
	if (na == -1 || nb == -1)
		return -1;
	return na == nb && memcmp(ta, tb, (size_t)na) == 0;
}

static int
by_name(const void *x, const void *y)
{
	return strcmp(((const struct ent *)x)->name,
	    ((const struct ent *)y)->name);
}

static void
free_list(struct ent *ents, size_t n)
{
	while (n > 0)
		free(ents[--n].name);
	free(ents);
}

/*
 * Sorted entries of the directory dir/name (readdir order differs between
 * copies).  *dp is left open for dirfd() in the *at() calls: opening with
 * fdopendir and closing once saves a dup, a rewind and a close.
 */
static struct ent *
list_dir(int dir, const char *name, DIR **dp, size_t *count)
{
	DIR *d;
	struct dirent *de;
	struct ent *ents = NULL;
	size_t n = 0, cap = 0;
	int fd;

	fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return NULL;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		if (is_dot_entry(de->d_name))
			continue;
		if (n == cap) {
			struct ent *more;

			cap = cap ? cap * 2 : 64;
			more = reallocarray(ents, cap, sizeof(*ents));
			if (more == NULL)
				goto fail;
			ents = more;
		}
		if ((ents[n].name = strdup(de->d_name)) == NULL)
			goto fail;
		ents[n++].type = de->d_type;
	}
	if (n > 0)
		qsort(ents, n, sizeof(*ents), by_name);
	if (ents == NULL && (ents = calloc(1, sizeof(*ents))) == NULL)
		goto fail;
	*count = n;
	*dp = d;
	return ents;
fail:
	free_list(ents, n);
	closedir(d);
	return NULL;
}

/* The entries of two directories, for twothreads(). */
struct split {
	struct walk *w[2];
	int fa, fb;
	struct ent *ea, *eb;
};

static unsigned char
both_type(const struct ent *ea, const struct ent *eb, size_t i)
{
	return ea[i].type == eb[i].type ? ea[i].type : DT_UNKNOWN;
}

/* 0 same, 2 different, -1 error: twothreads() goes on only after 0. */
static int
cmp_item(void *arg, size_t i, int t)
{
	struct split *j = arg;
	int r = cmp_entry(j->w[t], j->fa, j->ea[i].name, j->fb,
	    j->eb[i].name, both_type(j->ea, j->eb, i));

	return r == 1 ? 0 : r == 0 ? 2 : -1;
}

/*
 * The first directory with two or more subdirectories is compared by
 * two threads (twothreads.c), entry by entry; the result is the one of
 * the first entry, in sorted order, that differs or fails, as in order.
 */
static int
cmp_split(struct walk *w, int fa, struct ent *ea, int fb, struct ent *eb,
    size_t n)
{
	struct walk other = { NULL, NULL, false };
	struct split j = { { w, &other }, fa, fb, ea, eb };
	int r;

	w->split = false;
	r = twothreads(n, cmp_item, &j, true);
	free(other.bufa);
	free(other.bufb);
	return r == 0 ? 1 : r == 2 ? 0 : -1;
}

static int
cmp_dirs(struct walk *w, int adir, const char *a, int bdir, const char *b)
{
	DIR *da = NULL, *db = NULL;
	struct ent *ea, *eb = NULL;
	size_t ca = 0, cb = 0, i, ndirs = 0;
	int r = -1;

	ea = list_dir(adir, a, &da, &ca);
	if (ea != NULL)
		eb = list_dir(bdir, b, &db, &cb);
	if (ea == NULL || eb == NULL)
		goto out;
	r = ca == cb;
	for (i = 0; r == 1 && i < ca; i++) {
		r = strcmp(ea[i].name, eb[i].name) == 0;
		ndirs += ea[i].type == DT_DIR;
	}
	if (r == 1 && w->split && ndirs >= 2)
		r = cmp_split(w, dirfd(da), ea, dirfd(db), eb, ca);
	else
		for (i = 0; r == 1 && i < ca; i++)
			r = cmp_entry(w, dirfd(da), ea[i].name, dirfd(db),
			    eb[i].name, both_type(ea, eb, i));
out:
	if (ea != NULL) {
		free_list(ea, ca);
		closedir(da);
	}
	if (eb != NULL) {
		free_list(eb, cb);
		closedir(db);
	}
	return r;
}

/* hint: the d_type both readdir entries agree on, else DT_UNKNOWN. */
static int
cmp_entry(struct walk *w, int adir, const char *a, int bdir, const char *b,
    unsigned char hint)
{
	struct stat sa, sb;

	if (hint == DT_REG) {
		int r = cmp_regular(w, adir, a, bdir, b);

		if (r != 2)
			return r;
	}
	if (fstatat(adir, a, &sa, AT_SYMLINK_NOFOLLOW) == -1 ||
	    fstatat(bdir, b, &sb, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT) ||
	    (sa.st_mode & 07777) != (sb.st_mode & 07777))
		return 0;
	switch (sa.st_mode & S_IFMT) {
	case S_IFREG:
		if (sa.st_size != sb.st_size)
			return 0;
		if (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino)
			return 1;	/* the same file, hard-linked */
		return cmp_files(w, adir, a, bdir, b, sa.st_size);
	case S_IFLNK:
		if (sa.st_size != sb.st_size)
			return 0;
		return cmp_links(adir, a, bdir, b);
	case S_IFDIR:
		return cmp_dirs(w, adir, a, bdir, b);
	case S_IFCHR:
	case S_IFBLK:
		return sa.st_rdev == sb.st_rdev;
	default:
		return 1;	/* FIFOs and sockets: the type is all there is */
	}
}

int
treecmp_at(int adir, const char *a, int bdir, const char *b)
{
	struct walk w = { NULL, NULL, true };
	int r = cmp_entry(&w, adir, a, bdir, b, DT_UNKNOWN);

	free(w.bufa);
	free(w.bufb);
	return r;
}
