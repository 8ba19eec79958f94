/*
 * Unit tests for src/keyname.c (KEY <-> lock file name), and the FIPS 180
 * test vectors through its digest (libmd's SHA-256).
 * Names must be safe file names and shell words, reversible unless
 * shortened, and injective: two keys never share a lock file.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keyname.h"

/* Every byte a name may contain ('~' only in shortened names). */
static const char name_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    "._+,=@:%~-";

static void
assert_valid_name(const char *name)
{
	size_t len = strlen(name);

	assert_true(len > 0);
	assert_true(len <= KEYNAME_MAX);
	assert_null(strchr(name, '/'));
	assert_true(name[0] != '.' && name[0] != '-');
	assert_int_equal(strspn(name, name_chars), len);
}

static int
is_shortened(const char *name)
{
	return strchr(name, '~') != NULL;
}

static void
hex_upper(const uint8_t *d, size_t n, char *out)
{
	static const char hx[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 0xf];
	}
	out[2 * n] = '\0';
}

/* The escaped form of key without any shortening, for comparisons. */
static char *
full_escape(const char *key)
{
	static const char hx[] = "0123456789ABCDEF";
	const unsigned char *k = (const unsigned char *)key;
	char *out = malloc(3 * strlen(key) + 1), *p = out;
	size_t i;

	assert_non_null(out);
	for (i = 0; k[i] != '\0'; i++) {
		unsigned char c = k[i];
		int safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("_+,=@:", c) != NULL ||
		    (i > 0 && (c == '.' || c == '-'));

		if (safe) {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hx[c >> 4];
			*p++ = hx[c & 0xf];
		}
	}
	*p = '\0';
	return out;
}

/* key -> name is valid and name -> key gives the key back. */
static void
assert_round_trip(const char *key)
{
	char name[KEYNAME_MAX + 1], back[4 * KEYNAME_MAX];

	assert_int_equal(key_to_name(key, name), 0);
	assert_valid_name(name);
	assert_false(is_shortened(name));
	assert_int_equal(name_to_key(name, back, sizeof(back)), 0);
	assert_string_equal(back, key);
}

