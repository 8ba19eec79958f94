/*
 * argv -> struct cli.  Options may stand anywhere before COMMAND, also
 * between LOCKDIR, KEY and COMMAND (so "-I @" can sit next to the command
 * it edits); "--" or the first word after KEY that is not an option starts
 * COMMAND, whose own options are never looked at.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "exitcode.h"
#include "msg.h"
#include "numparse.h"

const char cli_usage[] =
    "usage: lockbuild [-nqsvxCF] [-w seconds] [-E code] lockdir key [--]\n"
    "                 command [arg ...]\n"
    "       lockbuild [lock options] -o dest [-f] [--once] [--if-changed]\n"
    "                 [--check cmd] [-I str] [--keep-failed] [--allow-empty]\n"
    "                 [--no-fsync] lockdir key [--] command [arg ...]\n"
    "       lockbuild --status [--json] lockdir [key ...]\n"
    "       lockbuild --clean lockdir\n"
    "       lockbuild --help | --version\n";

enum {
	OPT_ONCE = 256, OPT_IF_CHANGED, OPT_CHECK, OPT_KEEP_FAILED,
	OPT_ALLOW_EMPTY, OPT_NO_FSYNC, OPT_STATUS, OPT_JSON, OPT_CLEAN
};

static const struct option longopts[] = {
	{ "nonblock",		no_argument,		NULL, 'n' },
	{ "nb",			no_argument,		NULL, 'n' },
	{ "timeout",		required_argument,	NULL, 'w' },
	{ "wait",		required_argument,	NULL, 'w' },
	{ "shared",		no_argument,		NULL, 's' },
	{ "exclusive",		no_argument,		NULL, 'x' },
	{ "conflict-exit-code",	required_argument,	NULL, 'E' },
	{ "quiet",		no_argument,		NULL, 'q' },
	{ "verbose",		no_argument,		NULL, 'v' },
	{ "close",		no_argument,		NULL, 'C' },
	{ "no-fork",		no_argument,		NULL, 'F' },
	{ "output",		required_argument,	NULL, 'o' },
	{ "file",		no_argument,		NULL, 'f' },
	{ "replace",		required_argument,	NULL, 'I' },
	{ "once",		no_argument,		NULL, OPT_ONCE },
	{ "if-changed",		no_argument,		NULL, OPT_IF_CHANGED },
	{ "check",		required_argument,	NULL, OPT_CHECK },
	{ "keep-failed",	no_argument,		NULL, OPT_KEEP_FAILED },
	{ "allow-empty",	no_argument,		NULL, OPT_ALLOW_EMPTY },
	{ "no-fsync",		no_argument,		NULL, OPT_NO_FSYNC },
	{ "status",		no_argument,		NULL, OPT_STATUS },
	{ "json",		no_argument,		NULL, OPT_JSON },
	{ "clean",		no_argument,		NULL, OPT_CLEAN },
	{ "help",		no_argument,		NULL, 'h' },
	{ "version",		no_argument,		NULL, 'V' },
	{ NULL,			0,			NULL, 0 }
};

/*
 * The options that only mean something with -o DEST, in the order the
 * message naming them lists them: the one list of them.
 */
static const struct {
	int ch;
	const char *name;
} publish_only[] = {
	{ 'f',			"-f" },
	{ 'I',			"-I" },
	{ OPT_ONCE,		"--once" },
	{ OPT_IF_CHANGED,	"--if-changed" },
	{ OPT_CHECK,		"--check" },
	{ OPT_KEEP_FAILED,	"--keep-failed" },
	{ OPT_ALLOW_EMPTY,	"--allow-empty" },
	{ OPT_NO_FSYNC,		"--no-fsync" }
};
#define NPUBLISH_ONLY (sizeof(publish_only) / sizeof(publish_only[0]))

/* What the option loop saw, for the checks of each mode after it. */
struct seen {
	char *pos[2];		/* LOCKDIR and KEY, as far as given */
	int npos;
	bool n, w, q, v;	/* -n, -w, -q, -v */
	bool publish_opt;	/* one of publish_only[] */
};

static int
fail(char *err, unsigned errsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}

/* The option as the user typed it, for messages. */
static const char *
optname(int ch, char **argv, char *buf, size_t bufsz)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";

	if (strncmp(arg, "--", 2) == 0 || ch <= 0 || ch >= 256)
		return arg;
	snprintf(buf, bufsz, "-%c", ch);
	return buf;
}

static bool
is_publish_only(int ch)
{
	size_t i;

	for (i = 0; i < NPUBLISH_ONLY; i++)
		if (publish_only[i].ch == ch)
			return true;
	return false;
}

/* "-f, -I, ... and --no-fsync need -o DEST", from publish_only[]. */
static int
fail_needs_dest(char *err, unsigned errsz)
{
	char list[256] = "";
	size_t i;

	for (i = 0; i < NPUBLISH_ONLY; i++) {
		if (i > 0)
			strlcat(list, i + 1 < NPUBLISH_ONLY ? ", " : " and ",
			    sizeof(list));
		strlcat(list, publish_only[i].name, sizeof(list));
	}
	return fail(err, errsz, "%s need -o DEST", list);
}

