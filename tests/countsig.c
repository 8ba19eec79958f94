/*
 * countsig DIR: a COMMAND for the signal tests.  Appends a line naming
 * each SIGINT, SIGTERM or SIGHUP it gets to DIR/got, from the handler, so
 * that two signals are two lines (a shell trap runs once for signals
 * that came while it was busy); writes DIR/cpid and DIR/ready; exits 0
 * once DIR/release exists, 3 after 30 s.  It keeps running (it looks for
 * DIR/release without sleeping) so that a signal is handled the moment it
 * comes: a sleeping process could get a second one before handling the
 * first, and the two would count as one.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int fd = -1;

static void
on_signal(int sig)
{
	const char *s = sig == SIGINT ? "INT\n" : sig == SIGTERM ? "TERM\n" :
	    "HUP\n";

	if (write(fd, s, strlen(s)) < 0)
		_exit(4);
}

int
main(int argc, char *argv[])
{
	struct sigaction sa;
	struct timespec start, now;
	char path[4096];
	FILE *f;

	if (argc != 2)
		return 2;
	snprintf(path, sizeof(path), "%s/got", argv[1]);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644)) == -1)
		return 2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	snprintf(path, sizeof(path), "%s/cpid", argv[1]);
	if ((f = fopen(path, "w")) == NULL)
		return 2;
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
	snprintf(path, sizeof(path), "%s/ready", argv[1]);
	close(open(path, O_WRONLY | O_CREAT, 0644));
	snprintf(path, sizeof(path), "%s/release", argv[1]);
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		if (access(path, F_OK) == 0)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < 30);
	return 3;
}
