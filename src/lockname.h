/* The file one key owns in LOCKDIR, by name: its lock file, which also
 * holds its owner record. */
#ifndef LOCKBUILD_LOCKNAME_H
#define LOCKBUILD_LOCKNAME_H

#include <stdbool.h>

#include "keyname.h"

#define LOCK_SUFFIX ".lock"

struct keyfiles {
	char name[KEYNAME_MAX + 1];	/* escaped key */
	char lock[KEYNAME_MAX + 8];	/* <name>.lock */
};

/* From a key; -1 (EINVAL) for the empty key. */
int keyfiles_for_key(const char *key, struct keyfiles *f);

/*
 * From a directory entry: fills f and returns true when entry is the
 * lock file of some key.
 */
bool keyfiles_for_entry(const char *entry, struct keyfiles *f);

#endif
