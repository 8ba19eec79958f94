/*
 * Running COMMAND and passing signals on.
 *
 * COMMAND stays in lockbuild's process group, so a terminal's Ctrl-C
 * reaches it directly, job control works, and a CI runner's or
 * timeout(1)'s kill of the group reaches it even if lockbuild is dead.
 * A signal sent to the whole group must then not be passed on again:
 * many programs take a second SIGINT or SIGTERM as "quit now, no clean
 * up".  Only a signal sent to lockbuild alone is forwarded, once.
 *
 * siginfo cannot tell the two apart (kill(-pgid) and kill(pid) both give
 * SI_USER and the sender's pid), so a watcher process in the group
 * (groupwatch.c) says whether the group got it too.  timeout(1) and some
 * runners send both, to lockbuild and then to the group, as two calls:
 * the answer is therefore asked for FORWARD_DELAY after the signal, and
 * the signal forwarded only if the group did not get it meanwhile.
 *
 * While waiting for the lock, SIGINT, SIGTERM and SIGHUP end lockbuild
 * from inside the handler: a flag checked after the blocking fcntl would
 * be lost if the signal landed just before the call.
 *
 * What the caller set up stays as it was, for lockbuild and for COMMAND:
 * a signal it ignored (nohup, a script's trap '') is neither caught nor
 * forwarded, and COMMAND starts with the caller's signal mask.  Two
 * dispositions lockbuild changes for itself: SIGXFSZ ignored, so that a
 * file size limit fails a write instead of killing us, is put back
 * before COMMAND starts; SIGCHLD caught, see catch_sigchld.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "acquire.h"
#include "child.h"
#include "exitcode.h"
#include "groupwatch.h"
#include "lockwatch.h"
#include "msg.h"
#include "proc.h"

#define FORWARD_DELAY 0.2	/* seconds; see above */

extern char **environ;

static volatile sig_atomic_t phase = PHASE_WAITING;
static volatile sig_atomic_t pending;
static volatile pid_t child_pid;
/* While COMMAND runs: forwarded signals received (bit i for forwarded[i]),
 * and those of them that the terminal sent to the whole group. */
static volatile sig_atomic_t received, from_tty;
static bool watching;

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP };
static const char *const forwarded_name[] = { "SIGINT", "SIGTERM", "SIGHUP" };
#define NFORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))

/* The caller's mask and the signals it had ignored, as we found them. */
static sigset_t caller_mask, caller_ignored;
static bool saved;
/* Signals we set to SIG_IGN that the caller had not: reset for COMMAND. */
static sigset_t we_ignored;

/*
 * SIGALRM's only job is to interrupt the blocking fcntl of the lock wait
 * (EINTR) instead of ending lockbuild; the wait then looks at the clock,
 * so there is nothing to record here.
 */
static void
on_alarm(int sig)
{
	(void)sig;
}

static int
sig_bit(int sig)
{
	size_t i;

	for (i = 0; i < NFORWARDED; i++)
		if (forwarded[i] == sig)
			return 1 << i;
	return 0;
}

static void
on_signal(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	if (phase == PHASE_WAITING)
		_exit(EXIT_SIGNAL_BASE + sig);
	pending = sig;
	/* Acted on by child_wait, which is where COMMAND is waited for. */
	if (phase == PHASE_CHILD) {
		received |= sig_bit(sig);
#ifdef SI_KERNEL
		if (si->si_code == SI_KERNEL)
			from_tty |= sig_bit(sig);
#else
		(void)si;
#endif
	}
}

static void
on_child(int sig)
{
	(void)sig;	/* only wakes child_wait's ppoll */
}

static bool
was_ignored(int sig)
{
	struct sigaction old;

	return sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN;
}

static void
save_caller(void)
{
	size_t i;

	if (saved)
		return;
	sigprocmask(SIG_BLOCK, NULL, &caller_mask);
	sigemptyset(&caller_ignored);
	sigemptyset(&we_ignored);
	for (i = 0; i < NFORWARDED; i++)
		if (was_ignored(forwarded[i]))
			sigaddset(&caller_ignored, forwarded[i]);
	if (was_ignored(SIGALRM))
		sigaddset(&caller_ignored, SIGALRM);
	if (was_ignored(SIGXFSZ))
		sigaddset(&caller_ignored, SIGXFSZ);
	saved = true;
}

