/*
 * Owner records.  Anyone who can write LOCKDIR can plant a record, so a
 * record is data, never instructions: it is opened without following
 * links, size-capped, parsed strictly, and nothing in it is used as a
 * path to write or delete (leftovers are found from our own DEST).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vis.h>

#include "owner.h"
#include "proc.h"

#define HEADER "lockbuild-owner 1\n"
#define VISFLAGS (VIS_CSTYLE | VIS_NL | VIS_TAB | VIS_OCTAL | VIS_NOLOCALE)

time_t
owner_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return time(NULL);
	return ts.tv_sec;
}

void
owner_self(struct owner *o, const char *key, char *const *argv)
{
	char state;
	size_t len = 0;

	memset(o, 0, sizeof(*o));
	o->pid = (long)getpid();
	if (proc_stat(getpid(), &o->start, &state) == -1)
		o->start = 0;
	strlcpy(o->boot, proc_boot_id(), sizeof(o->boot));
	strlcpy(o->pidns, proc_pidns(), sizeof(o->pidns));
	if (gethostname(o->host, sizeof(o->host) - 1) == -1)
		o->host[0] = '\0';
	o->uid = (long)getuid();
	o->since = owner_now();
	strlcpy(o->state, "building", sizeof(o->state));
	if (strlen(key) < sizeof(o->key))
		strlcpy(o->key, key, sizeof(o->key));
	for (; argv != NULL && *argv != NULL; argv++) {
		if (len > 0)
			strlcat(o->cmd, " ", sizeof(o->cmd));
		len = strlcat(o->cmd, *argv, sizeof(o->cmd));
		if (len >= sizeof(o->cmd))
			break;
	}
	if (len >= sizeof(o->cmd))
		memcpy(o->cmd + sizeof(o->cmd) - 4, "...", 4);
}

static int
put(char **p, char *end, const char *field, const char *value)
{
	size_t need = strlen(field) + 1 + 4 * strlen(value) + 2;

	if ((size_t)(end - *p) < need) {
		errno = ENOSPC;
		return -1;
	}
	*p += sprintf(*p, "%s=", field);
	*p += strvis(*p, value, VISFLAGS);
	*(*p)++ = '\n';
	**p = '\0';
	return 0;
}

int
owner_format(const struct owner *o, char *buf, size_t bufsz)
{
	char num[32 * 4], *p = buf, *end = buf + bufsz;

	if (bufsz < sizeof(HEADER) + sizeof(num)) {
		errno = ENOSPC;
		return -1;
	}
	p += snprintf(p, bufsz, HEADER "pid=%ld\nstart=%llu\nuid=%ld\n"
	    "since=%lld\n", o->pid, o->start, o->uid, (long long)o->since);
	if (put(&p, end, "boot", o->boot) == -1 ||
	    put(&p, end, "pidns", o->pidns) == -1 ||
	    put(&p, end, "host", o->host) == -1 ||
	    put(&p, end, "state", o->state) == -1 ||
	    put(&p, end, "key", o->key) == -1 ||
	    put(&p, end, "cmd", o->cmd) == -1 ||
	    put(&p, end, "dest", o->dest) == -1 ||
	    put(&p, end, "staging", o->staging) == -1)
		return -1;
	return (int)(p - buf);
}

int
owner_write(int dirfd, const char *name, const char *tmpname,
    const struct owner *o)
{
	static char buf[OWNER_RECORD_MAX];
	int fd, len, e;

	len = owner_format(o, buf, sizeof(buf));
	if (len == -1)
		return -1;
	fd = openat(dirfd, tmpname,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd == -1 && errno == EEXIST) {
		/* A temporary left by a holder that was killed mid-write
		 * (or planted: O_EXCL never writes through it). */
		unlinkat(dirfd, tmpname, 0);
		fd = openat(dirfd, tmpname,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	}
	if (fd == -1)
		return -1;
	/* Writable by us means "holder still in charge", whatever the umask
	 * (see owner_mark_released). */
	if (fchmod(fd, 0644) == -1) {
		e = errno;
		goto fail;
	}
	errno = 0;
	if (write(fd, buf, (size_t)len) != len) {
		e = errno ? errno : EIO;
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		e = errno;
		goto fail;
	}
	/*
	 * Renaming over an existing record would make ext4 (auto_da_alloc)
	 * start writing the new one out at once: a costly flush of data
	 * that needs no durability.  Under contention the previous holder's
	 * record is usually still there.  We hold the lock, so removing it
	 * first is safe; a reader meanwhile sees no record, never a torn one.
	 */
