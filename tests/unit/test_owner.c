/*
 * Unit tests for src/owner.c (the owner record: format, strict parse,
 * safe read and write, judging whether the holder is still there),
 * src/cksum.c (its checksum) and src/proc.c (parsing /proc/PID/stat,
 * process states).
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cksum.h"
#include "owner.h"
#include "proc.h"

#define HEADER "lockbuild-owner 2 "
#define V1 "lockbuild-owner 1\n"

static char text[OWNER_RECORD_MAX + 64];

/*
 * Most cases below are about the body, so they are written as version 1
 * records (a bare header line) and sealed here: the header is replaced
 * by a version 2 one with the body's cksum and length.  Anything else
 * is passed through as it is.
 */
static const char *
seal(const char *t, size_t len, size_t *outlen)
{
	static char buf[OWNER_RECORD_MAX + 128];
	size_t blen, hlen;

	if (len < strlen(V1) || memcmp(t, V1, strlen(V1)) != 0 ||
	    len - strlen(V1) > OWNER_RECORD_MAX) {
		*outlen = len;
		return t;
	}
	blen = len - strlen(V1);
	hlen = (size_t)snprintf(buf, sizeof(buf), HEADER "%lu %zu\n",
	    (unsigned long)cksum(t + strlen(V1), blen), blen);
	memcpy(buf + hlen, t + strlen(V1), blen);
	*outlen = hlen + blen;
	return buf;
}

static int
parse_sealed(const char *t, size_t len, struct owner *o)
{
	size_t n;
	const char *s = seal(t, len, &n);

	return owner_parse(s, n, o);
}

static void
fill_owner(struct owner *o)
{
	memset(o, 0, sizeof(*o));
	o->pid = 4242;
	o->start = 123456789ULL;
	o->uid = 1000;
	o->since = 1700000000;
	strcpy(o->boot, "7bd25103-94cd-4ae7-a32f-76ebff5eca5a");
	strcpy(o->pidns, "pid:[4026531836]");
	strcpy(o->host, "ci-3");
	strcpy(o->state, "building");
	strcpy(o->key, "tools");
	strcpy(o->cmd, "make tools");
	strcpy(o->dest, "/srv/out/tools");
	strcpy(o->staging, "/srv/out/.lockbuild.AbCd1234.tools/tools");
}

static void
assert_owner_equal(const struct owner *a, const struct owner *b)
{
	assert_int_equal(a->pid, b->pid);
	assert_true(a->start == b->start);
	assert_int_equal(a->uid, b->uid);
	assert_true(a->since == b->since);
	assert_string_equal(a->boot, b->boot);
	assert_string_equal(a->pidns, b->pidns);
	assert_string_equal(a->host, b->host);
	assert_string_equal(a->state, b->state);
	assert_string_equal(a->key, b->key);
	assert_string_equal(a->cmd, b->cmd);
	assert_string_equal(a->dest, b->dest);
	assert_string_equal(a->staging, b->staging);
}

/* Formats o, checks the text is one field per line, parses it back. */
static void
assert_format_round_trip(const struct owner *o)
{
	static struct owner back;
	int len;
	size_t lines = 0, i;

	len = owner_format(o, text, OWNER_RECORD_MAX);
	assert_true(len > 0);
	assert_true(len <= OWNER_RECORD_MAX);
	assert_int_equal(strlen(text), (size_t)len);
	assert_memory_equal(text, HEADER, strlen(HEADER));
	for (i = 0; i < (size_t)len; i++) {
		unsigned char c = (unsigned char)text[i];

		/* Escaped: printable ASCII only, besides the line ends. */
		if (c == '\n')
			lines++;
		else
			assert_true(c >= 0x20 && c < 0x7f);
	}
	assert_int_equal(lines, 13);	/* header and 12 fields */
	/* The header's checksum and length are cksum(1)'s of the rest. */
	{
		char want[64];
		const char *body = strchr(text, '\n') + 1;
		size_t blen = (size_t)len - (size_t)(body - text);

		snprintf(want, sizeof(want), HEADER "%lu %zu\n",
		    (unsigned long)cksum(body, blen), blen);
		assert_memory_equal(text, want, strlen(want));
	}
	assert_int_equal(owner_parse(text, (size_t)len, &back), 0);
	assert_owner_equal(&back, o);
}