void
signals_install(bool run_child)
{
	struct sigaction sa;
	size_t i;

	save_caller();
	/* Before the lock: the watcher must not hold its descriptor. */
	if (run_child && !watching)
		watching = groupwatch_start(forwarded, NFORWARDED) == 0;
	/*
	 * The owner record is information: under a file size limit (ulimit
	 * -f) writing it must fail with EFBIG, not kill us between taking
	 * the lock and starting COMMAND.
	 */
	if (!sigismember(&caller_ignored, SIGXFSZ)) {
		signal(SIGXFSZ, SIG_IGN);
		sigaddset(&we_ignored, SIGXFSZ);
	}

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: the blocking fcntl must return EINTR on SIGALRM. */
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);

	sa.sa_handler = NULL;
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO;
	for (i = 0; i < NFORWARDED; i++)
		sigaddset(&sa.sa_mask, forwarded[i]);
	for (i = 0; i < NFORWARDED; i++)
		if (!sigismember(&caller_ignored, forwarded[i]))
			sigaction(forwarded[i], &sa, NULL);
}

/*
 * SIGCHLD must not be ignored while we have children: the kernel would
 * reap COMMAND itself and its status would be lost (waitpid: ECHILD).
 * A caller's SIG_IGN therefore becomes a handler, and COMMAND gets
 * SIGCHLD at its default: posix_spawn can reset a signal, not ignore it.
 */
static void
catch_sigchld(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_child;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
}

void
signals_phase(enum phase p)
{
	/*
	 * The timer is only for the wait.  Put SIGALRM back as the caller
	 * had it, so that COMMAND inherits an ignored one ignored (exec
	 * resets only caught signals).  An expiry already generated was
	 * delivered to on_alarm when stop_timer's call returned.
	 */
	if (phase == PHASE_WAITING && p != PHASE_WAITING &&
	    sigismember(&caller_ignored, SIGALRM))
		signal(SIGALRM, SIG_IGN);
	phase = p;
}

int
signal_pending(void)
{
	return pending;
}

/*
 * posix_spawn reports a failed fork (the process limit, no memory) the
 * same way as a failed exec; it is no fault of COMMAND's.
 */
static bool
start_errno(int err)
{
	return err == EAGAIN || err == ENOMEM;
}

