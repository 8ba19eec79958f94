/*
 * Unit tests for lockbuild's exit statuses: exit_for_errno
 * (src/exitcode.c) and, from src/child.h, status_to_exit (with wait
 * statuses of real children) and exec_errno_to_exit; and that the man
 * page's EXIT STATUS lists the codes of src/exitcode.h.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "child.h"
#include "exitcode.h"

static void
test_exit_for_errno(void **state)
{
	static const struct {
		int err, want;
	} map[] = {
		{ EACCES, 77 },
		{ EPERM, 77 },
		{ ENOSPC, 74 },
		{ EDQUOT, 74 },
		{ EIO, 74 },
		{ ENOLCK, 69 },
		{ EOPNOTSUPP, 69 },
		{ ENOTSUP, 69 },
		{ EROFS, 73 },
	};
	static const int other[] = {
		0, ENOENT, EEXIST, ENOTDIR, EISDIR, EINVAL, ELOOP, EMFILE,
		EINTR, EAGAIN, ENAMETOOLONG, EXDEV, -1, 100000,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		assert_int_equal(exit_for_errno(map[i].err, EXIT_OSERR),
		    map[i].want);
		assert_int_equal(exit_for_errno(map[i].err, EXIT_CANTCREAT),
		    map[i].want);
	}
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		assert_int_equal(exit_for_errno(other[i], EXIT_OSERR),
		    EXIT_OSERR);
		assert_int_equal(exit_for_errno(other[i], EXIT_CANTCREAT),
		    EXIT_CANTCREAT);
		assert_int_equal(exit_for_errno(other[i], 1), 1);
	}
}

/*
 * The EXIT STATUS list of man/lockbuild.1 and the enum of src/exitcode.h
 * hold the same codes: each code the enum has is documented, each one
 * documented (but 0) is in the enum.  Both files are read as text, from
 * the top of the source tree (where make check runs the tests); the
 * compiled enum is checked against the text by name.
 */
#define MAX_CODES 64

struct code {
	char name[64];
	int value;
};

/* "EXIT_NAME = N," lines of the header's enum. */
static size_t
header_codes(struct code *c)
{
	FILE *f = fopen("src/exitcode.h", "r");
	char line[256];
	size_t n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, " %63[A-Z_] = %d", c[n].name,
		    &c[n].value) == 2 && strncmp(c[n].name, "EXIT_", 5) == 0) {
			n++;
			assert_true(n < MAX_CODES);
		}
	}
	fclose(f);
	return n;
}

/* ".It N" (or ".It Sy N"; "128+ Ns Ar N" is 128) under .Sh EXIT STATUS. */
static size_t
man_codes(int *v)
{
	FILE *f = fopen("man/lockbuild.1", "r");
	char line[256];
	bool in = false;
	size_t n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p = line + 3;

		if (strncmp(line, ".Sh ", 4) == 0)
			in = strcmp(line, ".Sh EXIT STATUS\n") == 0;
		if (!in || strncmp(line, ".It ", 4) != 0)
			continue;
		p += strspn(p, " ");
		if (strncmp(p, "Sy ", 3) == 0)
			p += 3;
		if (*p < '0' || *p > '9')
			continue;
		v[n++] = atoi(p);
		assert_true(n < MAX_CODES);
	}
	fclose(f);
	return n;
}

static void
test_exit_codes_documented(void **state)
{
	static const struct code compiled[] = {
		{ "EXIT_STALE_FOUND", EXIT_STALE_FOUND },
		{ "EXIT_USAGE", EXIT_USAGE },
		{ "EXIT_DATAERR", EXIT_DATAERR },
		{ "EXIT_NOINPUT", EXIT_NOINPUT },
		{ "EXIT_UNAVAILABLE", EXIT_UNAVAILABLE },
		{ "EXIT_SOFTWARE", EXIT_SOFTWARE },
		{ "EXIT_OSERR", EXIT_OSERR },
		{ "EXIT_CANTCREAT", EXIT_CANTCREAT },
		{ "EXIT_IOERR", EXIT_IOERR },
		{ "EXIT_CONFLICT", EXIT_CONFLICT },
		{ "EXIT_LOCKLOST", EXIT_LOCKLOST },
		{ "EXIT_NOPERM", EXIT_NOPERM },
		{ "EXIT_NOEXEC", EXIT_NOEXEC },
		{ "EXIT_NOTFOUND", EXIT_NOTFOUND },
		{ "EXIT_SIGNAL_BASE", EXIT_SIGNAL_BASE },
	};
	struct code h[MAX_CODES];
	int m[MAX_CODES];
	size_t nh, nm, i, j;

	(void)state;
	nh = header_codes(h);
	nm = man_codes(m);
	assert_true(nh >= 10);
	/* The text read is the enum compiled (a new code joins the table). */
	assert_int_equal(nh, sizeof(compiled) / sizeof(compiled[0]));
	for (i = 0; i < nh; i++) {
		for (j = 0; j < nh; j++)
			if (strcmp(h[i].name, compiled[j].name) == 0)
				break;
		if (j == nh)
			fail_msg("%s is not in this test's table", h[i].name);
		assert_int_equal(h[i].value, compiled[j].value);
	}
	for (i = 0; i < nh; i++) {
		for (j = 0; j < nm; j++)
			if (m[j] == h[i].value)
				break;
		if (j == nm)
			fail_msg("%s (%d) is not in the man page's EXIT STATUS",
			    h[i].name, h[i].value);
	}
	for (j = 0; j < nm; j++) {
		if (m[j] == 0)
			continue;
		for (i = 0; i < nh; i++)
			if (m[j] == h[i].value)
				break;
		if (i == nh)
			fail_msg("the man page's exit status %d is not in "
			    "src/exitcode.h", m[j]);
	}
}