#ifdef RENAME_NOREPLACE
	/* One call when there is no old record, as usual. */
	if (renameat2(dirfd, tmpname, dirfd, name, RENAME_NOREPLACE) == 0)
		return 0;
#endif
	unlinkat(dirfd, name, 0);
	if (renameat(dirfd, tmpname, dirfd, name) == -1) {
		fd = -1;
		e = errno;
		goto fail;
	}
	return 0;
fail:
	if (fd != -1)
		close(fd);
	unlinkat(dirfd, tmpname, 0);
	errno = e;
	return -1;
}

int
owner_mark_released(int dirfd, const char *name)
{
	/* Never through a link someone put in its place (EOPNOTSUPP then). */
	return fchmodat(dirfd, name, 0444, AT_SYMLINK_NOFOLLOW);
}

static int
get_number(const char *v, long long min, long long max, long long *out)
{
	char *end;

	/* strtoll would skip blanks of every kind and take a '+'. */
	if (!((*v >= '0' && *v <= '9') || (*v == '-' && v[1] >= '0' &&
	    v[1] <= '9')))
		return -1;
	errno = 0;
	*out = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || *out < min || *out > max)
		return -1;
	return 0;
}

static int
get_string(const char *v, char *out, size_t outsz)
{
	static char tmp[OWNER_RECORD_MAX];
	size_t len = strlen(v), slashes = 0;
	int n;

	/* A lone trailing backslash is a cut escape, not text. */
	while (slashes < len && v[len - 1 - slashes] == '\\')
		slashes++;
	if (len >= sizeof(tmp) || slashes % 2 == 1)
		return -1;
	n = strunvis(tmp, v);
	/* "\000" would end the string early: refuse, do not truncate. */
	if (n < 0 || (size_t)n != strlen(tmp) || (size_t)n >= outsz)
		return -1;
	strlcpy(out, tmp, outsz);
	return 0;
}

static int
parse_field(struct owner *o, const char *name, const char *v, unsigned *seen)
{
	long long n;
	unsigned long long u;
	char *end;

	if (strcmp(name, "pid") == 0) {
		if (get_number(v, 1, 0x7fffffff, &n) == -1)
			return -1;
		o->pid = (long)n;
		*seen |= 1;
	} else if (strcmp(name, "start") == 0) {
		if (*v < '0' || *v > '9')
			return -1;
		errno = 0;
		u = strtoull(v, &end, 10);
		if (errno != 0 || *end != '\0')
			return -1;
		o->start = u;
	} else if (strcmp(name, "uid") == 0) {
		if (get_number(v, 0, 0xffffffffLL, &n) == -1)
			return -1;
		o->uid = (long)n;
	} else if (strcmp(name, "since") == 0) {
		if (get_number(v, 0, 0x7fffffffffffLL, &n) == -1)
			return -1;
		o->since = (time_t)n;
		*seen |= 2;
	} else if (strcmp(name, "boot") == 0) {
		return get_string(v, o->boot, sizeof(o->boot));
	} else if (strcmp(name, "pidns") == 0) {
		return get_string(v, o->pidns, sizeof(o->pidns));
	} else if (strcmp(name, "host") == 0) {
		return get_string(v, o->host, sizeof(o->host));
	} else if (strcmp(name, "state") == 0) {
		return get_string(v, o->state, sizeof(o->state));
	} else if (strcmp(name, "key") == 0) {
		return get_string(v, o->key, sizeof(o->key));
	} else if (strcmp(name, "cmd") == 0) {
		return get_string(v, o->cmd, sizeof(o->cmd));
	} else if (strcmp(name, "dest") == 0) {
		return get_string(v, o->dest, sizeof(o->dest));
	} else if (strcmp(name, "staging") == 0) {
		return get_string(v, o->staging, sizeof(o->staging));
	}
	/* Unknown fields are skipped: a newer lockbuild may add some. */
	return 0;
}

