/*
 * Unit tests for src/cli.c: argv -> struct cli.  Options anywhere before
 * COMMAND, "--" or the first plain word after KEY starts COMMAND, every
 * usage error is -1 with a one-line reason, and cli_parse can be called
 * again and again (tests and fuzzers do).
 */
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"
#include "exitcode.h"

#define ARGV(...) ((char *[]){ "lockbuild", __VA_ARGS__, NULL })

static int
count(char **argv)
{
	int n = 0;

	while (argv[n] != NULL)
		n++;
	return n;
}

/*
 * Forgets getopt's state left by an earlier parse (glibc re-initialises
 * when optind is 0, and takes the ordering, "+" here, from the optstring
 * of that first call).  cli_parse should not need this: see
 * test_repeated_calls, which calls it without.  Used here so that one
 * failing test cannot change the outcome of the next.
 */
static void
reset_getopt(void)
{
	char *argv[] = { "x", NULL };

	optind = 0;
	opterr = 0;
	(void)getopt(1, argv, "+");
}

static char errbuf[512];

static int
parse_env(char **argv, const char *env, struct cli *c)
{
	reset_getopt();
	memset(errbuf, 0, sizeof(errbuf));
	return cli_parse(count(argv), argv, env, c, errbuf, sizeof(errbuf));
}

static int
parse(char **argv, struct cli *c)
{
	return parse_env(argv, NULL, c);
}

/* Parses argv, which must succeed. */
static void
parse_ok(char **argv, struct cli *c)
{
	if (parse(argv, c) != 0)
		fail_msg("cli_parse refused: %s", errbuf);
}

static void
assert_command(const struct cli *c, char *const *want)
{
	int i;

	assert_non_null(c->command);
	for (i = 0; want[i] != NULL; i++) {
		assert_non_null(c->command[i]);
		assert_string_equal(c->command[i], want[i]);
	}
	assert_null(c->command[i]);
}

static void
test_minimal(void **state)
{
	char **argv = ARGV("L", "k", "cmd");
	struct cli c;

	(void)state;
	parse_ok(argv, &c);
	assert_int_equal(c.mode, MODE_RUN);
	assert_string_equal(c.lockdir, "L");
	assert_string_equal(c.key, "k");
	/* COMMAND points into argv. */
	assert_ptr_equal(c.command, argv + 3);
	assert_command(&c, ARGV("cmd") + 1);
	assert_int_equal(c.wait, WAIT_FOREVER);
	assert_false(c.shared);
	assert_int_equal(c.conflict_code, EXIT_CONFLICT);
	assert_int_equal(c.verbosity, 0);
	assert_false(c.close_fd);
	assert_false(c.no_fork);
	assert_false(c.json);
	assert_null(c.dest);
	assert_false(c.file_output || c.once || c.if_changed ||
	    c.keep_failed || c.allow_empty || c.no_fsync);
	assert_null(c.check_cmd);
	assert_null(c.replace_str);
}

static void
test_command_keeps_its_options(void **state)
{
	struct cli c;

	(void)state;
	parse_ok(ARGV("L", "k", "--", "cmd", "-x"), &c);
	assert_string_equal(c.key, "k");
	assert_false(c.shared);
	assert_command(&c, ARGV("cmd", "-x") + 1);

	/* Without "--": the first plain word after KEY starts COMMAND. */
	parse_ok(ARGV("L", "k", "make", "-n", "-s", "--once", "-o", "x"), &c);
	assert_int_equal(c.wait, WAIT_FOREVER);
	assert_false(c.shared);
	assert_false(c.once);
	assert_null(c.dest);
	assert_command(&c, ARGV("make", "-n", "-s", "--once", "-o", "x") + 1);

	/* A second "--" belongs to COMMAND. */
	parse_ok(ARGV("L", "k", "--", "--", "a"), &c);
	assert_command(&c, ARGV("--", "a") + 1);

	/* "--" before LOCKDIR: everything after it is positional. */
	parse_ok(ARGV("-n", "--", "-L", "-k", "-c"), &c);
	assert_int_equal(c.wait, WAIT_NONBLOCK);
	assert_string_equal(c.lockdir, "-L");
	assert_string_equal(c.key, "-k");
	assert_command(&c, ARGV("-c") + 1);

	/* "--" between LOCKDIR and KEY. */
	parse_ok(ARGV("L", "--", "-k", "cmd"), &c);
	assert_string_equal(c.lockdir, "L");
	assert_string_equal(c.key, "-k");
	assert_command(&c, ARGV("cmd") + 1);
}

