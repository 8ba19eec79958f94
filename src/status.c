/*
 * --status: every key in LOCKDIR, from its lock file and the record in
 * it, for people (one line a key) and for scripts (--json, one object a
 * line, field names stable and documented in the man page).
 * --clean: removes what --status calls stale, holding each key's lock
 * while it does, so that it can never remove anything of a live build.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <vis.h>

#include "dirent_at.h"
#include "exitcode.h"
#include "keyinfo.h"
#include "lock.h"
#include "msg.h"
#include "lockdir.h"
#include "publishmode.h"
#include "status.h"

struct entry {
	struct lockname f;
	const char *key;	/* given on the command line, or NULL */
};

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->f.name,
	    ((const struct entry *)b)->f.name);
}

/* The keys to report: those given, or every key with files in LOCKDIR. */
static struct entry *
collect(int dirfd, const struct cli *c, size_t *count)
{
	struct entry *e = NULL;
	size_t n = 0, cap = 0, i;
	DIR *d;
	struct dirent *de;

	if (c->nkeys > 0) {
		e = calloc((size_t)c->nkeys, sizeof(*e));
		if (e == NULL)
			return NULL;
		for (i = 0; i < (size_t)c->nkeys; i++) {
			if (lockname_for_key(c->keys[i], &e[n].f) == -1)
				continue;	/* the empty key has no files */
			e[n++].key = c->keys[i];
		}
		*count = n;
		return e;
	}
	if ((d = opendir_dup(dirfd)) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		struct lockname f;

		if (!lockname_for_entry(de->d_name, &f))
			continue;
		if (n == cap) {
			struct entry *more;

			cap = cap ? cap * 2 : 32;
			more = reallocarray(e, cap, sizeof(*e));
			if (more == NULL) {
				free(e);
				closedir(d);
				return NULL;
			}
			e = more;
		}
		e[n].f = f;
		e[n++].key = NULL;
	}
	closedir(d);
	if (n > 1)
		qsort(e, n, sizeof(*e), by_name);
	*count = n;
	return e != NULL ? e : calloc(1, sizeof(*e));
}

/* The user's key for an entry: given, unescaped from the name, or recorded. */
static const char *
key_of(const struct entry *e, const struct keyinfo *ki, char *buf,
    size_t bufsz)
{
	if (e->key != NULL)
		return e->key;
	if (name_to_key(e->f.name, buf, bufsz) == 0)
		return buf;
	if (ki->record == 1 && ki->owner.key[0] != '\0')
		return ki->owner.key;
	return e->f.name;	/* shortened name, key not recorded */
}

static const char *
lock_word(enum lockstate s)
{
	switch (s) {
	case LS_FREE:
		return "free";
	case LS_EXCLUSIVE:
		return "exclusive";
	case LS_SHARED:
		return "shared";
	default:
		return "unknown";
	}
}

static void
flags_of(const struct keyinfo *ki, const char *list[6], size_t *n)
{
	*n = 0;
	if (ki->stale)
		list[(*n)++] = "stale";
	if (ki->orphaned)
		list[(*n)++] = "orphaned";
	if (ki->record == 1 && ki->holder == HOLDER_STOPPED)
		list[(*n)++] = "stopped";
	if (ki->record == 1 && ki->holder == HOLDER_ZOMBIE)
		list[(*n)++] = "zombie";
	if (ki->leftover)
		list[(*n)++] = "leftover";
	if (ki->record == -1)
		list[(*n)++] = "bad-record";
}

