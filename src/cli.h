/*
 * The command line as a struct.  cli_parse() reads argv (and the
 * environment values handed to it) and has no other side effect: it
 * neither prints nor exits, so tests can feed it anything.
 */
#ifndef LOCKBUILD_CLI_H
#define LOCKBUILD_CLI_H

#include <stdbool.h>

enum cli_mode {
	MODE_RUN,	/* lock, run COMMAND (and publish with -o) */
	MODE_STATUS,	/* --status */
	MODE_CLEAN,	/* --clean */
	MODE_HELP,
	MODE_VERSION
};

enum wait_kind {
	WAIT_FOREVER,
	WAIT_NONBLOCK,
	WAIT_TIMEOUT
};

struct cli {
	enum cli_mode mode;
	enum wait_kind wait;
	double timeout;		/* seconds, with WAIT_TIMEOUT */
	bool shared;
	int conflict_code;	/* -E */
	int verbosity;		/* -1 quiet, 0 normal, 1 verbose */
	bool close_fd;		/* -C: do not pass the lock fd to COMMAND */
	bool no_fork;		/* -F */
	bool json;		/* --json */

	/* publish mode (-o) */
	const char *dest;
	bool file_output;	/* -f */
	bool once;
	bool if_changed;
	bool keep_failed;
	bool allow_empty;
	bool no_fsync;
	const char *check_cmd;
	const char *replace_str;	/* -I */

	const char *lockdir;
	const char *key;
	char **keys;		/* --status: KEY... (may be empty) */
	int nkeys;
	char **command;		/* NULL-terminated, points into argv */
};

/*
 * Fills *c from argv.  env_timeout is LOCKBUILD_TIMEOUT (or NULL); an
 * explicit -w or -n wins over it.  Returns 0, or -1 with a one-line reason
 * in err (the caller prints it and exits EXIT_USAGE).
 */
int cli_parse(int argc, char **argv, const char *env_timeout, struct cli *c,
    char *err, unsigned errsz);

/* The short usage text, for --help and after usage errors. */
extern const char cli_usage[];

#endif