static void
test_options_between_words(void **state)
{
	struct cli c;

	(void)state;
	parse_ok(ARGV("-o", "d", "L", "k", "-I", "@", "--", "go", "build",
	    "-o", "@"), &c);
	assert_string_equal(c.dest, "d");
	assert_string_equal(c.replace_str, "@");
	assert_string_equal(c.lockdir, "L");
	assert_string_equal(c.key, "k");
	assert_command(&c, ARGV("go", "build", "-o", "@") + 1);

	parse_ok(ARGV("L", "-n", "k", "-s", "-E", "3", "cmd", "-v"), &c);
	assert_string_equal(c.lockdir, "L");
	assert_string_equal(c.key, "k");
	assert_int_equal(c.wait, WAIT_NONBLOCK);
	assert_true(c.shared);
	assert_int_equal(c.conflict_code, 3);
	assert_int_equal(c.verbosity, 0);
	assert_command(&c, ARGV("cmd", "-v") + 1);
}

static void
test_lock_options(void **state)
{
	struct cli c;

	(void)state;
	parse_ok(ARGV("-n", "L", "k", "c"), &c);
	assert_int_equal(c.wait, WAIT_NONBLOCK);
	parse_ok(ARGV("--nonblock", "L", "k", "c"), &c);
	assert_int_equal(c.wait, WAIT_NONBLOCK);
	parse_ok(ARGV("--nb", "L", "k", "c"), &c);
	assert_int_equal(c.wait, WAIT_NONBLOCK);

	parse_ok(ARGV("-w", "2.5", "L", "k", "c"), &c);
	assert_int_equal(c.wait, WAIT_TIMEOUT);
	assert_true(c.timeout == 2.5);
	parse_ok(ARGV("-w0", "L", "k", "c"), &c);
	assert_int_equal(c.wait, WAIT_TIMEOUT);
	assert_true(c.timeout == 0);
	parse_ok(ARGV("--timeout=1e-3", "L", "k", "c"), &c);
	assert_int_equal(c.wait, WAIT_TIMEOUT);
	assert_true(c.timeout == 1e-3);
	parse_ok(ARGV("--wait", "7", "L", "k", "c"), &c);
	assert_int_equal(c.wait, WAIT_TIMEOUT);
	assert_true(c.timeout == 7);
	/* The last -w counts. */
	parse_ok(ARGV("-w", "1", "-w", "4", "L", "k", "c"), &c);
	assert_true(c.timeout == 4);

	parse_ok(ARGV("-s", "L", "k", "c"), &c);
	assert_true(c.shared);
	parse_ok(ARGV("--shared", "L", "k", "c"), &c);
	assert_true(c.shared);
	parse_ok(ARGV("-s", "-x", "L", "k", "c"), &c);
	assert_false(c.shared);
	parse_ok(ARGV("-x", "--shared", "L", "k", "c"), &c);
	assert_true(c.shared);
	parse_ok(ARGV("--shared", "--exclusive", "L", "k", "c"), &c);
	assert_false(c.shared);

	parse_ok(ARGV("-E", "0", "L", "k", "c"), &c);
	assert_int_equal(c.conflict_code, 0);
	parse_ok(ARGV("-E255", "L", "k", "c"), &c);
	assert_int_equal(c.conflict_code, 255);
	parse_ok(ARGV("--conflict-exit-code=9", "L", "k", "c"), &c);
	assert_int_equal(c.conflict_code, 9);

	parse_ok(ARGV("-q", "L", "k", "c"), &c);
	assert_int_equal(c.verbosity, -1);
	parse_ok(ARGV("--quiet", "L", "k", "c"), &c);
	assert_int_equal(c.verbosity, -1);
	parse_ok(ARGV("-v", "L", "k", "c"), &c);
	assert_int_equal(c.verbosity, 1);
	parse_ok(ARGV("--verbose", "L", "k", "c"), &c);
	assert_int_equal(c.verbosity, 1);

	parse_ok(ARGV("-C", "L", "k", "c"), &c);
	assert_true(c.close_fd);
	assert_false(c.no_fork);
	parse_ok(ARGV("--close", "L", "k", "c"), &c);
	assert_true(c.close_fd);
	parse_ok(ARGV("-F", "L", "k", "c"), &c);
	assert_true(c.no_fork);
	assert_false(c.close_fd);
	parse_ok(ARGV("--no-fork", "L", "k", "c"), &c);
	assert_true(c.no_fork);

	/* Clustered. */
	parse_ok(ARGV("-nsqC", "L", "k", "c"), &c);
	assert_int_equal(c.wait, WAIT_NONBLOCK);
	assert_true(c.shared);
	assert_int_equal(c.verbosity, -1);
	assert_true(c.close_fd);
	parse_ok(ARGV("-vFw3", "L", "k", "c"), &c);
	assert_int_equal(c.verbosity, 1);
	assert_true(c.no_fork);
	assert_int_equal(c.wait, WAIT_TIMEOUT);
	assert_true(c.timeout == 3);
}