/* The wait status of a child that exits with code. */
static int
status_of_exit(int code)
{
	int ws;
	pid_t pid = fork();

	assert_true(pid != -1);
	if (pid == 0)
		_exit(code);
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	return ws;
}

/*
 * The wait status of a child killed by sig.  The child says when it has
 * set sig back to its default action (it may have inherited SIG_IGN,
 * as SIGPIPE often is under CI runners).
 */
static int
status_of_signal(int sig)
{
	int ws, p[2];
	char c = 0;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		signal(sig, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (write(p[1], "r", 1) != 1)
			_exit(99);
		for (;;)
			pause();
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	assert_int_equal(kill(pid, sig), 0);
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFSIGNALED(ws));
	assert_int_equal(WTERMSIG(ws), sig);
	return ws;
}

static void
test_status_to_exit_codes(void **state)
{
	static const int codes[] = { 0, 1, 2, 42, 64, 75, 126, 127, 128, 255 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		assert_int_equal(status_to_exit(status_of_exit(codes[i])),
		    codes[i]);
	/* Only the low 8 bits of _exit's argument reach the parent. */
	assert_int_equal(status_to_exit(status_of_exit(256 + 3)), 3);
}

static void
test_status_to_exit_signals(void **state)
{
	static const int sigs[] = {
		SIGHUP, SIGINT, SIGKILL, SIGUSR1, SIGPIPE, SIGTERM, SIGALRM,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		assert_int_equal(status_to_exit(status_of_signal(sigs[i])),
		    128 + sigs[i]);
	assert_int_equal(status_to_exit(status_of_signal(SIGTERM)), 143);
	assert_int_equal(status_to_exit(status_of_signal(SIGKILL)), 137);
	assert_int_equal(status_to_exit(status_of_signal(SIGINT)), 130);
#ifdef WCOREFLAG
	/* A core dump does not change the answer. */
	assert_int_equal(status_to_exit(SIGSEGV | WCOREFLAG), 128 + SIGSEGV);
#endif
}

/* A stopped child's status (waitpid WUNTRACED) is not an exit. */
static void
test_status_to_exit_stopped(void **state)
{
	int ws;
	pid_t pid = fork();

	(void)state;
	assert_true(pid != -1);
	if (pid == 0) {
		for (;;)
			pause();
	}
	assert_int_equal(kill(pid, SIGSTOP), 0);
	assert_int_equal(waitpid(pid, &ws, WUNTRACED), pid);
	assert_true(WIFSTOPPED(ws));
	assert_int_equal(status_to_exit(ws), EXIT_SOFTWARE);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &ws, 0), pid);
}

static void
test_exec_errno_to_exit(void **state)
{
	(void)state;
	assert_int_equal(exec_errno_to_exit(ENOENT), 127);
	assert_int_equal(exec_errno_to_exit(ENOTDIR), 127);
	assert_int_equal(exec_errno_to_exit(EACCES), 126);
	assert_int_equal(exec_errno_to_exit(ENOEXEC), 126);
	assert_int_equal(exec_errno_to_exit(EPERM), 126);
	assert_int_equal(exec_errno_to_exit(EISDIR), 126);
	/* No process could be made: an OS error, not COMMAND's fault. */
	assert_int_equal(exec_errno_to_exit(EAGAIN), 71);
	assert_int_equal(exec_errno_to_exit(ENOMEM), 71);
}

/* child_start reports exec failures as errno values that map as above. */
static void
test_child_start_errors(void **state)
{
	char *missing[] = { "/nonexistent/lockbuild-test-no-such-cmd", NULL };
	char *notexec[] = { "/etc/passwd", NULL };
	char *ok[] = { "sh", "-c", "exit 7", NULL };
	pid_t pid = -1;
	int r;

	(void)state;
	r = child_start(missing, &pid);
	assert_int_equal(exec_errno_to_exit(r), 127);
	if (getuid() != 0 || access("/etc/passwd", X_OK) == -1) {
		r = child_start(notexec, &pid);
		assert_int_equal(exec_errno_to_exit(r), 126);
	}
	assert_int_equal(child_start(ok, &pid), 0);
	assert_true(pid > 0);
	assert_int_equal(status_to_exit(child_wait(pid)), 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_for_errno),
		cmocka_unit_test(test_exit_codes_documented),
		cmocka_unit_test(test_status_to_exit_codes),
		cmocka_unit_test(test_status_to_exit_signals),
		cmocka_unit_test(test_status_to_exit_stopped),
		cmocka_unit_test(test_exec_errno_to_exit),
		cmocka_unit_test(test_child_start_errors),
	};

	/* Zombies and wait statuses need SIGCHLD not ignored (inherited). */
	signal(SIGCHLD, SIG_DFL);
	return cmocka_run_group_tests_name("exitcode", tests, NULL, NULL);
}
