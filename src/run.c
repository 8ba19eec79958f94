/*
 * Lock, record, run, release.  Order matters for the guarantees:
 *  - the owner record is written into the lock file only after the lock
 *    is ours, and goes with the file when lock_release deletes it;
 *  - COMMAND inherits the lock's descriptor (unless -C), so the key stays
 *    locked as long as COMMAND or anything it started is alive, even if
 *    lockbuild is SIGKILLed.
 * run(), at the end, reads as those steps: open_lockdir, take_key,
 * record_holder, publish_prepare (-o), start_command, finish.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "acquire.h"
#include "child.h"
#include "exitcode.h"
#include "keyinfo.h"
#include "lock.h"
#include "lockdir.h"
#include "lockwatch.h"
#include "lockname.h"
#include "msg.h"
#include "owner.h"
#include "publishmode.h"
#include "run.h"

struct waitctx {
	const struct cli *c;
	int dirfd;
	const struct lockname *ln;
	bool tty;
	bool drew;		/* a status line is on the terminal */
};

static void
describe_holder(int dirfd, const struct lockname *f, char *buf, size_t bufsz)
{
	struct keyinfo ki;

	keyinfo_read(dirfd, f, &ki);
	keyinfo_describe(dirfd, f, &ki, buf, bufsz);
}

static double
wait_tick(void *arg, double waited)
{
	struct waitctx *w = arg;
	char holder[1024], line[1400];

	describe_holder(w->dirfd, w->ln, holder, sizeof(holder));
	setproctitle("waiting for '%s' (%.0fs)", show(w->c->key), waited);
	if (msg_level < 0)
		return w->tty ? 1.0 : 30.0;
	if (w->tty) {
		/* One line, redrawn in place every second. */
		snprintf(line, sizeof(line), "\rlockbuild: '%s' %s; waiting "
		    "%.0fs\033[K", show(w->c->key), holder, waited);
		if (write(STDERR_FILENO, line, strlen(line)) > 0)
			w->drew = true;
		return 1.0;
	}
	msg_info("'%s' %s; waiting", show(w->c->key), holder);
	return 30.0;
}

static void
end_status_line(struct waitctx *w)
{
	if (w->drew && write(STDERR_FILENO, "\r\033[K", 4) < 0)
		w->drew = false;
	w->drew = false;
}

static int
lockdir_error(const char *path, int e, const struct lockdir_info *why)
{
	switch (e) {
	case ENOTDIR:
		msg_error("LOCKDIR '%s' is not a directory", show(path));
		return EXIT_CANTCREAT;
	case EEXIST:
		msg_error("cannot create LOCKDIR '%s': a dangling symbolic "
		    "link is in the way", show(path));
		return EXIT_CANTCREAT;
	case EPERM:
		msg_error("LOCKDIR '%s': refusing to follow symbolic link '%s', "
		    "owned by uid %ld in a sticky world-writable directory "
		    "(anyone there could point it anywhere)", show(path),
		    show(why->link), (long)why->owner);
		return EXIT_NOPERM;
	case ENOLCK:
		msg_error("cannot lock in LOCKDIR '%s': %s", show(path),
		    why->reason);
		return EXIT_UNAVAILABLE;
	default:
		msg_error("cannot open LOCKDIR '%s': %s", show(path),
		    strerror(e));
		return exit_for_errno(e, EXIT_CANTCREAT);
	}
}

/* A lock file that is not ours, or not ours to lock (lock_take). */
static int
refused_error(const char *dir, const struct lock *l)
{
	const struct stat *st = &l->st;
	char why[256];

	switch (l->refusal) {
	case LR_NOT_WRITABLE:
		msg_error("cannot lock '%s/%s': it belongs to uid %ld and its "
		    "mode %04o lets only its owner write it; it stays until "
		    "uid %ld or root removes it", show(dir), l->name,
		    (long)st->st_uid, (unsigned)(st->st_mode & 07777),
		    (long)st->st_uid);
		return EXIT_NOPERM;
	case LR_EMPTY:
		strlcpy(why, "is empty, so nothing shows that lockbuild made "
		    "it (remove it if no process uses it)", sizeof(why));
		break;
	case LR_LINKS:
		snprintf(why, sizeof(why), "has %ld names (hard links): "
		    "lockbuild writes only into files that have just one",
		    (long)st->st_nlink);
		break;
	case LR_OWNER:
		snprintf(why, sizeof(why), "belongs to uid %ld, who cannot "
		    "write LOCKDIR", (long)st->st_uid);
		break;
	default:
		strlcpy(why, "is not a lockbuild lock file (use another KEY "
		    "or LOCKDIR)", sizeof(why));
		break;
	}
	msg_error("'%s/%s' %s; left as it was", show(dir), l->name, why);
	return EXIT_CANTCREAT;
}

