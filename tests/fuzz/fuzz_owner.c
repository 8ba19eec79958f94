/*
 * libFuzzer harness for the owner record parser (src/owner.c).  Anyone
 * who can write LOCKDIR can plant a record, so owner_parse() sees
 * arbitrary bytes.  Each input is parsed twice: as it is (the header
 * path: checksum, length, trailing bytes), and as the body of a record
 * whose header the harness writes with the right checksum, so that
 * mutations reach the field parser instead of failing the checksum.
 * Checks, for every parse:
 *  - owner_parse() never crashes; on failure the struct is all zero;
 *  - when it parses: owner_format() succeeds within OWNER_RECORD_MAX,
 *    parsing that text gives an identical struct, and formatting again
 *    gives the same text (the format is canonical);
 *  - owner_describe() of a parsed record, which goes into one-line
 *    messages, holds no control bytes (no newline, no escape sequences).
 * Any violation aborts, which libFuzzer reports as a crash.  Building
 * with -DFUZZ_SKIP_ONE_LINE_CHECKS (FUZZ_CFLAGS in run.sh) leaves out the
 * control-byte check, to fuzz deeper while a known message bug stands.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cksum.h"
#include "owner.h"

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_owner: check failed: %s (line %d)\n", \
		    #cond, __LINE__);					\
		abort();						\
	}								\
} while (0)

#define FIELD_EQ(f) CHECK(strcmp(a->f, b->f) == 0)

static void
check_same(const struct owner *a, const struct owner *b)
{
	CHECK(a->pid == b->pid);
	CHECK(a->start == b->start);
	CHECK(a->uid == b->uid);
	CHECK(a->since == b->since);
	FIELD_EQ(boot);
	FIELD_EQ(pidns);
	FIELD_EQ(host);
	FIELD_EQ(state);
	FIELD_EQ(key);
	FIELD_EQ(cmd);
	FIELD_EQ(dest);
	FIELD_EQ(staging);
}

static int
all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i] != 0)
			return 0;
	return 1;
}

static void
check_parse(const char *data, size_t size)
{
	static struct owner a, b;
	static char text[OWNER_RECORD_MAX + 1], text2[OWNER_RECORD_MAX + 1];
	char desc[1024];
	int n, n2;

	if (owner_parse(data, size, &a) == -1) {
		CHECK(all_zero(&a, sizeof(a)));
		return;
	}
	n = owner_format(&a, text, OWNER_RECORD_MAX);
	CHECK(n > 0 && (size_t)n <= OWNER_RECORD_MAX);
	CHECK(strlen(text) == (size_t)n);
	CHECK(owner_parse(text, (size_t)n, &b) == 0);
	check_same(&a, &b);
	n2 = owner_format(&b, text2, OWNER_RECORD_MAX);
	CHECK(n2 == n && memcmp(text, text2, (size_t)n) == 0);

	owner_describe(&a, a.since + 41, desc, sizeof(desc));
#ifndef FUZZ_SKIP_ONE_LINE_CHECKS
	for (const char *p = desc; *p != '\0'; p++)
		CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
#endif
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char sealed[OWNER_RECORD_MAX + 64];
	int h;

	check_parse((const char *)data, size);
	if (size > OWNER_RECORD_MAX)
		return 0;
	h = snprintf(sealed, sizeof(sealed), "lockbuild-owner 2 %lu %zu\n",
	    (unsigned long)cksum(data, size), size);
	memcpy(sealed + h, data, size);
	check_parse(sealed, (size_t)h + size);
	return 0;
}