static void
test_format_parse_round_trip(void **state)
{
	static struct owner o;

	(void)state;
	fill_owner(&o);
	assert_format_round_trip(&o);

	strcpy(o.key, "line1\nline2\\n not a newline\\\ttab\r\x01\x7f");
	strcpy(o.cmd, "sh -c 'echo \"a=b\" \\\\; printf %s\\n'");
	strcpy(o.host, "h\xc3\xb4te-\xe6\x97\xa5\xe6\x9c\xac");
	strcpy(o.dest, "/tmp/x=y/\xff\xfe invalid utf-8/\\");
	strcpy(o.staging, "\\\\\\");
	strcpy(o.state, "publishing");
	o.pid = 1;
	o.start = 0;
	o.uid = 0;
	o.since = 0;
	assert_format_round_trip(&o);

	/* Empty strings. */
	memset(&o, 0, sizeof(o));
	o.pid = 0x7fffffff;
	o.since = 1;
	o.uid = 4294967295L;
	o.start = 18446744073709551615ULL;
	assert_format_round_trip(&o);
}

/* The largest record owner_self can make still fits OWNER_RECORD_MAX. */
static void
test_format_worst_case_fits(void **state)
{
	static struct owner o;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.pid = 0x7fffffff;
	o.since = 0x7fffffffffffLL;
	o.uid = 4294967295L;
	o.start = 18446744073709551615ULL;
	/* Every byte escaped the longest way (octal, 4 bytes). */
	memset(o.boot, 0xff, sizeof(o.boot) - 1);
	memset(o.pidns, 0xff, sizeof(o.pidns) - 1);
	memset(o.host, 0xff, sizeof(o.host) - 1);
	memset(o.state, 0xff, sizeof(o.state) - 1);
	memset(o.key, 0xff, sizeof(o.key) - 1);
	memset(o.cmd, 0xff, sizeof(o.cmd) - 1);
	memset(o.dest, 0xff, sizeof(o.dest) - 1);
	memset(o.staging, 0xff, sizeof(o.staging) - 1);
	assert_format_round_trip(&o);
}

static void
test_format_small_buffer(void **state)
{
	static struct owner o;
	char small[256];

	(void)state;
	fill_owner(&o);
	memset(o.key, 'k', sizeof(o.key) - 1);
	errno = 0;
	assert_int_equal(owner_format(&o, small, sizeof(small)), -1);
	assert_int_equal(errno, ENOSPC);
	errno = 0;
	assert_int_equal(owner_format(&o, small, 16), -1);
	assert_int_equal(errno, ENOSPC);
}

static void
assert_parse_fails(const char *t, size_t len, const char *what)
{
	static struct owner o;

	errno = 0;
	if (parse_sealed(t, len, &o) != -1)
		fail_msg("owner_parse accepted %s", what);
	assert_int_equal(errno, EINVAL);
}

#define REJECT(s) assert_parse_fails(s, sizeof(s) - 1, #s)