static int
lockfile_error(const char *dir, const struct lock *l, int e)
{
	struct stat st;

	switch (e) {
	case EEXIST:
		return refused_error(dir, l);
	case EACCES:
		if (l->refusal == LR_NOT_WRITABLE)
			return refused_error(dir, l);
		if (fstatat(l->dirfd, l->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_uid != geteuid()) {
			msg_error("cannot open lock file '%s/%s': it belongs "
			    "to uid %ld and its mode %04o shuts you out; it "
			    "stays until uid %ld or root removes it", show(dir),
			    l->name, (long)st.st_uid,
			    (unsigned)(st.st_mode & 07777), (long)st.st_uid);
			return EXIT_NOPERM;
		}
		break;
	case ELOOP:
		msg_error("lock file '%s/%s' is a symbolic link; refusing to "
		    "follow it", show(dir), l->name);
		return EXIT_CANTCREAT;
	case EINVAL:
	case EISDIR:
		msg_error("lock file '%s/%s' is not a regular file", show(dir),
		    l->name);
		return EXIT_CANTCREAT;
	case ENOLCK:
	case EOPNOTSUPP:
		msg_error("cannot lock '%s/%s': the filesystem does not "
		    "support fcntl locks", show(dir), l->name);
		return EXIT_UNAVAILABLE;
	}
	msg_error("cannot lock '%s/%s': %s", show(dir), l->name, strerror(e));
	return exit_for_errno(e, EXIT_CANTCREAT);
}

/*
 * A record left by a holder that died: say so, once, and remove the
 * staging leftovers next to its DEST (ours are swept by publish_prepare).
 * Read through the descriptor we hold: with classic POSIX locks,
 * opening and closing the file again would drop our lock.
 */
static void
report_stale(const struct cli *c, const struct lock *l)
{
	struct owner o;
	char who[512];
	enum holder h;
	uid_t uid;

	if (l->size == 0 || owner_read(l->fd, &o, &uid) != 1)
		return;
	/* Who could have written it: by the mode the file had when we took
	 * it, before lock_take narrowed a mode an older version left. */
	uid = l->st.st_mode & (S_IWGRP | S_IWOTH) ? (uid_t)-1 : l->st.st_uid;
	if (owner_state_clean(&o))
		return;
	/*
	 * A zombie holder will never act again: as dead as gone.  One on
	 * another host cannot be looked up, but we hold its lock now: the
	 * server took it back (its host died), or it let go uncleanly.
	 */
	h = owner_judge(&o);
	if (h != HOLDER_REMOTE && (o.pid == (long)getpid() || !holder_dead(h)))
		return;
	owner_describe(&o, owner_now(), who, sizeof(who));
	if (h == HOLDER_REMOTE)
		msg_info("'%s': previous holder %s let go without releasing "
		    "(state %s): it was killed, or its host went down or was "
		    "cut off from the file server", show(c->key), who,
		    show(o.state));
	else
		msg_info("'%s': previous holder %s exited without releasing "
		    "(state %s)", show(c->key), who, show(o.state));
	publish_sweep_recorded(&o, uid, report_leftover);
}

/* The owner record in the lock file, while we hold it. */
struct recctx {
	struct lock *l;
	struct owner *owner;
	bool enabled;
};

/* The record only informs: failing to write it fails no build. */
static void
write_record(struct recctx *rec, const char *lockdir)
{
	if (rec->enabled &&
	    owner_write(rec->l->fd, rec->owner, &rec->l->size) == -1)
		msg_info("cannot write owner record into '%s/%s': %s",
		    show(lockdir), rec->l->name, strerror(errno));
}

/*
 * The record's new state, best effort as when it was first written;
 * -1 (errno) only when the lock is known to be lost, which is asked
 * afresh before publishing: first the server, at most the watch's stall
 * limit (lockwatch.c); then the kernel, which fails the flush of a
 * record written through a lock it knows the server took back (EIO), or
 * of a lock file that another holder removed meanwhile (ESTALE).
 */
static int
set_state(const char *state, void *arg)
{
	struct recctx *rec = arg;
	bool fence = strcmp(state, "publishing") == 0;
	int e;

	if ((e = fence ? lockwatch_confirm() : lockwatch_check()) != 0) {
		errno = e;
		return -1;
	}
	if (!rec->enabled)
		return 0;
	strlcpy(rec->owner->state, state, sizeof(rec->owner->state));
	if (owner_write(rec->l->fd, rec->owner, &rec->l->size) == -1 &&
	    fence && lockwatch_active() && (errno == EIO || errno == ESTALE))
		return -1;
	return 0;
}

/* Watches the lock while COMMAND runs (lockwatch.c); without the
 * watch, COMMAND runs all the same, as before. */
static void
watch_lock(const struct lock *l)
{
	if (lockwatch_start(l->fd, l->shared, LOCKWATCH_STALL) == -1) {
		msg_info("cannot watch the lock of '%s': %s", l->name,
		    strerror(errno));
		return;
	}
	child_watch(lockwatch_check);
}

/*
 * Opens LOCKDIR, creating it if need be; with -o, DEST must not be in
 * it.  CARRY_ON with *dirfd, or the exit status after a message.
 */
static int
open_lockdir(const struct cli *c, const struct stage *stage, int *dirfd,
    bool *network)
{
	struct lockdir_info info;

	*dirfd = lockdir_open(c->lockdir, true, &info);
	if (*dirfd == -1)
		return lockdir_error(c->lockdir, errno, &info);
	owner_set_durable(info.network);
	lock_set_network(info.network);
	*network = info.network;
	if (c->dest != NULL && lockdir_contains(*dirfd, stage->parentfd)) {
		msg_error("DEST '%s' is inside LOCKDIR '%s': lock files and "
		    "published output must not share a directory",
		    show(c->dest), show(c->lockdir));
		return EXIT_USAGE;
	}
	return CARRY_ON;
}

/*
 * How often a waiter on a file server asks for the lock again.  An NFSv4
 * server (Linux knfsd) forgets a blocked request one lease after it was
 * made, and the Linux client asks again only every 30 s unless the
 * server calls back.  A holder whose host died is then not expired at
 * the end of its lease but kept as a "courtesy" client until a request
 * conflicts with it: the key moved up to 30 s after the crash, whatever
 * the lease.  Asking every 5 s, under the shortest lease knfsd allows
 * (10 s), keeps the request known, so the key moves when the lease ends.
 */
#define NETWORK_RENEW 5.0

/*
 * Takes the lock of the key's file ln as -n, -w and -s say, with
 * "waiting" lines meanwhile; *self is the record that goes into a new
 * lock file; network: LOCKDIR is on a file server.  CARRY_ON once the
 * lock is ours (after *waited seconds), else the exit status after a
 * message (-E's code when busy or out of time).  l->name is ln->lock,
 * borrowed: ln must outlive *l.
 */
static int
take_key(const struct cli *c, int dirfd, const struct lockname *ln,
    bool network, struct owner *self, struct lock *l, double *waited)
{
	struct waitctx w;
	struct waitspec ws;
	int got;

	/* Who we are is known before the lock: keep /proc reads out of the
	 * time we hold it, which is what limits throughput on a busy key. */
	owner_self(self, c->key, c->command);
	if (c->shared)
		strlcpy(self->state, "shared", sizeof(self->state));
	else if (c->no_fork)
		strlcpy(self->state, "exec", sizeof(self->state));
	signals_install(!c->no_fork);
	signals_phase(PHASE_WAITING);
	w = (struct waitctx){ c, dirfd, ln, isatty(STDERR_FILENO) == 1,
	    false };
	ws = (struct waitspec){ c->wait, c->timeout,
	    network ? NETWORK_RENEW : INFINITY, wait_tick, &w };
	got = acquire(l, dirfd, ln->lock, c->shared, self, &ws, waited);
	end_status_line(&w);
	if (got == -1)
		return lockfile_error(c->lockdir, l, errno);
	if (got == 0) {
		char holder[1024];

		describe_holder(dirfd, ln, holder, sizeof(holder));
		if (c->wait == WAIT_NONBLOCK)
			msg_info("'%s' %s; not waiting (-n)", show(c->key),
			    holder);
		else
			msg_info("'%s' %s; gave up after %.3gs", show(c->key),
			    holder, c->timeout);
		return c->conflict_code;
	}
	return CARRY_ON;
}

/*
 * With the lock just taken: our record written over a previous holder's
 * (said first if that holder died holding it), or why a new lock file
 * has none.
 */
static void
record_holder(const struct cli *c, struct recctx *rec)
{
	struct lock *l = rec->l;

	if (l->created && l->record_err != 0) {
		msg_info("cannot write owner record into '%s/%s': %s",
		    show(c->lockdir), l->name, strerror(l->record_err));
	} else if (!c->shared && !l->created) {
		report_stale(c, l);
		rec->owner->since = owner_now();
		/* At once: the previous holder's record would otherwise
		 * name it as holding the key while publish_prepare works. */
		if (c->dest == NULL || l->size > 0)
			write_record(rec, c->lockdir);
	}
}

/*
 * Starts COMMAND (or becomes it, -F) with the environment set and the
 * lock's descriptor passed on unless -C.  CARRY_ON with *pid once it
 * runs, else the exit status after a message: then nothing ran.
 */
static int
start_command(const struct cli *c, const struct lock *l, char **argv,
    pid_t *pid)
{
	int err;

	if (setenv("LOCKBUILD_KEY", c->key, 1) == -1 ||
	    setenv("LOCKBUILD_LOCKDIR", c->lockdir, 1) == -1) {
		msg_error("cannot set environment: %s", strerror(errno));
		return EXIT_OSERR;
	}
	if (fcntl(l->fd, F_SETFD, c->close_fd ? FD_CLOEXEC : 0) == -1) {
		msg_error("cannot set up lock descriptor: %s", strerror(errno));
		return EXIT_OSERR;
	}
	if (signal_pending() != 0)
		return EXIT_SIGNAL_BASE + signal_pending();
	if (c->no_fork) {
		child_exec(argv);	/* returns only on failure */
		err = errno;
	} else {
		err = child_start(argv, pid);
	}
	if (err == 0)
		return CARRY_ON;
	if (err == EINTR)
		return EXIT_SIGNAL_BASE + signal_pending();
	if (start_error_cause(err) != NULL)
		msg_error("cannot run '%s': %s: %s", show(argv[0]),
		    start_error_cause(err), strerror(err));
	else
		msg_error("cannot run '%s': %s", show(argv[0]), strerror(err));
	return exec_errno_to_exit(err);
}

/*
 * After COMMAND ended with wait status st: with -o, publish or not; the
 * lock let go.  Returns lockbuild's exit status: COMMAND's, unless
 * publishing or a signal to lockbuild decides otherwise.
 */
static int
finish(const struct cli *c, struct stage *stage, struct recctx *rec, int st,
    double held_at)
{
	int code = CARRY_ON;

	if (child_watch_error() != 0) {
		/* COMMAND was stopped: its output is not to be trusted. */
		if (c->dest != NULL && stage_remove(stage) == 0)
			msg_info("'%s' left as it was", show(c->dest));
		code = EXIT_LOCKLOST;
	} else if (c->dest != NULL) {
		code = publish_finish(c, stage, st, set_state, rec);
	}
	if (code == EXIT_LOCKLOST) {
		/* The lock file may be another host's now: delete nothing. */
		lock_abandon(rec->l);
		return code;
	}
	/*
	 * Processes COMMAND left may hold on with our descriptor: the record
	 * stays to say who started them, marked as let go (not crashed).
	 */
	if (!c->close_fd)
		set_state("done", rec);
	lock_release(rec->l, !c->close_fd);
	msg_verbose("released '%s' after %.3fs", show(c->key),
	    now_mono() - held_at);
	if (c->dest != NULL)
		publish_cleanup(c, stage);
	/* Die of SIGINT like COMMAND did, so a calling shell loop stops. */
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGINT)
		exit_by_signal(SIGINT);
	if (code != CARRY_ON)
		return code;

	code = status_to_exit(st);
	if (signal_pending() != 0 && !WIFSIGNALED(st))
		return EXIT_SIGNAL_BASE + signal_pending();
	return code;
}

