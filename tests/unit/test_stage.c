/*
 * Unit tests for dest_contains (src/stage.c), which keeps LOCKDIR out
 * of DEST (publishing replaces DEST, and the lock with it): DEST itself
 * and paths below it, written with "..", ".", a symbolic link or a
 * relative path, and with tails that do not exist yet.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "stage.h"

static char top[PATH_MAX];

/* A temporary tree: real/out (DEST), real/alias -> out, link -> real. */
static int
setup(void **state)
{
	char p[PATH_MAX + 32];

	(void)state;
	snprintf(top, sizeof(top), "%s/lockbuild-test.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(top) == NULL)
		return -1;
	snprintf(p, sizeof(p), "%s/real", top);
	if (mkdir(p, 0700) == -1)
		return -1;
	snprintf(p, sizeof(p), "%s/real/out", top);
	if (mkdir(p, 0700) == -1)
		return -1;
	snprintf(p, sizeof(p), "%s/real/alias", top);
	if (symlink("out", p) == -1)
		return -1;
	snprintf(p, sizeof(p), "%s/link", top);
	return symlink("real", p);
}

static int
teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

/* dest_contains for DEST top/dest and path top/path. */
static bool
contains(const char *dest, const char *path)
{
	struct stage s;
	char d[PATH_MAX + 64], p[PATH_MAX + 64];
	bool r;

	memset(&s, 0, sizeof(s));
	s.parentfd = s.containerfd = -1;
	snprintf(d, sizeof(d), "%s/%s", top, dest);
	snprintf(p, sizeof(p), "%s/%s", top, path);
	assert_int_equal(stage_init(&s, d, false), DEST_OK);
	r = dest_contains(&s, p);
	close(s.parentfd);
	return r;
}

static void
test_plain(void **state)
{
	(void)state;
	assert_true(contains("real/out", "real/out"));
	assert_true(contains("real/out", "real/out/locks"));
	assert_true(contains("real/out", "real/out/"));
	assert_false(contains("real/out", "real"));
	assert_false(contains("real/out", "real/outside"));
	assert_false(contains("real/out", "real/ou"));
	assert_false(contains("real/out", "other/out"));
}

/* Tails that do not exist: judged by their spelling. */
static void
test_nonexistent_tail(void **state)
{
	(void)state;
	assert_true(contains("real/out", "real/out/a/b/c/locks"));
	assert_false(contains("real/out", "real/none/a/b"));
	/* DEST itself need not exist yet. */
	assert_true(contains("real/new", "real/new/locks"));
	assert_false(contains("real/new", "real/newer/locks"));
}

static void
test_dotdot(void **state)
{
	(void)state;
	assert_true(contains("real/out", "real/other/../out/locks"));
	assert_true(contains("real/out", "real/out/a/.."));
	assert_true(contains("real/out", "real/./out/./locks"));
	assert_false(contains("real/out", "real/out/.."));
	assert_false(contains("real/out", "real/out/../locks"));
	assert_false(contains("real/out", "real/out/a/../../locks"));
}

/* A symbolic link in either path: where it leads counts. */
static void
test_symlinks(void **state)
{
	(void)state;
	assert_true(contains("real/out", "link/out/locks"));
	assert_true(contains("real/out", "real/alias/locks"));
	assert_true(contains("real/out", "link/alias/new/locks"));
	assert_true(contains("link/out", "real/out/locks"));
	assert_false(contains("real/out", "link/locks"));
	assert_false(contains("link/out", "real/locks"));
}

/* A relative LOCKDIR is taken from the working directory. */
static void
test_relative(void **state)
{
	struct stage s;
	char d[PATH_MAX + 16], cwd[PATH_MAX];

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	memset(&s, 0, sizeof(s));
	s.parentfd = s.containerfd = -1;
	snprintf(d, sizeof(d), "%s/real/out", top);
	assert_int_equal(stage_init(&s, d, false), DEST_OK);
	assert_int_equal(chdir(top), 0);
	assert_true(dest_contains(&s, "real/out/locks"));
	assert_true(dest_contains(&s, "./link/out"));
	assert_false(dest_contains(&s, "real"));
	assert_int_equal(chdir(d), 0);
	assert_true(dest_contains(&s, "."));
	assert_true(dest_contains(&s, "locks"));
	assert_false(dest_contains(&s, ".."));
	assert_int_equal(chdir(cwd), 0);
	close(s.parentfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_nonexistent_tail),
		cmocka_unit_test(test_dotdot),
		cmocka_unit_test(test_symlinks),
		cmocka_unit_test(test_relative),
	};

	return cmocka_run_group_tests_name("publish", tests, setup, teardown);
}
