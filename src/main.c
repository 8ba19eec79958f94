/*
 * lockbuild: run a command under a per-key lock, and optionally publish
 * its output atomically.  This file only parses and dispatches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "exitcode.h"
#include "msg.h"
#include "run.h"
#include "status.h"

#ifndef VERSION
#define VERSION "unknown"
#endif

extern char **environ;

int
main(int argc, char *argv[])
{
	struct cli c;
	char err[512];

#ifdef LIBBSD_OVERLAY
	/* libbsd needs room for the title; the BSDs' own setproctitle not. */
	setproctitle_init(argc, argv, environ);
#endif
	if (cli_parse(argc, argv, getenv("LOCKBUILD_TIMEOUT"), &c, err,
	    sizeof(err)) == -1) {
		msg_error("%s", err);
		fputs("usage: lockbuild [options] lockdir key [--] command "
		    "[arg ...]; see lockbuild --help\n", stderr);
		return EXIT_USAGE;
	}
	msg_level = c.verbosity;
	switch (c.mode) {
	case MODE_HELP:
		fputs(cli_usage, stdout);
		puts("Run a command under a per-key lock; with -o, build into a "
		    "private staging\ndirectory and publish it atomically.  "
		    "See lockbuild(1).");
		return 0;
	case MODE_VERSION:
		puts("lockbuild " VERSION);
		return 0;
	case MODE_STATUS:
		return status_main(&c);
	case MODE_CLEAN:
		return clean_main(&c);
	default:
		return run(&c);
	}
}
