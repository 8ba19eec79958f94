/*
 * LOCKDIR is resolved by hand, one component at a time, each opened
 * relative to the one before without following links, so that no name
 * can be swapped between the check and the use.  A symbolic link met on
 * the way is followed only where the kernel's protected_symlinks would
 * follow it: not when it lies in a sticky world-writable directory and
 * belongs neither to us nor to that directory's owner.  Otherwise any
 * user could point /tmp/locks at a victim's directory and have lockbuild,
 * run by the victim or by root, create and remove files there.  The
 * check is our own, so it holds with protected_symlinks off too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lockdir.h"
#include "netfs.h"

#define MAX_LINKS 40		/* as the kernel's own limit (ELOOP) */
#ifdef O_PATH
#define START_FLAGS (O_PATH | O_DIRECTORY | O_CLOEXEC)
#else
#define START_FLAGS (O_RDONLY | O_DIRECTORY | O_CLOEXEC)
#endif

#ifdef O_PATH
#define STEP_FLAGS (O_PATH | O_NOFOLLOW | O_CLOEXEC)
#else
/* Without O_PATH, a link makes openat fail (ELOOP; EMLINK on FreeBSD)
 * and is then looked at by name: a narrower check, but the same rule. */
#define STEP_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#endif

static void
close_keep_errno(int fd)
{
	int e = errno;

	close(fd);
	errno = e;
}

/* Would the kernel's protected_symlinks follow a link owned by owner
 * in the directory open as dirfd? */
static bool
may_follow(int dirfd, uid_t owner)
{
	struct stat dir;

	if (fstat(dirfd, &dir) == -1)
		return false;
	if (!(dir.st_mode & S_ISVTX) || !(dir.st_mode & S_IWOTH))
		return true;
	return owner == geteuid() || owner == dir.st_uid;
}

/*
 * One step: opens dirfd/name.  Returns the descriptor of a directory,
 * or -1 with errno; for a symbolic link, -1 with errno ELOOP and its
 * target in target and owner in *st.
 */