int
child_start(char *const argv[], pid_t *pid)
{
	posix_spawnattr_t attr;
	sigset_t block, old, now;
	size_t i;
	pid_t p;
	int r;

	save_caller();
	catch_sigchld();
	/*
	 * A signal that comes from here until COMMAND exists is one COMMAND
	 * did not get: it is held back, and if one did come COMMAND is not
	 * started at all (EINTR), as in the rest of the holding phase.
	 */
	sigemptyset(&block);
	for (i = 0; i < NFORWARDED; i++)
		sigaddset(&block, forwarded[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigpending(&now);
	for (i = 0; i < NFORWARDED; i++)
		if (sigismember(&now, forwarded[i]) &&
		    !sigismember(&caller_mask, forwarded[i]))
			pending = forwarded[i];
	if (pending != 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return EINTR;
	}
	/* posix_spawn uses vfork on glibc: much cheaper than fork for us.
	 * Handlers we installed become SIG_DFL in the child; what we
	 * ignored ourselves is reset here; the rest is the caller's. */
	if ((r = posix_spawnattr_init(&attr)) != 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return r;
	}
	posix_spawnattr_setsigdefault(&attr, &we_ignored);
	posix_spawnattr_setsigmask(&attr, &caller_mask);
	posix_spawnattr_setflags(&attr,
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	r = posix_spawnp(&p, argv[0], NULL, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	if (r == 0) {
		*pid = p;
		child_pid = p;
		received = from_tty = 0;
		phase = PHASE_CHILD;
	}
	/* What came during the spawn reached COMMAND's group with it in. */
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

/* Passes on what was sent to lockbuild alone; runs with signals held. */
static void
forward(pid_t pid)
{
	sigset_t group;
	size_t i;
	int bits = received & ~from_tty;

	/* Asked even when bits is 0, to clear what the terminal sent. */
	if (groupwatch_take(&group) == -1)
		sigemptyset(&group);
	for (i = 0; i < NFORWARDED; i++) {
		if (!(bits & (1 << i)))
			continue;
		if (sigismember(&group, forwarded[i])) {
			msg_verbose("%s reached COMMAND's process group too; "
			    "not passed on", forwarded_name[i]);
			continue;
		}
		kill(pid, forwarded[i]);
		msg_verbose("%s passed on to COMMAND", forwarded_name[i]);
	}
	received = from_tty = 0;
}

static int (*watch_check)(void);
static int watch_error;

void
child_watch(int (*check)(void))
{
	watch_check = check;
}

int
child_watch_error(void)
{
	return watch_error;
}

/*
 * COMMAND and what it started (its descendants, from /proc: nothing here
 * may touch the lock's file, whose server may not answer).
 */
static void
stop_command(pid_t pid, int sig)
{
	pid_t pids[256];
	size_t n, i;

	n = proc_descendants(pid, pids, sizeof(pids) / sizeof(pids[0]));
	kill(pid, sig);
	for (i = 0; i < n; i++)
		kill(pids[i], sig);
}

/*
 * The lock watch's part of child_wait: returns the seconds until it
 * wants to look again.
 */
static double
watch_tick(pid_t pid, double *kill_at)
{
	double t = now_mono();
	int e;

	if (watch_check == NULL)
		return -1;
	if (watch_error == 0 && (e = watch_check()) != 0) {
		watch_error = e;
		msg_error("the lock is lost (%s): stopping COMMAND",
		    lockwatch_why(e));
		stop_command(pid, SIGTERM);
		*kill_at = t + CHILD_STOP_GRACE;
	}
	if (*kill_at != 0 && t >= *kill_at) {
		stop_command(pid, SIGKILL);
		*kill_at = 0;
	}
	return *kill_at != 0 ? *kill_at - t : 1.0;
}

int
child_wait(pid_t pid)
{
	sigset_t block, old, wake;
	struct timespec ts;
	double due = 0, left, kill_at = 0, tick;
	size_t i;
	pid_t r;
	int st;

	/* Signals are let in only inside ppoll: none can slip in between
	 * looking at `received` and going to sleep. */
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	for (i = 0; i < NFORWARDED; i++)
		sigaddset(&block, forwarded[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	wake = old;
	sigdelset(&wake, SIGCHLD);
	for (;;) {
		r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (r == -1 && errno != EINTR) {
			st = EXIT_OSERR << 8;
			break;
		}
		if (received != 0 && due == 0)
			due = now_mono() + (watching ? FORWARD_DELAY : 0);
		if (due != 0 && (left = due - now_mono()) <= 0) {
			forward(pid);
			due = 0;
			continue;
		}
		left = due != 0 ? due - now_mono() : -1;
		if ((tick = watch_tick(pid, &kill_at)) >= 0 &&
		    (left < 0 || tick < left))
			left = tick;
		if (left >= 0) {
			ts.tv_sec = (time_t)left;
			ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		}
		ppoll(NULL, 0, left >= 0 ? &ts : NULL, &wake);
	}
	child_pid = 0;
	phase = PHASE_HOLDING;
	sigprocmask(SIG_SETMASK, &old, NULL);
	return st;
}

void
child_exec(char *const argv[])
{
	size_t i;

	save_caller();
	/* What COMMAND would have got from the caller: caught signals go
	 * back to SIG_DFL at exec, ignored ones stay ignored. */
	for (i = 0; i < NFORWARDED; i++)
		if (!sigismember(&caller_ignored, forwarded[i]))
			signal(forwarded[i], SIG_DFL);
	signal(SIGALRM, sigismember(&caller_ignored, SIGALRM) ? SIG_IGN :
	    SIG_DFL);
	if (sigismember(&we_ignored, SIGXFSZ))
		signal(SIGXFSZ, SIG_DFL);
	sigprocmask(SIG_SETMASK, &caller_mask, NULL);
	execvp(argv[0], argv);
}

int
status_to_exit(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return EXIT_SIGNAL_BASE + WTERMSIG(wstatus);
	return EXIT_SOFTWARE;
}

int
exec_errno_to_exit(int err)
{
	if (start_errno(err))
		return EXIT_OSERR;
	return err == ENOENT || err == ENOTDIR ? EXIT_NOTFOUND : EXIT_NOEXEC;
}

const char *
start_error_cause(int err)
{
	if (err == EAGAIN)
		return "cannot create a process (the process limit, "
		    "ulimit -u?)";
	if (err == ENOMEM)
		return "cannot create a process (out of memory)";
	return NULL;
}

bool
signal_ignored_by_caller(int sig)
{
	save_caller();
	return sigismember(&caller_ignored, sig);
}

void
exit_by_signal(int sig)
{
	sigset_t set;

	/* A caller that ignores sig does not want it to end anything. */
	groupwatch_stop();
	if (signal_ignored_by_caller(sig))
		_exit(EXIT_SIGNAL_BASE + sig);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	_exit(EXIT_SIGNAL_BASE + sig);
}