void
json_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	putc('"', out);
	while (*p != '\0') {
		size_t len = 0, i;
		unsigned c = *p;

		if (c == '"' || c == '\\') {
			fprintf(out, "\\%c", c);
			p++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			fprintf(out, "\\u%04x", c);
			p++;
			continue;
		}
		if (c < 0x80) {
			putc((int)c, out);
			p++;
			continue;
		}
		/* Copy one well-formed UTF-8 sequence, or write U+FFFD. */
		if (c >= 0xc2 && c <= 0xdf)
			len = 2;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4;
		for (i = 1; i < len; i++)
			if ((p[i] & 0xc0) != 0x80)
				break;
		if (len == 0 || i < len ||
		    (c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
		    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f)) {
			fputs("\\ufffd", out);
			p++;
			continue;
		}
		fwrite(p, 1, len, out);
		p += len;
	}
	putc('"', out);
}

static void
json_field(FILE *out, const char *name, const char *value, bool present)
{
	fprintf(out, ",\"%s\":", name);
	if (present)
		json_string(out, value);
	else
		fputs("null", out);
}

static void
print_json(const char *key, const struct entry *e, const struct keyinfo *ki)
{
	const char *flags[6];
	size_t nflags, i;
	bool rec = ki->record == 1;
	const struct owner *o = &ki->owner;

	fputs("{\"key\":", stdout);
	json_string(stdout, key);
	json_field(stdout, "name", e->f.name, true);
	json_field(stdout, "lock", lock_word(ki->lock), true);
	if (rec)
		printf(",\"pid\":%ld,\"start\":%llu,\"uid\":%ld,\"since\":%lld,"
		    "\"age\":%lld", o->pid, o->start, o->uid,
		    (long long)o->since, (long long)(owner_now() - o->since));
	else
		fputs(",\"pid\":null,\"start\":null,\"uid\":null,"
		    "\"since\":null,\"age\":null", stdout);
	json_field(stdout, "host", o->host, rec);
	json_field(stdout, "state", o->state, rec);
	json_field(stdout, "cmd", o->cmd, rec);
	json_field(stdout, "dest", o->dest, rec && o->dest[0]);
	json_field(stdout, "staging", o->staging, rec && o->staging[0]);
	json_field(stdout, "holder", ki->holder == HOLDER_REMOTE ? "remote" :
	    holder_word(ki->holder), rec);
	fputs(",\"flags\":[", stdout);
	flags_of(ki, flags, &nflags);
	for (i = 0; i < nflags; i++)
		printf("%s\"%s\"", i ? "," : "", flags[i]);
	fputs("]}\n", stdout);
}

static void
print_human(const char *key, const struct entry *e, const struct keyinfo *ki)
{
	const char *flags[6];
	size_t nflags, i;
	char who[512] = "";

	(void)e;
	printf("%s: %s", show(key), lock_word(ki->lock));
	if (ki->record == 1) {
		owner_describe(&ki->owner, owner_now(), who, sizeof(who));
		printf("; %s %s, %s, %s", ki->lock == LS_FREE ? "last holder" :
		    "holder", who, ki->holder != HOLDER_REMOTE ?
		    holder_word(ki->holder) : ki->lock == LS_FREE ?
		    "on another host, its lock free" :
		    "on another host, alive by its lock",
		    show(ki->owner.state));
		if (ki->owner.dest[0] != '\0')
			printf(", dest %s", show(ki->owner.dest));
	} else if (ki->record == -1) {
		printf("; owner record unreadable");
	}
	flags_of(ki, flags, &nflags);
	for (i = 0; i < nflags; i++)
		printf("%s%s", i ? "," : " [", flags[i]);
	puts(nflags ? "]" : "");
}

/*
 * Opens LOCKDIR and lists its keys (or the keys given).  Returns CARRY_ON
 * and fills *dirfd, *e and *n, or returns the exit status after a message.
 */