static int
step(int dirfd, const char *name, char *target, size_t tsz, struct stat *st)
{
	ssize_t n;
	int fd = openat(dirfd, name, STEP_FLAGS);

#ifdef O_PATH
	if (fd == -1)
		return -1;
	if (fstat(fd, st) == -1) {
		close_keep_errno(fd);
		return -1;
	}
	if (S_ISDIR(st->st_mode))
		return fd;
	if (!S_ISLNK(st->st_mode)) {
		close(fd);
		errno = ENOTDIR;
		return -1;
	}
	n = readlinkat(fd, "", target, tsz);
	close(fd);
#else
	if (fd != -1)
		return fd;
	if (errno != ELOOP && errno != EMLINK)
		return -1;
	if (fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	if (!S_ISLNK(st->st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	n = readlinkat(dirfd, name, target, tsz);
#endif
	if (n == -1)
		return -1;
	if ((size_t)n >= tsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	target[n] = '\0';
	errno = ELOOP;
	return -1;
}

/* Is the directory open as fd on a filesystem whose locks we can
 * trust (netfs.c)?  Closes it if not. */
static int
check_locks(int fd, struct lockdir_info *info)
{
	char reason[256];

	switch (netfs_judge_fd(fd, reason, sizeof(reason))) {
	case NETFS_REFUSED:
		if (info != NULL)
			strlcpy(info->reason, reason, sizeof(info->reason));
		close(fd);
		errno = ENOLCK;
		return -1;
	case NETFS_SHARED:
		if (info != NULL)
			info->network = true;
		break;
	default:
		break;
	}
	return fd;
}

/*
 * An NFS client answers a lookup from its cache: a name another host
 * created in LOCKDIR stays "no such file" here for as long as the
 * directory's attributes are cached (30 s and more by default).
 * Opening the directory by name for reading makes the client ask the
 * server (close-to-open); an O_PATH open does not.  Best effort: a
 * LOCKDIR we may search but not read (0733) stays as cached.
 */
static void
refresh_listing(int parent, const char *name)
{
	int fd = openat(parent, name,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd != -1)
		close(fd);
}

/* Replaces rest[0..] with target "/" rest[from..]. */
static int
splice_link(char *rest, size_t restsz, size_t from, const char *target)
{
	char buf[8192];
	int n = snprintf(buf, sizeof(buf), "%s/%s", target, rest + from);

	if (n < 0 || (size_t)n >= sizeof(buf) || (size_t)n >= restsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(rest, buf, (size_t)n + 1);
	return 0;
}

/*
 * The next component of rest, from *p on, into name; *p moves past it
 * and *start gets where it began.  1, 0 at the end, or -1 (ENAMETOOLONG).
 */
static int
next_name(const char *rest, size_t *p, size_t *start, char *name,
    size_t namesz)
{
	size_t len;

	while (rest[*p] == '/')
		(*p)++;
	if (rest[*p] == '\0')
		return 0;
	*start = *p;
	len = strcspn(rest + *p, "/");
	if (len >= namesz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(name, rest + *p, len);
	name[len] = '\0';
	*p += len;
	return 1;
}

/* Appends "/" name to path ("" and "/" take no separator). */
static void
append_name(char *path, size_t pathsz, const char *name)
{
	if (path[0] != '\0' && strcmp(path, "/") != 0)
		strlcat(path, "/", pathsz);
	strlcat(path, name, pathsz);
}

/* For the caller's message: the link refused (done/name), and whose. */
static void
set_refusal(struct lockdir_info *why, const char *done, const char *name,
    uid_t owner)
{
	if (why == NULL)
		return;
	strlcpy(why->link, done, sizeof(why->link));
	append_name(why->link, sizeof(why->link), name);
	why->owner = owner;
}

int
lockdir_open(const char *path, bool create, struct lockdir_info *why)
{
	char rest[8192], target[4096], done[8192] = "", last[4096] = ".";
	size_t p = 0, link_end = 0;
	int cur, parent = -1, links = 0;

	if (why != NULL)
		memset(why, 0, sizeof(*why));
	if (path[0] == '\0') {
		errno = ENOENT;
		return -1;
	}
	if (strlcpy(rest, path, sizeof(rest)) >= sizeof(rest)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	cur = open(path[0] == '/' ? "/" : ".", START_FLAGS);
	if (cur == -1)
		return -1;
	if (path[0] == '/')
		strlcpy(done, "/", sizeof(done));
	for (;;) {
		char name[4096];
		size_t start;
		struct stat st;
		int fd, more;

		more = next_name(rest, &p, &start, name, sizeof(name));
		if (more == 0)
			break;
		if (more == -1)
			goto fail;
		fd = step(cur, name, target, sizeof(target), &st);
		/* Only what the user wrote is created, never a link's target. */
		if (fd == -1 && errno == ENOENT && create && start >= link_end) {
			if (mkdirat(cur, name, 0777) == -1 && errno != EEXIST)
				goto fail;
			fd = step(cur, name, target, sizeof(target), &st);
		} else if (fd == -1 && errno == ENOENT && start < link_end) {
			errno = EEXIST;		/* a dangling link */
		}
		if (fd == -1 && errno == ELOOP) {
			if (!may_follow(cur, st.st_uid)) {
				set_refusal(why, done, name, st.st_uid);
				errno = EPERM;
				goto fail;
			}
			if (++links > MAX_LINKS) {
				errno = ELOOP;
				goto fail;
			}
			if (splice_link(rest, sizeof(rest), p, target) == -1)
				goto fail;
			link_end = strlen(target) + 1 +
			    (link_end > p ? link_end - p : 0);
			p = 0;
			if (target[0] == '/') {
				close(cur);
				if ((cur = open("/", START_FLAGS)) == -1)
					goto fail;
				strlcpy(done, "/", sizeof(done));
			}
			continue;
		}
		if (fd == -1)
			goto fail;
		if (parent != -1)
			close(parent);
		parent = cur;
		cur = fd;
		strlcpy(last, name, sizeof(last));
		append_name(done, sizeof(done), name);
	}
	if ((cur = check_locks(cur, why)) != -1 && why != NULL &&
	    why->network)
		refresh_listing(parent != -1 ? parent : cur, last);
	if (parent != -1)
		close_keep_errno(parent);
	return cur;
fail:
	if (parent != -1)
		close_keep_errno(parent);
	if (cur != -1)
		close_keep_errno(cur);
	return -1;
}

int
lockdir_open_listing(int dirfd)
{
	return openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

bool
lockdir_contains(int lockdirfd, int dirfd)
{
	struct stat top, st, up;
	int fd, parent, depth;

	if (fstat(lockdirfd, &top) == -1 ||
	    (fd = openat(dirfd, ".", START_FLAGS)) == -1)
		return false;
	/* Up through "..", which the kernel resolves across mounts, until
	 * LOCKDIR or the root (its own parent). */
	for (depth = 0; depth < 4096 && fstat(fd, &st) == 0; depth++) {
		if (st.st_dev == top.st_dev && st.st_ino == top.st_ino) {
			close(fd);
			return true;
		}
		if ((parent = openat(fd, "..", START_FLAGS)) == -1)
			break;
		close(fd);
		fd = parent;
		if (fstat(fd, &up) == -1 || (up.st_dev == st.st_dev &&
		    up.st_ino == st.st_ino))
			break;
	}
	close(fd);
	return false;
}
