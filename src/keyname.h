/*
 * KEY <-> file name.  A key is any non-empty string; its name is safe in a
 * directory listing and a shell word (no '/', no leading '.' or '-', no
 * white space, quotes or glob characters) and different keys never share a
 * name.  Keys whose escaped form is too long are shortened to a prefix plus
 * '~' and their SHA-256; such names cannot be turned back into the key (the
 * owner record keeps the full key).
 */
#ifndef LOCKBUILD_KEYNAME_H
#define LOCKBUILD_KEYNAME_H

#include <stddef.h>
#include <stdint.h>

/* Longest name produced, so that name + ".lock" fits in NAME_MAX. */
#define KEYNAME_MAX 200
#define KEYNAME_DIGEST_LEN 32

/* The SHA-256 (libmd) that shortened names end with, in hex. */
void keyname_digest(const void *data, size_t len,
    uint8_t out[KEYNAME_DIGEST_LEN]);

/* 0 on success, -1 with errno EINVAL for an empty key. */
int key_to_name(const char *key, char out[KEYNAME_MAX + 1]);

/*
 * Turns a name made by key_to_name back into its key.  0 on success;
 * -1 with errno ENAMETOOLONG for a shortened name, EINVAL for a name that
 * key_to_name cannot have made, ERANGE when outsz is too small.
 */
int name_to_key(const char *name, char *out, size_t outsz);

#endif
