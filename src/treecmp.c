/*
 * Tree comparison for --if-changed.  What make cares about is content,
 * so times are ignored; what a build output's users care about includes
 * the exec bit, which diff -r misses.  Stops at the first difference and
 * reads a file only when type, mode and size already agree, so a
 * changed tree usually costs a few stats.
 *
 * Both trees are walked in step, one directory of each open whatever
 * the depth (a build can nest directories deeper than the descriptors a
 * process may have): going down closes the parents, and coming back
 * opens ".." and checks by device and inode that it is the directory
 * left, as rmtree.c does.  Each directory is read once and its sorted
 * entries kept until the walk comes back up, so coming back costs an
 * open and an fstat of ".." in each tree, never a second read.
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

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* cmp_entry's answer for two directories of the same mode: go down. */
#define DOWN 3

/* A directory entry: the name and readdir's d_type (may be DT_UNKNOWN). */
struct ent {
	char *name;
	unsigned char type;
};

/* An open directory, and the stream it was read through (or NULL). */
struct side {
	int fd;
	DIR *d;
};

/* The directories of the two trees at one depth of a walk. */
struct level {
	struct ent *e[2];	/* sorted entries; the same names in both */
	size_t cnt[2];		/* how many in each */
	size_t next;		/* the next one to compare */
	size_t ndirs;		/* DT_DIR entries in the first tree */
	dev_t dev[2];
	ino_t ino[2];
	bool shared;		/* e[] belong to another walk (cmp_split) */
};

/*
 * One thread's walk: the levels from its top down to the directories
 * open in s[], its read buffers, and whether it may still split.
 */
struct walk {
	struct level *lv;
	size_t depth, cap;
	struct side s[2];
	char *bufa, *bufb;
	bool split;
};

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
 * Sorted entries of the directory open as fd, taken over (readdir order
 * differs between copies).  The stream is left open in *s for dirfd()
 * in the *at() calls: fdopendir, and closing once, saves a dup, a rewind
 * and a close.  *ndirs: how many entries readdir says are directories.
 */
static struct ent *
list_dir(int fd, struct side *s, size_t *count, size_t *ndirs)
{
	DIR *d;
	struct dirent *de;
	struct ent *ents = NULL;
	size_t n = 0, cap = 0, nd = 0;

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
		ents[n].type = de->d_type;
		nd += ents[n++].type == DT_DIR;
	}
	if (n > 0)
		qsort(ents, n, sizeof(*ents), by_name);
	if (ents == NULL && (ents = calloc(1, sizeof(*ents))) == NULL)
		goto fail;
	*count = n;
	*ndirs = nd;
	s->fd = dirfd(d);
	s->d = d;
	return ents;
fail:
	free_list(ents, n);
	closedir(d);
	return NULL;
}

static void
side_close(struct side *s)
{
	if (s->d != NULL)
		closedir(s->d);
	else if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
	s->d = NULL;
}

static void
level_free(struct level *l)
{
	int t;

	for (t = 0; t < 2; t++) {
		if (l->e[t] != NULL && !l->shared)
			free_list(l->e[t], l->cnt[t]);
		l->e[t] = NULL;
	}
}

/* Closes what the walk holds, wherever it stopped; errno is kept. */
static void
walk_free(struct walk *w)
{
	int e = errno;

	side_close(&w->s[0]);
	side_close(&w->s[1]);
	if (w->lv != NULL) {
		while (w->depth > 0)
			level_free(&w->lv[w->depth--]);
		level_free(&w->lv[0]);
	}
	free(w->lv);
	free(w->bufa);
	free(w->bufb);
	errno = e;
}

/*
 * Opens and reads pa/a and pb/b, which fstatat found to be directories
 * of the same mode, into *c and s[].  1 if they hold the same names,
 * 0 if not (or they were replaced since), -1 with errno.  Anything but
 * 1 leaves nothing open or allocated.
 */
