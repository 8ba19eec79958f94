/*
 * libFuzzer harness for src/keyname.c (KEY <-> lock file name).
 * Built and run by tests/fuzz/run.sh.  Checks, for every input:
 *  - name_to_key() on the raw input never crashes, and when it accepts a
 *    name, key_to_name() of the key it returns gives back that very name;
 *  - the input (up to its first NUL) as a key: key_to_name() gives a name
 *    of at most KEYNAME_MAX bytes from the safe set, not starting with
 *    '.' or '-', equal to an independent encoding written from the spec
 *    (or, when that is longer than KEYNAME_MAX, its first <= 135 bytes
 *    cut between escapes, '~' and the SHA-256 of the key), and
 *    name_to_key() turns it back into the key (ENAMETOOLONG if shortened);
 *  - injectivity: the input's first byte is a separator, the rest is split
 *    at its first occurrence into two keys; different keys, different names.
 * Any violation aborts, which libFuzzer reports as a crash.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyname.h"

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_keyname: check failed: %s (line %d)\n", \
		    #cond, __LINE__);					\
		abort();						\
	}								\
} while (0)

/* The longest prefix kept before "~" + 64 hex digits. */
#define PREFIX_MAX (KEYNAME_MAX - 1 - 2 * KEYNAME_DIGEST_LEN)

/* The spec's rule, written independently of src/keyname.c. */
static bool
spec_safe(unsigned char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	switch (c) {
	case '_': case '+': case ',': case '=': case '@': case ':':
		return true;
	case '.': case '-':
		return !first;
	default:
		return false;
	}
}

/*
 * Full (unshortened) escaped form of key; unit[i] is 1 where an escape
 * unit starts at out[i].  Returns its length.
 */
static size_t
spec_escape(const char *key, char *out, unsigned char *unit)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;

	for (i = 0; key[i] != '\0'; i++) {
		unsigned char c = (unsigned char)key[i];

		unit[o] = 1;
		if (spec_safe(c, i == 0)) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			unit[o] = 0;
			out[o++] = hex[c >> 4];
			unit[o] = 0;
			out[o++] = hex[c & 0xf];
		}
	}
	unit[o] = 1;
	out[o] = '\0';
	return o;
}

static bool
name_charset_ok(const char *name)
{
	for (const char *p = name; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (!spec_safe(c, false) && c != '%' && c != '~')
			return false;
	}
	return true;
}

/* Checks one key against every rule; writes its name to name. */
static void
check_key(const char *key, char name[KEYNAME_MAX + 1])
{
	static char full[3 * 65536 + 1], back[65536 + 1];
	static unsigned char unit[3 * 65536 + 1];
	size_t klen = strlen(key), flen, nlen;

	memset(name, 0, KEYNAME_MAX + 1);
	if (klen == 0) {
		errno = 0;
		CHECK(key_to_name(key, name) == -1 && errno == EINVAL);
		return;
	}
	if (klen > 65536)
		return;
	CHECK(key_to_name(key, name) == 0);
	nlen = strlen(name);
	CHECK(nlen >= 1 && nlen <= KEYNAME_MAX);
	CHECK(name[0] != '.' && name[0] != '-');
	CHECK(strchr(name, '/') == NULL);
	CHECK(name_charset_ok(name));

	flen = spec_escape(key, full, unit);
	if (flen <= KEYNAME_MAX) {
		/* Not shortened: exactly the spec's encoding, and reversible. */
		CHECK(strcmp(name, full) == 0);
		CHECK(name_to_key(name, back, sizeof(back)) == 0);
		CHECK(strcmp(back, key) == 0);
		/* One byte too small a buffer must fail cleanly. */
		errno = 0;
		CHECK(name_to_key(name, back, klen) == -1 && errno == ERANGE);
	} else {
		uint8_t d[KEYNAME_DIGEST_LEN];
		char *tilde = strchr(name, '~');
		size_t plen, i;

		CHECK(tilde != NULL && strchr(tilde + 1, '~') == NULL);
		plen = (size_t)(tilde - name);
		/* The longest whole-escape prefix that fits. */
		CHECK(plen <= PREFIX_MAX && unit[plen]);
		CHECK(memcmp(name, full, plen) == 0);
		for (i = plen + 1; i <= PREFIX_MAX && i < flen; i++)
			CHECK(!unit[i]);
		CHECK(strlen(tilde + 1) == 2 * KEYNAME_DIGEST_LEN);
		keyname_digest(key, klen, d);
		for (i = 0; i < KEYNAME_DIGEST_LEN; i++) {
			char two[3];

			snprintf(two, sizeof(two), "%02X", d[i]);
			CHECK(tilde[1 + 2 * i] == two[0] &&
			    tilde[2 + 2 * i] == two[1]);
		}
		errno = 0;
		CHECK(name_to_key(name, back, sizeof(back)) == -1 &&
		    errno == ENAMETOOLONG);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[65536 + 1], k2[65536 + 1], back[65536 + 1];
	char name[KEYNAME_MAX + 1], name2[KEYNAME_MAX + 1];
	char again[KEYNAME_MAX + 1];
	const uint8_t *sep;

	if (size > 65536)
		return 0;

	/* 1. Any input as a name. */
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (name_to_key(buf, back, sizeof(back)) == 0) {
		CHECK(back[0] != '\0');
		CHECK(key_to_name(back, again) == 0);
		CHECK(strcmp(again, buf) == 0);
	}

	/* 2. The input as a key (up to its first NUL). */
	check_key(buf, name);

	/* 3. Two keys split at a separator byte: injectivity. */
	if (size < 2)
		return 0;
	sep = memchr(data + 1, data[0], size - 1);
	if (sep == NULL)
		return 0;
	memcpy(buf, data + 1, (size_t)(sep - data) - 1);
	buf[sep - data - 1] = '\0';
	memcpy(k2, sep + 1, size - (size_t)(sep - data) - 1);
	k2[size - (size_t)(sep - data) - 1] = '\0';
	check_key(buf, name);
	check_key(k2, name2);
	if (buf[0] != '\0' && k2[0] != '\0')
		CHECK((strcmp(buf, k2) == 0) == (strcmp(name, name2) == 0));
	return 0;
}
