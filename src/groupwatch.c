/*
 * The group watcher: a forked copy of lockbuild that does nothing but
 * keep the forwarded signals blocked.  A kill(2) aimed at the process
 * group reaches every member, the watcher included, and there the signal
 * stays pending; one aimed at lockbuild's pid does not reach it.  When
 * lockbuild gets a signal it asks, over a socket, which signals the
 * watcher has pending, and the watcher clears them as it answers.
 *
 * The watcher holds none of lockbuild's descriptors (it is forked before
 * the lock is taken, and closes what it inherited), so it never keeps a
 * lock or a pipe open; it dies with lockbuild (PR_SET_PDEATHSIG and end
 * of file on its socket) and is reaped at exit.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "groupwatch.h"

#define MAXSIGS 8		/* one bit each in the one-byte answer */
#define ANSWER_MS 1000		/* a stopped watcher: give up asking */

static int watch_fd = -1;
static pid_t watch_pid = -1;
static const int *watched;
static size_t nwatched;

static void __attribute__((noreturn))
watch(int fd)
{
	const struct timespec zero = { 0, 0 };
	sigset_t pend, one;
	unsigned char c, got;
	size_t i;
	ssize_t r;

	for (;;) {
		r = read(fd, &c, 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r != 1)
			_exit(0);
		got = 0;
		if (sigpending(&pend) == 0) {
			for (i = 0; i < nwatched; i++) {
				if (!sigismember(&pend, watched[i]))
					continue;
				got |= 1u << i;
				sigemptyset(&one);
				sigaddset(&one, watched[i]);
				sigtimedwait(&one, NULL, &zero);
			}
		}
		if (write(fd, &got, 1) != 1)
			_exit(0);
	}
}

int
groupwatch_start(const int *sigs, size_t n)
{
	sigset_t all, old;
	pid_t parent = getpid(), p;
	int sv[2], e;

	if (n > MAXSIGS) {
		errno = EINVAL;
		return -1;
	}
	watched = sigs;
	nwatched = n;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	/* Born with everything blocked: no handler of ours may run in it,
	 * and a group signal that comes at once must stay pending. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	p = fork();
	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		if (sv[1] != 3 && dup2(sv[1], 3) == -1)
			_exit(0);
		close(0);
		close(1);
		close(2);
		closefrom(4);
		/*
		 * Not "lockbuild": pkill and killall pick processes by name,
		 * and a signal sent to us both would look like one sent to
		 * the group, and so never reach COMMAND.
		 */
		prctl(PR_SET_NAME, "lb-sigwatch");
		setproctitle("-lb-sigwatch for pid %ld", (long)parent);
		watch(3);
	}
	e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	if (p == -1) {
		close(sv[0]);
		errno = e;
		return -1;
	}
	watch_fd = sv[0];
	watch_pid = p;
	atexit(groupwatch_stop);
	return 0;
}

int
groupwatch_take(sigset_t *got)
{
	struct pollfd pfd;
	unsigned char c = 0;
	size_t i;

	sigemptyset(got);
	if (watch_fd == -1)
		return -1;
	if (send(watch_fd, &c, 1, MSG_NOSIGNAL) != 1)
		goto dead;
	pfd.fd = watch_fd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, ANSWER_MS) == -1)
		if (errno != EINTR)
			goto dead;
	if ((pfd.revents & POLLIN) == 0 || read(watch_fd, &c, 1) != 1)
		goto dead;
	for (i = 0; i < nwatched; i++)
		if (c & (1u << i))
			sigaddset(got, watched[i]);
	return 0;
dead:
	/* Once a question went unanswered, answers could be out of step. */
	groupwatch_stop();
	return -1;
}

void
groupwatch_stop(void)
{
	int e = errno;

	if (watch_fd != -1)
		close(watch_fd);
	watch_fd = -1;
	if (watch_pid > 0) {
		kill(watch_pid, SIGKILL);
		while (waitpid(watch_pid, NULL, 0) == -1 && errno == EINTR)
			;
	}
	watch_pid = -1;
	errno = e;
}
