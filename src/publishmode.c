/*
 * Publish mode's flow (-o DEST), in the order run() calls it.  The rule
 * throughout: until the final rename, nothing touches DEST, so any
 * failure (COMMAND, --check, a signal, a full disk) leaves DEST exactly
 * as it was and only has to remove the staging container.  The staging
 * container and the rename into DEST themselves are in stage.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "exitcode.h"
#include "lockwatch.h"
#include "msg.h"
#include "publishmode.h"

int
publish_precheck(const struct cli *c, struct stage *s)
{
	switch (stage_init(s, c->dest, c->file_output)) {
	case DEST_OK:
		break;
	case DEST_BAD_NAME:
		msg_error("invalid DEST '%s': it must name a file or directory "
		    "(not end in '/', '.' or '..', not start with '%s' or "
		    "'%s')", show(c->dest), STAGE_PREFIX,
		    STAGE_VERSION_PREFIX);
		return EXIT_USAGE;
	case DEST_NAME_TOO_LONG:
		msg_error("invalid DEST '%s': its last component is longer "
		    "than a file name can be (%d bytes)", show(c->dest),
		    NAME_MAX);
		return EXIT_USAGE;
	case DEST_NO_PARENT:
		msg_error("cannot use DEST '%s': its directory: %s",
		    show(c->dest), strerror(errno));
		return errno == ENOENT || errno == ENOTDIR ? EXIT_NOINPUT :
		    exit_for_errno(errno, EXIT_CANTCREAT);
	case DEST_PARENT_NOT_WRITABLE:
		msg_error("cannot publish DEST '%s': its directory '%s' is not "
		    "writable: %s", show(c->dest), show(s->dir),
		    strerror(errno));
		return exit_for_errno(errno, EXIT_NOPERM);
	case DEST_IS_LINK:
		msg_error("DEST '%s' is a symbolic link that lockbuild did "
		    "not make; lockbuild replaces DEST itself and will not "
		    "replace such a link", show(c->dest));
		return EXIT_CANTCREAT;
	case DEST_WRONG_TYPE:
		msg_error("DEST '%s' is %s, but %s", show(c->dest),
		    c->file_output ? "a directory" : "not a directory",
		    c->file_output ? "-f publishes a file" :
		    "the output is a directory (use -f for a file)");
		return EXIT_CANTCREAT;
	}
	if (dest_contains(s, c->lockdir)) {
		msg_error("LOCKDIR '%s' is inside DEST '%s', which publishing "
		    "replaces", show(c->lockdir), show(c->dest));
		return EXIT_USAGE;
	}
	if (c->once && dest_exists(s)) {
		msg_verbose("'%s' exists; nothing to do (--once)",
		    show(c->dest));
		return 0;
	}
	return CARRY_ON;
}

void
report_leftover(const char *path, int err)
{
	if (err == 0)
		msg_info("removed leftover staging dir '%s' of a build that "
		    "did not finish", show(path));
	else
		msg_info("cannot remove leftover staging dir '%s': %s",
		    show(path), strerror(err));
}

/* COMMAND's argv with every STR replaced by the staging path (-I). */
static char **
substitute(char **argv, const char *str, const char *path)
{
	size_t n = 0, i, slen = strlen(str), plen = strlen(path);
	char **out;

	while (argv[n] != NULL)
		n++;
	out = calloc(n + 1, sizeof(*out));
	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		const char *p = argv[i], *hit;
		size_t hits = 0, len;
		char *o;

		for (hit = strstr(p, str); hit; hit = strstr(hit + slen, str))
			hits++;
		len = strlen(p) + hits * plen + 1;
		if ((out[i] = o = malloc(len)) == NULL) {
			while (i > 0)
				free(out[--i]);
			free(out);
			return NULL;
		}
		while ((hit = strstr(p, str)) != NULL) {
			memcpy(o, p, (size_t)(hit - p));
			o += hit - p;
			memcpy(o, path, plen);
			o += plen;
			p = hit + slen;
		}
		strlcpy(o, p, len - (size_t)(o - out[i]));
	}
	return out;
}

