/*
 * Owner records.  Anyone who can write LOCKDIR can plant a lock file with
 * a record in it, so a record is data, never instructions: it is read
 * from a file opened without following links, size-capped, parsed
 * strictly, and nothing in it is used as a path to write or delete
 * (leftovers are found by name next to a DEST, and only for a record
 * that no one but us could have written).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <vis.h>

#include "cksum.h"
#include "owner.h"
#include "proc.h"

#define HEADER OWNER_MAGIC "2 "
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

/*
 * The header carries what cksum(1) says of the body: a reader that meets
 * a record half rewritten (the holder overwrites it in place, and
 * reads of a regular file are not atomic against writes) sees a
 * mismatch and reads again.
 */
int
owner_format(const struct owner *o, char *buf, size_t bufsz)
{
	static char body[OWNER_RECORD_MAX];
	char *p = body, *end = body + sizeof(body);
	int hlen;

	p += snprintf(p, sizeof(body), "pid=%ld\nstart=%llu\nuid=%ld\n"
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
	hlen = snprintf(buf, bufsz, HEADER "%lu %zu\n",
	    (unsigned long)cksum(body, (size_t)(p - body)),
	    (size_t)(p - body));
	if (hlen < 0 || (size_t)hlen + (size_t)(p - body) > bufsz ||
	    (size_t)hlen + (size_t)(p - body) > OWNER_RECORD_MAX) {
		errno = ENOSPC;
		return -1;
	}
	memcpy(buf + hlen, body, (size_t)(p - body));
	if ((size_t)hlen + (size_t)(p - body) < bufsz)
		buf[hlen + (p - body)] = '\0';
	return hlen + (int)(p - body);
}

/* pwrite of all n bytes at 0; a short write is retried so that the
 * error that cut it (ENOSPC, EFBIG) is the one reported. */
static int
write_all(int fd, const char *buf, int n)
{
	ssize_t w;
	int done = 0;

	while (done < n) {
		w = pwrite(fd, buf + done, (size_t)(n - done), done);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -1;
		if (w == 0) {
			errno = ENOSPC;
			return -1;
		}
		done += (int)w;
	}
	return 0;
}

static bool durable;

void
owner_set_durable(bool on)
{
	durable = on;
}

int
owner_write(int fd, const struct owner *o, off_t *size)
{
	static char buf[OWNER_RECORD_MAX];
	int len, n;

	len = owner_format(o, buf, sizeof(buf));
	if (len == -1)
		return -1;
	/*
	 * Over a longer record, pad with newlines rather than cut the file:
	 * readers stop at the length in the header anyway, and ftruncate
	 * would cost a journalled metadata change on every hand-off.
	 */
	n = len;
	if (*size > len && *size <= (off_t)sizeof(buf)) {
		memset(buf + len, '\n', (size_t)(*size - len));
		n = (int)*size;
	}
	if (write_all(fd, buf, n) == -1) {
		int e = errno;

		/*
		 * Neither a cut record nor the previous holder's may stay to
		 * speak for us.  Shrinking is allowed even past a file size
		 * limit (EFBIG), which is what stopped the write.
		 */
		if (ftruncate(fd, 0) == 0)
			*size = 0;
		errno = e;
		return -1;
	}
	if (*size > n && ftruncate(fd, n) == -1)
		return -1;
	if (*size < n)
		*size = n;
	return durable ? fsync(fd) : 0;
}

static int
get_number(const char *v, long long min, long long max, long long *out)
{
	const char *why;

	/* strtonum would skip blanks of every kind and take a '+'. */
	if (!((*v >= '0' && *v <= '9') || (*v == '-' && v[1] >= '0' &&
	    v[1] <= '9')))
		return -1;
	*out = strtonum(v, min, max, &why);
	return why == NULL ? 0 : -1;
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

/* A decimal number of at most 20 digits, then sep; strict. */
static const char *
header_number(const char *p, const char *end, char sep,
    unsigned long long max, unsigned long long *out)
{
	const char *start = p;

	*out = 0;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (p - start >= 20 || *out > (max - (unsigned)(*p - '0')) / 10)
			return NULL;
		*out = *out * 10 + (unsigned)(*p - '0');
	}
	if (p == start || p >= end || *p != sep)
		return NULL;
	return p + 1;
}

int
owner_parse(const char *text, size_t len, struct owner *o)
{
	static char copy[OWNER_RECORD_MAX + 1];
	const char *p, *end = text + len;
	unsigned long long sum, blen;
	unsigned seen = 0;
	char *line, *next;

	memset(o, 0, sizeof(*o));
	if (len > OWNER_RECORD_MAX || len < sizeof(HEADER) - 1 ||
	    memcmp(text, HEADER, sizeof(HEADER) - 1) != 0)
		goto bad;
	p = header_number(text + sizeof(HEADER) - 1, end, ' ', 0xffffffffu,
	    &sum);
	if (p == NULL || (p = header_number(p, end, '\n', OWNER_RECORD_MAX,
	    &blen)) == NULL)
		goto bad;
	/* Bytes past the body are an older, longer record's tail. */
	if (blen == 0 || blen > (size_t)(end - p) ||
	    cksum(p, (size_t)blen) != sum ||
	    memchr(p, '\0', (size_t)blen) != NULL || p[blen - 1] != '\n')
		goto bad;
	memcpy(copy, p, (size_t)blen);
	copy[blen] = '\0';
	for (line = copy; *line != '\0'; line = next) {
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
owner_read(int fd, struct owner *o, uid_t *writer)
{
	static char buf[OWNER_RECORD_MAX + 1];
	const struct timespec pause = { 0, 200000 };
	struct stat st;
	ssize_t n;
	int tries;

	if (fstat(fd, &st) == -1)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	/* Others who may write the file could have written the record. */
	if (writer != NULL)
		*writer = st.st_mode & (S_IWGRP | S_IWOTH) ? (uid_t)-1 :
		    st.st_uid;
	for (tries = 0;; tries++) {
		n = pread(fd, buf, sizeof(buf), 0);
		if (n <= 0) {
			memset(o, 0, sizeof(*o));
			return n == 0 ? 0 : -1;	/* empty: none (yet) */
		}
		if (owner_parse(buf, (size_t)n, o) == 0)
			return 1;
		if (tries == 3 || (size_t)n > OWNER_RECORD_MAX)
			return -1;
		/* Perhaps read while its holder rewrote it: look again. */
		nanosleep(&pause, NULL);
	}
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

bool
owner_state_clean(const struct owner *o)
{
	return strcmp(o->state, "exec") == 0 || strcmp(o->state, "done") == 0 ||
	    strcmp(o->state, "shared") == 0;
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
