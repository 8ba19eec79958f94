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
 */
#include <errno.h>
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

void
signals_install(void)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: the blocking fcntl must return EINTR on SIGALRM. */
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);

	sa.sa_handler = NULL;
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO;
	for (i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&sa.sa_mask, forwarded[i]);
	for (i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &sa, NULL);
}

void
signals_phase(enum phase p)
{
	phase = p;
}

int
signal_pending(void)
{
	return pending;
}

static void
restore_default_signals(sigset_t *set)
{
	size_t i;

	sigemptyset(set);
	sigaddset(set, SIGALRM);
	for (i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(set, forwarded[i]);
}

int
child_start(char *const argv[], pid_t *pid)
{
	posix_spawnattr_t attr;
	sigset_t defaults, none;
	pid_t p;
	int r;

	/* posix_spawn uses vfork on glibc: much cheaper than fork for us. */
	if ((r = posix_spawnattr_init(&attr)) != 0)
		return r;
	restore_default_signals(&defaults);
	sigemptyset(&none);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setsigmask(&attr, &none);
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
	sigset_t set;
	size_t i;

	restore_default_signals(&set);
	for (i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		signal(forwarded[i], SIG_DFL);
	signal(SIGALRM, SIG_DFL);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
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
	return err == ENOENT || err == ENOTDIR ? EXIT_NOTFOUND : EXIT_NOEXEC;
}

void
exit_by_signal(int sig)
{
	sigset_t set;

	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	_exit(EXIT_SIGNAL_BASE + sig);
}