void
publish_free_argv(const struct cli *c, char **argv)
{
	size_t i;

	if (argv == NULL || argv == c->command)
		return;
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

int
publish_prepare(const struct cli *c, struct stage *s, struct owner *rec,
    char ***argv)
{
	*argv = c->command;
	if (c->once && dest_exists_now(s)) {
		msg_verbose("'%s' was published while we waited; nothing to "
		    "do (--once)", show(c->dest));
		return 0;
	}
	stage_sweep(s, report_leftover);
	if (stage_create(s) == -1) {
		msg_error("cannot %s next to '%s': %s", s->step, show(c->dest),
		    strerror(errno));
		return exit_for_errno(errno, EXIT_CANTCREAT);
	}
	if (setenv("LOCKBUILD_STAGING", s->path, 1) == -1 ||
	    setenv("LOCKBUILD_DEST", c->dest, 1) == -1) {
		msg_error("cannot set environment: %s", strerror(errno));
		stage_remove(s);
		return EXIT_OSERR;
	}
	if (c->replace_str != NULL &&
	    (*argv = substitute(c->command, c->replace_str, s->path)) == NULL) {
		msg_error("cannot build COMMAND: %s", strerror(errno));
		stage_remove(s);
		return EXIT_OSERR;
	}
	/* Absolute, so that --clean from another directory finds it. */
	if (strcmp(s->dir, "/") != 0)
		strlcpy(rec->dest, s->dir, sizeof(rec->dest));
	else
		rec->dest[0] = '\0';
	strlcat(rec->dest, "/", sizeof(rec->dest));
	strlcat(rec->dest, s->base, sizeof(rec->dest));
	strlcpy(rec->staging, s->path, sizeof(rec->staging));
	return CARRY_ON;
}

/* Leaves DEST alone and gets rid of (or keeps) the staging dir. */
static int
discard(const struct cli *c, struct stage *s, int code, const char *why)
{
	if (c->keep_failed) {
		msg_info("%s; '%s' left as it was; staging kept in '%s'", why,
		    show(c->dest), show(s->path));
		stage_close(s);
		return code;
	}
	msg_info("%s; '%s' left as it was", why, show(c->dest));
	/* After a lost lock, the next holder may have swept it already. */
	if (stage_remove(s) == -1 && !(code == EXIT_LOCKLOST &&
	    (errno == ENOENT || errno == ESTALE)))
		msg_error("cannot remove staging dir '%s': %s", show(s->path),
		    strerror(errno));
	return code;
}

/* The lock is gone (lockwatch.c's reason e): discarded, exit 76. */
static int
discard_lost(const struct cli *c, struct stage *s, int e)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "the lock is lost (%s)", lockwatch_why(e));
	return discard(c, s, EXIT_LOCKLOST, buf);
}

/*
 * The output is refused (why).  On a network filesystem the lock is asked
 * about first: a refused or missing output may be the next holder's
 * sweep of the staging dir, after the server took our lock back while we
 * waited for it (tests/hosts/partition.t, "the fence").
 */
static int
discard_refused(const struct cli *c, struct stage *s, const char *why)
{
	int e;

	if ((e = lockwatch_confirm()) != 0)
		return discard_lost(c, s, e);
	return discard(c, s, EXIT_DATAERR, why);
}

static int
run_check(const struct cli *c)
{
	char *argv[] = { "sh", "-c", (char *)c->check_cmd, NULL };
	pid_t pid;
	int r = child_start(argv, &pid);

	if (r != 0) {
		errno = r;
		return -1;
	}
	return child_wait(pid);
}

/* --check: CARRY_ON when it accepts the output, else the exit status,
 * with the staging dir discarded. */