static void
test_publish_options(void **state)
{
	struct cli c;

	(void)state;
	parse_ok(ARGV("-o", "out/x", "-f", "--once", "--if-changed", "--check",
	    "test -s \"$LOCKBUILD_STAGING\"", "-I", "{}", "--keep-failed",
	    "--allow-empty", "--no-fsync", "L", "k", "cp", "a", "{}"), &c);
	assert_string_equal(c.dest, "out/x");
	assert_true(c.file_output);
	assert_true(c.once);
	assert_true(c.if_changed);
	assert_string_equal(c.check_cmd, "test -s \"$LOCKBUILD_STAGING\"");
	assert_string_equal(c.replace_str, "{}");
	assert_true(c.keep_failed);
	assert_true(c.allow_empty);
	assert_true(c.no_fsync);
	assert_command(&c, ARGV("cp", "a", "{}") + 1);

	parse_ok(ARGV("--output=d", "--file", "--replace=@", "L", "k", "c"), &c);
	assert_string_equal(c.dest, "d");
	assert_true(c.file_output);
	assert_string_equal(c.replace_str, "@");
	assert_false(c.once);

	/* -o with lock options that go with it. */
	parse_ok(ARGV("-o", "d", "-n", "-x", "-C", "-E", "1", "L", "k", "c"),
	    &c);
	assert_string_equal(c.dest, "d");
	assert_int_equal(c.wait, WAIT_NONBLOCK);
	assert_true(c.close_fd);
	assert_int_equal(c.conflict_code, 1);
}

static void
test_env_timeout(void **state)
{
	struct cli c;

	(void)state;
	assert_int_equal(parse_env(ARGV("L", "k", "c"), "3", &c), 0);
	assert_int_equal(c.wait, WAIT_TIMEOUT);
	assert_true(c.timeout == 3);

	assert_int_equal(parse_env(ARGV("L", "k", "c"), "0", &c), 0);
	assert_int_equal(c.wait, WAIT_TIMEOUT);
	assert_true(c.timeout == 0);

	assert_int_equal(parse_env(ARGV("L", "k", "c"), "0.25", &c), 0);
	assert_int_equal(c.wait, WAIT_TIMEOUT);
	assert_true(c.timeout == 0.25);

	/* Set but empty: as if unset. */
	assert_int_equal(parse_env(ARGV("L", "k", "c"), "", &c), 0);
	assert_int_equal(c.wait, WAIT_FOREVER);

	/* An option wins. */
	assert_int_equal(parse_env(ARGV("-w", "1", "L", "k", "c"), "3", &c), 0);
	assert_int_equal(c.wait, WAIT_TIMEOUT);
	assert_true(c.timeout == 1);
	assert_int_equal(parse_env(ARGV("-n", "L", "k", "c"), "3", &c), 0);
	assert_int_equal(c.wait, WAIT_NONBLOCK);
}

static void
test_env_timeout_invalid(void **state)
{
	static const char *const bad[] = {
		"abc", "-1", "nan", "inf", "1e999", "5s", " 1", "0x10", "1e10",
	};
	struct cli c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_env(ARGV("L", "k", "c"), bad[i], &c) != -1)
			fail_msg("LOCKBUILD_TIMEOUT='%s' accepted", bad[i]);
		assert_non_null(strstr(errbuf, "LOCKBUILD_TIMEOUT"));
	}
}