/* A shortened name: prefix of the escaped key, '~', SHA-256 of the key. */
static void
assert_shortened(const char *key)
{
	char name[KEYNAME_MAX + 1], back[4 * KEYNAME_MAX], hex[65];
	uint8_t d[KEYNAME_DIGEST_LEN];
	char *esc = full_escape(key), *tilde;
	size_t plen;

	assert_true(strlen(esc) > KEYNAME_MAX);
	assert_int_equal(key_to_name(key, name), 0);
	assert_valid_name(name);
	tilde = strchr(name, '~');
	assert_non_null(tilde);
	assert_ptr_equal(tilde, strrchr(name, '~'));
	plen = (size_t)(tilde - name);
	assert_true(plen <= 135);
	/* The prefix ends on a whole escape, as close to 135 as it can. */
	assert_memory_equal(name, esc, plen);
	assert_true(esc[plen] == '%' || plen == 135);
	assert_true(plen >= 133);
	keyname_digest(key, strlen(key), d);
	hex_upper(d, sizeof(d), hex);
	assert_string_equal(tilde + 1, hex);
	errno = 0;
	assert_int_equal(name_to_key(name, back, sizeof(back)), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	free(esc);
}

static void
test_spec_examples(void **state)
{
	static const struct {
		const char *key, *name;
	} ex[] = {
		{ "tools", "tools" },
		{ "alpine:3.19", "alpine:3.19" },
		{ "out/lib/libfoo.a", "out%2Flib%2Flibfoo.a" },
		{ "my key", "my%20key" },
		{ ".hidden", "%2Ehidden" },
		{ "-rf", "%2Drf" },
		{ "a-b.c", "a-b.c" },
		{ "..", "%2E." },
		{ "%", "%25" },
		{ "~", "%7E" },
		{ "\n", "%0A" },
		{ "\xc3\xa9t\xc3\xa9", "%C3%A9t%C3%A9" },
		{ "_+,=@:", "_+,=@:" },
		{ "a*?[]'\"$`\\", "a%2A%3F%5B%5D%27%22%24%60%5C" },
	};
	char name[KEYNAME_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		assert_int_equal(key_to_name(ex[i].key, name), 0);
		assert_string_equal(name, ex[i].name);
	}
}

static void
test_round_trips(void **state)
{
	static const char *const keys[] = {
		"tools",
		"alpine:3.19",
		/* One key in two pieces (parenthesised for clang's warning). */
		("docker.io/library/alpine@sha256:"
		    "c5b1261d6d3e43071626931fc004f70149baeba2c8ec672bd4f27761f8e1ad6b"),
		"out/lib/libfoo.a",
		"text with  spaces ",
		"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\x92",
		"\xff\xfe\x80\xc0\xaf invalid utf-8 \xed\xa0\x80",
		"\x01\x02\x1b[31m\x7f",
		"line\nbreak\r\n",
		"\t",
		".hidden",
		".",
		"-",
		"-n",
		"--help",
		"..",
		"../..",
		"/",
		"%",
		"%25",
		"%2E",
		"~",
		"a~b",
		"x",
		"\xff",
		"a.b-c_d+e,f=g@h:i",
		"_leading_underscore",
		"a..b",
		"*",
		"$(rm -rf /)",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_round_trip(keys[i]);
}

static void
test_empty_key(void **state)
{
	char name[KEYNAME_MAX + 1];

	(void)state;
	errno = 0;
	assert_int_equal(key_to_name("", name), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(key_to_name(NULL, name), -1);
	assert_int_equal(errno, EINVAL);
}

/* Escaped lengths 199, 200 fit; 201, 202 are shortened. */
static void
test_shortening_threshold(void **state)
{
	char key[400];
	size_t n;

	(void)state;
	/* Plain bytes: escaped length == key length. */
	for (n = 195; n <= 206; n++) {
		memset(key, 'a', n);
		key[n] = '\0';
		if (n <= KEYNAME_MAX)
			assert_round_trip(key);
		else
			assert_shortened(key);
	}
	/* Escaped bytes: 66 spaces + "aa" = 200, + "aaa" = 201. */
	memset(key, ' ', 66);
	strcpy(key + 66, "aa");
	assert_round_trip(key);
	strcpy(key + 66, "aaa");
	assert_shortened(key);
	memset(key, ' ', 67);
	key[67] = '\0';
	assert_shortened(key);
	/* An escape that would straddle the 135-byte prefix is left out. */
	key[0] = 'a';
	memset(key + 1, ' ', 100);
	key[101] = '\0';
	assert_shortened(key);
	key[1] = 'b';
	assert_shortened(key);
	/* A leading '.' counts as escaped: 198 + "%2E" = 201. */
	key[0] = '.';
	memset(key + 1, 'a', 198);
	key[199] = '\0';
	assert_shortened(key);
	key[198] = '\0';
	assert_round_trip(key);
}

static void
test_very_long_key(void **state)
{
	size_t n = 100 * 1024;
	char *key = malloc(n + 1);

	(void)state;
	assert_non_null(key);
	memset(key, 'k', n);
	key[n] = '\0';
	assert_shortened(key);
	/* All bytes escaped, and bytes above 0x7f. */
	memset(key, 0xe9, n);
	assert_shortened(key);
	free(key);
}

/* Long keys that differ only after the prefix still get their own names. */
static void
test_long_keys_shared_prefix(void **state)
{
	char a[600], b[600], na[KEYNAME_MAX + 1], nb[KEYNAME_MAX + 1];
	size_t len;

	(void)state;
	for (len = 201; len < sizeof(a); len += 97) {
		memset(a, 'p', len);
		a[len] = '\0';
		memcpy(b, a, len + 1);
		b[len - 1] = 'q';
		assert_int_equal(key_to_name(a, na), 0);
		assert_int_equal(key_to_name(b, nb), 0);
		assert_true(is_shortened(na) && is_shortened(nb));
		assert_int_equal(strlen(na), KEYNAME_MAX);
		assert_memory_equal(na, nb, 136);	/* same prefix and '~' */
		assert_string_not_equal(na, nb);
	}
	/* A shortened key and one of its prefixes. */
	memset(a, 'p', 300);
	a[300] = '\0';
	memcpy(b, a, 200);
	b[200] = '\0';
	assert_int_equal(key_to_name(a, na), 0);
	assert_int_equal(key_to_name(b, nb), 0);
	assert_string_not_equal(na, nb);
}

/* Deterministic generator (the test must not depend on libc's rand). */
static uint32_t
next_rand(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(*s >> 33);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Names of n distinct keys: all valid, all different, reversible when not
 * shortened.  keys is sorted and deduplicated in place; returns the
 * number of distinct keys checked, *nshort how many names were shortened.
 */
static size_t
check_injective(char **keys, size_t n, size_t *nshort)
{
	char **names, back[4 * KEYNAME_MAX];
	size_t i, m = 0;

	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 0; i < n; i++) {
		if (m > 0 && strcmp(keys[m - 1], keys[i]) == 0)
			free(keys[i]);
		else
			keys[m++] = keys[i];
	}
	names = calloc(m, sizeof(*names));
	assert_non_null(names);
	*nshort = 0;
	for (i = 0; i < m; i++) {
		names[i] = malloc(KEYNAME_MAX + 1);
		assert_non_null(names[i]);
		assert_int_equal(key_to_name(keys[i], names[i]), 0);
		assert_valid_name(names[i]);
		if (!is_shortened(names[i])) {
			assert_int_equal(name_to_key(names[i], back,
			    sizeof(back)), 0);
			assert_string_equal(back, keys[i]);
		} else {
			(*nshort)++;
		}
	}
	qsort(names, m, sizeof(*names), cmp_str);
	for (i = 1; i < m; i++) {
		if (strcmp(names[i - 1], names[i]) == 0)
			fail_msg("two keys share the name '%s'", names[i]);
	}
	for (i = 0; i < m; i++)
		free(names[i]);
	free(names);
	return m;
}

static void
test_injective_random(void **state)
{
	enum { N = 4000 };
	uint64_t seed = 20240601;
	char **keys = calloc(N, sizeof(*keys));
	size_t i, j, len, m, nshort = 0;

	(void)state;
	assert_non_null(keys);
	for (i = 0; i < N; i++) {
		uint32_t r = next_rand(&seed);

		/* Mostly short keys, a tenth past the shortening threshold. */
		len = r % 10 == 0 ? 60 + next_rand(&seed) % 200 :
		    1 + next_rand(&seed) % 40;
		keys[i] = malloc(len + 1);
		assert_non_null(keys[i]);
		for (j = 0; j < len; j++) {
			/* Small alphabets make near-collisions likely. */
			if (r % 3 == 0)
				keys[i][j] = "a.-%~/ "[next_rand(&seed) % 7];
			else
				keys[i][j] = (char)(1 + next_rand(&seed) % 255);
		}
		keys[i][len] = '\0';
	}
	m = check_injective(keys, N, &nshort);
	assert_true(m > N * 9 / 10);
	assert_true(nshort > N / 40);
	for (i = 0; i < m; i++)
		free(keys[i]);
	free(keys);
}

/* Every key of one or two bytes. */
static void
test_injective_exhaustive_short(void **state)
{
	size_t n = 255 + 255 * 255, k = 0, m, nshort;
	char **keys = calloc(n, sizeof(*keys));
	int a, b;

	(void)state;
	assert_non_null(keys);
	for (a = 1; a < 256; a++) {
		keys[k] = malloc(2);
		assert_non_null(keys[k]);
		keys[k][0] = (char)a;
		keys[k++][1] = '\0';
		for (b = 1; b < 256; b++) {
			keys[k] = malloc(3);
			assert_non_null(keys[k]);
			keys[k][0] = (char)a;
			keys[k][1] = (char)b;
			keys[k++][2] = '\0';
		}
	}
	assert_int_equal(k, n);
	m = check_injective(keys, n, &nshort);
	assert_int_equal(m, n);
	assert_int_equal(nshort, 0);
	for (k = 0; k < m; k++)
		free(keys[k]);
	free(keys);
}

static void
test_name_to_key_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"%61",		/* "a" spelled escaped */
		"%2e",		/* lower-case hex */
		"%2Ea%2e",
		"%2",
		"%",
		"a%",
		"%G0",
		"%0G",
		"%00",
		"a%00b",
		"a/b",
		"/",
		".x",
		".",
		"..",
		"-x",
		"a%2E",		/* '.' needs no escape after the first byte */
		"a%2D",
		"a b",
		"a\nb",
		"a*",
		"\xc3\xa9",
	};
	char out[4 * KEYNAME_MAX], longname[KEYNAME_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		if (name_to_key(bad[i], out, sizeof(out)) != -1)
			fail_msg("name_to_key accepted \"%s\"", bad[i]);
		assert_int_equal(errno, EINVAL);
	}
	/* Longer than any name key_to_name makes. */
	memset(longname, 'a', KEYNAME_MAX + 1);
	longname[KEYNAME_MAX + 1] = '\0';
	errno = 0;
	assert_int_equal(name_to_key(longname, out, sizeof(out)), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(name_to_key(NULL, out, sizeof(out)), -1);
	assert_int_equal(errno, EINVAL);
}

/*
 * keyname.h: ENAMETOOLONG is for a shortened name, EINVAL for any name
 * key_to_name cannot have made.  A '~' alone does not make a name a
 * shortened one.
 */
static void
test_name_to_key_rejects_fake_shortened(void **state)
{
	static const char *const bad[] = {
		"a~b",
		"~",
		"abc~0123",
		"%2E~",
	};
	char out[4 * KEYNAME_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_int_equal(name_to_key(bad[i], out, sizeof(out)), -1);
		if (errno != EINVAL)
			fail_msg("name_to_key(\"%s\"): errno %d (%s), want "
			    "EINVAL", bad[i], errno, strerror(errno));
	}
}

static void
test_name_to_key_small_buffer(void **state)
{
	char out[8];

	(void)state;
	errno = 0;
	assert_int_equal(name_to_key("abcd", out, 4), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(name_to_key("abcd", out, 5), 0);
	assert_string_equal(out, "abcd");
	errno = 0;
	assert_int_equal(name_to_key("%2Eab", out, 3), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(name_to_key("%2Eab", out, 4), 0);
	assert_string_equal(out, ".ab");
}

/*
 * The lock-file names of long keys must not change between versions: an
 * old and a new lockbuild running at once must take the same lock.  The
 * names were made by src/sha256.c, before the digest came from libmd.
 * (Parentheses keep clang from warning about the concatenations.)
 */
static void
test_long_key_names_stable(void **state)
{
	static const struct {
		const char *piece;	/* the key: piece, times times */
		int times;
		const char *name;
	} v[] = {
		{ "a", 201,
		    ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaa~A92EFD82109373E58F9A2056DEE01E80"
		    "7E216CE6075F7051207C0A9F7D666E50") },
		{ "out/", 60,
		    ("out%2Fout%2Fout%2Fout%2Fout%2Fout%2Fout%2Fout%2Fout%2Fou"
		    "t%2Fout%2Fout%2Fout%2Fout%2Fout%2Fout%2Fout%2Fout%2Fout%"
		    "2Fout%2Fout%2Fout%2Fout~66C4D4973CCA5EFA757D735E7C212465"
		    "D80594B8E65504613E338E447CA3278C") },
		{ "\xe6\x97\xa5\xe6\x9c\xac", 30,
		    ("%E6%97%A5%E6%9C%AC%E6%97%A5%E6%9C%AC%E6%97%A5%E6%9C%AC%E"
		    "6%97%A5%E6%9C%AC%E6%97%A5%E6%9C%AC%E6%97%A5%E6%9C%AC%E6%"
		    "97%A5%E6%9C%AC%E6%97%A5~A40669BCC59A081D9801ED56BE5B6159"
		    "F6290A6BF4DA0585C46CC66260CD8677") },
		{ "k", 1000,
		    ("kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
		    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
		    "kkkkkkkkkkkkkkkkkkkkkkk~27FED049CF80E0EFF71AB837C82A5032"
		    "7B7677EBDA22305D3F353F0989488669") },
	};
	char key[1100], name[KEYNAME_MAX + 1];
	size_t i;
	int t;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		key[0] = '\0';
		for (t = 0; t < v[i].times; t++)
			assert_true(strlcat(key, v[i].piece, sizeof(key)) <
			    sizeof(key));
		assert_int_equal(key_to_name(key, name), 0);
		assert_string_equal(name, v[i].name);
	}
}

static void
assert_sha256(const void *data, size_t len, const char *want)
{
	uint8_t d[KEYNAME_DIGEST_LEN];
	char hex[2 * KEYNAME_DIGEST_LEN + 1];
	size_t i;

	keyname_digest(data, len, d);
	hex_upper(d, sizeof(d), hex);
	for (i = 0; hex[i] != '\0'; i++)
		if (hex[i] >= 'A' && hex[i] <= 'F')
			hex[i] = (char)(hex[i] - 'A' + 'a');
	assert_string_equal(hex, want);
}

static void
test_sha256_fips(void **state)
{
	static const char abc448[] =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	size_t n = 1000000;
	char *m = malloc(n);

	(void)state;
	assert_sha256("", 0,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_sha256("abc", 3,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_sha256(abc448, strlen(abc448),
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	assert_non_null(m);
	memset(m, 'a', n);
	assert_sha256(m, n,
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(m);
}

/* Lengths around the padding boundaries (values from sha256sum). */
static void
test_sha256_padding(void **state)
{
	static const struct {
		size_t len;
		const char *hex;
	} v[] = {
		{ 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
		{ 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
		{ 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
		{ 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
		{ 119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb" },
		{ 120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c" },
	};
	char m[128];
	size_t i;

	(void)state;
	memset(m, 'a', sizeof(m));
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_sha256(m, v[i].len, v[i].hex);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_examples),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_empty_key),
		cmocka_unit_test(test_shortening_threshold),
		cmocka_unit_test(test_very_long_key),
		cmocka_unit_test(test_long_keys_shared_prefix),
		cmocka_unit_test(test_injective_random),
		cmocka_unit_test(test_injective_exhaustive_short),
		cmocka_unit_test(test_name_to_key_rejects),
		cmocka_unit_test(test_name_to_key_rejects_fake_shortened),
		cmocka_unit_test(test_name_to_key_small_buffer),
		cmocka_unit_test(test_long_key_names_stable),
		cmocka_unit_test(test_sha256_fips),
		cmocka_unit_test(test_sha256_padding),
	};

	return cmocka_run_group_tests_name("keyname", tests, NULL, NULL);
}
