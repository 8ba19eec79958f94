/*
 * Unit test for the flush that publishing falls back on where syncfs is
 * missing (fsync_tree in src/stage.c), which Linux never reaches:
 * syncfs() is wrapped (-Wl,--wrap) to fail with ENOSYS, fsync() to note
 * what it flushes, and openat() to count the descriptors held.
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

#include "stage.h"

#define DEPTH 100
#define MAX_FLUSHED 1000

int __real_openat64(int, const char *, int, ...);
int __wrap_openat64(int, const char *, int, ...);
int __real_fsync(int);
int __wrap_fsync(int);
int __wrap_syncfs(int);

static _Atomic int max_fd;	/* the highest descriptor openat returned */
static ino_t flushed[MAX_FLUSHED];	/* what fsync was called on */
static size_t nflushed;

int
__wrap_openat64(int dirfd, const char *name, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;
	int fd;

	if (flags & O_CREAT) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	fd = __real_openat64(dirfd, name, flags, mode);
	if (fd > max_fd)
		max_fd = fd;
	return fd;
}

int
__wrap_fsync(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && nflushed < MAX_FLUSHED)
		flushed[nflushed++] = st.st_ino;
	return __real_fsync(fd);
}

int
__wrap_syncfs(int fd)
{
	(void)fd;
	errno = ENOSYS;
	return -1;
}

static char top[64];

static int
setup(void **state)
{
	(void)state;
	strlcpy(top, "/tmp/test_fsync_tree.XXXXXX", sizeof(top));
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

/* How many descriptors below n are free (inherited ones may leave holes). */
static int
free_below(int n)
{
	int fd, k = 0;

	for (fd = 0; fd < n; fd++)
		k += fcntl(fd, F_GETFD) == -1 && errno == EBADF;
	return k;
}

static bool
was_flushed(const char *path)
{
	struct stat st;
	size_t i;

	assert_int_equal(lstat(path, &st), 0);
	for (i = 0; i < nflushed; i++)
		if (flushed[i] == st.st_ino)
			return true;
	return false;
}

/*
 * A 100-deep staged tree, a file in each directory, is flushed file by
 * file and directory by directory, with the eight descriptors that
 * publishing sets aside and no more.
 */
static void
deep_tree_flushed_with_bounded_descriptors(void **state)
{
	char dest[128], p[4096], q[4200];
	struct rlimit old, rl;
	struct stage s;
	bool published;
	size_t len;
	int i, fd, end, r;

	(void)state;
	snprintf(dest, sizeof(dest), "%s/dest", top);
	assert_int_equal(stage_init(&s, dest, false), DEST_OK);
	assert_int_equal(stage_create(&s), 0);
	len = strlcpy(p, s.path, sizeof(p));
	for (i = 0; i < DEPTH; i++) {
		len += (size_t)snprintf(p + len, sizeof(p) - len, "/d");
		assert_int_equal(mkdir(p, 0755), 0);
		snprintf(q, sizeof(q), "%s/f", p);
		fd = open(q, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		assert_true(fd != -1);
		assert_int_equal(close(fd), 0);
	}
	stage_release(&s);
	for (end = 0; free_below(end) < STAGE_RESERVE; end++)
		continue;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	rl = old;
	rl.rlim_cur = (rlim_t)end;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	max_fd = -1;
	nflushed = 0;
	r = stage_publish(&s, false, false, &published);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(r, 0);
	assert_true(published);
	print_message("# descriptors used at depth %d: %d\n", DEPTH,
	    free_below(max_fd + 1));
	len = strlcpy(p, dest, sizeof(p));
	assert_true(was_flushed(p));
	for (i = 0; i < DEPTH; i++) {
		len += (size_t)snprintf(p + len, sizeof(p) - len, "/d");
		assert_true(was_flushed(p));
		snprintf(q, sizeof(q), "%s/f", p);
		assert_true(was_flushed(q));
	}
	assert_int_equal(stage_remove(&s), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    deep_tree_flushed_with_bounded_descriptors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