static int
open_keys(const struct cli *c, int *dirfd, struct entry **e, size_t *n)
{
	struct lockdir_info why;
	int listfd = -1;

	*n = 0;
	*dirfd = lockdir_open(c->lockdir, false, &why);
	if (*dirfd == -1 && errno == EPERM) {
		msg_error("LOCKDIR '%s': refusing to follow symbolic link '%s', "
		    "owned by uid %ld in a sticky world-writable directory",
		    show(c->lockdir), show(why.link), (long)why.owner);
		return EXIT_NOPERM;
	}
	if (*dirfd == -1) {
		msg_error("cannot open LOCKDIR '%s': %s", show(c->lockdir),
		    strerror(errno));
		return errno == ENOENT || errno == ENOTDIR ||
		    errno == EEXIST ? EXIT_NOINPUT :
		    exit_for_errno(errno, EXIT_OSERR);
	}
	/* Listing needs read permission; keys named on the command line
	 * do not (a LOCKDIR of mode 0733 is usable). */
	if (c->nkeys == 0 && (listfd = lockdir_open_listing(*dirfd)) == -1) {
		msg_error("cannot read LOCKDIR '%s': %s", show(c->lockdir),
		    strerror(errno));
		close(*dirfd);
		return exit_for_errno(errno, EXIT_OSERR);
	}
	*e = collect(listfd, c, n);
	if (listfd != -1)
		close(listfd);
	if (*e == NULL) {
		msg_error("cannot read LOCKDIR '%s': %s", show(c->lockdir),
		    strerror(errno));
		close(*dirfd);
		return EXIT_OSERR;
	}
	return CARRY_ON;
}

/* "--status cannot judge 'k': ..." for a key whose lock file it could
 * not open or probe: saying nothing would pass it. */
static void
report_unjudged(int dirfd, const char *key, const struct entry *e,
    const struct keyinfo *ki, const char *lockdir)
{
	struct stat st;

	if (ki->err == EACCES &&
	    fstatat(dirfd, e->f.lock, &st, AT_SYMLINK_NOFOLLOW) == 0)
		msg_error("cannot judge '%s': lock file '%s/%s' belongs to "
		    "uid %ld, mode %04o, which you may not read", show(key),
		    show(lockdir), e->f.lock, (long)st.st_uid,
		    (unsigned)(st.st_mode & 07777));
	else
		msg_error("cannot judge '%s': lock file '%s/%s': %s", show(key),
		    show(lockdir), e->f.lock, strerror(ki->err));
}

int
status_main(const struct cli *c)
{
	struct entry *e;
	size_t n, i;
	int dirfd, code, alarming = 0;
	char keybuf[KEYNAME_MAX + 1];

	if ((code = open_keys(c, &dirfd, &e, &n)) != CARRY_ON)
		return code;
	for (i = 0; i < n; i++) {
		struct keyinfo ki;
		const char *key;

		keyinfo_read(dirfd, &e[i].f, &ki);
		key = key_of(&e[i], &ki, keybuf, sizeof(keybuf));
		if (ki.lock == LS_UNKNOWN && ki.err != 0)
			report_unjudged(dirfd, key, &e[i], &ki, c->lockdir);
		if (c->json)
			print_json(key, &e[i], &ki);
		else
			print_human(key, &e[i], &ki);
		alarming |= keyinfo_alarming(&ki);
	}
	free(e);
	close(dirfd);
	if (fflush(stdout) == EOF)
		return EXIT_IOERR;
	return alarming ? EXIT_STALE_FOUND : 0;
}

static void
report_removed(const char *path, int err)
{
	if (err == 0)
		printf("removed staging dir '%s'\n", show(path));
	else
		msg_error("cannot remove staging dir '%s': %s", show(path),
		    strerror(err));
}

/*
 * A key --clean could not take: busy is fine (a live holder's), and so
 * is a key gone meanwhile; anything else is said, and fails the run.
 */
