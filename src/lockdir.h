/*
 * Opening LOCKDIR: one component at a time, relative to the directory
 * already open, so that what is checked is what is used.  A LOCKDIR in
 * /tmp is shared with other users, and one of them may have planted a
 * symbolic link on the way to it.
 */
#ifndef LOCKBUILD_LOCKDIR_H
#define LOCKBUILD_LOCKDIR_H

#include <stdbool.h>
#include <sys/types.h>

/* What lockdir_open found out, besides the descriptor. */
struct lockdir_info {
	char link[4096];	/* EPERM: the link lockbuild would not follow */
	uid_t owner;		/* and its owner */
	char reason[256];	/* ENOLCK: why its locks cannot be trusted */
	bool network;		/* on a network filesystem whose server locks */
};

/*
 * Opens LOCKDIR, creating it and its missing parents (mode 0777 less
 * umask) with create; never creates anything at the end of a symbolic
 * link.  Returns a descriptor usable with the *at() calls (it may not
 * be readable: a LOCKDIR with write and search permission only is
 * usable), or -1 with errno:
 *  - EEXIST: a dangling symbolic link is in the way;
 *  - ENOTDIR: a component is not a directory;
 *  - EPERM: a symbolic link that a stranger owns in a sticky
 *    world-writable directory (as /tmp), refused as the kernel's
 *    protected_symlinks would, whether or not it is on; *why says which;
 *  - ENOLCK: its filesystem's locks would not exclude other processes
 *    or hosts (FUSE, NFS with nolock or local_lock=all, NFSv3): the
 *    reason names the filesystem and the mount option.
 */
int lockdir_open(const char *path, bool create, struct lockdir_info *info);

/* Is the directory open as dirfd LOCKDIR itself or below it? */
bool lockdir_contains(int lockdirfd, int dirfd);

/* LOCKDIR open for reading its entries (--status, --clean). */
int lockdir_open_listing(int dirfd);

#endif