static int
open_level(struct level *c, struct side s[2], int pa, const char *a,
    int pb, const char *b)
{
	const char *name[2] = { a, b };
	int parent[2] = { pa, pb };
	struct stat st[2];
	size_t i, nd;
	int t, fd, r = 1;

	memset(c, 0, sizeof(*c));
	memset(st, 0, sizeof(st));	/* (cppcheck cannot tell r == 1
					   means both were filled) */
	for (t = 0; t < 2 && r == 1; t++) {
		if ((fd = openat(parent[t], name[t], DIR_FLAGS)) == -1)
			r = -1;
		else if (fstat(fd, &st[t]) == -1) {
			close(fd);
			r = -1;
		} else if ((c->e[t] = list_dir(fd, &s[t], &c->cnt[t],
		    &nd)) == NULL)
			r = -1;
		else {
			c->dev[t] = st[t].st_dev;
			c->ino[t] = st[t].st_ino;
			if (t == 0)
				c->ndirs = nd;
		}
	}
	if (r == 1 && ((st[0].st_mode & 07777) != (st[1].st_mode & 07777) ||
	    c->cnt[0] != c->cnt[1]))
		r = 0;
	for (i = 0; r == 1 && i < c->cnt[0]; i++)
		r = strcmp(c->e[0][i].name, c->e[1][i].name) == 0;
	if (r != 1) {
		level_free(c);
		side_close(&s[0]);
		side_close(&s[1]);
	}
	return r;
}

/*
 * hint: the d_type both readdir entries agree on, else DT_UNKNOWN.
 * DOWN for two directories of the same mode: the caller walks them.
 */
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
		return DOWN;
	case S_IFCHR:
	case S_IFBLK:
		return sa.st_rdev == sb.st_rdev;
	default:
		return 1;	/* FIFOs and sockets: the type is all there is */
	}
}

static unsigned char
both_type(const struct level *l, size_t i)
{
	return l->e[0][i].type == l->e[1][i].type ? l->e[0][i].type :
	    DT_UNKNOWN;
}

/* The bottom level's entry i, in both trees. */
static int
cmp_at(struct walk *w, size_t i)
{
	struct level *l = &w->lv[w->depth];

	return cmp_entry(w, w->s[0].fd, l->e[0][i].name, w->s[1].fd,
	    l->e[1][i].name, both_type(l, i));
}

/*
 * Goes down into the bottom level's entry i, two directories.  The
 * parents are closed only once both children are open and read: four
 * descriptors at most, as when two files are compared.
 */
static int
down(struct walk *w, size_t i)
{
	struct side s[2] = { { -1, NULL }, { -1, NULL } };
	struct level *l;
	int r;

	if (w->depth + 1 == w->cap) {
		struct level *more = reallocarray(w->lv, w->cap * 2,
		    sizeof(*more));

		if (more == NULL)
			return -1;
		w->lv = more;
		w->cap *= 2;
	}
	l = &w->lv[w->depth];
	r = open_level(l + 1, s, w->s[0].fd, l->e[0][i].name, w->s[1].fd,
	    l->e[1][i].name);
	if (r != 1)
		return r;
	side_close(&w->s[0]);
	side_close(&w->s[1]);
	w->s[0] = s[0];
	w->s[1] = s[1];
	w->depth++;
	return 1;
}

/*
 * Back up to the parent level through "..", which must be the directory
 * we came down from in each tree, else the tree was moved under us:
 * ESTALE, and the walk stops (what was compared may no longer be where
 * it is published from).
 */