int
owner_parse(const char *text, size_t len, struct owner *o)
{
	static char copy[OWNER_RECORD_MAX + 1];
	unsigned seen = 0;
	char *line, *next;

	memset(o, 0, sizeof(*o));
	if (len > OWNER_RECORD_MAX || len < sizeof(HEADER) - 1 ||
	    memcmp(text, HEADER, sizeof(HEADER) - 1) != 0 ||
	    memchr(text, '\0', len) != NULL || text[len - 1] != '\n')
		goto bad;
	memcpy(copy, text, len);
	copy[len] = '\0';
	for (line = copy + sizeof(HEADER) - 1; *line != '\0'; line = next) {
		char *eq;

		next = strchr(line, '\n');
		*next++ = '\0';
		eq = strchr(line, '=');
		if (eq == NULL || eq == line)
			goto bad;
		*eq = '\0';
		if (parse_field(o, line, eq + 1, &seen) == -1)
			goto bad;
	}
	if (seen != 3)
		goto bad;
	return 0;
bad:
	memset(o, 0, sizeof(*o));
	errno = EINVAL;
	return -1;
}

int
owner_read(int dirfd, const char *name, struct owner *o, uid_t *file_uid)
{
	static char buf[OWNER_RECORD_MAX + 1];
	struct stat st;
	ssize_t n;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		if (errno == ELOOP)
			errno = EINVAL;
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > OWNER_RECORD_MAX) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return -1;
	if (file_uid != NULL)
		*file_uid = st.st_uid;
	if (owner_parse(buf, (size_t)n, o) == -1)
		return -1;
	if (!(st.st_mode & S_IWUSR) && strcmp(o->state, "exec") != 0)
		strlcpy(o->state, "done", sizeof(o->state));
	return 1;
}

enum holder
owner_judge(const struct owner *o)
{
	char host[256];

	if (gethostname(host, sizeof(host) - 1) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	if (o->host[0] != '\0' && strcmp(o->host, host) != 0)
		return HOLDER_REMOTE;
	if (o->boot[0] != '\0' && proc_boot_id()[0] != '\0' &&
	    strcmp(o->boot, proc_boot_id()) != 0)
		return HOLDER_GONE;	/* written before the last reboot */
	if (o->pidns[0] != '\0' && proc_pidns()[0] != '\0' &&
	    strcmp(o->pidns, proc_pidns()) != 0)
		return HOLDER_REMOTE;	/* its pids are not ours */
	switch (proc_state_of((pid_t)o->pid, o->start)) {
	case PROC_ALIVE:
		return HOLDER_ALIVE;
	case PROC_STOPPED:
		return HOLDER_STOPPED;
	case PROC_ZOMBIE:
		return HOLDER_ZOMBIE;
	default:
		return HOLDER_GONE;
	}
}

const char *
holder_word(enum holder h)
{
	switch (h) {
	case HOLDER_ALIVE:
		return "running";
	case HOLDER_STOPPED:
		return "stopped";
	case HOLDER_ZOMBIE:
		return "zombie";
	case HOLDER_GONE:
		return "gone";
	default:
		return "on another host";
	}
}

void
owner_describe(const struct owner *o, time_t now, char *buf, size_t bufsz)
{
	char when[32], cmd[64 * 4 + 8], host[64 * 4 + 1];
	struct tm tm;
	long age = (long)(now - o->since);
	size_t cmdlen = strlen(o->cmd);

	if (localtime_r(&o->since, &tm) == NULL)
		strlcpy(when, "?", sizeof(when));
	else
		strftime(when, sizeof(when),
		    age >= 0 && age < 86400 ? "%H:%M:%S" : "%Y-%m-%d %H:%M:%S",
		    &tm);
	strvisx(cmd, o->cmd, cmdlen > 60 ? 60 : cmdlen, VISFLAGS);
	if (cmdlen > 60)
		strlcat(cmd, "...", sizeof(cmd));
	/* A record is anyone's data: nothing from it goes out unescaped. */
	strvisx(host, o->host, strnlen(o->host, 64), VISFLAGS);
	snprintf(buf, bufsz, "pid %ld (%s) on host %s since %s (%lds)",
	    o->pid, cmd, host[0] ? host : "?", when, age < 0 ? 0 : age);
}