/* Every usage error: -1 and a reason on one line. */
static void
test_usage_errors(void **state)
{
	static struct {
		char *argv[16];
		const char *hint;	/* a word the reason must contain */
	} bad[] = {
		{ { "lockbuild", NULL }, "LOCKDIR" },
		{ { "lockbuild", "L", NULL }, "KEY" },
		{ { "lockbuild", "L", "k", NULL }, "COMMAND" },
		{ { "lockbuild", "L", "k", "--", NULL }, "COMMAND" },
		{ { "lockbuild", "-n", "L", "k", NULL }, "COMMAND" },
		{ { "lockbuild", "L", "", "c", NULL }, "KEY" },
		{ { "lockbuild", "", "k", "c", NULL }, "LOCKDIR" },
		{ { "lockbuild", "-n", "-w", "1", "L", "k", "c", NULL }, "-n" },
		{ { "lockbuild", "-w", "1", "L", "k", "-n", "c", NULL }, "-n" },
		{ { "lockbuild", "-q", "-v", "L", "k", "c", NULL }, "-q" },
		{ { "lockbuild", "--verbose", "--quiet", "L", "k", "c", NULL },
		    "-q" },
		{ { "lockbuild", "-s", "-o", "d", "L", "k", "c", NULL }, "-s" },
		{ { "lockbuild", "-o", "d", "L", "k", "--shared", "c", NULL },
		    "-s" },
		{ { "lockbuild", "-F", "-o", "d", "L", "k", "c", NULL }, "-F" },
		{ { "lockbuild", "-F", "-C", "L", "k", "c", NULL }, "-C" },
		{ { "lockbuild", "-o", "d", "-I", "", "L", "k", "c", NULL },
		    "-I" },
		{ { "lockbuild", "-o", "", "L", "k", "c", NULL }, "-o" },
		{ { "lockbuild", "-f", "L", "k", "c", NULL }, "-o" },
		{ { "lockbuild", "-I", "@", "L", "k", "c", NULL }, "-o" },
		{ { "lockbuild", "--once", "L", "k", "c", NULL }, "-o" },
		{ { "lockbuild", "--if-changed", "L", "k", "c", NULL }, "-o" },
		{ { "lockbuild", "--check", "true", "L", "k", "c", NULL }, "-o" },
		{ { "lockbuild", "--keep-failed", "L", "k", "c", NULL }, "-o" },
		{ { "lockbuild", "--allow-empty", "L", "k", "c", NULL }, "-o" },
		{ { "lockbuild", "--no-fsync", "L", "k", "c", NULL }, "-o" },
		{ { "lockbuild", "-Z", "L", "k", "c", NULL }, "-Z" },
		{ { "lockbuild", "L", "k", "-nZ", "c", NULL }, "-Z" },
		{ { "lockbuild", "--bogus", "L", "k", "c", NULL }, "--bogus" },
		{ { "lockbuild", "--no", "L", "k", "c", NULL }, "--no" },
		{ { "lockbuild", "--once=yes", "-o", "d", "L", "k", "c", NULL },
		    "once" },
		{ { "lockbuild", "L", "k", "-w", NULL }, "-w" },
		{ { "lockbuild", "L", "k", "-E", NULL }, "-E" },
		{ { "lockbuild", "L", "k", "-o", NULL }, "-o" },
		{ { "lockbuild", "L", "k", "-I", NULL }, "-I" },
		{ { "lockbuild", "L", "k", "--check", NULL }, "--check" },
		{ { "lockbuild", "L", "k", "--timeout", NULL }, "needs" },
		{ { "lockbuild", "-w", "abc", "L", "k", "c", NULL }, "abc" },
		{ { "lockbuild", "-w", "-1", "L", "k", "c", NULL }, "-1" },
		{ { "lockbuild", "-w", "", "L", "k", "c", NULL }, "timeout" },
		{ { "lockbuild", "-w", "nan", "L", "k", "c", NULL }, "nan" },
		{ { "lockbuild", "-w", "inf", "L", "k", "c", NULL }, "inf" },
		{ { "lockbuild", "-w", "1e999", "L", "k", "c", NULL }, "1e999" },
		{ { "lockbuild", "-w", "5s", "L", "k", "c", NULL }, "5s" },
		{ { "lockbuild", "-w", "0x10", "L", "k", "c", NULL }, "0x10" },
		{ { "lockbuild", "--timeout=1e10", "L", "k", "c", NULL },
		    "1e10" },
		{ { "lockbuild", "-E", "256", "L", "k", "c", NULL }, "256" },
		{ { "lockbuild", "-E", "-1", "L", "k", "c", NULL }, "-1" },
		{ { "lockbuild", "-E", "abc", "L", "k", "c", NULL }, "abc" },
		{ { "lockbuild", "-E", "", "L", "k", "c", NULL }, "exit code" },
		{ { "lockbuild", "-E", "7x", "L", "k", "c", NULL }, "7x" },
		{ { "lockbuild", "--json", "L", "k", "c", NULL }, "--json" },
		{ { "lockbuild", "--clean", "--json", "L", NULL }, "--json" },
		{ { "lockbuild", "--clean", "L", "k", NULL }, "--clean" },
		{ { "lockbuild", "--status", NULL }, "LOCKDIR" },
		{ { "lockbuild", "--clean", NULL }, "LOCKDIR" },
		{ { "lockbuild", "--status", "", NULL }, "LOCKDIR" },
		{ { "lockbuild", "--status", "-n", "L", NULL }, "--status" },
		{ { "lockbuild", "--status", "-s", "L", NULL }, "--status" },
		{ { "lockbuild", "--clean", "-o", "d", "L", NULL }, "--clean" },
		{ { "lockbuild", "--status", "--once", "L", NULL }, "--status" },
		{ { "lockbuild", "L", "--status", NULL }, "--status" },
		{ { "lockbuild", "--status", "--clean", "L", NULL }, "--clean" },
	};
	struct cli c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i].argv, &c) != -1)
			fail_msg("case %zu (%s %s ...) accepted", i,
			    bad[i].argv[1] ? bad[i].argv[1] : "",
			    bad[i].argv[1] && bad[i].argv[2] ?
			    bad[i].argv[2] : "");
		if (errbuf[0] == '\0')
			fail_msg("case %zu: empty reason", i);
		assert_null(strchr(errbuf, '\n'));
		if (strstr(errbuf, bad[i].hint) == NULL)
			fail_msg("case %zu: reason \"%s\" does not mention "
			    "\"%s\"", i, errbuf, bad[i].hint);
	}
}