static void
test_parse_rejects(void **state)
{
	(void)state;
	REJECT("");
	REJECT("lockbuild-owner 1");
	REJECT("lockbuild-owner 1\n");
	REJECT("lockbuild-owner 3\npid=1\nsince=1\n");
	REJECT("lockbuild-owner 10\npid=1\nsince=1\n");
	REJECT("Lockbuild-owner 1\npid=1\nsince=1\n");
	REJECT("lockbuild-owner 1\r\npid=1\nsince=1\n");
	REJECT("\nlockbuild-owner 1\npid=1\nsince=1\n");
	REJECT("pid=1\nsince=1\n");
	/* pid and since are required. */
	REJECT("lockbuild-owner 1\nsince=1\n");
	REJECT("lockbuild-owner 1\npid=1\n");
	REJECT("lockbuild-owner 1\npid=1\nstart=5\nhost=h\n");
	/* Bad pids. */
	REJECT("lockbuild-owner 1\npid=0\nsince=1\n");
	REJECT("lockbuild-owner 1\npid=-1\nsince=1\n");
	REJECT("lockbuild-owner 1\npid=-0\nsince=1\n");
	REJECT("lockbuild-owner 1\npid=2147483648\nsince=1\n");
	REJECT("lockbuild-owner 1\npid=99999999999999999999999\nsince=1\n");
	REJECT("lockbuild-owner 1\npid=12x\nsince=1\n");
	REJECT("lockbuild-owner 1\npid=12 \nsince=1\n");
	REJECT("lockbuild-owner 1\npid= 12\nsince=1\n");
	REJECT("lockbuild-owner 1\npid=+12\nsince=1\n");
	REJECT("lockbuild-owner 1\npid=\nsince=1\n");
	REJECT("lockbuild-owner 1\npid=0x10\nsince=1\n");
	/* Bad other numbers. */
	REJECT("lockbuild-owner 1\npid=1\nsince=-1\n");
	REJECT("lockbuild-owner 1\npid=1\nsince=1.5\n");
	REJECT("lockbuild-owner 1\npid=1\nsince=\n");
	REJECT("lockbuild-owner 1\npid=1\nsince=1\nstart=-1\n");
	REJECT("lockbuild-owner 1\npid=1\nsince=1\nstart=abc\n");
	REJECT("lockbuild-owner 1\npid=1\nsince=1\nstart=\n");
	REJECT("lockbuild-owner 1\npid=1\nsince=1\nstart=99999999999999999999999\n");
	REJECT("lockbuild-owner 1\npid=1\nsince=1\nuid=-1\n");
	REJECT("lockbuild-owner 1\npid=1\nsince=1\nuid=4294967296\n");
	/* Lines that are not field=value. */
	REJECT("lockbuild-owner 1\npid=1\nsince=1\ngarbage\n");
	REJECT("lockbuild-owner 1\npid=1\n\nsince=1\n");
	REJECT("lockbuild-owner 1\npid=1\nsince=1\n=value\n");
	/* Missing final newline. */
	REJECT("lockbuild-owner 1\npid=1\nsince=1");
	/* Embedded NUL (the terminating one is not part of the text). */
	REJECT("lockbuild-owner 1\npid=1\0\nsince=1\n");
	REJECT("lockbuild-owner 1\npid=1\nsince=1\nkey=a\0b\n");
	REJECT("lockbuild-owner 1\npid=1\nsince=1\n\0");
}

static void
test_parse_minimal_and_unknown_fields(void **state)
{
	static const char t[] =
	    "lockbuild-owner 1\n"
	    "future=anything = at all\n"
	    "pid=77\n"
	    "x-other=\\001\n"
	    "since=1234\n"
	    "host=h\n";
	static const char eq[] = "lockbuild-owner 1\npid=1\nsince=2\ncmd=a=b==c\n";
	static struct owner o;

	(void)state;
	assert_int_equal(parse_sealed(t, sizeof(t) - 1, &o), 0);
	assert_int_equal(o.pid, 77);
	assert_true(o.since == 1234);
	assert_string_equal(o.host, "h");
	assert_true(o.start == 0);
	assert_string_equal(o.key, "");
	assert_string_equal(o.cmd, "");
	/* A value may contain '='. */
	assert_int_equal(parse_sealed(eq, sizeof(eq) - 1, &o), 0);
	assert_string_equal(o.cmd, "a=b==c");
}

/* A valid record of len bytes in buf, if its header is hlen bytes long. */
static bool
try_padded(char *buf, size_t len, size_t hlen, char pad)
{
	static const char head[] = "pid=1\nsince=2\nx=";
	char hdr[64];
	size_t blen = len - hlen;

	memcpy(buf + hlen, head, sizeof(head) - 1);
	memset(buf + hlen + sizeof(head) - 1, pad, blen - sizeof(head));
	buf[len - 1] = '\n';
	snprintf(hdr, sizeof(hdr), HEADER "%lu %zu\n",
	    (unsigned long)cksum(buf + hlen, blen), blen);
	if (strlen(hdr) != hlen)
		return false;
	memcpy(buf, hdr, hlen);
	return true;
}

/*
 * A valid record padded with an unknown field to exactly len bytes.  The
 * header's length depends on the checksum in it: try header lengths and
 * padding bytes until one fits.
 */
static void
padded_record(char *buf, size_t len)
{
	size_t hlen;
	char pad;

	for (pad = 'a'; pad <= 'z'; pad++)
		for (hlen = strlen(HEADER) + 4; hlen < strlen(HEADER) + 32;
		    hlen++)
			if (try_padded(buf, len, hlen, pad))
				return;
	fail_msg("no header fits a record of %zu bytes", len);
}

