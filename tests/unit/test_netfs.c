/*
 * Unit tests for src/netfs.c: which mounts lockbuild trusts with its
 * locks, from mountinfo lines as Linux writes them for NFS (v3 with
 * nolock, v4.2 with local_lock=none and =all), CIFS and FUSE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "netfs.h"

static const char mountinfo[] =
    "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
    "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
    "40 27 0:45 / /mnt/share rw,relatime shared:20 - nfs4 10.77.0.1:/export "
    "rw,vers=4.2,rsize=1048576,wsize=1048576,namlen=255,hard,proto=tcp,"
    "timeo=600,retrans=2,sec=sys,clientaddr=10.77.0.2,local_lock=none,"
    "addr=10.77.0.1\n"
    "41 27 0:46 / /mnt/v3 rw,relatime - nfs 10.77.0.1:/export "
    "rw,vers=3,rsize=1048576,hard,nolock,proto=tcp,local_lock=all\n"
    "42 27 0:47 / /mnt/fuse rw,nosuid - fuse.bindfs bindfs rw,user_id=0\n";

static void
test_find_mount(void **state)
{
	char type[64], opts[1024];

	(void)state;
	assert_int_equal(netfs_find_mount(mountinfo, 0, 45, type, sizeof(type),
	    opts, sizeof(opts)), 0);
	assert_string_equal(type, "nfs4");
	assert_non_null(strstr(opts, "local_lock=none"));
	assert_int_equal(netfs_find_mount(mountinfo, 254, 0, type, sizeof(type),
	    opts, sizeof(opts)), 0);
	assert_string_equal(type, "ext4");
	assert_int_equal(netfs_find_mount(mountinfo, 0, 47, type, sizeof(type),
	    opts, sizeof(opts)), 0);
	assert_string_equal(type, "fuse.bindfs");
	/* 0:4 is not 0:45, nor 0:45 a prefix of 0:450. */
	assert_int_equal(netfs_find_mount(mountinfo, 0, 4, type, sizeof(type),
	    opts, sizeof(opts)), -1);
	assert_int_equal(netfs_find_mount(mountinfo, 0, 450, type,
	    sizeof(type), opts, sizeof(opts)), -1);
}

static void
test_judge(void **state)
{
	static const struct {
		const char *type, *opts;
		enum netfs want;
		const char *why;	/* in the reason, when refused */
	} cases[] = {
		{ "ext4", "rw", NETFS_LOCAL, NULL },
		{ "tmpfs", "rw,size=1g", NETFS_LOCAL, NULL },
		{ "nfs4", "rw,vers=4.2,hard,local_lock=none", NETFS_SHARED, NULL },
		{ "nfs4", "rw,vers=4.1,local_lock=flock", NETFS_SHARED, NULL },
		{ "nfs4", "rw,vers=4.0", NETFS_SHARED, NULL },
		{ "nfs4", "rw,vers=4.2,local_lock=all", NETFS_REFUSED,
		    "local_lock=all" },
		{ "nfs4", "rw,vers=4.2,local_lock=posix", NETFS_REFUSED,
		    "local_lock=posix" },
		{ "nfs", "rw,vers=3,nolock,local_lock=all", NETFS_REFUSED,
		    "nolock" },
		{ "nfs", "rw,vers=3,local_lock=none", NETFS_REFUSED,
		    "version 3" },
		{ "nfs", "rw,vers=2", NETFS_REFUSED, "version 2" },
		/* nolocks is another option, not nolock */
		{ "nfs4", "rw,vers=4.2,nolocks", NETFS_SHARED, NULL },
		{ "cifs", "rw,vers=3.1.1", NETFS_SHARED, NULL },
		{ "cifs", "rw,nobrl", NETFS_REFUSED, "nobrl" },
		{ "fuse.bindfs", "rw", NETFS_REFUSED, "FUSE" },
		{ "fuse", "", NETFS_REFUSED, "FUSE" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char why[256] = "";
		enum netfs got = netfs_judge(cases[i].type, cases[i].opts, why,
		    sizeof(why));

		if (got != cases[i].want)
			fail_msg("%s %s: got %d, want %d", cases[i].type,
			    cases[i].opts, got, cases[i].want);
		if (cases[i].why != NULL && strstr(why, cases[i].why) == NULL)
			fail_msg("%s %s: reason '%s' lacks '%s'", cases[i].type,
			    cases[i].opts, why, cases[i].why);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_mount),
		cmocka_unit_test(test_judge),
	};

	return cmocka_run_group_tests_name("netfs", tests, NULL, NULL);
}
