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
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirent_at.h"
#include "treecmp.h"

#define CHUNK (256 * 1024)

static int cmp_entry(int adir, const char *a, int bdir, const char *b);

static int
cmp_files(int adir, const char *a, int bdir, const char *b, off_t size)
{
	static char *bufa, *bufb;
	int fa, fb, r = 1;
	off_t done = 0;

	if (bufa == NULL) {
		bufa = malloc(CHUNK);
		bufb = malloc(CHUNK);
		if (bufa == NULL || bufb == NULL)
			return -1;
	}
	fa = openat(adir, a, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fa == -1)
		return -1;
	fb = openat(bdir, b, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fb == -1) {
		close(fa);
		return -1;
	}
#ifdef POSIX_FADV_SEQUENTIAL
	/* Worth a system call only where read-ahead has room to help. */
	if (size > CHUNK) {
		posix_fadvise(fa, 0, 0, POSIX_FADV_SEQUENTIAL);
		posix_fadvise(fb, 0, 0, POSIX_FADV_SEQUENTIAL);
	}
#endif
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
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Sorted entry names of the directory open as fd (readdir order differs). */
static char **
list_dir(int fd, size_t *count)
{
	DIR *d = opendir_dup(fd);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (is_dot_entry(de->d_name))
			continue;
		if (n == cap) {
			char **more;

			cap = cap ? cap * 2 : 64;
			more = reallocarray(names, cap, sizeof(*names));
			if (more == NULL)
				goto fail;
			names = more;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			goto fail;
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), by_name);
	*count = n;
	if (names == NULL)
		names = calloc(1, sizeof(*names));
	return names;
fail:
	while (n > 0)
		free(names[--n]);
	free(names);
	closedir(d);
	return NULL;
}

static void
free_list(char **names, size_t n)
{
	while (n > 0)
		free(names[--n]);
	free(names);
}

static int
cmp_dirs(int adir, const char *a, int bdir, const char *b)
{
	int fa, fb, r = -1;
	char **na = NULL, **nb = NULL;
	size_t ca = 0, cb = 0, i;

	fa = openat(adir, a, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fa == -1)
		return -1;
	fb = openat(bdir, b, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fb == -1)
		goto out;
	na = list_dir(fa, &ca);
	nb = list_dir(fb, &cb);
	if (na == NULL || nb == NULL)
		goto out;
	r = ca == cb;
	for (i = 0; r == 1 && i < ca; i++)
		r = strcmp(na[i], nb[i]) == 0;
	for (i = 0; r == 1 && i < ca; i++)
		r = cmp_entry(fa, na[i], fb, nb[i]);
out:
	if (na != NULL)
		free_list(na, ca);
	if (nb != NULL)
		free_list(nb, cb);
	if (fb != -1)
		close(fb);
	close(fa);
	return r;
}

static int
cmp_entry(int adir, const char *a, int bdir, const char *b)
{
	struct stat sa, sb;

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
		return cmp_files(adir, a, bdir, b, sa.st_size);
	case S_IFLNK:
		if (sa.st_size != sb.st_size)
			return 0;
		return cmp_links(adir, a, bdir, b);
	case S_IFDIR:
		return cmp_dirs(adir, a, bdir, b);
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
	return cmp_entry(adir, a, bdir, b);
}
