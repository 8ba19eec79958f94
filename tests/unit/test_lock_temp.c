/*
 * Unit tests for lock_sweep_temp (src/lock.c): the temporary name of a
 * lock file whose maker died before naming it is removed by --clean
 * only when it is one of ours, old, alone and unlocked; anything else
 * that looks like one, or nearly, stays.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lock.h"

#define AGE 3600

static char dir[] = "/tmp/test_lock_temp.XXXXXX";
static int dirfd = -1;

/* A file named name, last changed age seconds ago. */
static void
make(const char *name, time_t age)
{
	struct timespec t[2];
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL, 0644);

	assert_true(fd != -1);
	assert_int_equal(write(fd, "lockbuild-owner 1\n", 18), 18);
	close(fd);
	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= age;
	t[1] = t[0];
	assert_int_equal(utimensat(dirfd, name, t, 0), 0);
}

static bool
exists(const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int
setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	return dirfd == -1;
}

static int
teardown(void **state)
{
	char cmd[64];

	(void)state;
	close(dirfd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) != 0;
}

static void
test_old_unlocked_is_removed(void **state)
{
	(void)state;
	make(".k.lock.AbCd1234", AGE + 5);
	assert_int_equal(lock_sweep_temp(dirfd, ".k.lock.AbCd1234", AGE), 1);
	assert_false(exists(".k.lock.AbCd1234"));
}

static void
test_recent_stays(void **state)
{
	(void)state;
	/* A maker on another host may be between creating and locking. */
	make(".k.lock.Recent00", 60);
	assert_int_equal(lock_sweep_temp(dirfd, ".k.lock.Recent00", AGE), 0);
	assert_true(exists(".k.lock.Recent00"));
}

static void
test_locked_stays(void **state)
{
	struct flock fl;
	int fd;

	(void)state;
	make(".k.lock.Locked00", AGE + 5);
	fd = openat(dirfd, ".k.lock.Locked00", O_RDWR);
	assert_true(fd != -1);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	/* Another open file description: it conflicts, in this process too. */
	assert_int_equal(fcntl(fd, F_OFD_SETLK, &fl), 0);
	assert_int_equal(lock_sweep_temp(dirfd, ".k.lock.Locked00", AGE), 0);
	assert_true(exists(".k.lock.Locked00"));
	close(fd);
}

static void
test_linked_stays(void **state)
{
	(void)state;
	/* Named already: its maker is between linking and unlinking. */
	make(".k2.lock.Linked00", AGE + 5);
	assert_int_equal(linkat(dirfd, ".k2.lock.Linked00", dirfd, "k2.lock",
	    0), 0);
	assert_int_equal(lock_sweep_temp(dirfd, ".k2.lock.Linked00", AGE), 0);
	assert_true(exists(".k2.lock.Linked00"));
	assert_true(exists("k2.lock"));
}

static void
test_other_names_stay(void **state)
{
	static const char *names[] = {
		"k.lock.AbCd1234",	/* not hidden */
		".k.lock.AbCd123",	/* seven random characters */
		".k.lock.AbCd12345",	/* nine */
		".k.lock.AbCd12-4",	/* not from the alphabet */
		".k.lck.AbCd1234",	/* no lock file's name */
		".yarn.AbCd1234",
		".k.lock",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		make(names[i], AGE + 5);
		assert_int_equal(lock_sweep_temp(dirfd, names[i], AGE), 0);
		assert_true(exists(names[i]));
	}
}

static void
test_not_regular_stays(void **state)
{
	(void)state;
	assert_int_equal(mkdirat(dirfd, ".d.lock.Directo0", 0755), 0);
	assert_int_equal(lock_sweep_temp(dirfd, ".d.lock.Directo0", AGE), 0);
	assert_true(exists(".d.lock.Directo0"));
	assert_int_equal(symlinkat("/etc/passwd", dirfd, ".s.lock.Symlink0"),
	    0);
	assert_int_equal(lock_sweep_temp(dirfd, ".s.lock.Symlink0", AGE), 0);
	assert_true(exists(".s.lock.Symlink0"));
	assert_int_equal(mkfifoat(dirfd, ".f.lock.Fifo0000", 0644), 0);
	assert_int_equal(lock_sweep_temp(dirfd, ".f.lock.Fifo0000", AGE), 0);
	assert_true(exists(".f.lock.Fifo0000"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_old_unlocked_is_removed),
		cmocka_unit_test(test_recent_stays),
		cmocka_unit_test(test_locked_stays),
		cmocka_unit_test(test_linked_stays),
		cmocka_unit_test(test_other_names_stay),
		cmocka_unit_test(test_not_regular_stays),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
