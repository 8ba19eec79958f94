/*
 * Unit tests for publishing a directory where it cannot be exchanged
 * (src/stage.c flip): renameat2() is wrapped to fail as it does on NFS
 * (RENAME_EXCHANGE EINVAL; RENAME_NOREPLACE EINVAL when the target is
 * absent, EEXIST when present), so that on a local tmp dir DEST becomes
 * a link to a version directory, is flipped, converted from a real
 * directory, compared (--if-changed) through its link, and old versions
 * swept; links that lockbuild did not make stay refused.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

int __real_renameat2(int, const char *, int, const char *, unsigned int);

static bool no_exchange = true;
static int exchanges_refused;

/* renameat2 as the Linux NFS client does it, when no_exchange is set. */
int
__wrap_renameat2(int od, const char *on, int nd, const char *nn,
    unsigned int flags)
{
	struct stat st;

	if (no_exchange && (flags & RENAME_EXCHANGE)) {
		exchanges_refused++;
		errno = EINVAL;
		return -1;
	}
	if (no_exchange && (flags & RENAME_NOREPLACE)) {
		errno = fstatat(nd, nn, &st, AT_SYMLINK_NOFOLLOW) == 0 ?
		    EEXIST : EINVAL;
		return -1;
	}
	return __real_renameat2(od, on, nd, nn, flags);
}

static char top[PATH_MAX], dest[PATH_MAX + 32];

