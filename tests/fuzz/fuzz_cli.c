/*
 * libFuzzer harness for the command-line parser (src/cli.c).  The input
 * is split at NUL bytes: the first word is LOCKBUILD_TIMEOUT ("" for
 * unset), the others are the arguments after argv[0] ("lockbuild").
 * Checks, for every input:
 *  - cli_parse() never crashes and gives the same answer twice in a row
 *    (getopt's hidden state is reset);
 *  - on failure: err is a non-empty single line (it is printed after
 *    "lockbuild: " as one message), with no control bytes;
 *  - on success: the struct is consistent: LOCKDIR, KEY and COMMAND are
 *    non-empty words of argv in that order, COMMAND runs to argv's end,
 *    the wait policy, -E, -q/-v and the publish options agree with the
 *    spec's exclusions.
 * Any violation aborts, which libFuzzer reports as a crash.  Building
 * with -DFUZZ_SKIP_ONE_LINE_CHECKS (FUZZ_CFLAGS in run.sh) leaves out the
 * one-line check, to fuzz deeper while a known message bug stands.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "numparse.h"

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_cli: check failed: %s (line %d)\n", \
		    #cond, __LINE__);					\
		abort();						\
	}								\
} while (0)

#define MAX_ARGS 256

/* Index of p among argv[0..argc-1], or -1. */
static int
word_index(char **argv, int argc, const char *p)
{
	for (int i = 0; i < argc; i++)
		if (argv[i] == p)
			return i;
	return -1;
}

static void
check_success(const struct cli *c, int argc, char **argv)
{
	bool publish_opt = c->file_output || c->once || c->if_changed ||
	    c->keep_failed || c->allow_empty || c->no_fsync ||
	    c->check_cmd != NULL || c->replace_str != NULL;

	switch (c->mode) {
	case MODE_HELP:
	case MODE_VERSION:
		return;
	case MODE_STATUS:
	case MODE_CLEAN:
		CHECK(c->lockdir != NULL && c->lockdir[0] != '\0');
		CHECK(word_index(argv, argc, c->lockdir) >= 1);
		CHECK(c->nkeys >= 0 && c->keys != NULL);
		CHECK(c->keys + c->nkeys == argv + argc);
		CHECK(c->keys[c->nkeys] == NULL);
		CHECK(c->mode == MODE_STATUS || c->nkeys == 0);
		CHECK(c->mode == MODE_STATUS || !c->json);
		CHECK(!c->shared && c->dest == NULL && !publish_opt &&
		    !c->close_fd && !c->no_fork && c->wait == WAIT_FOREVER);
		return;
	case MODE_RUN:
		break;
	default:
		CHECK(!"unknown mode");
	}
	CHECK(c->lockdir != NULL && c->lockdir[0] != '\0');
	CHECK(c->key != NULL && c->key[0] != '\0');
	CHECK(c->command != NULL && c->command[0] != NULL);
	{
		int il = word_index(argv, argc, c->lockdir);
		int ik = word_index(argv, argc, c->key);
		int ic = (int)(c->command - argv);

		CHECK(il >= 1 && ik > il && ic > ik && ic < argc);
	}
	CHECK(!c->json);
	CHECK(c->conflict_code >= 0 && c->conflict_code <= 255);
	CHECK(c->verbosity >= -1 && c->verbosity <= 1);
	CHECK(c->wait == WAIT_FOREVER || c->wait == WAIT_NONBLOCK ||
	    c->wait == WAIT_TIMEOUT);
	if (c->wait == WAIT_TIMEOUT)
		CHECK(isfinite(c->timeout) && c->timeout >= 0 &&
		    c->timeout <= TIMEOUT_MAX_SECONDS);
	CHECK(!publish_opt || c->dest != NULL);
	if (c->dest != NULL)
		CHECK(c->dest[0] != '\0' && !c->shared && !c->no_fork);
	CHECK(c->replace_str == NULL || c->replace_str[0] != '\0');
	CHECK(!(c->no_fork && c->close_fd));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[65536 + 2];
	char *argv[MAX_ARGS + 2], *env, *p, *end;
	char err[512], err2[512];
	struct cli c, c2;
	int argc = 0, r, r2;

	if (size > 65536)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	buf[size + 1] = '\0';

	/* Word 0: LOCKBUILD_TIMEOUT; words 1...: the arguments. */
	env = buf;
	p = buf + strlen(buf) + 1;
	end = buf + size;
	argv[argc++] = "lockbuild";
	while (p <= end && argc < MAX_ARGS) {
		if (p == end)	/* no trailing empty word after a final NUL */
			break;
		argv[argc++] = p;
		p += strlen(p) + 1;
	}
	argv[argc] = NULL;

	memset(err, 'X', sizeof(err));
	r = cli_parse(argc, argv, env[0] != '\0' ? env : NULL, &c, err,
	    sizeof(err));
	CHECK(r == 0 || r == -1);
	if (r == -1) {
		CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		CHECK(err[0] != '\0');
#ifndef FUZZ_SKIP_ONE_LINE_CHECKS
		for (const char *q = err; *q != '\0'; q++)
			CHECK(*q != '\n' && *q != '\r' &&
			    ((unsigned char)*q >= 0x20 || *q == '\t') &&
			    *q != 0x7f);
#endif
	} else {
		check_success(&c, argc, argv);
	}

	/* Same answer again: nothing left over from the first call. */
	r2 = cli_parse(argc, argv, env[0] != '\0' ? env : NULL, &c2, err2,
	    sizeof(err2));
	CHECK(r2 == r);
	if (r == -1) {
		CHECK(strcmp(err, err2) == 0);
	} else {
		CHECK(c2.mode == c.mode && c2.wait == c.wait &&
		    c2.shared == c.shared && c2.dest == c.dest &&
		    c2.lockdir == c.lockdir && c2.key == c.key &&
		    c2.command == c.command && c2.keys == c.keys &&
		    c2.nkeys == c.nkeys &&
		    c2.conflict_code == c.conflict_code &&
		    c2.verbosity == c.verbosity);
		if (c.wait == WAIT_TIMEOUT)
			CHECK(c2.timeout == c.timeout);
	}
	return 0;
}
