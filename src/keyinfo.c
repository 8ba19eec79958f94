/*
 * Judging a key from outside.  The kernel cannot name an OFD lock's
 * holder (F_OFD_GETLK says pid -1), so "who" comes from the owner record
 * and "is it really held" from the kernel; the interesting cases are
 * where the two disagree: a record of a dead process on a free lock
 * (stale), or on a held one (orphaned: COMMAND's children hold it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "keyinfo.h"
#include "lock.h"
#include "owner.h"
#include "proc.h"

static void
judge(struct keyinfo *ki)
{
	if (ki->record != 1)
		return;
	ki->holder = owner_judge(&ki->owner);
	/*
	 * A holder on another host (or in another pid namespace) cannot be
	 * looked up, but its lock can: the lock server gives it up when the
	 * holder's host dies (the NFS lease), so a free lock under its
	 * record means it is gone.  While the lock is held it is alive.
	 */
	if (ki->holder == HOLDER_REMOTE && ki->lock != LS_FREE)
		return;
	if (!holder_dead(ki->holder) && ki->holder != HOLDER_REMOTE)
		return;
	if (ki->lock == LS_FREE) {
		if (owner_state_clean(&ki->owner))
			ki->leftover = 1;
		else
			ki->stale = 1;
	} else if (ki->lock == LS_EXCLUSIVE) {
		/* (Shared holders write no record: one there is older.) */
		ki->orphaned = 1;
	}
}

static void
read_once(int dirfd, const struct lockname *f, struct keyinfo *ki)
{
	struct stat st;
	bool shared = false;
	int fd, r;

	memset(ki, 0, sizeof(*ki));
	fd = lock_open_ro(dirfd, f->lock);
	if (fd == -1) {
		ki->lock = errno == ENOENT ? LS_FREE : LS_UNKNOWN;
		ki->err = errno;
		/* A link, a FIFO or a directory in its place is not ours. */
		ki->record = errno == ELOOP || errno == EINVAL ||
		    errno == EISDIR ? -1 : 0;
		return;
	}
	ki->record = owner_read(fd, &ki->owner, &ki->record_uid);
	r = lock_probe(fd, &shared);
	ki->lock = r == 0 ? LS_FREE : r == 1 ? (shared ? LS_SHARED :
	    LS_EXCLUSIVE) : LS_UNKNOWN;
	ki->err = r == -1 ? errno : 0;
	/*
	 * Deleted meanwhile: its holder let go normally (see lock.c), and
	 * whoever holds it now is about to notice and move to a new file.
	 */
	if (fstat(fd, &st) == 0 && st.st_nlink == 0) {
		memset(&ki->owner, 0, sizeof(ki->owner));
		ki->record = 0;
		ki->lock = LS_FREE;
	}
	close(fd);
	judge(ki);
}

void
keyinfo_read(int dirfd, const struct lockname *f, struct keyinfo *ki)
{
	const struct timespec pause = { 0, 2000000 };
	int tries;

	/*
	 * A busy key can be caught between two holders: the new one has the
	 * lock but has not written its record over the old one's yet, so the
	 * lock looks held by no one we know, or by processes left behind by
	 * a holder that has just exited.  Look again a few milliseconds
	 * later before saying so; a lock held by another program, or truly
	 * by processes left behind, stays that way.
	 */
	for (tries = 0; tries < 5; tries++) {
		read_once(dirfd, f, ki);
		if (ki->lock != LS_EXCLUSIVE ||
		    (ki->record != 0 && !ki->orphaned))
			return;
		nanosleep(&pause, NULL);
	}
}

void
keyinfo_read_held(int fd, struct keyinfo *ki)
{
	memset(ki, 0, sizeof(*ki));
	ki->lock = LS_EXCLUSIVE;
	ki->record = owner_read(fd, &ki->owner, &ki->record_uid);
	if (ki->record == 1)
		ki->holder = owner_judge(&ki->owner);
}

int
keyinfo_alarming(const struct keyinfo *ki)
{
	return ki->stale || ki->orphaned || ki->record == -1 ||
	    ki->lock == LS_UNKNOWN;
}

/* " 123, 456": the processes that have the lock file open. */
static void
openers(int dirfd, const struct lockname *f, char *list, size_t size)
{
	struct stat st;
	pid_t pids[8];
	size_t np = 0, i;

	list[0] = '\0';
	if (fstatat(dirfd, f->lock, &st, AT_SYMLINK_NOFOLLOW) == 0)
		np = proc_find_openers(st.st_dev, st.st_ino, pids, 8);
	for (i = 0; i < np; i++) {
		char one[24];

		snprintf(one, sizeof(one), "%s%ld", i ? ", " : " ",
		    (long)pids[i]);
		strlcat(list, one, size);
	}
}

void
keyinfo_describe(int dirfd, const struct lockname *f,
    const struct keyinfo *ki, char *buf, size_t bufsz)
{
	char who[512];

	if (ki->lock == LS_SHARED) {
		snprintf(buf, bufsz, "is held shared by other processes");
		return;
	}
	if (ki->record != 1) {
		char list[128];

		openers(dirfd, f, list, sizeof(list));
		/* Usually a holder between taking the lock and writing
		 * its record; or a program other than lockbuild. */
		if (ki->record == -1)
			snprintf(buf, bufsz, "is held by %s%s, whose owner "
			    "record cannot be read", list[0] ? "pids" :
			    "a process", list);
		else
			snprintf(buf, bufsz, "is held by %s%s, which has not "
			    "written an owner record (yet)", list[0] ? "pids" :
			    "a process", list);
		return;
	}
	owner_describe(&ki->owner, owner_now(), who, sizeof(who));
	/* A zombie has closed its descriptors: the lock is its children's. */
	switch (holder_dead(ki->holder) ? HOLDER_GONE : ki->holder) {
	case HOLDER_GONE: {
		char list[128];

		openers(dirfd, f, list, sizeof(list));
		snprintf(buf, bufsz, "is held by processes left behind by "
		    "%s, which has %s%s%s", who,
		    strcmp(ki->owner.state, "done") == 0 ? "finished" :
		    "exited", list[0] ? ": pids" : "", list);
		break;
	}
	case HOLDER_STOPPED:
		snprintf(buf, bufsz, "is held by %s, which is stopped", who);
		break;
	case HOLDER_REMOTE:
		snprintf(buf, bufsz, "is held by %s (another host or pid "
		    "namespace: alive as long as it holds the lock)", who);
		break;
	default:
		if (proc_is_ancestor((pid_t)ki->owner.pid))
			snprintf(buf, bufsz, "is held by %s, an ancestor of "
			    "this lockbuild (if it waits for this one, neither "
			    "goes on)", who);
		else
			snprintf(buf, bufsz, "is held by %s", who);
		break;
	}
}
