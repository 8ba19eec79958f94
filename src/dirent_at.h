/* Reading a directory that is already open as a descriptor. */
#ifndef LOCKBUILD_DIRENT_AT_H
#define LOCKBUILD_DIRENT_AT_H

#include <dirent.h>
#include <stdbool.h>

/*
 * A DIR stream on a duplicate of fd, positioned at the start, so that
 * closedir() leaves fd open for the *at() calls.  NULL with errno.
 */
DIR *opendir_dup(int fd);

/* Is this readdir entry "." or ".."? */
bool is_dot_entry(const char *name);

#endif
