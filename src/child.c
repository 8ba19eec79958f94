/*
 * Running COMMAND and passing signals on.
 *
 * COMMAND stays in lockbuild's process group, so a terminal's Ctrl-C
 * reaches it directly and job control works.  A signal the terminal sent
 * to the whole group (si_code SI_KERNEL) is therefore not forwarded again;
 * one sent to lockbuild alone (kill, timeout(1), a CI runner) is.
 *
 * While waiting for the lock, SIGINT, SIGTERM and SIGHUP end lockbuild
 * from inside the handler: a flag checked after the blocking fcntl would
 * be lost if the signal landed just before the call.
 *
 * What the caller set up stays as it was, for lockbuild and for COMMAND:
 * a signal it ignored (nohup, a script's trap '') is neither caught nor
 * forwarded, and COMMAND starts with the caller's signal mask.  The one
 * disposition lockbuild changes for itself, SIGXFSZ ignored so that a
 * file size limit fails a write instead of killing us, is put back
 * before COMMAND starts.
 */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "exitcode.h"

extern char **environ;

volatile sig_atomic_t alarm_fired;
static volatile sig_atomic_t phase = PHASE_WAITING;
static volatile sig_atomic_t pending;
static volatile pid_t child_pid;

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP };
#define NFORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))

/* The caller's mask and the signals it had ignored, as we found them. */
static sigset_t caller_mask, caller_ignored;
static bool saved;
/* Signals we set to SIG_IGN that the caller had not: reset for COMMAND. */
static sigset_t we_ignored;

static void
on_alarm(int sig)
{
	(void)sig;
	alarm_fired = 1;
}

static void
on_signal(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	if (phase == PHASE_WAITING)
		_exit(EXIT_SIGNAL_BASE + sig);
	pending = sig;
	if (phase == PHASE_CHILD && child_pid > 0) {
#ifdef SI_KERNEL
		if (si->si_code == SI_KERNEL)
			return;	/* the terminal sent it to COMMAND too */
#else
		(void)si;
#endif
		kill(child_pid, sig);
	}
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
signals_install(void)
{
	struct sigaction sa;
	size_t i;

	save_caller();
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
	pid_t p;
	int r;

	save_caller();
	/* posix_spawn uses vfork on glibc: much cheaper than fork for us.
	 * Handlers we installed become SIG_DFL in the child; what we
	 * ignored ourselves is reset here; the rest is the caller's. */
	if ((r = posix_spawnattr_init(&attr)) != 0)
		return r;
	posix_spawnattr_setsigdefault(&attr, &we_ignored);
	posix_spawnattr_setsigmask(&attr, &caller_mask);
	posix_spawnattr_setflags(&attr,
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	r = posix_spawnp(&p, argv[0], NULL, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	if (r != 0)
		return r;
	*pid = p;
	child_pid = p;
	phase = PHASE_CHILD;
	/* A signal that came while we were starting it. */
	if (pending != 0)
		kill(p, pending);
	return 0;
}

int
child_wait(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) == -1) {
		if (errno != EINTR)
			return EXIT_OSERR << 8;
	}
	child_pid = 0;
	phase = PHASE_HOLDING;
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
	if (signal_ignored_by_caller(sig))
		_exit(EXIT_SIGNAL_BASE + sig);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	_exit(EXIT_SIGNAL_BASE + sig);
}