static void
test_parse_size_limit(void **state)
{
	static struct owner o;

	(void)state;
	padded_record(text, OWNER_RECORD_MAX);
	assert_int_equal(owner_parse(text, OWNER_RECORD_MAX, &o), 0);
	assert_int_equal(o.pid, 1);
	padded_record(text, OWNER_RECORD_MAX + 1);
	assert_parse_fails(text, OWNER_RECORD_MAX + 1,
	    "a record over OWNER_RECORD_MAX");
}

/* A string longer than its struct field: refused, not cut. */
static void
test_parse_string_too_long(void **state)
{
	static const struct {
		const char *field;
		size_t size;
	} f[] = {
		{ "boot", sizeof(((struct owner *)0)->boot) },
		{ "pidns", sizeof(((struct owner *)0)->pidns) },
		{ "host", sizeof(((struct owner *)0)->host) },
		{ "state", sizeof(((struct owner *)0)->state) },
		{ "key", OWNER_KEY_MAX },
		{ "cmd", OWNER_CMD_MAX },
		{ "dest", OWNER_PATH_MAX },
		{ "staging", OWNER_PATH_MAX },
	};
	static struct owner o;
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		/* size - 1 bytes fit. */
		n = snprintf(text, sizeof(text),
		    "lockbuild-owner 1\npid=1\nsince=1\n%s=", f[i].field);
		memset(text + n, 's', f[i].size - 1);
		strcpy(text + n + f[i].size - 1, "\n");
		assert_int_equal(parse_sealed(text, strlen(text), &o), 0);
		/* size bytes do not. */
		memset(text + n, 's', f[i].size);
		strcpy(text + n + f[i].size, "\n");
		assert_parse_fails(text, strlen(text), f[i].field);
		/* Escapes count as the bytes they stand for. */
		n = snprintf(text, sizeof(text),
		    "lockbuild-owner 1\npid=1\nsince=1\n%s=", f[i].field);
		for (size_t j = 0; j < f[i].size; j++)
			memcpy(text + n + 4 * j, "\\377", 4);
		strcpy(text + n + 4 * f[i].size, "\n");
		assert_parse_fails(text, strlen(text), f[i].field);
	}
}

/*
 * owner.c refuses " 5" and "+5" for numbers; strtoll(3) also skips tabs
 * and other white space, which are just as much not ours.
 */
static void
test_parse_rejects_numbers_with_leading_white_space(void **state)
{
	(void)state;
	REJECT("lockbuild-owner 1\npid=\t5\nsince=1\n");
	REJECT("lockbuild-owner 1\npid=\v5\nsince=1\n");
	REJECT("lockbuild-owner 1\npid=\r5\nsince=1\n");
	REJECT("lockbuild-owner 1\npid=5\nsince=\f1\n");
	REJECT("lockbuild-owner 1\npid=5\nsince=1\nuid=\t0\n");
}

/* What cksum(1) prints, for a few inputs (computed with coreutils). */
static void
test_cksum_is_posix(void **state)
{
	static char x300[300];

	(void)state;
	assert_int_equal(cksum("", 0), 4294967295u);
	assert_int_equal(cksum("a\n", 2), 2418082923u);
	assert_int_equal(cksum("hello world\n", 12), 3733384285u);
	memset(x300, 'x', sizeof(x300));
	assert_int_equal(cksum(x300, sizeof(x300)), 3786917833u);
}

