/*
 * KEY <-> file name, by percent-escaping every byte outside a small safe
 * set.  The encoding is canonical (upper-case hex, a safe byte is never
 * escaped except in first position), and name_to_key() re-encodes what it
 * decodes and rejects any difference, so the mapping is a bijection between
 * keys and the names it produces: two keys can never share a lock file.
 */
#include <sys/types.h>

#include <errno.h>
#include <sha2.h>		/* libmd */
#include <stdbool.h>
#include <string.h>

#include "keyname.h"

/* Room kept for '~' and 64 hex digits when a key must be shortened. */
#define SHORT_PREFIX_MAX (KEYNAME_MAX - 1 - 2 * KEYNAME_DIGEST_LEN)

_Static_assert(KEYNAME_DIGEST_LEN == SHA256_DIGEST_LENGTH,
    "KEYNAME_DIGEST_LEN is a SHA-256 digest");

static const char hexdigits[] = "0123456789ABCDEF";

static bool
is_safe(unsigned char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	/* A leading '.' would hide the file, a leading '-' looks like an option. */
	if (first)
		return c == '_' || c == '+' || c == ',' || c == '=' || c == '@' ||
		    c == ':';
	return strchr("._-+,=@:", c) != NULL && c != '\0';
}

void
keyname_digest(const void *data, size_t len,
    uint8_t out[KEYNAME_DIGEST_LEN])
{
	SHA2_CTX ctx;

	SHA256Init(&ctx);
	SHA256Update(&ctx, data, len);
	SHA256Final(out, &ctx);
}

static size_t
escaped_len(unsigned char c, bool first)
{
	return is_safe(c, first) ? 1 : 3;
}

int
key_to_name(const char *key, char out[KEYNAME_MAX + 1])
{
	const unsigned char *k = (const unsigned char *)key;
	size_t i, total = 0, o = 0;
	bool shorten;

	if (key == NULL || key[0] == '\0') {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; k[i] != '\0' && total <= KEYNAME_MAX; i++)
		total += escaped_len(k[i], i == 0);
	shorten = total > KEYNAME_MAX;

	for (i = 0; k[i] != '\0'; i++) {
		size_t n = escaped_len(k[i], i == 0);

		if (shorten && o + n > SHORT_PREFIX_MAX)
			break;
		if (n == 1) {
			out[o++] = (char)k[i];
		} else {
			out[o++] = '%';
			out[o++] = hexdigits[k[i] >> 4];
			out[o++] = hexdigits[k[i] & 0xf];
		}
	}
	if (shorten) {
		uint8_t digest[KEYNAME_DIGEST_LEN];

		keyname_digest(key, strlen(key), digest);
		out[o++] = '~';
		for (i = 0; i < KEYNAME_DIGEST_LEN; i++) {
			out[o++] = hexdigits[digest[i] >> 4];
			out[o++] = hexdigits[digest[i] & 0xf];
		}
	}
	out[o] = '\0';
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
name_to_key(const char *name, char *out, size_t outsz)
{
	char check[KEYNAME_MAX + 1];
	size_t i, o = 0;

	if (name == NULL || name[0] == '\0' || strlen(name) > KEYNAME_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (strchr(name, '~') != NULL) {
		/* Only prefix "~" 64-hex-digits, as key_to_name makes it. */
		const char *t = strchr(name, '~');
		size_t d;

		errno = EINVAL;
		if (strlen(t + 1) != 2 * KEYNAME_DIGEST_LEN)
			return -1;
		for (d = 1; t[d] != '\0'; d++)
			if (hexval(t[d]) < 0)
				return -1;
		errno = ENAMETOOLONG;
		return -1;
	}
	for (i = 0; name[i] != '\0'; i++) {
		int c = (unsigned char)name[i];

		if (c == '%') {
			int hi = hexval(name[i + 1]);
			int lo = hi < 0 ? -1 : hexval(name[i + 2]);

			if (lo < 0) {
				errno = EINVAL;
				return -1;
			}
			c = hi << 4 | lo;
			i += 2;
		}
		if (o + 1 >= outsz) {
			errno = ERANGE;
			return -1;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	/* Only the canonical spelling is a name; "%61" for "a" is not. */
	if (o == 0 || memchr(out, '\0', o) != NULL ||
	    key_to_name(out, check) == -1 || strcmp(check, name) != 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}