/* A short err buffer gets a cut, terminated reason. */
static void
test_small_err_buffer(void **state)
{
	char **argv = ARGV("-w", "definitely-not-a-number", "L", "k", "c");
	char err[8];
	struct cli c;

	(void)state;
	memset(err, 'X', sizeof(err));
	reset_getopt();
	assert_int_equal(cli_parse(count(argv), argv, NULL, &c, err,
	    sizeof(err)), -1);
	assert_true(memchr(err, '\0', sizeof(err)) != NULL);
	assert_int_equal(strlen(err), sizeof(err) - 1);
}

static void
test_status_and_clean(void **state)
{
	char **argv;
	struct cli c;

	(void)state;
	parse_ok(ARGV("--status", "L"), &c);
	assert_int_equal(c.mode, MODE_STATUS);
	assert_string_equal(c.lockdir, "L");
	assert_false(c.json);
	assert_int_equal(c.nkeys, 0);

	argv = ARGV("--status", "--json", "L", "a", "b c");
	parse_ok(argv, &c);
	assert_int_equal(c.mode, MODE_STATUS);
	assert_true(c.json);
	assert_string_equal(c.lockdir, "L");
	assert_int_equal(c.nkeys, 2);
	assert_ptr_equal(c.keys, argv + 4);
	assert_string_equal(c.keys[0], "a");
	assert_string_equal(c.keys[1], "b c");

	parse_ok(ARGV("--json", "--status", "L", "k"), &c);
	assert_int_equal(c.mode, MODE_STATUS);
	assert_true(c.json);
	assert_int_equal(c.nkeys, 1);
	assert_string_equal(c.keys[0], "k");

	/* Keys that look like options are keys. */
	parse_ok(ARGV("--status", "--", "L", "-n"), &c);
	assert_string_equal(c.lockdir, "L");
	assert_int_equal(c.nkeys, 1);
	assert_string_equal(c.keys[0], "-n");

	parse_ok(ARGV("--clean", "L"), &c);
	assert_int_equal(c.mode, MODE_CLEAN);
	assert_string_equal(c.lockdir, "L");
	assert_int_equal(c.nkeys, 0);
	assert_false(c.json);
}