/* The reason for an option getopt_long refused (':' or '?'). */
static int
bad_option(int ch, char **argv, char *err, unsigned errsz)
{
	char namebuf[8];

	if (ch == ':')
		return fail(err, errsz, "option %s needs an argument",
		    show(optname(optopt, argv, namebuf, sizeof(namebuf))));
	if (strncmp(argv[optind - 1], "--", 2) == 0 &&
	    strchr(argv[optind - 1], '=') != NULL)
		return fail(err, errsz, "option '%s' takes no "
		    "argument, or is unknown", show(argv[optind - 1]));
	return fail(err, errsz, "unknown option '%s'",
	    show(optname(optopt, argv, namebuf, sizeof(namebuf))));
}

/* -o and the options of publish_only[]. */
static int
publish_option(int ch, struct cli *c, char *err, unsigned errsz)
{
	switch (ch) {
	case 'o':
		if (optarg[0] == '\0')
			return fail(err, errsz, "-o needs a non-empty path");
		c->dest = optarg;
		break;
	case 'f':
		c->file_output = true;
		break;
	case 'I':
		if (optarg[0] == '\0')
			return fail(err, errsz, "-I needs a non-empty string");
		c->replace_str = optarg;
		break;
	case OPT_ONCE:
		c->once = true;
		break;
	case OPT_IF_CHANGED:
		c->if_changed = true;
		break;
	case OPT_CHECK:
		c->check_cmd = optarg;
		break;
	case OPT_KEEP_FAILED:
		c->keep_failed = true;
		break;
	case OPT_ALLOW_EMPTY:
		c->allow_empty = true;
		break;
	case OPT_NO_FSYNC:
		c->no_fsync = true;
		break;
	}
	return 0;
}

/* One option from getopt_long into *c and *s.  0, or -1 with err. */
static int
option(int ch, char **argv, struct cli *c, struct seen *s, char *err,
    unsigned errsz)
{
	const char *why;

	if (is_publish_only(ch))
		s->publish_opt = true;
	switch (ch) {
	case 'n':
		s->n = true;
		break;
	case 'w':
		if (parse_seconds(optarg, &c->timeout, &why) == -1)
			return fail(err, errsz,
			    "invalid timeout '%s': %s", show(optarg), why);
		s->w = true;
		break;
	case 's':
		c->shared = true;
		break;
	case 'x':
		c->shared = false;
		break;
	case 'E':
		if (parse_exit_code(optarg, &c->conflict_code, &why) == -1)
			return fail(err, errsz,
			    "invalid exit code '%s': %s (0 to 255)",
			    show(optarg), why);
		break;
	case 'q':
		s->q = true;
		c->verbosity = -1;
		break;
	case 'v':
		s->v = true;
		c->verbosity = 1;
		break;
	case 'C':
		c->close_fd = true;
		break;
	case 'F':
		c->no_fork = true;
		break;
	case 'o':
	case 'f':
	case 'I':
	case OPT_ONCE:
	case OPT_IF_CHANGED:
	case OPT_CHECK:
	case OPT_KEEP_FAILED:
	case OPT_ALLOW_EMPTY:
	case OPT_NO_FSYNC:
		return publish_option(ch, c, err, errsz);
	case OPT_STATUS:
	case OPT_CLEAN:
		if (c->mode != MODE_RUN || s->npos > 0)
			return fail(err, errsz,
			    "--status and --clean come first, alone");
		c->mode = ch == OPT_STATUS ? MODE_STATUS : MODE_CLEAN;
		break;
	case OPT_JSON:
		c->json = true;
		break;
	case 'h':
		c->mode = MODE_HELP;
		break;
	case 'V':
		c->mode = MODE_VERSION;
		break;
	default:
		return bad_option(ch, argv, err, errsz);
	}
	return 0;
}

/*
 * The option loop: options into *c and *s, LOCKDIR and KEY into s->pos.
 * It stops at COMMAND (optind is its index) or, with --status and
 * --clean, at the first word that is not an option; at once for --help
 * and --version.
 */
