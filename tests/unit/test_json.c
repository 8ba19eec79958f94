/*
 * Unit tests for json_string (src/status.c), which writes keys, commands
 * and host names of --status --json: quotes and backslashes escaped,
 * control bytes as \u00XX, well-formed UTF-8 copied, and every byte of a
 * malformed sequence (overlong, surrogate, above U+10FFFF, cut short)
 * replaced by U+FFFD, so that the output is always valid JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "status.h"

static void
assert_json(const char *in, const char *want)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	json_string(f, in);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf, want);
	free(buf);
}

static void
test_ascii(void **state)
{
	(void)state;
	assert_json("", "\"\"");
	assert_json("tools", "\"tools\"");
	assert_json("a \"b\" c", "\"a \\\"b\\\" c\"");
	assert_json("C:\\dir\\", "\"C:\\\\dir\\\\\"");
	assert_json("/ and ~", "\"/ and ~\"");
}

static void
test_control(void **state)
{
	(void)state;
	assert_json("\x01", "\"\\u0001\"");
	assert_json("a\nb\tc\rd", "\"a\\u000ab\\u0009c\\u000dd\"");
	assert_json("\x1b[31mred", "\"\\u001b[31mred\"");
	assert_json("\x1f \x7f", "\"\\u001f \\u007f\"");
}

static void
test_utf8_valid(void **state)
{
	(void)state;
	assert_json("caf\xc3\xa9", "\"caf\xc3\xa9\"");			/* U+00E9 */
	assert_json("\xe6\x97\xa5", "\"\xe6\x97\xa5\"");		/* U+65E5 */
	assert_json("\xf0\x9f\x94\x92", "\"\xf0\x9f\x94\x92\"");	/* U+1F512 */
	assert_json("\xc2\x80", "\"\xc2\x80\"");			/* U+0080 */
	assert_json("\xef\xbf\xbf", "\"\xef\xbf\xbf\"");		/* U+FFFF */
	assert_json("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");	/* U+10FFFF */
	assert_json("\xed\x9f\xbf", "\"\xed\x9f\xbf\"");		/* U+D7FF */
}

static void
test_utf8_invalid(void **state)
{
	(void)state;
	/* Lone continuation bytes, bytes never in UTF-8. */
	assert_json("\x80", "\"\\ufffd\"");
	assert_json("\xbf\xfe\xff", "\"\\ufffd\\ufffd\\ufffd\"");
	/* Overlong forms of '/' and U+0000. */
	assert_json("\xc0\xaf", "\"\\ufffd\\ufffd\"");
	assert_json("\xc1\x80", "\"\\ufffd\\ufffd\"");
	assert_json("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");
	assert_json("\xf0\x80\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	/* A UTF-16 surrogate, U+110000 and above. */
	assert_json("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
	assert_json("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	assert_json("\xf5\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	/* Cut short: by the end, by ASCII, by another lead byte. */
	assert_json("a\xe6\x97", "\"a\\ufffd\\ufffd\"");
	assert_json("\xe6\x97z", "\"\\ufffd\\ufffdz\"");
	assert_json("\xc3\xc3\xa9", "\"\\ufffd\xc3\xa9\"");
	assert_json("\xf0\x9f\x94", "\"\\ufffd\\ufffd\\ufffd\"");
	/* An escape after a bad byte is still escaped. */
	assert_json("\xe6\"", "\"\\ufffd\\\"\"");
	assert_json("\xe6\n", "\"\\ufffd\\u000a\"");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii),
		cmocka_unit_test(test_control),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_invalid),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
