/*
 * ofdlock: raw OFD-lock helper for the NFS lab (tests/hosts), the baseline
 * that lockbuild is compared with.  Built statically on the host, run in
 * the guests from the 9p share.
 *
 *   ofdlock [-n] FILE CMD [ARG...]
 *	Take F_OFD_SETLKW (-n: F_OFD_SETLK, exit 75 when held) on FILE
 *	(created if missing), run CMD, exit with its status.
 *   ofdlock hold
 *	Write one byte to stdout, then wait for EOF on stdin (a COMMAND for
 *	lockbuild that says "I hold it" and is released by closing a pipe).
 *   ofdlock pingpong a|b DIR ROUNDS READY GO [LOCKBUILD]
 *	Hand-off latency between two hosts without comparing their clocks:
 *	three locks DIR/pp.0..2 passed round.  a holds 0 and 1, b holds 2;
 *	round i: a releases i%3 and takes (i+2)%3, b takes i%3 and releases
 *	(i+2)%3.  Each lock is only ever asked for by the side not holding
 *	it, so the order is forced without sleeping or polling, and a's time
 *	from release to acquisition is two hand-offs (one each way).  Each
 *	side creates READY once it holds its first locks and starts when GO
 *	exists (both local files).  With LOCKBUILD, each lock is taken by
 *	`LOCKBUILD DIR pp.K ofdlock hold` instead of fcntl; with the word
 *	spawn, by `ofdlock DIR/pp.K.lock ofdlock hold` (the same processes
 *	as lockbuild's case, a raw OFD lock: the cost of spawning).  a prints
 *	"handoff_us median=.. p10=.. p90=.. min=.. max=.. n=.." (half a
 *	round; the first two rounds are not counted).
 *   ofdlock probe FILE DIR
 *	Take the lock, create DIR/held, wait (up to 10 min) for DIR/probe,
 *	then report what the lock fd still allows: F_OFD_GETLK, F_OFD_SETLK
 *	again, pwrite, fsync, unlock; one "name: ok|errno" line each.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *self;

static void die(const char *what)
{
	fprintf(stderr, "ofdlock: %s: %s\n", what, strerror(errno));
	exit(70);
}

static int setlk(int fd, int cmd, short type)
{
	struct flock fl;

	memset(&fl, 0, sizeof fl);
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	for (;;) {
		int r = fcntl(fd, cmd, &fl);
		if (r == 0 || errno != EINTR)
			return r;
	}
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void wait_file(const char *path)
{
	struct stat st;
	int i;

	for (i = 0; stat(path, &st) != 0; i++) {
		if (i > 30000) {
			fprintf(stderr, "ofdlock: %s never came\n", path);
			exit(70);
		}
		usleep(20000);
	}
}

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0666);

	if (fd < 0)
		die(path);
	close(fd);
}

static int cmd_lock(int argc, char **argv)
{
	int nb = 0, fd, st;
	pid_t pid;

	if (argc > 1 && strcmp(argv[1], "-n") == 0) {
		nb = 1;
		argv++;
		argc--;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: ofdlock [-n] FILE CMD [ARG...]\n");
		return 64;
	}
	fd = open(argv[1], O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0)
		die(argv[1]);
	if (setlk(fd, nb ? F_OFD_SETLK : F_OFD_SETLKW, F_WRLCK) != 0) {
		if (nb && (errno == EAGAIN || errno == EACCES))
			return 75;
		die("lock");
	}
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "ofdlock: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int cmd_hold(void)
{
	char buf[64];

	if (write(1, "x", 1) != 1)
		return 1;
	while (read(0, buf, sizeof buf) > 0)
		;
	return 0;
}

/* --- pingpong ----------------------------------------------------------- */

static const char *pp_dir, *pp_lockbuild;
static int pp_fd[3];
static pid_t pp_pid[3];
static int pp_rel[3];	/* write end of the held command's stdin */

static void pp_acquire(int k)
{
	char path[4096], key[16];
	int rel[2], acq[2];
	char c;

	if (!pp_lockbuild) {
		if (setlk(pp_fd[k], F_OFD_SETLKW, F_WRLCK) != 0)
			die("F_OFD_SETLKW");
		return;
	}
	if (pipe2(rel, O_CLOEXEC) != 0 || pipe2(acq, O_CLOEXEC) != 0)
		die("pipe");
	snprintf(key, sizeof key, "pp.%d", k);
	pp_pid[k] = fork();
	if (pp_pid[k] < 0)
		die("fork");
	if (pp_pid[k] == 0) {
		dup2(rel[0], 0);
		dup2(acq[1], 1);
		if (strcmp(pp_lockbuild, "spawn") == 0) {
			snprintf(path, sizeof path, "%s/%s.lock", pp_dir, key);
			execl(self, self, path, self, "hold", (char *)NULL);
		}
		execl(pp_lockbuild, pp_lockbuild, pp_dir, key, "--", self, "hold",
		      (char *)NULL);
		_exit(127);
	}
	close(rel[0]);
	close(acq[1]);
	if (read(acq[0], &c, 1) != 1) {
		snprintf(path, sizeof path, "lockbuild for %s ended", key);
		errno = EIO;
		die(path);
	}
	close(acq[0]);
	pp_rel[k] = rel[1];
}