static void
test_help_version(void **state)
{
	struct cli c;

	(void)state;
	parse_ok(ARGV("--help"), &c);
	assert_int_equal(c.mode, MODE_HELP);
	parse_ok(ARGV("-h"), &c);
	assert_int_equal(c.mode, MODE_HELP);
	parse_ok(ARGV("--version"), &c);
	assert_int_equal(c.mode, MODE_VERSION);
	parse_ok(ARGV("-V"), &c);
	assert_int_equal(c.mode, MODE_VERSION);
	/* Before COMMAND, wherever it stands. */
	parse_ok(ARGV("L", "k", "--help"), &c);
	assert_int_equal(c.mode, MODE_HELP);
	/* Inside COMMAND it is COMMAND's. */
	parse_ok(ARGV("L", "k", "cmd", "--help"), &c);
	assert_int_equal(c.mode, MODE_RUN);
	assert_command(&c, ARGV("cmd", "--help") + 1);

	assert_non_null(strstr(cli_usage, "usage: lockbuild"));
	assert_non_null(strstr(cli_usage, "--status"));
}

/*
 * cli_parse must reset getopt itself: a parse that stopped inside an
 * option cluster ("-hn": -h returns at once) must not leak the rest of
 * the cluster into the next parse.  glibc forgets a cluster only when
 * optind is set to 0, not 1.
 */
static void
test_repeated_calls(void **state)
{
	char **first[] = {
		ARGV("-hn"),		/* returns at -h, "n" not read */
		ARGV("-Vs"),		/* returns at -V */
		ARGV("-Zq"),		/* error at -Z, "q" not read */
	};
	char err[256];
	struct cli c;
	size_t i;

	(void)state;
	/* Ordinary parses in a row, no help from the test. */
	for (i = 0; i < 3; i++) {
		char **a = ARGV("-n", "L", "k", "c");
		char **b = ARGV("M", "j", "d", "-n");

		assert_int_equal(cli_parse(count(a), a, NULL, &c, err,
		    sizeof(err)), 0);
		assert_int_equal(c.wait, WAIT_NONBLOCK);
		assert_int_equal(cli_parse(count(b), b, NULL, &c, err,
		    sizeof(err)), 0);
		assert_int_equal(c.wait, WAIT_FOREVER);
		assert_string_equal(c.lockdir, "M");
	}
	for (i = 0; i < sizeof(first) / sizeof(first[0]); i++) {
		char **next = ARGV("L", "k", "c");

		(void)cli_parse(count(first[i]), first[i], NULL, &c, err,
		    sizeof(err));
		if (cli_parse(count(next), next, NULL, &c, err,
		    sizeof(err)) != 0)
			fail_msg("after \"%s\", \"L k c\" refused: %s",
			    first[i][1], err);
		assert_int_equal(c.mode, MODE_RUN);
		assert_string_equal(c.lockdir, "L");
		assert_string_equal(c.key, "k");
		assert_int_equal(c.wait, WAIT_FOREVER);
		assert_false(c.shared);
		assert_int_equal(c.verbosity, 0);
	}
}

/*
 * Another getopt user in the same process (a test harness, a library)
 * must not change how cli_parse reads argv: glibc keeps the ordering
 * ("+": stop at the first non-option) of the call that initialised it,
 * so an earlier getopt without "+" makes cli_parse permute argv and take
 * COMMAND's options as its own.
 */
static void
test_after_other_getopt(void **state)
{
	char *other[] = { "prog", "-a", "x", NULL };
	char **argv = ARGV("L", "k", "cmd", "-s", "-n");
	char err[256];
	struct cli c;

	(void)state;
	optind = 0;
	opterr = 0;
	while (getopt(3, other, "a") != -1)
		continue;
	if (cli_parse(count(argv), argv, NULL, &c, err, sizeof(err)) != 0)
		fail_msg("\"L k cmd -s -n\" refused: %s", err);
	assert_string_equal(c.lockdir, "L");
	assert_string_equal(c.key, "k");
	assert_false(c.shared);
	assert_int_equal(c.wait, WAIT_FOREVER);
	assert_command(&c, ARGV("cmd", "-s", "-n") + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_command_keeps_its_options),
		cmocka_unit_test(test_options_between_words),
		cmocka_unit_test(test_lock_options),
		cmocka_unit_test(test_publish_options),
		cmocka_unit_test(test_env_timeout),
		cmocka_unit_test(test_env_timeout_invalid),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_small_err_buffer),
		cmocka_unit_test(test_status_and_clean),
		cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_repeated_calls),
		cmocka_unit_test(test_after_other_getopt),
	};

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
