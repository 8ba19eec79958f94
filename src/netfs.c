/*
 * Which network filesystems lockbuild can trust with its locks.
 *
 * NFSv4 keeps fcntl locks on the server: they exclude across clients, a
 * waiter is woken by the server's callback (NFSv4.1 and later; 4.0
 * clients poll, more slowly), and a client that dies loses its locks
 * when its lease runs out.  Mounted with nolock or local_lock=all (or
 * =posix), the same calls succeed but the locks stay inside each client:
 * two hosts both hold one key, and nothing says so.  NFSv2 and v3 lock
 * through the separate NLM and statd protocols, whose recovery after a
 * client crash depends on that client coming back: refused, with the
 * reason.  CIFS with nobrl keeps byte-range locks local, as FUSE does
 * without lock forwarding (and with bindfs's forwarding, a second
 * process was seen to acquire a held lock): both refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/vfs.h>
#endif

#include "netfs.h"

#define NFS_SUPER_MAGIC_ 0x6969
#define SMB2_SUPER_MAGIC_ 0xfe534d42
#define CIFS_SUPER_MAGIC_ 0xff534d42
#define FUSE_SUPER_MAGIC_ 0x65735546

/* Is opt (as "name" or "name=value") one of the comma-separated options? */
static bool
has_option(const char *options, const char *opt)
{
	size_t len = strlen(opt);
	const char *p = options;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, opt, len) == 0 && (p[len] == ',' ||
		    p[len] == '\0'))
			return true;
		p = strchr(p, ',');
		if (p != NULL)
			p++;
	}
	return false;
}

/* The value of option name= ("" when absent), into out. */
static void
option_value(const char *options, const char *name, char *out, size_t outsz)
{
	size_t len = strlen(name);
	const char *p = options;

	out[0] = '\0';
	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, len) == 0 && p[len] == '=') {
			size_t n = strcspn(p + len + 1, ",");

			if (n >= outsz)
				n = outsz - 1;
			memcpy(out, p + len + 1, n);
			out[n] = '\0';
			return;
		}
		p = strchr(p, ',');
		if (p != NULL)
			p++;
	}
}

enum netfs
netfs_judge(const char *fstype, const char *options, char *why, size_t whysz)
{
	char v[32];

	if (strncmp(fstype, "fuse", 4) == 0) {
		snprintf(why, whysz, "it is on a FUSE filesystem (%s), whose "
		    "locks may not exclude other processes", fstype);
		return NETFS_REFUSED;
	}
	if (strcmp(fstype, "cifs") == 0 || strcmp(fstype, "smb3") == 0) {
		if (has_option(options, "nobrl")) {
			snprintf(why, whysz, "it is on %s mounted with nobrl, "
			    "which keeps locks local to each client", fstype);
			return NETFS_REFUSED;
		}
		return NETFS_SHARED;
	}
	if (strcmp(fstype, "nfs") != 0 && strcmp(fstype, "nfs4") != 0)
		return NETFS_LOCAL;
	option_value(options, "local_lock", v, sizeof(v));
	if (has_option(options, "nolock") || strcmp(v, "all") == 0 ||
	    strcmp(v, "posix") == 0) {
		snprintf(why, whysz, "it is on NFS mounted with %s, which keeps "
		    "locks local to each client: two hosts could both hold a "
		    "key (mount without it, or with local_lock=none)",
		    has_option(options, "nolock") ? "nolock" :
		    strcmp(v, "all") == 0 ? "local_lock=all" :
		    "local_lock=posix");
		return NETFS_REFUSED;
	}
	option_value(options, "vers", v, sizeof(v));
	if (v[0] == '2' || v[0] == '3') {
		snprintf(why, whysz, "it is on NFS version %s, whose locks "
		    "(NLM) a crashed client keeps until it comes back; mount "
		    "with vers=4.1 or later", v);
		return NETFS_REFUSED;
	}
	return NETFS_SHARED;
}

/* Field n (0-based) of a mountinfo line, unescaped no further. */
static const char *
field(const char *line, int n, size_t *len)
{
	while (n-- > 0) {
		line = strchr(line, ' ');
		if (line == NULL)
			return NULL;
		line++;
	}
	*len = strcspn(line, " \n");
	return line;
}

static void
copy(char *out, size_t outsz, const char *in, size_t len)
{
	if (len >= outsz)
		len = outsz - 1;
	memcpy(out, in, len);
	out[len] = '\0';
}

int
netfs_find_mount(const char *text, unsigned maj, unsigned min,
    char *fstype, size_t typesz, char *options, size_t optsz)
{
	const char *line = text;
	char want[32];

	snprintf(want, sizeof(want), "%u:%u", maj, min);
	for (; line != NULL && *line != '\0'; line = strchr(line, '\n'),
	    line = line != NULL ? line + 1 : NULL) {
		const char *dev, *sep, *f;
		size_t len;

		/* id parent major:minor root point options [tags] - type src super */
		dev = field(line, 2, &len);
		if (dev == NULL || len != strlen(want) ||
		    strncmp(dev, want, len) != 0)
			continue;
		sep = strstr(line, " - ");
		if (sep == NULL || (f = field(sep + 3, 0, &len)) == NULL)
			continue;
		copy(fstype, typesz, f, len);
		if ((f = field(sep + 3, 2, &len)) == NULL)
			continue;
		copy(options, optsz, f, len);
		return 0;
	}
	return -1;
}

bool
netfs_is_network(int fd)
{
#ifdef __linux__
	struct statfs sfs;

	if (fstatfs(fd, &sfs) == -1)
		return false;
	switch ((unsigned long)sfs.f_type) {
	case NFS_SUPER_MAGIC_:
	case SMB2_SUPER_MAGIC_:
	case CIFS_SUPER_MAGIC_:
		return true;
	default:
		return false;
	}
#else
	(void)fd;
	return false;
#endif
}

enum netfs
netfs_judge_fd(int fd, char *why, size_t whysz)
{
#ifdef __linux__
	static char text[1 << 20];
	char fstype[64], options[1024];
	struct statfs sfs;
	struct stat st;
	ssize_t n, got = 0;
	int mfd;

	if (fstatfs(fd, &sfs) == -1)
		return NETFS_LOCAL;
	switch ((unsigned long)sfs.f_type) {
	case NFS_SUPER_MAGIC_:
	case SMB2_SUPER_MAGIC_:
	case CIFS_SUPER_MAGIC_:
	case FUSE_SUPER_MAGIC_:
		break;
	default:
		return NETFS_LOCAL;	/* no need to read mountinfo */
	}
	if (fstat(fd, &st) == -1 ||
	    (mfd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC)) == -1)
		goto unknown;
	while (got < (ssize_t)sizeof(text) - 1 &&
	    (n = read(mfd, text + got, sizeof(text) - 1 - (size_t)got)) > 0)
		got += n;
	close(mfd);
	text[got] = '\0';
	if (netfs_find_mount(text, major(st.st_dev), minor(st.st_dev), fstype,
	    sizeof(fstype), options, sizeof(options)) == 0)
		return netfs_judge(fstype, options, why, whysz);
unknown:
	/* Options unknown: FUSE is refused as such, the rest trusted. */
	if ((unsigned long)sfs.f_type == FUSE_SUPER_MAGIC_)
		return netfs_judge("fuse", "", why, whysz);
	return NETFS_SHARED;
#else
	(void)fd;
	(void)why;
	(void)whysz;
	return NETFS_LOCAL;
#endif
}
