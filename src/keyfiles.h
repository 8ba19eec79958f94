/* The files one key owns in LOCKDIR, by name. */
#ifndef LOCKBUILD_KEYFILES_H
#define LOCKBUILD_KEYFILES_H

#include <stdbool.h>

#include "keyname.h"

#define LOCK_SUFFIX ".lock"
#define RECORD_SUFFIX ".owner"

struct keyfiles {
	char name[KEYNAME_MAX + 1];	/* escaped key */
	char lock[KEYNAME_MAX + 8];	/* <name>.lock */
	char record[KEYNAME_MAX + 8];	/* <name>.owner */
	char tmp[KEYNAME_MAX + 16];	/* .<name>.owner-tmp */
};

/* From a key; -1 (EINVAL) for the empty key. */
int keyfiles_for_key(const char *key, struct keyfiles *f);

/*
 * From a directory entry: fills f and returns true when entry is a lock
 * file or record of some key.
 */
bool keyfiles_for_entry(const char *entry, struct keyfiles *f);

#endif
