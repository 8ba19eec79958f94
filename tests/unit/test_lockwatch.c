/*
 * Unit tests for src/lockwatch.c and child_wait's use of it: a question
 * to the lock's server that fails (EIO), that names another holder (the
 * server gave the lock away) or that does not come back (a host cut off
 * from a hard mount) makes the lock count as lost, and lost for good;
 * child_wait then stops COMMAND.  fcntl is wrapped (-Wl,--wrap=fcntl64)
 * to play the server.  Each case runs in a child process, since the
 * watch is once per process.  publish_finish asks the watch before it
 * blames the output: a --check refusal after the server gave the lock
 * away is a lost lock.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "child.h"
#include "cli.h"
#include "exitcode.h"
#include "lockwatch.h"
#include "owner.h"
#include "publishmode.h"
#include "stage.h"

int __real_fcntl64(int, int, ...);
int __wrap_fcntl64(int, int, ...);

enum { SERVER_OK, SERVER_REFUSES, SERVER_GAVE_IT_AWAY, SERVER_SILENT };
static volatile int server = SERVER_OK;

/* The lock's question (F_OFD_GETLK) goes to the "server"; every other
 * fcntl is the real one. */
int
__wrap_fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (cmd != F_OFD_GETLK)
		return __real_fcntl64(fd, cmd, arg);
	while (server == SERVER_SILENT)
		sleep(1);
	if (server == SERVER_REFUSES) {
		errno = EIO;
		return -1;
	}
	if (server == SERVER_GAVE_IT_AWAY) {
		((struct flock *)arg)->l_type = F_WRLCK;
		return 0;
	}
	return __real_fcntl64(fd, cmd, arg);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
lockfile(void)
{
	char path[] = "/tmp/test_lockwatch.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd != -1);
	unlink(path);
	assert_int_equal(write(fd, "lockbuild-owner 2 1 1\nx", 23), 23);
	return fd;
}

/* Runs fn in a child; its exit status must be 0. */
static void
in_child(void (*fn)(void))
{
	pid_t p = fork();
	int st;

	assert_true(p != -1);
	if (p == 0) {
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(p, &st, 0), p);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void
refused(void)
{
	int fd = lockfile();
	double t;

	if (lockwatch_start(fd, false, 3.0) != 0 || lockwatch_check() != 0)
		_exit(1);
	if (lockwatch_confirm() != 0)
		_exit(2);
	server = SERVER_REFUSES;
	for (t = now(); lockwatch_check() == 0 && now() - t < 5; )
		usleep(50000);
	if (lockwatch_check() != EIO || lockwatch_confirm() != EIO)
		_exit(3);
}

static void
given_away(void)
{
	int fd = lockfile();
	double t;

	if (lockwatch_start(fd, false, 3.0) != 0 || lockwatch_confirm() != 0)
		_exit(1);
	server = SERVER_GAVE_IT_AWAY;
	for (t = now(); lockwatch_check() == 0 && now() - t < 5; )
		usleep(50000);
	if (lockwatch_check() != EBUSY)
		_exit(2);
}

static void
test_given_away(void **state)
{
	(void)state;
	in_child(given_away);
}

static void
test_refused_question(void **state)
{
	(void)state;
	in_child(refused);
}

static void
silent(void)
{
	int fd = lockfile();
	double t;

	if (lockwatch_start(fd, false, 1.5) != 0)
		_exit(1);
	server = SERVER_SILENT;
	t = now();
	if (lockwatch_confirm() != ETIMEDOUT)
		_exit(2);
	if (now() - t < 1.4 || now() - t > 4)
		_exit(3);		/* waited the stall limit, no more */
	if (lockwatch_check() != ETIMEDOUT)
		_exit(4);
}

/*
 * A server silent for longer than the stall limit may have given the
 * key away meanwhile: its answers once it is back do not make the lock
 * ours again.
 */
static void
silent_then_back(void)
{
	int fd = lockfile();

	if (lockwatch_start(fd, false, 1.0) != 0 || lockwatch_confirm() != 0)
		_exit(1);
	server = SERVER_SILENT;
	sleep(2);
	server = SERVER_OK;
	usleep(1500000);	/* the blocked question, and more, answered */
	if (lockwatch_check() != ETIMEDOUT)
		_exit(2);
	if (lockwatch_confirm() != ETIMEDOUT)
		_exit(3);
}

static void
test_silent_server_back(void **state)
{
	(void)state;
	in_child(silent_then_back);
}

/*
 * Two shared holders of one file (two open file descriptions, as two
 * hosts' would be): watching one of them, shared, finds nothing wrong;
 * watched as exclusive, the other reader counts as a conflict.
 */
static void
watch_beside_reader(bool shared)
{
	struct flock fl;
	char path[] = "/tmp/test_lockwatch.XXXXXX";
	int fd = mkstemp(path), other;

	if (fd == -1 || (other = open(path, O_RDWR)) == -1)
		_exit(1);
	unlink(path);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_RDLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_OFD_SETLK, &fl) == -1 ||
	    fcntl(other, F_OFD_SETLK, &fl) == -1)
		_exit(2);
	if (lockwatch_start(fd, shared, 3.0) != 0)
		_exit(3);
	if (lockwatch_confirm() != (shared ? 0 : EBUSY))
		_exit(4);
}

