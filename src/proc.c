/*
 * Process facts from /proc.  A pid alone identifies nobody: pid_max is
 * 32768 on many systems and pids come round again within minutes on a
 * busy build host, so a holder is (pid, start time, boot id).
 */
#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"

static ssize_t
read_small(const char *path, char *buf, size_t bufsz)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		return -1;
	n = read(fd, buf, bufsz - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

int
proc_parse_stat(const char *text, unsigned long long *start, char *state)
{
	const char *p = strrchr(text, ')');
	int field;

	if (p == NULL || p[1] != ' ' || p[2] == '\0') {
		errno = EINVAL;
		return -1;
	}
	p += 2;
	*state = *p;
	/* p is at field 3; the start time is field 22. */
	for (field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (p == NULL) {
			errno = EINVAL;
			return -1;
		}
		p++;
	}
	{
		char *end;

		errno = 0;
		*start = strtoull(p, &end, 10);
		if (errno != 0 || end == p || (*end != ' ' && *end != '\0' &&
		    *end != '\n')) {
			errno = EINVAL;
			return -1;
		}
	}
	return 0;
}

/* The parent of pid (field 4 of /proc/PID/stat), or -1. */
static pid_t
proc_ppid(pid_t pid)
{
	char path[64], buf[1024], *p, *end;
	long ppid;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (read_small(path, buf, sizeof(buf)) == -1 ||
	    (p = strrchr(buf, ')')) == NULL || p[1] != ' ' || p[2] == '\0' ||
	    p[3] != ' ')
		return -1;
	errno = 0;
	ppid = strtol(p + 4, &end, 10);
	if (errno != 0 || end == p + 4 || *end != ' ')
		return -1;
	return (pid_t)ppid;
}

size_t
proc_descendants(pid_t pid, pid_t *pids, size_t max)
{
	size_t n = 0, before;

	/* Again and again, until a pass finds no one new: a child may be
	 * listed in /proc before its parent has been found. */
	do {
		DIR *proc = opendir("/proc");
		struct dirent *de;

		if (proc == NULL)
			break;
		before = n;
		while (n < max && (de = readdir(proc)) != NULL) {
			char *end;
			long p = strtol(de->d_name, &end, 10);
			pid_t pp;
			size_t i;

			if (*end != '\0' || p <= 0 || p == (long)pid)
				continue;
			for (i = 0; i < n && pids[i] != (pid_t)p; i++)
				;
			if (i < n || (pp = proc_ppid((pid_t)p)) <= 0)
				continue;
			for (i = 0; i < n && pids[i] != pp; i++)
				;
			if (pp == pid || i < n)
				pids[n++] = (pid_t)p;
		}
		closedir(proc);
	} while (n > before && n < max);
	return n;
}

bool
proc_is_ancestor(pid_t pid)
{
	pid_t p = getppid();
	int depth;

	for (depth = 0; p > 1 && depth < 4096; depth++) {
		if (p == pid)
			return true;
		p = proc_ppid(p);
	}
	return false;
}

int
proc_stat(pid_t pid, unsigned long long *start, char *state)
{
	char path[64], buf[1024];

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (read_small(path, buf, sizeof(buf)) == -1)
		return -1;
	return proc_parse_stat(buf, start, state);
}

enum proc_state
proc_state_of(pid_t pid, unsigned long long start)
{
	unsigned long long now_start;
	char st;

	if (pid <= 0)
		return PROC_GONE;
	if (proc_stat(pid, &now_start, &st) == -1) {
		if (errno == ENOENT || errno == ESRCH)
			return PROC_GONE;
		/* No /proc: all we can ask is whether the pid exists. */
		if (kill(pid, 0) == -1 && errno == ESRCH)
			return PROC_GONE;
		return PROC_ALIVE;
	}
	if (start != 0 && now_start != start)
		return PROC_GONE;	/* same pid, another process */
	if (st == 'Z' || st == 'X')
		return PROC_ZOMBIE;
	if (st == 'T' || st == 't')
		return PROC_STOPPED;
	return PROC_ALIVE;
}

const char *
proc_boot_id(void)
{
	static char id[64];
	static int done;

	if (!done) {
		done = 1;
		if (read_small("/proc/sys/kernel/random/boot_id", id,
		    sizeof(id)) > 0)
			id[strcspn(id, "\n")] = '\0';
		else
			id[0] = '\0';
	}
	return id;
}

const char *
proc_pidns(void)
{
	static char ns[64];
	static int done;

	if (!done) {
		ssize_t n;

		done = 1;
		n = readlink("/proc/self/ns/pid", ns, sizeof(ns) - 1);
		ns[n > 0 ? n : 0] = '\0';
	}
	return ns;
}

/*
 * Does this descriptor hold a lock?  Its fdinfo lists the locks that
 * belong to its open file ("lock:" lines); a process merely waiting for
 * the lock has the file open too, but no such line.
 */
static bool
fd_holds_lock(long pid, const char *fd)
{
	char path[64 + NAME_MAX], buf[2048];

	snprintf(path, sizeof(path), "/proc/%ld/fdinfo/%s", pid, fd);
	if (read_small(path, buf, sizeof(buf)) == -1)
		return true;	/* cannot tell: better named than hidden */
	return strstr(buf, "\nlock:") != NULL;
}

size_t
proc_find_openers(dev_t dev, ino_t ino, pid_t *pids, size_t max)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	size_t n = 0;

	if (proc == NULL)
		return 0;
	while (n < max && (de = readdir(proc)) != NULL) {
		char path[64];
		DIR *fds;
		struct dirent *fe;
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end != '\0' || pid <= 0 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
		fds = opendir(path);
		if (fds == NULL)
			continue;
		while ((fe = readdir(fds)) != NULL) {
			struct stat st;

			if (fe->d_name[0] == '.')
				continue;
			if (fstatat(dirfd(fds), fe->d_name, &st, 0) == 0 &&
			    st.st_dev == dev && st.st_ino == ino &&
			    fd_holds_lock(pid, fe->d_name)) {
				pids[n++] = (pid_t)pid;
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
	return n;
}
