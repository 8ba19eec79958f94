/* Are two trees the same output?  For --if-changed. */
#ifndef LOCKBUILD_TREECMP_H
#define LOCKBUILD_TREECMP_H

/*
 * Compares adir/a with bdir/b: file types, permission bits, names (in
 * sorted order), file contents, symlink targets and device numbers.
 * Times, owners, inode numbers and link counts are ignored.  Stops at the
 * first difference (in sorted order, also when the entries of one wide
 * directory are shared with a second thread, joined before the return).
 * A comparison holds at most four descriptors at a time (eight with the
 * second thread), whatever the depth; a directory moved while it is
 * compared fails it with ESTALE.  1 same, 0 different, -1 error with errno.
 */
int treecmp_at(int adir, const char *a, int bdir, const char *b);

#endif
