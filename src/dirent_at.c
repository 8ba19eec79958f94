/*
 * Every walk here works relative to directory descriptors (never paths,
 * which a swapped-in symlink could redirect), and fdopendir() takes over
 * the descriptor it is given: hence the duplicate.
 */
#include <string.h>
#include <unistd.h>

#include "dirent_at.h"

DIR *
opendir_dup(int fd)
{
	int dfd = dup(fd);
	DIR *d;

	if (dfd == -1)
		return NULL;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return NULL;
	}
	/* A duplicate shares the original's offset: start from the top. */
	rewinddir(d);
	return d;
}

bool
is_dot_entry(const char *name)
{
	return name[0] == '.' && (name[1] == '\0' ||
	    (name[1] == '.' && name[2] == '\0'));
}
