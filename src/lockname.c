/*
 * Key -> file name: the escaped key plus ".lock".  Escaped keys never
 * start with '.' or '-', so entries that do are never a key's.
 */
#include <stdio.h>
#include <string.h>

#include "lockname.h"

static void
fill(struct lockname *f)
{
	snprintf(f->lock, sizeof(f->lock), "%s" LOCK_SUFFIX, f->name);
}

int
lockname_for_key(const char *key, struct lockname *f)
{
	if (key_to_name(key, f->name) == -1)
		return -1;
	fill(f);
	return 0;
}

static bool
strip(const char *entry, const char *suffix, struct lockname *f)
{
	size_t len = strlen(entry), slen = strlen(suffix);

	if (len <= slen || len - slen > KEYNAME_MAX ||
	    strcmp(entry + len - slen, suffix) != 0)
		return false;
	memcpy(f->name, entry, len - slen);
	f->name[len - slen] = '\0';
	return true;
}

bool
lockname_for_entry(const char *entry, struct lockname *f)
{
	if (entry[0] == '.' || entry[0] == '-')
		return false;
	if (!strip(entry, LOCK_SUFFIX, f))
		return false;
	fill(f);
	return true;
}