static int
read_options(int argc, char **argv, struct cli *c, struct seen *s,
    char *err, unsigned errsz)
{
	int ch, longidx;

	opterr = 0;
	/* A full reset: glibc keeps the state of a half-read "-abc" cluster
	 * and its ordering mode unless optind is 0; BSD needs optreset. */
#ifdef __GLIBC__
	optind = 0;
#else
	optind = 1;
	optreset = 1;
#endif
	for (;;) {
		int before = optind > 0 ? optind : 1;
		bool at_dashdash = before < argc && strcmp(argv[before], "--") == 0;

		ch = getopt_long(argc, argv, "+:nw:sxE:qvCFo:fI:hV", longopts,
		    &longidx);
		if (ch == -1) {
			if (c->mode != MODE_RUN)
				break;
			/* "--" ends options for good: the rest is positional. */
			if (at_dashdash && optind == before + 1) {
				while (s->npos < 2 && optind < argc)
					s->pos[s->npos++] = argv[optind++];
				break;
			}
			/* A plain word is LOCKDIR, then KEY, then COMMAND. */
			if (optind < argc && s->npos < 2) {
				s->pos[s->npos++] = argv[optind++];
				continue;
			}
			break;
		}
		if (option(ch, argv, c, s, err, errsz) == -1)
			return -1;
		if (c->mode == MODE_HELP || c->mode == MODE_VERSION)
			break;
	}
	return 0;
}

/* --status and --clean: LOCKDIR, then (--status only) keys. */
static int
check_status_mode(int argc, char **argv, struct cli *c,
    const struct seen *s, char *err, unsigned errsz)
{
	if (optind >= argc)
		return fail(err, errsz, "missing LOCKDIR");
	if (s->n || s->w || c->shared || c->dest || s->publish_opt ||
	    c->close_fd || c->no_fork)
		return fail(err, errsz, "%s takes no lock options",
		    c->mode == MODE_STATUS ? "--status" : "--clean");
	if (c->json && c->mode != MODE_STATUS)
		return fail(err, errsz, "--json goes with --status");
	c->lockdir = argv[optind++];
	if (c->lockdir[0] == '\0')
		return fail(err, errsz, "LOCKDIR must not be empty");
	c->keys = argv + optind;
	c->nkeys = argc - optind;
	if (c->mode == MODE_CLEAN && c->nkeys > 0)
		return fail(err, errsz, "--clean takes only LOCKDIR");
	return 0;
}

/* -o and what goes with it, or cannot. */
static int
check_publish(const struct cli *c, const struct seen *s, char *err,
    unsigned errsz)
{
	if (s->publish_opt && c->dest == NULL)
		return fail_needs_dest(err, errsz);
	if (c->dest != NULL && c->shared)
		return fail(err, errsz, "-s cannot publish: -o needs an "
		    "exclusive lock");
	if (c->dest != NULL && c->no_fork)
		return fail(err, errsz, "-F cannot publish: -o needs lockbuild "
		    "to stay and rename the result");
	return 0;
}

/* Lock and run (and publish with -o): LOCKDIR KEY COMMAND. */
static int
check_run_mode(int argc, char **argv, const char *env_timeout,
    struct cli *c, const struct seen *s, char *err, unsigned errsz)
{
	const char *why;

	if (c->json)
		return fail(err, errsz, "--json goes with --status");
	if (s->npos < 1)
		return fail(err, errsz, "missing LOCKDIR");
	if (s->npos < 2)
		return fail(err, errsz, "missing KEY");
	if (optind >= argc)
		return fail(err, errsz, "missing COMMAND");
	c->lockdir = s->pos[0];
	c->key = s->pos[1];
	c->command = argv + optind;
	if (c->lockdir[0] == '\0')
		return fail(err, errsz, "LOCKDIR must not be empty");
	if (c->key[0] == '\0')
		return fail(err, errsz, "KEY must not be empty");

	if (s->n)
		c->wait = WAIT_NONBLOCK;
	else if (s->w)
		c->wait = WAIT_TIMEOUT;
	else if (env_timeout != NULL && env_timeout[0] != '\0') {
		if (parse_seconds(env_timeout, &c->timeout, &why) == -1)
			return fail(err, errsz,
			    "invalid LOCKBUILD_TIMEOUT '%s': %s",
			    show(env_timeout), why);
		c->wait = WAIT_TIMEOUT;
	}

	if (check_publish(c, s, err, errsz) == -1)
		return -1;
	if (c->no_fork && c->close_fd)
		return fail(err, errsz, "-F keeps the lock on COMMAND's "
		    "descriptor, so -C cannot go with it");
	return 0;
}

int
cli_parse(int argc, char **argv, const char *env_timeout, struct cli *c,
    char *err, unsigned errsz)
{
	struct seen s;

	memset(c, 0, sizeof(*c));
	memset(&s, 0, sizeof(s));
	c->mode = MODE_RUN;
	c->wait = WAIT_FOREVER;
	c->conflict_code = EXIT_CONFLICT;

	if (read_options(argc, argv, c, &s, err, errsz) == -1)
		return -1;
	if (c->mode == MODE_HELP || c->mode == MODE_VERSION)
		return 0;
	if (s.n && s.w)
		return fail(err, errsz, "-n and -w exclude each other");
	if (s.q && s.v)
		return fail(err, errsz, "-q and -v exclude each other");
	if (c->mode == MODE_STATUS || c->mode == MODE_CLEAN)
		return check_status_mode(argc, argv, c, &s, err, errsz);
	return check_run_mode(argc, argv, env_timeout, c, &s, err, errsz);
}