static bool
clean_refused(const struct cli *c, const char *key, const struct lock *l,
    int r, int e)
{
	if (r == 0 || (r == -1 && e == ENOENT))
		return false;
	if (e == EEXIST)
		msg_error("'%s/%s' is not a lockbuild lock file, or not one "
		    "that can be proven ours (%s); left alone", show(c->lockdir),
		    l->name, l->refusal == LR_LINKS ? "more than one link" :
		    l->refusal == LR_OWNER ? "a stranger's" : l->refusal ==
		    LR_EMPTY ? "empty" : "not a record");
	else if (l->refusal == LR_NOT_WRITABLE || e == EACCES)
		msg_error("cannot clean '%s': lock file '%s/%s' belongs to uid "
		    "%ld, and you may not write it", show(key),
		    show(c->lockdir), l->name, (long)l->st.st_uid);
	else
		msg_error("cannot clean '%s': lock file '%s/%s': %s", show(key),
		    show(c->lockdir), l->name, strerror(e));
	return true;
}

/*
 * The temporary names of lock files whose makers died before naming them
 * (lock.c: where O_TMPFILE is missing, as on NFS).  An hour of age keeps
 * clear of a live maker on another host whose clock is off.
 */
#define TEMP_MIN_AGE 3600

static int
sweep_temps(const struct cli *c, int dirfd)
{
	struct dirent *de;
	DIR *d;
	int fd, failed = 0;

	if ((fd = lockdir_open_listing(dirfd)) == -1)
		return 0;	/* already said by listing the keys */
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		switch (lock_sweep_temp(dirfd, de->d_name, TEMP_MIN_AGE)) {
		case 1:
			printf("removed leftover temporary lock file '%s'\n",
			    show(de->d_name));
			break;
		case -1:
			msg_error("cannot remove temporary lock file '%s/%s': "
			    "%s", show(c->lockdir), show(de->d_name),
			    strerror(errno));
			failed = 1;
			break;
		default:
			break;
		}
	}
	closedir(d);
	return failed;
}

int
clean_main(const struct cli *c)
{
	struct entry *e;
	size_t n, i;
	int dirfd, code, failed = 0;
	char keybuf[KEYNAME_MAX + 1];

	if ((code = open_keys(c, &dirfd, &e, &n)) != CARRY_ON)
		return code;
	for (i = 0; i < n; i++) {
		struct keyinfo ki;
		struct lock l;
		const char *key;
		int r;

		/* Holding the lock: no live build can be using any of it. */
		r = lock_take(&l, dirfd, e[i].f.lock, false, false, NULL);
		if (r != 1) {
			memset(&ki, 0, sizeof(ki));
			key = key_of(&e[i], &ki, keybuf, sizeof(keybuf));
			failed |= clean_refused(c, key, &l, r, errno);
			continue;
		}
		keyinfo_read_held(l.fd, &ki);
		key = key_of(&e[i], &ki, keybuf, sizeof(keybuf));
		/* We hold the lock: a remote holder is gone (its lease ran
		 * out, or it let go), a local one may not be (-F, "done"). */
		if (ki.record == 1 && !holder_dead(ki.holder) &&
		    ki.holder != HOLDER_REMOTE) {
			/* A record of a live holder: not ours. */
			close(l.fd);
			continue;
		}
		if (ki.record == 1) {
			char who[512];

			owner_describe(&ki.owner, owner_now(), who, sizeof(who));
			publish_sweep_recorded(&ki.owner, ki.record_uid,
			    report_removed);
			printf("removed stale record of '%s': %s, %s\n",
			    show(key), who, show(ki.owner.state));
		} else if (ki.record == -1) {
			printf("removed unreadable owner record of '%s'\n",
			    show(key));
		} else {
			printf("removed unused lock file of '%s'\n", show(key));
		}
		/* A sticky LOCKDIR keeps another user's file (EPERM). */
		if (lock_release(&l, false) == -1) {
			msg_error("cannot remove lock file '%s/%s': %s",
			    show(c->lockdir), e[i].f.lock, strerror(errno));
			failed = 1;
		}
	}
	free(e);
	if (c->nkeys == 0)
		failed |= sweep_temps(c, dirfd);
	close(dirfd);
	if (fflush(stdout) == EOF)
		return EXIT_IOERR;
	return failed ? EXIT_STALE_FOUND : 0;
}
