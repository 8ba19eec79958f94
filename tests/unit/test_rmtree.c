/*
 * Unit tests for rmtree (src/rmtree.c) where a real run cannot time it:
 * openat() is wrapped (-Wl,--wrap) so that a name can be swapped for a
 * symlink at the worst moment, right after the walk found a directory
 * it cannot read, and so that the descriptors a walk holds are counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "rmtree.h"

int __real_openat64(int, const char *, int, ...);
int __wrap_openat64(int, const char *, int, ...);

static _Atomic int max_fd;	/* the highest descriptor openat returned */
static const char *swap_name;	/* swap this name with swap_with ... */
static int swap_dir = -1;	/* ... in this directory ... */
static const char *swap_with;	/* ... on its first read-open */

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
	if (swap_name != NULL && strcmp(name, swap_name) == 0 &&
	    !(flags & O_PATH)) {
		/* As if another user exchanged them (RENAME_EXCHANGE) just
		 * as the directory turned out unreadable. */
		if (renameat2(dirfd, swap_name, swap_dir, swap_with,
		    RENAME_EXCHANGE) == -1)
			fail_msg("renameat2: %s", strerror(errno));
		swap_name = NULL;
		errno = EACCES;
		return -1;
	}
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
	strlcpy(top, "/tmp/test_rmtree.XXXXXX", sizeof(top));
	if (mkdtemp(top) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[200];

	(void)state;
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx %s; rm -rf %s", top, top);
	return system(cmd) == 0 ? 0 : -1;
}

/* An unreadable directory swapped for a link to a file of ours: the
 * file's mode must stay as it was. */
static void
chmod_does_not_follow_a_swapped_name(void **state)
{
	char p[128];
	struct stat st;
	int topfd, fd;

	(void)state;
	snprintf(p, sizeof(p), "%s/victim", top);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd != -1);
	close(fd);
	assert_int_equal(chmod(p, 0644), 0);
	snprintf(p, sizeof(p), "%s/tree", top);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/tree/d", top);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/spare", top);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/spare/l", top);
	assert_int_equal(symlink("../victim", p), 0);

	topfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(topfd != -1);
	swap_dir = openat(topfd, "spare", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(swap_dir != -1);
	swap_name = "d";
	swap_with = "l";
	(void)rmtree_at(topfd, "tree");
	assert_null(swap_name);		/* the swap did happen */
	close(swap_dir);
	close(topfd);

	snprintf(p, sizeof(p), "%s/victim", top);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
}

/*
 * A chain 100 directories deep, a file in each, two subdirectories at
 * depth 50 (where the second thread joins in): removed with at most a
 * handful of descriptors, under a limit far below the depth.
 */
static void
deep_tree_bounded_descriptors(void **state)
{
	char p[4096];
	struct rlimit old, rl;
	size_t len;
	int i, topfd, base, fd;

	(void)state;
	len = (size_t)snprintf(p, sizeof(p), "%s/deep", top);
	assert_int_equal(mkdir(p, 0700), 0);
	for (i = 0; i < 100; i++) {
		if (i == 50) {
			strlcat(p, "/side", sizeof(p));
			assert_int_equal(mkdir(p, 0700), 0);
			strlcat(p, "/f", sizeof(p));
			fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
			assert_true(fd != -1);
			close(fd);
			p[strlen(p) - strlen("/side/f")] = '\0';
		}
		len += (size_t)snprintf(p + len, sizeof(p) - len, "/d");
		assert_int_equal(mkdir(p, i == 70 ? 0 : 0700), 0);
		strlcat(p, "/f", sizeof(p));
		if (i != 70) {
			fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
			assert_true(fd != -1);
			close(fd);
		}
		p[len] = '\0';
	}
	topfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(topfd != -1);
	base = dup(0);	/* the lowest free descriptor */
	close(base);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	rl = old;
	rl.rlim_cur = (rlim_t)base + 6;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	max_fd = 0;
	i = rmtree_at(topfd, "deep");
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(i, 0);
	print_message("# descriptors used at depth 100: %d\n",
	    max_fd - base + 1);
	assert_true(faccessat(topfd, "deep", F_OK, AT_SYMLINK_NOFOLLOW) == -1);
	close(topfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    chmod_does_not_follow_a_swapped_name, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    deep_tree_bounded_descriptors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
