/*
 * Network filesystems under LOCKDIR: which ones carry fcntl locks to a
 * server that every host asks (NFSv4), and which keep them local to each
 * client while seeming to work, so that two hosts both "hold" one key.
 */
#ifndef LOCKBUILD_NETFS_H
#define LOCKBUILD_NETFS_H

#include <stdbool.h>
#include <stddef.h>

enum netfs {
	NETFS_LOCAL,	/* a local filesystem: this machine's kernel locks */
	NETFS_SHARED,	/* locks go to a server that every client asks */
	NETFS_REFUSED	/* locks would not exclude other hosts: why says */
};

/*
 * Judges the filesystem of the directory open as fd.  Network and FUSE
 * filesystems are looked up in /proc/self/mountinfo for their mount
 * options; why gets one sentence for NETFS_REFUSED.
 */
enum netfs netfs_judge_fd(int fd, char *why, size_t whysz);

/* Is the file open as fd on a network filesystem (NFS, CIFS)? */
bool netfs_is_network(int fd);

/*
 * The rule itself, for one mount: its filesystem type and its
 * superblock options as mountinfo shows them.  Exposed for tests.
 */
enum netfs netfs_judge(const char *fstype, const char *options, char *why,
    size_t whysz);

/* The mountinfo line for device major:minor, split (for tests: text is
 * the file's content).  0 found, -1 not. */
int netfs_find_mount(const char *text, unsigned maj, unsigned min,
    char *fstype, size_t typesz, char *options, size_t optsz);

#endif