/* The header: checksum and length must match the body exactly. */
static void
test_parse_header(void **state)
{
	static const char body[] = "pid=1\nsince=2\n";
	static struct owner o;
	unsigned long sum = cksum(body, sizeof(body) - 1);
	size_t len;

	(void)state;
	len = (size_t)snprintf(text, sizeof(text), HEADER "%lu %zu\n%s", sum,
	    sizeof(body) - 1, body);
	assert_int_equal(owner_parse(text, len, &o), 0);
	assert_int_equal(o.pid, 1);
	/* Bytes past the body (an older record's tail) are ignored. */
	memcpy(text + len, "ce=9\n\n\n", 8);
	assert_int_equal(owner_parse(text, len + 8, &o), 0);
	assert_true(o.since == 2);
	/* One byte changed in the body: a torn or forged record. */
	text[len - 2] = '3';
	assert_parse_fails(text, len, "a body that does not match its cksum");
	/* Too short for its length, a wrong sum, malformed numbers. */
	len = (size_t)snprintf(text, sizeof(text), HEADER "%lu %zu\n%s", sum,
	    sizeof(body), body);
	assert_parse_fails(text, len, "a length past the end");
	len = (size_t)snprintf(text, sizeof(text), HEADER "%lu %zu\n%s",
	    sum ^ 1, sizeof(body) - 1, body);
	assert_parse_fails(text, len, "a wrong checksum");
	len = (size_t)snprintf(text, sizeof(text), HEADER "%lu %zu\n%s", sum,
	    sizeof(body) - 2, body);
	assert_parse_fails(text, len, "a length cutting the last line");
	REJECT("lockbuild-owner 2 0 0\n");
	REJECT("lockbuild-owner 2 1\npid=1\nsince=1\n");
	REJECT("lockbuild-owner 2  1 12\npid=1\nsince=1\n");
	REJECT("lockbuild-owner 2 +1 12\npid=1\nsince=1\n");
	REJECT("lockbuild-owner 2 1 12 \npid=1\nsince=1\n");
	REJECT("lockbuild-owner 2 4294967296 12\npid=1\nsince=1\n");
	REJECT("lockbuild-owner 2 1 99999999999999999999999\npid=1\n");
	REJECT("lockbuild-owner 2 1 65537\npid=1\nsince=1\n");
}

/* A temporary LOCKDIR for one test. */
struct tmpdir {
	char path[64];
	int fd;
};

static int
setup_dir(void **state)
{
	struct tmpdir *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return -1;
	strcpy(d->path, "/tmp/test_owner.XXXXXX");
	if (mkdtemp(d->path) == NULL)
		return -1;
	d->fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->fd == -1)
		return -1;
	*state = d;
	return 0;
}