static int
up(struct walk *w)
{
	struct level *l = &w->lv[w->depth - 1];
	struct stat st;
	int t, fd;

	for (t = 0; t < 2; t++) {
		fd = openat(w->s[t].fd, "..", O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
		if (fd == -1)
			return -1;
		if (fstat(fd, &st) == -1) {
			close(fd);
			return -1;
		}
		if (st.st_dev != l->dev[t] || st.st_ino != l->ino[t]) {
			close(fd);
			errno = ESTALE;
			return -1;
		}
		side_close(&w->s[t]);
		w->s[t].fd = fd;
	}
	level_free(&w->lv[w->depth--]);
	return 1;
}

static int run(struct walk *w, size_t base);

/* The two walks of a split directory, for twothreads(). */
struct split {
	struct walk *w[2];
	size_t base[2];		/* the depth of the shared level in each */
};

/* 0 same, 2 different, -1 error: twothreads() goes on only after 0. */
static int
cmp_item(void *arg, size_t i, int t)
{
	struct split *j = arg;
	struct walk *w = j->w[t];
	int r;

	/* Two directories: down, all of them, and back to the shared level. */
	if ((r = cmp_at(w, i)) == DOWN && (r = down(w, i)) == 1 &&
	    (r = run(w, w->depth)) == 1)
		r = up(w);
	return r == 1 ? 0 : r == 0 ? 2 : -1;
}

/*
 * The first directory with two or more subdirectories is compared by
 * two threads (twothreads.c), entry by entry, each walking down from its
 * own descriptors of the directory (eight descriptors at most, four
 * each); the result is the one of the first entry, in sorted order,
 * that differs or fails, as in order.  Without the second thread's
 * descriptors the level is left to compare in order.
 */
static int
cmp_split(struct walk *w)
{
	struct level *l = &w->lv[w->depth];
	struct walk other = { NULL, 0, 8, { { -1, NULL }, { -1, NULL } },
	    NULL, NULL, false };
	struct split j = { { w, &other }, { w->depth, 0 } };
	int r;

	w->split = false;
	if ((other.lv = calloc(other.cap, sizeof(*other.lv))) == NULL ||
	    (other.s[0].fd = fcntl(w->s[0].fd, F_DUPFD_CLOEXEC, 0)) == -1 ||
	    (other.s[1].fd = fcntl(w->s[1].fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		walk_free(&other);
		return 1;
	}
	other.lv[0] = *l;
	other.lv[0].shared = true;
	r = twothreads(l->cnt[0], cmp_item, &j, true);
	walk_free(&other);
	if (r != 0)
		return r == 2 ? 0 : -1;
	/* Back at the shared level, which down() may have moved. */
	w->lv[w->depth].next = w->lv[w->depth].cnt[0];
	return 1;
}

/*
 * Compares what is left of the walk's bottom level and everything below
 * it, until the level at depth base is done.  1 same, 0 different, -1
 * error with errno; but for 1 the walk is left where it stopped.
 */
static int
run(struct walk *w, size_t base)
{
	for (;;) {
		struct level *l = &w->lv[w->depth];
		int r;

		if (w->split && l->next == 0 && l->ndirs >= 2) {
			if ((r = cmp_split(w)) != 1)
				return r;
			continue;	/* down() may have moved l */
		}
		if (l->next < l->cnt[0]) {
			size_t i = l->next++;

			if ((r = cmp_at(w, i)) == DOWN)
				r = down(w, i);
			if (r != 1)
				return r;
			continue;
		}
		if (w->depth == base)
			return 1;
		if (up(w) == -1)
			return -1;
	}
}

int
treecmp_at(int adir, const char *a, int bdir, const char *b)
{
	struct walk w = { NULL, 0, 8, { { -1, NULL }, { -1, NULL } },
	    NULL, NULL, true };
	int r = cmp_entry(&w, adir, a, bdir, b, DT_UNKNOWN);

	if (r == DOWN) {
		if ((w.lv = calloc(w.cap, sizeof(*w.lv))) == NULL)
			r = -1;
		else if ((r = open_level(&w.lv[0], w.s, adir, a, bdir,
		    b)) == 1)
			r = run(&w, 0);
	}
	walk_free(&w);
	return r;
}
