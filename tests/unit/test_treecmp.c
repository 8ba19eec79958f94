/*
 * Unit tests for treecmp (src/treecmp.c) where a real run cannot count
 * or time it: openat() is wrapped (-Wl,--wrap) so that the descriptors
 * a walk holds are counted, and so that a directory can be moved away
 * at the moment the walk comes back up through "..".
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "treecmp.h"

int __real_openat64(int, const char *, int, ...);
int __wrap_openat64(int, const char *, int, ...);

static _Atomic int max_fd;	/* the highest descriptor openat returned */
static const char *_Atomic move_from;	/* rename this (absolute) path ... */
static const char *move_to;	/* ... to this one at the first ".." */

int
__wrap_openat64(int dirfd, const char *name, int flags, ...)
{
	const char *from;
	mode_t mode = 0;
	va_list ap;
	int fd;

	if (flags & O_CREAT) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	/* As if someone moved a directory while it was compared; once,
	 * though both threads of the walk come here. */
	if (strcmp(name, "..") == 0 &&
	    (from = atomic_exchange(&move_from, NULL)) != NULL &&
	    rename(from, move_to) == -1)
		fail_msg("rename: %s", strerror(errno));
	fd = __real_openat64(dirfd, name, flags, mode);
	if (fd > max_fd)
		max_fd = fd;
	return fd;
}

static char top[64];

static int
setup(void **state)
{
	(void)state;
	strlcpy(top, "/tmp/test_treecmp.XXXXXX", sizeof(top));
	if (mkdtemp(top) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[200];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	return system(cmd) == 0 ? 0 : -1;
}

static void
put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

/*
 * top/name: a chain of depth directories, a file in each; two more
 * subdirectories with a file at depth/2 (where the second thread joins
 * in).  The deepest file is written text.
 */
static void
make_deep(const char *name, int depth, const char *text)
{
	char p[4096], q[4200];
	size_t len;
	int i;

	len = (size_t)snprintf(p, sizeof(p), "%s/%s", top, name);
	assert_int_equal(mkdir(p, 0755), 0);
	for (i = 0; i < depth; i++) {
		if (i == depth / 2) {
			snprintf(q, sizeof(q), "%s/side", p);
			assert_int_equal(mkdir(q, 0755), 0);
			snprintf(q, sizeof(q), "%s/side/f", p);
			put(q, "side");
			snprintf(q, sizeof(q), "%s/t", p);
			assert_int_equal(mkdir(q, 0755), 0);
			snprintf(q, sizeof(q), "%s/t/f", p);
			put(q, "t");
		}
		len += (size_t)snprintf(p + len, sizeof(p) - len, "/d");
		assert_int_equal(mkdir(p, 0755), 0);
		snprintf(q, sizeof(q), "%s/f", p);
		put(q, i == depth - 1 ? text : "f");
	}
}

/* How many descriptors below n are free (inherited ones may leave holes). */
static int
free_below(int n)
{
	int fd, k = 0;

	for (fd = 0; fd < n; fd++)
		k += fcntl(fd, F_GETFD) == -1 && errno == EBADF;
	return k;
}

/* treecmp_at of top/a and top/b under a limit that leaves it `limit`
 * free descriptors; *used: how many of them it used. */
static int
cmp_limited(const char *a, const char *b, int limit, int *used)
{
	struct rlimit old, rl;
	int topfd, end, r, e;

	topfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(topfd != -1);
	for (end = 0; free_below(end) < limit; end++)
		continue;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	rl = old;
	rl.rlim_cur = (rlim_t)end;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	max_fd = -1;
	r = treecmp_at(topfd, a, topfd, b);
	e = errno;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	*used = free_below(max_fd + 1);
	close(topfd);
	errno = e;
	return r;
}

/*
 * Two copies of a 100-deep tree compare with at most eight descriptors
 * (four for each thread's walk), under a limit far below the depth:
 * the same, and different by one byte in the deepest file.
 */
static void
deep_tree_bounded_descriptors(void **state)
{
	int used;

	(void)state;
	make_deep("a", 100, "deep");
	make_deep("b", 100, "deep");
	make_deep("c", 100, "DEEP");
	assert_int_equal(cmp_limited("a", "b", 8, &used), 1);
	print_message("# descriptors used at depth 100: %d\n", used);
	assert_true(used <= 8);
	assert_int_equal(cmp_limited("a", "c", 8, &used), 0);
	assert_true(used <= 8);
}

/* top/tree followed by n "/d" and then tail. */
static void
deep_path(char *p, size_t size, const char *tree, int n, const char *tail)
{
	size_t len = (size_t)snprintf(p, size, "%s/%s", top, tree);

	while (n-- > 0)
		len += (size_t)snprintf(p + len, size - len, "/d");
	snprintf(p + len, size - len, "%s", tail);
}

/*
 * 30-deep trees (split at depth 15) that differ in a directory's mode,
 * a name in the second thread's share, a symlink target, or not at all.
 */
static void
deep_tree_differences(void **state)
{
	char p[4096], q[4096];
	int used;

	(void)state;
	make_deep("a", 30, "x");
	make_deep("b", 30, "x");
	assert_int_equal(cmp_limited("a", "b", 8, &used), 1);
	deep_path(p, sizeof(p), "b", 17, "");
	assert_int_equal(chmod(p, 0700), 0);
	assert_int_equal(cmp_limited("a", "b", 8, &used), 0);
	assert_int_equal(chmod(p, 0755), 0);
	deep_path(p, sizeof(p), "b", 15, "/t/extra");
	put(p, "");
	assert_int_equal(cmp_limited("a", "b", 8, &used), 0);
	assert_int_equal(unlink(p), 0);
	deep_path(p, sizeof(p), "a", 20, "/l");
	deep_path(q, sizeof(q), "b", 20, "/l");
	assert_int_equal(symlink("one", p), 0);
	assert_int_equal(symlink("two", q), 0);
	assert_int_equal(cmp_limited("a", "b", 8, &used), 0);
	assert_int_equal(unlink(q), 0);
	assert_int_equal(symlink("one", q), 0);
	assert_int_equal(cmp_limited("a", "b", 8, &used), 1);
	assert_true(used <= 8);
}

/* A directory moved away while the walk is below it: the walk cannot
 * come back the way it went, and says so (ESTALE). */
static void
moved_directory_is_stale(void **state)
{
	char from[128], to[128];
	int used;

	(void)state;
	make_deep("a", 5, "x");
	make_deep("b", 5, "x");
	snprintf(from, sizeof(from), "%s/a/d/d", top);
	snprintf(to, sizeof(to), "%s/moved", top);
	move_from = from;
	move_to = to;
	assert_int_equal(cmp_limited("a", "b", 8, &used), -1);
	assert_int_equal(errno, ESTALE);
	assert_null(move_from);		/* the move did happen */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    deep_tree_bounded_descriptors, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    deep_tree_differences, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    moved_directory_is_stale, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