static void
shared_beside_reader(void)
{
	watch_beside_reader(true);
}

static void
exclusive_beside_reader(void)
{
	watch_beside_reader(false);
}

static void
test_shared_hold_keeps_company(void **state)
{
	(void)state;
	in_child(shared_beside_reader);
	in_child(exclusive_beside_reader);
}

static void
test_silent_server(void **state)
{
	(void)state;
	in_child(silent);
}

static double started;

static int
lost_after_a_second(void)
{
	return now() - started > 1.0 ? EIO : 0;
}

static void
stops_command(void)
{
	char *argv[] = { "sleep", "30", NULL };
	pid_t pid;
	int st;

	signals_install(false);
	signals_phase(PHASE_HOLDING);
	if (child_start(argv, &pid) != 0)
		_exit(1);
	started = now();
	child_watch(lost_after_a_second);
	st = child_wait(pid);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGTERM)
		_exit(2);
	if (child_watch_error() != EIO)
		_exit(3);
	if (now() - started > 5)
		_exit(4);
}

static void
test_child_wait_stops_command(void **state)
{
	(void)state;
	in_child(stops_command);
}

static int
state_ok(const char *state, void *arg)
{
	(void)state;
	(void)arg;
	return 0;
}

/*
 * COMMAND built DEST on a file server and --check refused it: exit
 * `want`, and DEST never made.  With the lock given away meanwhile, the
 * refusal may be of a staging dir the next holder swept (partition.t,
 * "the fence"): 76, not 65.
 */
static void
check_refused(int answer, int want)
{
	static char *cmd[] = { "true", NULL };
	char dir[] = "/tmp/test_lockwatch.XXXXXX", dest[64], file[PATH_MAX + 16];
	struct cli c;
	struct stage s;
	struct owner rec;
	char **argv;
	FILE *f;
	int code;

	if (mkdtemp(dir) == NULL)
		_exit(1);
	snprintf(dest, sizeof(dest), "%s/out", dir);
	memset(&c, 0, sizeof(c));
	memset(&rec, 0, sizeof(rec));
	c.lockdir = dir;
	c.dest = dest;
	c.command = cmd;
	c.check_cmd = "false";
	c.no_fsync = true;
	signals_install(false);
	signals_phase(PHASE_HOLDING);
	if (publish_precheck(&c, &s) != CARRY_ON ||
	    publish_prepare(&c, &s, &rec, &argv) != CARRY_ON)
		_exit(2);
	snprintf(file, sizeof(file), "%s/built", s.path);
	if ((f = fopen(file, "w")) == NULL || fputs("x\n", f) < 0 ||
	    fclose(f) != 0)
		_exit(3);
	if (lockwatch_start(lockfile(), false, 3.0) != 0 ||
	    lockwatch_confirm() != 0)
		_exit(4);
	server = answer;
	code = publish_finish(&c, &s, 0, state_ok, NULL);
	if (access(dest, F_OK) == 0)
		_exit(5);		/* published */
	rmdir(dir);
	_exit(code == want ? 0 : 6);
}

static void
check_refused_lock_held(void)
{
	check_refused(SERVER_OK, EXIT_DATAERR);
}

static void
check_refused_lock_lost(void)
{
	check_refused(SERVER_GAVE_IT_AWAY, EXIT_LOCKLOST);
}

static void
test_check_refusal_after_lost_lock(void **state)
{
	(void)state;
	in_child(check_refused_lock_held);
	in_child(check_refused_lock_lost);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused_question),
		cmocka_unit_test(test_given_away),
		cmocka_unit_test(test_silent_server),
		cmocka_unit_test(test_silent_server_back),
		cmocka_unit_test(test_shared_hold_keeps_company),
		cmocka_unit_test(test_child_wait_stops_command),
		cmocka_unit_test(test_check_refusal_after_lost_lock),
	};

	return cmocka_run_group_tests_name("lockwatch", tests, NULL, NULL);
}
