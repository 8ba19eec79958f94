/* Deleting a tree without following links or leaving the filesystem. */
#ifndef LOCKBUILD_RMTREE_H
#define LOCKBUILD_RMTREE_H

/*
 * Removes dirfd/name and, if it is a directory, everything below it.
 * Symbolic links are removed, never followed.  A directory that is a
 * mount point (another device, or a bind mount) is not entered: the
 * call then fails with EXDEV and leaves it and its parents.  Unreadable
 * directories of our own are made readable first.  The subtrees of
 * one wide directory go to a second thread (twothreads.c), joined before
 * the return.  A walk holds at most two descriptors at a time (five
 * with the second thread), whatever the depth.  0 or -1 with errno.
 */
int rmtree_at(int dirfd, const char *name);

/*
 * rmtree_at() of a directory already open as fd (which stays open), so
 * that what was checked through fd is what gets emptied: fails with
 * ESTALE if dirfd/name is no longer that directory.
 */
int rmtree_open(int dirfd, const char *name, int fd);

#endif
