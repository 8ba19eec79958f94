/*
 * benchtool: small driver for tests/bench/run.sh (not part of lockbuild).
 *
 *   benchtool contend P M -- TOOL...      P workers, each running TOOL M
 *       times in a row (fork, exec, wait).  All workers start together.
 *       Prints: wall_seconds cycles_per_second max_rss_kib failures
 *   benchtool handoff N WARM HOLD_MS -- TOOL...   hand-off latency: a holder
 *       runs "TOOL benchtool hold FIFO HOLD_MS", a waiter then runs
 *       "TOOL benchtool wake FIFO"; latency = waiter's COMMAND start minus
 *       holder's COMMAND exit (CLOCK_MONOTONIC, written into a FIFO).
 *       The word @CMD@ in TOOL, if present, is replaced by the command
 *       (as one shell word list, for sh -c wrappers); else it is appended.
 *       Prints: n median_us p99_us min_us max_us max_rss_kib failures;
 *       with HANDOFF_RAW=FILE also appends every sample (us) to FILE.
 *   benchtool par N -- TOOL...   start N copies of TOOL at once (the word
 *       @I@ in any argument is replaced by the index), wait for all.
 *   benchtool mktree DIR NFILES SIZE SEED   NFILES files of SIZE bytes
 *       (pseudo-random content from SEED) under DIR, 100 per subdirectory.
 *   benchtool rename FROM TO      one rename(2): the floor of a publish.
 *   benchtool lockrun FILE CMD...   the floor of any lock-and-run tool:
 *       open FILE, F_OFD_SETLKW on it, vfork+exec CMD, wait, exit (the
 *       lock goes with the exit).  No checks, no messages, no record.
 *   benchtool hold FIFO MS / wake FIFO      (used by handoff)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *self;

static void
die(const char *what)
{
	fprintf(stderr, "benchtool: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static pid_t
spawn(char **argv)
{
	pid_t pid = fork();

	if (pid == -1)
		die("fork");
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "benchtool: cannot run %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	return pid;
}

/* Wait for pid; returns its status, updates *rss (KiB) with its peak. */
static int
reap(pid_t pid, long *rss)
{
	struct rusage ru;
	int st;

	while (wait4(pid, &st, 0, &ru) == -1)
		if (errno != EINTR)
			die("wait4");
	if (rss && ru.ru_maxrss > *rss)
		*rss = ru.ru_maxrss;
	return st;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* ---- contend ---- */

static int
contend(int argc, char **argv)
{
	int p, m, i, go[2], res[2];
	int64_t t0, t1;
	long rss = 0, fails = 0;

	if (argc < 4 || strcmp(argv[2], "--") != 0)
		return fprintf(stderr, "usage: contend P M -- TOOL...\n"), 2;
	p = atoi(argv[0]);
	m = atoi(argv[1]);
	argv += 3;
	if (pipe(go) == -1 || pipe(res) == -1)
		die("pipe");
	for (i = 0; i < p; i++) {
		pid_t w = fork();

		if (w == -1)
			die("fork");
		if (w == 0) {
			char c;
			long out[2] = { 0, 0 };	/* rss, failures */
			int j;

			close(go[1]);
			close(res[0]);
			if (read(go[0], &c, 1) != 0)
				_exit(3);	/* start signal is EOF */
			for (j = 0; j < m; j++) {
				int st = reap(spawn(argv), &out[0]);

				if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
					out[1]++;
			}
			if (write(res[1], out, sizeof(out)) != sizeof(out))
				_exit(3);
			_exit(0);
		}
	}
	close(go[0]);
	close(res[1]);
	usleep(50000);		/* let every worker reach its read() */
	t0 = now_ns();
	close(go[1]);
	for (i = 0; i < p; i++) {
		long out[2];

		if (read(res[0], out, sizeof(out)) != sizeof(out))
			fails++;
		else {
			if (out[0] > rss)
				rss = out[0];
			fails += out[1];
		}
	}
	t1 = now_ns();
	while (wait(NULL) > 0)
		;
	printf("%.6f %.1f %ld %ld\n", (t1 - t0) / 1e9,
	    (double)p * m / ((t1 - t0) / 1e9), rss, fails);
	return fails ? 1 : 0;
}

/* ---- handoff ---- */

struct stamp {
	char kind;		/* 'A' holder acquired, 'R' holder releasing, 'W' waiter */
	int64_t ns;
};

static void
stamp_write(const char *fifo, char kind)
{
	struct stamp s;
	int fd = open(fifo, O_WRONLY);

	if (fd == -1)
		die(fifo);
	memset(&s, 0, sizeof(s));
	s.kind = kind;
	s.ns = now_ns();
	if (write(fd, &s, sizeof(s)) != sizeof(s))
		die("write stamp");
	close(fd);
}

static int
stamp_read(int fd, char want, int64_t *ns)
{
	struct stamp s;
	ssize_t r;

	for (;;) {
		r = read(fd, &s, sizeof(s));
		if (r == -1 && errno == EINTR)
			continue;
		if (r != sizeof(s))
			return -1;
		if (s.kind == want) {
			*ns = s.ns;
			return 0;
		}
		fprintf(stderr, "benchtool: stamp %c while waiting for %c\n",
		    s.kind, want);
		return -1;
	}
}

static char **
with_command(char **tool, char **cmd)
{
	size_t nt = 0, nc = 0, i, j = 0;
	char **out, *joined = NULL;
	int placeholder = 0;

	while (tool[nt])
		if (strstr(tool[nt++], "@CMD@"))
			placeholder = 1;
	while (cmd[nc])
		nc++;
	out = calloc(nt + nc + 1, sizeof(*out));
	if (!out)
		die("calloc");
	if (placeholder) {
		size_t len = 1;

		for (i = 0; i < nc; i++)
			len += strlen(cmd[i]) + 1;
		joined = calloc(1, len);
		for (i = 0; i < nc; i++) {
			strcat(joined, cmd[i]);
			if (i + 1 < nc)
				strcat(joined, " ");
		}
	}
	for (i = 0; i < nt; i++) {
		char *at = strstr(tool[i], "@CMD@");

		if (at) {
			char *s = malloc(strlen(tool[i]) + strlen(joined) + 1);

			memcpy(s, tool[i], at - tool[i]);
			strcpy(s + (at - tool[i]), joined);
			strcat(s, at + 5);
			out[j++] = s;
		} else
			out[j++] = tool[i];
	}
	if (!placeholder)
		for (i = 0; i < nc; i++)
			out[j++] = cmd[i];
	out[j] = NULL;
	return out;
}

static int
handoff(int argc, char **argv)
{
	int n, warm, i, fd, k = 0;
	long rss = 0, fails = 0;
	char fifo[] = "/tmp/benchtool-fifo.XXXXXX", path[64], ms[32];
	char *hcmd[5], *wcmd[4], **hargv, **wargv;
	int64_t *lat;

	if (argc < 5 || strcmp(argv[3], "--") != 0)
		return fprintf(stderr, "usage: handoff N WARM HOLD_MS -- TOOL...\n"), 2;
	n = atoi(argv[0]);
	warm = atoi(argv[1]);
	snprintf(ms, sizeof(ms), "%s", argv[2]);
	argv += 4;
	if (!mkdtemp(fifo))
		die("mkdtemp");
	snprintf(path, sizeof(path), "%s/f", fifo);
	if (mkfifo(path, 0600) == -1)
		die("mkfifo");
	fd = open(path, O_RDWR);	/* never sees EOF, never blocks open */
	if (fd == -1)
		die("open fifo");
	hcmd[0] = (char *)self; hcmd[1] = "hold"; hcmd[2] = path;
	hcmd[3] = ms; hcmd[4] = NULL;
	wcmd[0] = (char *)self; wcmd[1] = "wake"; wcmd[2] = path; wcmd[3] = NULL;
	hargv = with_command(argv, hcmd);
	wargv = with_command(argv, wcmd);
	lat = calloc(n + 1, sizeof(*lat));
	for (i = 0; i < warm + n; i++) {
		int64_t a, r, w;
		pid_t h, wt;
		int hs, ws;

		h = spawn(hargv);
		if (stamp_read(fd, 'A', &a) == -1) {
			fails++;
			reap(h, NULL);
			continue;
		}
		wt = spawn(wargv);
		if (stamp_read(fd, 'R', &r) == -1 ||
		    stamp_read(fd, 'W', &w) == -1) {
			fails++;
			kill(wt, SIGKILL);
			reap(h, NULL);
			reap(wt, NULL);
			continue;
		}
		hs = reap(h, NULL);
		ws = reap(wt, i >= warm ? &rss : NULL);
		if (!WIFEXITED(hs) || WEXITSTATUS(hs) || !WIFEXITED(ws) ||
		    WEXITSTATUS(ws))
			fails++;
		if (i >= warm)
			lat[k++] = w - r;
	}
	unlink(path);
	rmdir(fifo);
	if (getenv("HANDOFF_RAW") != NULL) {
		/* every sample, for merging rounds: one microsecond value a line */
		FILE *raw = fopen(getenv("HANDOFF_RAW"), "a");

		if (raw == NULL)
			die(getenv("HANDOFF_RAW"));
		for (i = 0; i < k; i++)
			fprintf(raw, "%.1f\n", lat[i] / 1e3);
		fclose(raw);
	}
	if (k == 0) {
		printf("0 - - - - %ld %ld\n", rss, fails);
		return 1;
	}
	qsort(lat, k, sizeof(*lat), cmp_i64);
	{
		/* nearest-rank percentiles */
		int p50 = (k + 1) / 2 - 1, p99 = (int)((99L * k + 99) / 100) - 1;

		printf("%d %.1f %.1f %.1f %.1f %ld %ld\n", k, lat[p50] / 1e3,
		    lat[p99] / 1e3, lat[0] / 1e3, lat[k - 1] / 1e3, rss,
		    fails);
	}
	return fails ? 1 : 0;
}

static int
hold(int argc, char **argv)
{
	struct timespec ts;
	long ms;

	if (argc < 2)
		return 2;
	ms = atol(argv[1]);
	stamp_write(argv[0], 'A');
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	stamp_write(argv[0], 'R');
	return 0;
}

/* ---- par ---- */

static int
par(int argc, char **argv)
{
	int n, i, j, fails = 0;
	pid_t *pids;

	if (argc < 3 || strcmp(argv[1], "--") != 0)
		return fprintf(stderr, "usage: par N -- TOOL...\n"), 2;
	n = atoi(argv[0]);
	argv += 2;
	argc -= 2;
	pids = calloc(n, sizeof(*pids));
	for (i = 0; i < n; i++) {
		char **a = calloc(argc + 1, sizeof(*a)), idx[16];

		snprintf(idx, sizeof(idx), "%d", i);
		for (j = 0; j < argc; j++) {
			char *at = strstr(argv[j], "@I@");

			if (at) {
				a[j] = malloc(strlen(argv[j]) + 16);
				memcpy(a[j], argv[j], at - argv[j]);
				strcpy(a[j] + (at - argv[j]), idx);
				strcat(a[j], at + 3);
			} else
				a[j] = argv[j];
		}
		pids[i] = spawn(a);
	}
	for (i = 0; i < n; i++) {
		int st = reap(pids[i], NULL);

		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fails++;
	}
	return fails ? 1 : 0;
}

/* ---- mktree ---- */

static int
mktree(int argc, char **argv)
{
	long n, size, i, j;
	uint64_t x;
	char *buf, path[4096];

	if (argc < 4)
		return fprintf(stderr, "usage: mktree DIR NFILES SIZE SEED\n"), 2;
	n = atol(argv[1]);
	size = atol(argv[2]);
	x = strtoull(argv[3], NULL, 10) * 2654435761u + 1;
	buf = malloc(size > 65536 ? 65536 : size + 1);
	if (mkdir(argv[0], 0755) == -1 && errno != EEXIST)
		die(argv[0]);
	for (i = 0; i < n; i++) {
		long left = size;
		int fd;

		if (i % 100 == 0) {
			snprintf(path, sizeof(path), "%s/d%05ld", argv[0],
			    i / 100);
			if (mkdir(path, 0755) == -1 && errno != EEXIST)
				die(path);
		}
		snprintf(path, sizeof(path), "%s/d%05ld/f%07ld", argv[0],
		    i / 100, i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd == -1)
			die(path);
		while (left > 0) {
			long chunk = left > 65536 ? 65536 : left;

			for (j = 0; j < chunk; j++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				buf[j] = (char)x;
			}
			if (write(fd, buf, chunk) != chunk)
				die("write");
			left -= chunk;
		}
		close(fd);
	}
	return 0;
}

static int
lockrun(int argc, char **argv)
{
	struct flock fl;
	int fd, st;
	pid_t pid;

	if (argc < 2)
		return 2;
	fd = open(argv[0], O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1)
		die("open");
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_OFD_SETLKW, &fl) == -1)
		die("F_OFD_SETLKW");
	pid = vfork();
	if (pid == -1)
		die("vfork");
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) == -1)
		die("waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: benchtool contend|handoff|par|mktree|"
		    "rename|lockrun|hold|wake ...\n");
		return 2;
	}
	self = argv[0];
	if (strcmp(argv[1], "wake") == 0 && argc >= 3) {
		stamp_write(argv[2], 'W');
		return 0;
	}
	if (strcmp(argv[1], "hold") == 0)
		return hold(argc - 2, argv + 2);
	if (strcmp(argv[1], "rename") == 0 && argc >= 4) {
		if (rename(argv[2], argv[3]) == -1)
			die("rename");
		return 0;
	}
	if (strcmp(argv[1], "lockrun") == 0)
		return lockrun(argc - 2, argv + 2);
	if (strcmp(argv[1], "contend") == 0)
		return contend(argc - 2, argv + 2);
	if (strcmp(argv[1], "handoff") == 0)
		return handoff(argc - 2, argv + 2);
	if (strcmp(argv[1], "par") == 0)
		return par(argc - 2, argv + 2);
	if (strcmp(argv[1], "mktree") == 0)
		return mktree(argc - 2, argv + 2);
	fprintf(stderr, "benchtool: unknown command %s\n", argv[1]);
	return 2;
}
