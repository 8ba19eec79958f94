/* The name of a key's lock file in LOCKDIR (the file also holds the
 * key's owner record), and the key name back from a directory entry. */
#ifndef LOCKBUILD_LOCKNAME_H
#define LOCKBUILD_LOCKNAME_H

#include <stdbool.h>

#include "keyname.h"

#define LOCK_SUFFIX ".lock"

struct lockname {
	char name[KEYNAME_MAX + 1];	/* escaped key */
	char lock[KEYNAME_MAX + 8];	/* <name>.lock */
};

/* From a key; -1 (EINVAL) for the empty key. */
int lockname_for_key(const char *key, struct lockname *f);

/*
 * From a directory entry: fills f and returns true when entry is the
 * lock file of some key.
 */
bool lockname_for_entry(const char *entry, struct lockname *f);

#endif