static void pp_release(int k)
{
	int st;

	if (!pp_lockbuild) {
		if (setlk(pp_fd[k], F_OFD_SETLK, F_UNLCK) != 0)
			die("unlock");
		return;
	}
	close(pp_rel[k]);
	while (waitpid(pp_pid[k], &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "ofdlock: lockbuild exited with %d\n", st);
		exit(70);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int cmd_pingpong(int argc, char **argv)
{
	int a, rounds, i, k;
	double *t;
	char path[4096];

	if (argc < 7 || (strcmp(argv[2], "a") && strcmp(argv[2], "b"))) {
		fprintf(stderr, "usage: ofdlock pingpong a|b DIR ROUNDS READY GO [LOCKBUILD]\n");
		return 64;
	}
	a = argv[2][0] == 'a';
	pp_dir = argv[3];
	rounds = atoi(argv[4]);
	pp_lockbuild = argc > 7 ? argv[7] : NULL;
	if (rounds < 3)
		rounds = 3;
	t = calloc(rounds, sizeof *t);
	if (!t)
		die("calloc");
	for (k = 0; k < 3 && !pp_lockbuild; k++) {
		snprintf(path, sizeof path, "%s/pp.%d", pp_dir, k);
		pp_fd[k] = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
		if (pp_fd[k] < 0)
			die(path);
	}
	if (a) {
		pp_acquire(0);
		pp_acquire(1);
	} else {
		pp_acquire(2);
	}
	touch(argv[5]);
	wait_file(argv[6]);
	for (i = 0; i < rounds; i++) {
		if (a) {
			double t0 = now_us();
			pp_release(i % 3);
			pp_acquire((i + 2) % 3);
			t[i] = now_us() - t0;
		} else {
			pp_acquire(i % 3);
			pp_release((i + 2) % 3);
		}
	}
	/* a holds (rounds+0)%3 and (rounds+1)%3, b holds (rounds+2)%3. */
	for (k = 0; k < 3; k++)
		if (a ? k != (rounds + 2) % 3 : k == (rounds + 2) % 3)
			pp_release(k);
	if (a) {
		int n = rounds - 2;
		double *v = t + 2;

		qsort(v, n, sizeof *v, cmp_double);
		printf("handoff_us median=%.0f p10=%.0f p90=%.0f min=%.0f max=%.0f n=%d\n",
		       v[n / 2] / 2, v[n / 10] / 2, v[n * 9 / 10] / 2, v[0] / 2,
		       v[n - 1] / 2, n);
	}
	return 0;
}

/* --- probe ----------------------------------------------------------------- */

static void report(const char *what, int r)
{
	printf("%s: %s\n", what, r == 0 ? "ok" : strerror(errno));
	fflush(stdout);
}

static int cmd_probe(int argc, char **argv)
{
	char path[4096];
	struct flock fl;
	int fd, r;

	if (argc != 4) {
		fprintf(stderr, "usage: ofdlock probe FILE DIR\n");
		return 64;
	}
	fd = open(argv[2], O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0)
		die(argv[2]);
	if (setlk(fd, F_OFD_SETLKW, F_WRLCK) != 0)
		die("lock");
	snprintf(path, sizeof path, "%s/held", argv[3]);
	touch(path);
	snprintf(path, sizeof path, "%s/probe", argv[3]);
	wait_file(path);
	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	r = fcntl(fd, F_OFD_GETLK, &fl);
	printf("getlk: %s%s\n", r == 0 ? "ok" : strerror(errno),
	       r == 0 ? (fl.l_type == F_UNLCK ? " (free or ours)" : " (held by another)") : "");
	report("relock", setlk(fd, F_OFD_SETLK, F_WRLCK));
	report("pwrite", pwrite(fd, "probe\n", 6, 0) == 6 ? 0 : -1);
	report("fsync", fsync(fd));
	report("unlock", setlk(fd, F_OFD_SETLK, F_UNLCK));
	report("close", close(fd));
	return 0;
}

int main(int argc, char **argv)
{
	self = argv[0];
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1 && strcmp(argv[1], "hold") == 0)
		return cmd_hold();
	if (argc > 1 && strcmp(argv[1], "pingpong") == 0)
		return cmd_pingpong(argc, argv);
	if (argc > 1 && strcmp(argv[1], "probe") == 0)
		return cmd_probe(argc, argv);
	return cmd_lock(argc, argv);
}
