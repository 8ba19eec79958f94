/*
 * The owner record: who holds a key, written by the holder into the lock
 * file itself, LOCKDIR/<name>.lock.  The kernel cannot tell us
 * (F_OFD_GETLK reports pid -1), so the holder says it itself.  Format: a
 * "lockbuild-owner 2 CKSUM LENGTH" line, where CKSUM and LENGTH are what
 * cksum(1) prints for the rest, then "field=value" lines with values
 * escaped by vis(3).  An empty lock file has no record (yet).
 */
#ifndef LOCKBUILD_OWNER_H
#define LOCKBUILD_OWNER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* How every record, and so every lock file lockbuild makes, begins. */
#define OWNER_MAGIC "lockbuild-owner "
#define OWNER_RECORD_MAX 65536	/* larger records are not ours */
#define OWNER_KEY_MAX 4096	/* longer keys are left out of the record */
#define OWNER_CMD_MAX 1024
#define OWNER_PATH_MAX 4096

struct owner {
	long pid;
	unsigned long long start;	/* clock ticks since boot, 0 unknown */
	char boot[64];
	char pidns[64];
	char host[256];
	long uid;
	time_t since;
	char state[16];		/* building, publishing, exec; "done" once
				   its holder let go (see lock_release) */
	char key[OWNER_KEY_MAX];	/* "" when too long to keep */
	char cmd[OWNER_CMD_MAX];
	char dest[OWNER_PATH_MAX];
	char staging[OWNER_PATH_MAX];
};

enum holder {
	HOLDER_ALIVE,
	HOLDER_STOPPED,
	HOLDER_ZOMBIE,
	HOLDER_GONE,	/* exited, pid reused, or from an earlier boot */
	HOLDER_REMOTE	/* another host or pid namespace: cannot tell */
};

/*
 * The wall-clock second, exact.  glibc's time() reads a coarse clock that
 * can lag a tick behind, and so name the second before the one date(1)
 * shows: a record's "since" must not precede its holder's acquiring.
 */
time_t owner_now(void);

/* Fills o with this process's identity; key and cmd as given. */
void owner_self(struct owner *o, const char *key, char *const *argv);

/*
 * Writes o over the record in the lock file open (read-write) as fd, in
 * place: one write, no file created or renamed, which is what keeps a
 * busy key's hand-off short.  *size is the file's size before, and is
 * updated.  0 or -1 with errno.
 */
int owner_write(int fd, const struct owner *o, off_t *size);

/*
 * With on, every record written is flushed at once.  For LOCKDIR on a
 * network filesystem: a record written into an open file otherwise
 * waits in this host's page cache until writeback (about 30 s with
 * Linux NFS), so other hosts see an anonymous holder meanwhile, and a
 * crash of this host loses it.
 */
void owner_set_durable(bool on);

/*
 * Reads the record in the lock file open as fd, looking again when it
 * seems to have been caught mid-rewrite.  1 read, 0 no record (an empty
 * file), -1 with errno: EINVAL for a record that is not one of ours
 * (garbage, too large, a bad checksum, not a regular file).  *writer,
 * when not NULL, gets the uid that wrote it, or (uid_t)-1 when others
 * may write the file and so may have written the record.
 */
int owner_read(int fd, struct owner *o, uid_t *writer);

/*
 * Parses record text (bytes past the length in its header are ignored);
 * 0 or -1 (EINVAL).  Exposed for tests and fuzzing.
 */
int owner_parse(const char *text, size_t len, struct owner *o);

/* Formats o into buf, header included; its length or -1 (ENOSPC). */
int owner_format(const struct owner *o, char *buf, size_t bufsz);

/* Is the recorded holder still there? */
enum holder owner_judge(const struct owner *o);

/* "pid 4242 (make tools) on host ci-3 since 12:03:07 (41s)" */
void owner_describe(const struct owner *o, time_t now, char *buf,
    size_t bufsz);

const char *holder_word(enum holder h);

/*
 * A holder that leaves its record in this state has left nothing to
 * clean up: -F ("exec") leaves its record by design, "done" holders let
 * go while COMMAND's leftovers held on, and shared holders build nothing.
 */
bool owner_state_clean(const struct owner *o);

/* Gone or a zombie: will never touch its lock, record or staging again. */
#define holder_dead(h) ((h) == HOLDER_GONE || (h) == HOLDER_ZOMBIE)

#endif