static int
setup(void **state)
{
	(void)state;
	snprintf(top, sizeof(top), "%s/lockbuild-test.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(top) == NULL)
		return -1;
	snprintf(dest, sizeof(dest), "%s/out", top);
	no_exchange = true;
	exchanges_refused = 0;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

/* Publishes a tree whose file "data" holds text; grace as given. */
static bool
publish(const char *text, bool if_changed, int grace)
{
	char p[PATH_MAX + 16];
	struct stage s;
	bool published;
	FILE *f;

	assert_int_equal(stage_init(&s, dest, false), DEST_OK);
	s.grace = grace;
	assert_int_equal(stage_create(&s), 0);
	snprintf(p, sizeof(p), "%s/data", s.path);
	assert_non_null(f = fopen(p, "w"));
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(stage_publish(&s, true, if_changed, &published), 0);
	assert_int_equal(stage_remove(&s), 0);
	close(s.parentfd);
	return published;
}

/* What name/data holds, in a static buffer. */
static const char *
read_data(const char *name)
{
	static char buf[64];
	char p[PATH_MAX * 2];
	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "%s/%s/data", top, name);
	if ((f = fopen(p, "r")) == NULL)
		return "(missing)";
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* DEST's link target, in a static buffer ("" if DEST is no link). */
static const char *
target(void)
{
	static char buf[NAME_MAX + 1];
	ssize_t n = readlink(dest, buf, sizeof(buf) - 1);

	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

/* How many entries of top start with prefix. */
static int
count(const char *prefix)
{
	DIR *d = opendir(top);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

static bool
is_version_name(const char *t)
{
	size_t i, plen = strlen(STAGE_VERSION_PREFIX);

	if (strncmp(t, STAGE_VERSION_PREFIX, plen) != 0 ||
	    strlen(t) != plen + STAGE_RAND_LEN + 4)
		return false;
	for (i = 0; i < STAGE_RAND_LEN; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789", t[plen + i]) == NULL)
			return false;
	return strcmp(t + plen + STAGE_RAND_LEN, ".out") == 0;
}

/* The first publication makes DEST a link to a version next to it. */
static void
test_first_makes_link(void **state)
{
	struct stat st;

	(void)state;
	assert_true(publish("1", false, 0));
	assert_int_equal(lstat(dest, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_true(is_version_name(target()));
	assert_string_equal(read_data("out"), "1");
	assert_int_equal(stat(dest, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(count(STAGE_VERSION_PREFIX), 1);
	assert_int_equal(count(STAGE_PREFIX), 0);	/* no container left */
	assert_true(exchanges_refused > 0);		/* it asked */
}

/* Each republication flips the link; the previous version is kept and
 * older ones swept (grace 0), or all kept within the grace time. */
static void
test_republish_flips(void **state)
{
	char v1[NAME_MAX + 1], v2[NAME_MAX + 1];
	struct stat st;

	(void)state;
	publish("1", false, 0);
	strlcpy(v1, target(), sizeof(v1));
	publish("2", false, 0);
	strlcpy(v2, target(), sizeof(v2));
	assert_string_not_equal(v1, v2);
	assert_string_equal(read_data("out"), "2");
	assert_string_equal(read_data(v1), "1");	/* previous, kept */
	publish("3", false, 0);
	assert_string_equal(read_data("out"), "3");
	assert_string_equal(read_data(v2), "2");
	assert_string_equal(read_data(v1), "(missing)");
	assert_int_equal(count(STAGE_VERSION_PREFIX), 2);
	/* Within the grace time, nothing is swept. */
	publish("4", false, 3600);
	publish("5", false, 3600);
	assert_int_equal(count(STAGE_VERSION_PREFIX), 4);
	assert_string_equal(read_data("out"), "5");
	assert_int_equal(lstat(dest, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(count(STAGE_PREFIX), 0);
}

/* A real directory DEST is converted; it becomes the previous version. */
static void
test_convert_real_dir(void **state)
{
	char p[PATH_MAX + 64], old[NAME_MAX + 1] = "";
	struct dirent *de;
	struct stat st;
	FILE *f;
	DIR *d;

	(void)state;
	assert_int_equal(mkdir(dest, 0755), 0);
	snprintf(p, sizeof(p), "%s/data", dest);
	assert_non_null(f = fopen(p, "w"));
	fputs("old", f);
	fclose(f);
	assert_true(publish("new", false, 0));
	assert_int_equal(lstat(dest, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_string_equal(read_data("out"), "new");
	assert_int_equal(count(STAGE_VERSION_PREFIX), 2);
	assert_non_null(d = opendir(top));
	while ((de = readdir(d)) != NULL)
		if (is_version_name(de->d_name) &&
		    strcmp(de->d_name, target()) != 0)
			strlcpy(old, de->d_name, sizeof(old));
	closedir(d);
	assert_string_equal(read_data(old), "old");
	publish("newer", false, 0);
	publish("newest", false, 0);
	assert_string_equal(read_data(old), "(missing)");
	assert_int_equal(count(STAGE_VERSION_PREFIX), 2);
}

/* --if-changed compares with the version DEST leads to. */
static void
test_if_changed(void **state)
{
	char v[NAME_MAX + 1];

	(void)state;
	assert_true(publish("1", true, 0));	/* no DEST yet */
	strlcpy(v, target(), sizeof(v));
	assert_false(publish("1", true, 0));
	assert_string_equal(target(), v);
	assert_int_equal(count(STAGE_VERSION_PREFIX), 1);
	assert_true(publish("2", true, 0));
	assert_string_not_equal(target(), v);
	assert_string_equal(read_data("out"), "2");
}

/* With the exchange, DEST stays a real directory, as before; a DEST
 * that is our link stays a link. */
static void
test_exchange_available(void **state)
{
	struct stat st;

	(void)state;
	no_exchange = false;
	publish("1", false, 0);
	publish("2", false, 0);
	assert_int_equal(lstat(dest, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_string_equal(read_data("out"), "2");
	assert_int_equal(count(STAGE_VERSION_PREFIX), 0);
	assert_int_equal(count(STAGE_PREFIX), 0);

	snprintf(dest, sizeof(dest), "%s/out2", top);
	no_exchange = true;
	publish("1", false, 0);
	no_exchange = false;
	publish("2", false, 0);
	assert_int_equal(lstat(dest, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_string_equal(read_data("out2"), "2");
}

/* stage_init for DEST top/out: its verdict. */
static enum dest_problem
init(bool file)
{
	struct stage s;
	enum dest_problem r = stage_init(&s, dest, file);

	if (s.parentfd != -1)
		close(s.parentfd);
	return r;
}

static void
plant(const char *name, bool dir)
{
	char p[PATH_MAX * 2];

	snprintf(p, sizeof(p), "%s/%s", top, name);
	if (dir)
		assert_int_equal(mkdir(p, 0755), 0);
	else
		assert_int_equal(close(open(p, O_CREAT | O_WRONLY, 0644)), 0);
}

static void
link_dest(const char *to)
{
	unlink(dest);
	assert_int_equal(symlink(to, dest), 0);
}

/* Only a link to a version directory of ours, named for this DEST. */
static void
test_foreign_links(void **state)
{
	struct stage s;

	(void)state;
	plant("elsewhere", true);
	plant(".lockbuild-v.ABCDEFGH.other", true);
	plant(".lockbuild-v.ABCDEFG.out", true);
	plant(".lockbuild-v.ABCDEFGH.out", false);
	plant("sub", true);
	plant("sub/.lockbuild-v.ABCDEFGH.out", true);
	plant(".lockbuild-v.ABCDEFGI.out", true);
	link_dest("elsewhere");
	assert_int_equal(init(false), DEST_IS_LINK);
	link_dest(".lockbuild-v.ABCDEFGH.other");
	assert_int_equal(init(false), DEST_IS_LINK);
	link_dest(".lockbuild-v.ABCDEFG.out");
	assert_int_equal(init(false), DEST_IS_LINK);
	link_dest(".lockbuild-v.ABCDEFGH.out");		/* a file */
	assert_int_equal(init(false), DEST_IS_LINK);
	link_dest("sub/.lockbuild-v.ABCDEFGH.out");
	assert_int_equal(init(false), DEST_IS_LINK);
	link_dest("./.lockbuild-v.ABCDEFGI.out");
	assert_int_equal(init(false), DEST_IS_LINK);
	link_dest(".lockbuild-v.ABCDEFGJ.out");		/* dangling */
	assert_int_equal(init(false), DEST_IS_LINK);
	link_dest(".lockbuild-v.ABCDEFGI.out");
	assert_int_equal(init(false), DEST_OK);
	assert_int_equal(init(true), DEST_WRONG_TYPE);
	assert_int_equal(stage_init(&s, dest, false), DEST_OK);
	assert_true(dest_exists(&s));			/* --once */
	close(s.parentfd);
	if (geteuid() == 0) {
		char p[PATH_MAX + 32];

		snprintf(p, sizeof(p), "%s/.lockbuild-v.ABCDEFGI.out", top);
		assert_int_equal(chown(p, 65534, 65534), 0);
		assert_int_equal(init(false), DEST_IS_LINK);
	}
	/* A DEST named like a version is refused outright. */
	snprintf(dest, sizeof(dest), "%s/.lockbuild-v.ABCDEFGH.x", top);
	assert_int_equal(init(false), DEST_BAD_NAME);
}

/* Sweeping passes over what only looks like a version. */
static void
test_sweep_leaves_foreign(void **state)
{
	char p[PATH_MAX + 32];
	struct stat st;

	(void)state;
	plant("victim", true);
	plant("victim/keep", false);
	snprintf(p, sizeof(p), "%s/.lockbuild-v.LINKLINK.out", top);
	assert_int_equal(symlink("victim", p), 0);
	plant(".lockbuild-v.FILEFILE.out", false);
	plant(".lockbuild-v.THEIRSXX.out", true);
	if (geteuid() == 0) {
		snprintf(p, sizeof(p), "%s/.lockbuild-v.THEIRSXX.out", top);
		assert_int_equal(chown(p, 65534, 65534), 0);
	}
	plant(".lockbuild-v.ORPHANXX.out", true);	/* ours: swept */
	publish("1", false, 0);
	publish("2", false, 0);
	publish("3", false, 0);
	snprintf(p, sizeof(p), "%s/victim/keep", top);
	assert_int_equal(stat(p, &st), 0);
	snprintf(p, sizeof(p), "%s/.lockbuild-v.LINKLINK.out", top);
	assert_int_equal(lstat(p, &st), 0);
	snprintf(p, sizeof(p), "%s/.lockbuild-v.FILEFILE.out", top);
	assert_int_equal(lstat(p, &st), 0);
	snprintf(p, sizeof(p), "%s/.lockbuild-v.ORPHANXX.out", top);
	assert_int_equal(lstat(p, &st), -1);
	if (geteuid() == 0) {
		snprintf(p, sizeof(p), "%s/.lockbuild-v.THEIRSXX.out", top);
		assert_int_equal(lstat(p, &st), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_makes_link, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_republish_flips, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_convert_real_dir, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_if_changed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_exchange_available, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_foreign_links, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sweep_leaves_foreign,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