int
run(const struct cli *c)
{
	static struct owner self;
	struct lockname ln;
	struct lock l;
	struct stage stage;
	struct recctx rec;
	char **argv = c->command;
	double waited, held_at;
	int dirfd, code, st;
	bool network = false;
	pid_t pid;

	if (c->dest != NULL && (code = publish_precheck(c, &stage)) != CARRY_ON)
		return code;
	if ((code = open_lockdir(c, &stage, &dirfd, &network)) != CARRY_ON)
		return code;
	/* cli_parse rejected the empty key, the only one without a name. */
	if (lockname_for_key(c->key, &ln) == -1)
		abort();
	code = take_key(c, dirfd, &ln, network, &self, &l, &waited);
	if (code != CARRY_ON)
		return code;
	signals_phase(PHASE_HOLDING);
	held_at = now_mono();
	msg_verbose("acquired %s '%s' after %.3fs", c->shared ? "shared" :
	    "exclusive", show(c->key), waited);

	/* A record we could not write once is not tried again. */
	rec = (struct recctx){ &l, &self, !c->shared && l.record_err == 0 };
	record_holder(c, &rec);
	if (c->dest != NULL) {
		if ((code = publish_prepare(c, &stage, &self, &argv)) !=
		    CARRY_ON) {
			lock_release(&l, false);
			return code;
		}
		/* Now with DEST and the staging dir. */
		write_record(&rec, c->lockdir);
	}

	/* A server can take a lock back; a local kernel never does. */
	if (network && !c->no_fork)
		watch_lock(&l);
	if ((code = start_command(c, &l, argv, &pid)) != CARRY_ON) {
		/* Nothing ran: undo what was set up for COMMAND. */
		if (c->dest != NULL)
			stage_remove(&stage);
		publish_free_argv(c, argv);
		lock_release(&l, false);
		return code;
	}
	st = child_wait(pid);
	publish_free_argv(c, argv);
	return finish(c, &stage, &rec, st, held_at);
}