static int
check_output(const struct cli *c, struct stage *s)
{
	char buf[128];
	int cst = run_check(c);

	if (cst == -1 && errno == EINTR && signal_pending() != 0)
		return discard(c, s, EXIT_SIGNAL_BASE + signal_pending(),
		    "interrupted before --check");
	if (cst == -1) {
		snprintf(buf, sizeof(buf), "cannot run --check: %s%s%s",
		    start_error_cause(errno) ? start_error_cause(errno) : "",
		    start_error_cause(errno) ? ": " : "", strerror(errno));
		return discard(c, s, EXIT_OSERR, buf);
	}
	/* A check killed by our forwarded signal refused nothing. */
	if (signal_pending() != 0)
		return discard(c, s, EXIT_SIGNAL_BASE + signal_pending(),
		    "interrupted during --check");
	if (!WIFEXITED(cst) || WEXITSTATUS(cst) != 0) {
		snprintf(buf, sizeof(buf), "--check refused the output "
		    "(status %d)", status_to_exit(cst));
		return discard_refused(c, s, buf);
	}
	return CARRY_ON;
}

int
publish_finish(const struct cli *c, struct stage *s, int st,
    int (*set_state)(const char *state, void *arg), void *arg)
{
	const char *why = NULL;
	char buf[128];
	bool published;
	int code;

	stage_release(s);	/* for --check, reading and publishing */
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		code = status_to_exit(st);
		if (WIFSIGNALED(st))
			snprintf(buf, sizeof(buf), "COMMAND was killed by "
			    "signal %d", WTERMSIG(st));
		else
			snprintf(buf, sizeof(buf), "COMMAND failed with exit "
			    "status %d", code);
		return discard(c, s, code, buf);
	}
	if (signal_pending() != 0)
		return discard(c, s, EXIT_SIGNAL_BASE + signal_pending(),
		    "interrupted");
	if (c->check_cmd != NULL && (code = check_output(c, s)) != CARRY_ON)
		return code;
	if (stage_has_output(s, c->allow_empty, &why) != 1)
		return discard_refused(c, s, why);
	if (signal_pending() != 0)
		return discard(c, s, EXIT_SIGNAL_BASE + signal_pending(),
		    "interrupted");

	/* The rename is the fence: never after the lock is gone. */
	if (set_state("publishing", arg) == -1)
		return discard_lost(c, s, errno);
	if (stage_publish(s, c->no_fsync, c->if_changed, &published) == -1) {
		int e = errno;

		msg_error("cannot publish '%s': %s: %s", show(c->dest), s->step,
		    strerror(e));
		code = e == EEXIST ? EXIT_CANTCREAT :
		    exit_for_errno(e, EXIT_CANTCREAT);
		if (published) {
			/* DEST is new; only flushing its directory failed. */
			stage_remove(s);
			return code;
		}
		return discard(c, s, code, "not published");
	}
	if (published)
		msg_verbose("published '%s'", show(c->dest));
	else
		msg_verbose("'%s' unchanged; left as it was (--if-changed)",
		    show(c->dest));
	/* The container, with the replaced DEST in it, goes once the key
	 * is free (publish_cleanup): the next holder must not wait for
	 * the old tree to be deleted, which takes long on NFS. */
	/*
	 * A signal that came while the rename was under way was held back
	 * so as not to leave a half-done publish; still report it.
	 */
	if (signal_pending() != 0) {
		msg_info("'%s' was %s before the signal was acted on",
		    show(c->dest), published ? "published" : "left as it was");
		return EXIT_SIGNAL_BASE + signal_pending();
	}
	return 0;
}

void
publish_sweep_recorded(const struct owner *o, uid_t record_uid,
    void (*found)(const char *path, int err))
{
	struct stage s;

	/* The record is data anyone could have written: only its writer's
	 * own leftovers, found by name next to its DEST, are touched. */
	if (o->dest[0] == '\0' || record_uid != getuid())
		return;
	if (stage_init(&s, o->dest, false) != DEST_NO_PARENT &&
	    s.parentfd != -1) {
		stage_sweep(&s, found);
		close(s.parentfd);
	}
}

void
publish_cleanup(const struct cli *c, struct stage *s)
{
	if (stage_remove(s) == -1)
		msg_error("published '%s', but cannot remove staging dir '%s': "
		    "%s", show(c->dest), show(s->path), strerror(errno));
}
