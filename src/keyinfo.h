/*
 * What can be known about one key without taking its lock: the kernel's
 * view (free, held exclusive or shared) and the owner record's (who, and
 * whether that process still exists).  Shared by the waiting messages,
 * --status and --clean.
 */
#ifndef LOCKBUILD_KEYINFO_H
#define LOCKBUILD_KEYINFO_H

#include <sys/types.h>

#include "lockname.h"
#include "owner.h"

enum lockstate { LS_FREE, LS_EXCLUSIVE, LS_SHARED, LS_UNKNOWN };

struct keyinfo {
	enum lockstate lock;
	int err;		/* why it is LS_UNKNOWN: errno */
	int record;		/* 1 read, 0 none, -1 unreadable or not ours */
	struct owner owner;	/* when record == 1 */
	enum holder holder;	/* when record == 1 */
	uid_t record_uid;	/* who wrote it, or (uid_t)-1 (owner_read) */
	/* Derived flags. */
	int stale;		/* record of a dead holder, lock free */
	int orphaned;		/* lock held, recorded holder dead */
	int leftover;		/* -F record whose command has ended */
};

void keyinfo_read(int dirfd, const struct lockname *f, struct keyinfo *ki);

/* The record in a lock file we hold (fd), for --clean: record and
 * holder only, no flags. */
void keyinfo_read_held(int fd, struct keyinfo *ki);

/* Needs attention (--status exits 1): stale, orphaned, bad record, or
 * not judged at all (LS_UNKNOWN). */
int keyinfo_alarming(const struct keyinfo *ki);

/*
 * One sentence for messages: "is held by pid 4242 (make) on host h since
 * 12:03:07 (41s)", with the dead-holder and stopped cases spelled out.
 */
void keyinfo_describe(int dirfd, const struct lockname *f,
    const struct keyinfo *ki, char *buf, size_t bufsz);

#endif