static int
teardown_dir(void **state)
{
	struct tmpdir *d = *state;
	DIR *dir;
	struct dirent *de;

	dir = fdopendir(dup(d->fd));
	if (dir != NULL) {
		while ((de = readdir(dir)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (unlinkat(d->fd, de->d_name, 0) == -1)
				unlinkat(d->fd, de->d_name, AT_REMOVEDIR);
		}
		closedir(dir);
	}
	close(d->fd);
	rmdir(d->path);
	free(d);
	return 0;
}

/* A lock file as lock_take leaves it: regular, read-write, mode m. */
static int
lock_file(struct tmpdir *d, const char *name, mode_t m)
{
	int fd = openat(d->fd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	assert_true(fd != -1);
	assert_int_equal(fchmod(fd, m), 0);
	return fd;
}

static void
test_write_read_round_trip(void **state)
{
	struct tmpdir *d = *state;
	static struct owner o, back;
	static char raw[OWNER_RECORD_MAX];
	struct stat st;
	uid_t writer = 12345;
	off_t size = 0;
	int fd = lock_file(d, "k.lock", 0644);
	ssize_t n;

	assert_int_equal(owner_read(fd, &back, &writer), 0);	/* empty */
	fill_owner(&o);
	strcpy(o.cmd, "make\n\"tools\"\t\xc3\xa9");
	assert_int_equal(owner_write(fd, &o, &size), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(size == st.st_size);
	assert_int_equal(owner_read(fd, &back, &writer), 1);
	assert_owner_equal(&back, &o);
	assert_int_equal(writer, getuid());
	/* The only file is the lock file. */
	assert_int_equal(fstatat(d->fd, ".k.owner-tmp", &st, 0), -1);

	/* A shorter record over a longer one: padded, read back whole. */
	strcpy(o.state, "done");
	o.pid = 99;
	assert_int_equal(owner_write(fd, &o, &size), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(st.st_size == size);
	assert_int_equal(owner_read(fd, &back, NULL), 1);
	assert_owner_equal(&back, &o);
	n = pread(fd, raw, sizeof(raw), 0);
	assert_true(n == st.st_size);
	assert_int_equal(raw[n - 1], '\n');
	assert_int_equal(raw[n - 2], '\n');	/* padding, not old text */

	/* Others may write a group-writable file: writer unknown. */
	assert_int_equal(fchmod(fd, 0664), 0);
	assert_int_equal(owner_read(fd, &back, &writer), 1);
	assert_int_equal(writer, (uid_t)-1);
	close(fd);
}

/* A record that stays torn (or was forged badly) is refused. */
static void
test_read_bad_checksum(void **state)
{
	struct tmpdir *d = *state;
	static struct owner o, back;
	off_t size = 0;
	int fd = lock_file(d, "t.lock", 0644);
	char c;

	fill_owner(&o);
	assert_int_equal(owner_write(fd, &o, &size), 0);
	assert_int_equal(pread(fd, &c, 1, size - 3), 1);
	c ^= 1;
	assert_int_equal(pwrite(fd, &c, 1, size - 3), 1);
	errno = 0;
	assert_int_equal(owner_read(fd, &back, NULL), -1);
	assert_int_equal(errno, EINVAL);
	close(fd);
}

static void
test_read_special_files(void **state)
{
	struct tmpdir *d = *state;
	static struct owner back;
	static char big[100 * 1024];
	int fd;

	assert_int_equal(mkdirat(d->fd, "dir.lock", 0755), 0);
	fd = openat(d->fd, "dir.lock", O_RDONLY | O_DIRECTORY);
	errno = 0;
	assert_int_equal(owner_read(fd, &back, NULL), -1);
	assert_int_equal(errno, EINVAL);
	close(fd);

	/* 100 KB: not ours, even if it starts like a record. */
	padded_record(big, sizeof(big));
	fd = lock_file(d, "big.lock", 0644);
	assert_int_equal(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
	errno = 0;
	assert_int_equal(owner_read(fd, &back, NULL), -1);
	assert_int_equal(errno, EINVAL);
	close(fd);

	fd = lock_file(d, "junk.lock", 0644);
	assert_int_equal(write(fd, "hello\n", 6), 6);
	errno = 0;
	assert_int_equal(owner_read(fd, &back, NULL), -1);
	assert_int_equal(errno, EINVAL);
	close(fd);
}

static void
test_owner_self(void **state)
{
	static struct owner o;
	static char longkey[OWNER_KEY_MAX + 10], longarg[2000];
	char *argv[] = { "make", "-j4", "tools", NULL };
	char host[256] = "";
	unsigned long long start;
	char st;
	/* time(2) reads a coarser clock that can lag the record's by a
	 * tick, across a second: the same clock on both sides. */
	time_t before = owner_now();

	(void)state;
	owner_self(&o, "k", argv);
	assert_int_equal(o.pid, (long)getpid());
	assert_int_equal(proc_stat(getpid(), &start, &st), 0);
	assert_true(start != 0);
	assert_true(o.start == start);
	assert_string_equal(o.boot, proc_boot_id());
	assert_string_equal(o.pidns, proc_pidns());
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	assert_string_equal(o.host, host);
	assert_int_equal(o.uid, (long)getuid());
	assert_true(o.since >= before && o.since <= owner_now());
	assert_string_equal(o.state, "building");
	assert_string_equal(o.key, "k");
	assert_string_equal(o.cmd, "make -j4 tools");
	assert_string_equal(o.dest, "");
	assert_string_equal(o.staging, "");

	/* Too long to keep: key left out, cmd cut with "...". */
	memset(longkey, 'k', OWNER_KEY_MAX);
	memset(longarg, 'a', sizeof(longarg) - 1);
	argv[1] = longarg;
	owner_self(&o, longkey, argv);
	assert_string_equal(o.key, "");
	assert_int_equal(strlen(o.cmd), OWNER_CMD_MAX - 1);
	assert_memory_equal(o.cmd, "make aaa", 8);
	assert_string_equal(o.cmd + OWNER_CMD_MAX - 4, "...");
	/* Exactly the longest key kept. */
	longkey[OWNER_KEY_MAX - 1] = '\0';
	owner_self(&o, longkey, NULL);
	assert_string_equal(o.key, longkey);
	assert_string_equal(o.cmd, "");
}

static void
test_judge_self(void **state)
{
	static struct owner o;
	char *argv[] = { "test", NULL };

	(void)state;
	owner_self(&o, "k", argv);
	assert_int_equal(owner_judge(&o), HOLDER_ALIVE);

	/* Same pid, another start time: the pid was reused. */
	o.start += 1;
	assert_int_equal(owner_judge(&o), HOLDER_GONE);

	/* Start time unknown: the pid alone decides. */
	o.start = 0;
	assert_int_equal(owner_judge(&o), HOLDER_ALIVE);

	/* A pid nobody has. */
	owner_self(&o, "k", argv);
	o.pid = 0x7ffffffe;
	assert_int_equal(owner_judge(&o), HOLDER_GONE);
}

static void
test_judge_other_boot_host_ns(void **state)
{
	static struct owner o;
	char *argv[] = { "test", NULL };

	(void)state;
	owner_self(&o, "k", argv);
	strcpy(o.host, "surely-not-this-host.example");
	assert_int_equal(owner_judge(&o), HOLDER_REMOTE);

	owner_self(&o, "k", argv);
	strcpy(o.pidns, "pid:[1]");
	if (proc_pidns()[0] != '\0')
		assert_int_equal(owner_judge(&o), HOLDER_REMOTE);

	owner_self(&o, "k", argv);
	if (proc_boot_id()[0] == '\0') {
		skip();
		return;
	}
	strcpy(o.boot, "00000000-0000-0000-0000-000000000000");
	assert_int_equal(owner_judge(&o), HOLDER_GONE);
}

/* A child's life: running, stopped, zombie, reaped. */
static void
test_judge_child_states(void **state)
{
	static struct owner o;
	char *argv[] = { "test", NULL };
	unsigned long long start;
	char st, c;
	int p[2], ws;
	pid_t pid;
	siginfo_t si;

	(void)state;
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		close(p[1]);
		/* Wait for the parent to close its end, then exit. */
		while (read(p[0], &c, 1) == -1 && errno == EINTR)
			continue;
		_exit(0);
	}
	close(p[0]);
	assert_int_equal(proc_stat(pid, &start, &st), 0);
	assert_true(start != 0);
	owner_self(&o, "k", argv);
	o.pid = pid;
	o.start = start;
	assert_int_equal(owner_judge(&o), HOLDER_ALIVE);

	assert_int_equal(kill(pid, SIGSTOP), 0);
	assert_int_equal(waitpid(pid, &ws, WUNTRACED), pid);
	assert_true(WIFSTOPPED(ws));
	assert_int_equal(owner_judge(&o), HOLDER_STOPPED);
	assert_int_equal(proc_state_of(pid, start), PROC_STOPPED);

	assert_int_equal(kill(pid, SIGCONT), 0);
	close(p[1]);
	/* Wait until it has exited, without reaping it. */
	memset(&si, 0, sizeof(si));
	assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	assert_int_equal(si.si_pid, pid);
	assert_int_equal(owner_judge(&o), HOLDER_ZOMBIE);
	assert_int_equal(proc_state_of(pid, start), PROC_ZOMBIE);

	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFEXITED(ws));
	assert_int_equal(owner_judge(&o), HOLDER_GONE);
	assert_int_equal(proc_state_of(pid, start), PROC_GONE);
}

static void
test_proc_parse_stat(void **state)
{
	/* comm "evil) R 1 2 3)": the last ')' ends it. */
	static const char evil[] =
	    "4242 (evil) R 1 2 3) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 6 "
	    "0 0 20 0 1 0 987654321 1000000 100 18446744073709551615 1 1 0 "
	    "0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n";
	static const char plain[] =
	    "1 (init) T 0 1 1 0 -1 4194560 100 0 0 0 5 6 0 0 20 0 1 0 42";
	unsigned long long start = 0;
	char st = 0, buf[1024];
	ssize_t n;
	int fd;

	(void)state;
	assert_int_equal(proc_parse_stat(evil, &start, &st), 0);
	assert_true(start == 987654321ULL);
	assert_int_equal(st, 'S');
	assert_int_equal(proc_parse_stat(plain, &start, &st), 0);
	assert_true(start == 42);
	assert_int_equal(st, 'T');

	/* This process's own /proc/self/stat agrees with proc_stat. */
	fd = open("/proc/self/stat", O_RDONLY);
	assert_true(fd != -1);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_int_equal(proc_parse_stat(buf, &start, &st), 0);
	assert_int_equal(st, 'R');
	{
		unsigned long long s2;
		char st2;

		assert_int_equal(proc_stat(getpid(), &s2, &st2), 0);
		assert_true(s2 == start);
	}
}

static void
test_proc_parse_stat_garbage(void **state)
{
	static const char *const bad[] = {
		"",
		"garbage",
		"1 (x",
		"1 (x)",
		"1 (x) ",
		"1 (x)S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19",
		"1 (x) S",
		"1 (x) S 1 2 3",
		"1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18",
		"1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 ",
		"1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 abc",
		"1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 12x 1",
		/* One string (parenthesised for clang's warning). */
		("1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 "
		    "99999999999999999999999"),
	};
	unsigned long long start;
	char st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		if (proc_parse_stat(bad[i], &start, &st) != -1)
			fail_msg("proc_parse_stat accepted \"%s\"", bad[i]);
		assert_int_equal(errno, EINVAL);
	}
	errno = 0;
	assert_int_equal(proc_stat(0x7ffffffe, &start, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_describe(void **state)
{
	static struct owner o;
	char buf[512], want[128], small[16];
	const char *p;
	time_t now = 1700000041;

	(void)state;
	fill_owner(&o);
	o.since = now - 41;
	owner_describe(&o, now, buf, sizeof(buf));
	assert_non_null(strstr(buf, "pid 4242 (make tools) on host ci-3 since "));
	p = strstr(buf, " since ") + 7;
	/* A time of day for a recent record: HH:MM:SS. */
	assert_true(p[2] == ':' && p[5] == ':' && p[8] == ' ');
	assert_non_null(strstr(buf, "(41s)"));

	/* A command with a newline stays on one line. */
	strcpy(o.cmd, "sh -c 'a\nb'");
	owner_describe(&o, now, buf, sizeof(buf));
	assert_null(strchr(buf, '\n'));
	snprintf(want, sizeof(want), "pid %ld (sh -c 'a\\nb') on host ci-3 since",
	    o.pid);
	assert_non_null(strstr(buf, want));

	/* A long command is cut. */
	memset(o.cmd, 'c', 500);
	o.cmd[500] = '\0';
	owner_describe(&o, now, buf, sizeof(buf));
	assert_non_null(strstr(buf, "...) on host ci-3 since"));
	assert_true(strlen(buf) < 200);

	/* An old record shows the date. */
	strcpy(o.cmd, "x");
	o.since = now - 3 * 86400;
	owner_describe(&o, now, buf, sizeof(buf));
	p = strstr(buf, " since ") + 7;
	assert_true(p[4] == '-' && p[7] == '-');

	/* A small buffer is cut, terminated. */
	memset(small, 'X', sizeof(small));
	owner_describe(&o, now, small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);

	assert_string_equal(holder_word(HOLDER_ALIVE), "running");
	assert_string_equal(holder_word(HOLDER_STOPPED), "stopped");
	assert_string_equal(holder_word(HOLDER_ZOMBIE), "zombie");
	assert_string_equal(holder_word(HOLDER_GONE), "gone");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_parse_round_trip),
		cmocka_unit_test(test_format_worst_case_fits),
		cmocka_unit_test(test_format_small_buffer),
		cmocka_unit_test(test_cksum_is_posix),
		cmocka_unit_test(test_parse_header),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_parse_minimal_and_unknown_fields),
		cmocka_unit_test(test_parse_size_limit),
		cmocka_unit_test(test_parse_string_too_long),
		cmocka_unit_test(test_parse_rejects_numbers_with_leading_white_space),
		cmocka_unit_test_setup_teardown(test_write_read_round_trip,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_read_bad_checksum,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_read_special_files,
		    setup_dir, teardown_dir),
		cmocka_unit_test(test_owner_self),
		cmocka_unit_test(test_judge_self),
		cmocka_unit_test(test_judge_other_boot_host_ns),
		cmocka_unit_test(test_judge_child_states),
		cmocka_unit_test(test_proc_parse_stat),
		cmocka_unit_test(test_proc_parse_stat_garbage),
		cmocka_unit_test(test_describe),
	};

	/* Zombies and wait statuses need SIGCHLD not ignored (inherited). */
	signal(SIGCHLD, SIG_DFL);
	return cmocka_run_group_tests_name("owner", tests, NULL, NULL);
}
