/*
 * Unit tests for src/numparse.c: strict parsing of -w SECONDS (and
 * LOCKBUILD_TIMEOUT) and -E CODE.  Everything a user did not mean as a
 * plain number must be refused with a reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "numparse.h"

static void
test_seconds_accepts(void **state)
{
	static const struct {
		const char *s;
		double v;
	} ok[] = {
		{ "0", 0 },
		{ "10", 10 },
		{ "0.25", 0.25 },
		{ "1e-3", 0.001 },
		{ "1e9", 1e9 },
		{ "1000000000", 1e9 },
		{ "0.0", 0 },
		{ "1.5E2", 150 },
		{ "007", 7 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		const char *why = NULL;
		double v = -1;

		if (parse_seconds(ok[i].s, &v, &why) != 0)
			fail_msg("parse_seconds(\"%s\") refused: %s", ok[i].s,
			    why ? why : "(null)");
		assert_true(v == ok[i].v);
	}
}

static void
test_seconds_rejects(void **state)
{
	static const char *const bad[] = {
		"", " 1", "1 ", "\t1", "1\n", "-1", "-0", "-0.0", "nan", "NaN",
		"-nan", "inf", "INF", "infinity", "1e999", "0x10", "0X1p3",
		"5s", "1.2.3", "1e10", "1000000000.5", "1e", "e3", ".", "-",
		"+", "1,5", "1e9.", "10 s", "١",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;
		double v = 0;

		if (parse_seconds(bad[i], &v, &why) != -1)
			fail_msg("parse_seconds(\"%s\") accepted: %g", bad[i],
			    v);
		assert_non_null(why);
		assert_true(why[0] != '\0');
	}
}

/* The reasons name the actual problem. */
static void
test_seconds_reasons(void **state)
{
	const char *why;
	double v;

	(void)state;
	why = NULL;
	assert_int_equal(parse_seconds("-1", &v, &why), -1);
	assert_string_equal(why, "negative");
	why = NULL;
	assert_int_equal(parse_seconds("1e10", &v, &why), -1);
	assert_string_equal(why, "too large");
	why = NULL;
	assert_int_equal(parse_seconds("1e999", &v, &why), -1);
	assert_string_equal(why, "too large");
}

/*
 * A number too small for a normal double (strtod: ERANGE, non-zero
 * result) is not "too large".  1e-400 underflows to 0 and is accepted as
 * 0; 1e-310 should be accepted too, or refused for a reason that fits.
 */
static void
test_seconds_tiny(void **state)
{
	const char *why = NULL;
	double v = -1;

	(void)state;
	assert_int_equal(parse_seconds("1e-400", &v, &why), 0);
	assert_true(v == 0);
	why = NULL;
	v = -1;
	if (parse_seconds("1e-310", &v, &why) == 0)
		assert_true(v >= 0 && v < 1e-300);
	else if (why != NULL && strcmp(why, "too large") == 0)
		fail_msg("parse_seconds(\"1e-310\") refused as \"too large\"");
}

static void
test_exit_code_accepts(void **state)
{
	static const struct {
		const char *s;
		int v;
	} ok[] = {
		{ "0", 0 }, { "1", 1 }, { "75", 75 }, { "255", 255 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		const char *why = NULL;
		int v = -1;

		if (parse_exit_code(ok[i].s, &v, &why) != 0)
			fail_msg("parse_exit_code(\"%s\") refused: %s", ok[i].s,
			    why ? why : "(null)");
		assert_int_equal(v, ok[i].v);
	}
}

static void
test_exit_code_rejects(void **state)
{
	static const char *const bad[] = {
		"-1", "256", "", "abc", "7x", "x7", "1e2", "7.0", "0x10",
		"99999999999999999999", "-99999999999999999999", "7 ",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;
		int v = -1;

		if (parse_exit_code(bad[i], &v, &why) != -1)
			fail_msg("parse_exit_code(\"%s\") accepted: %d", bad[i],
			    v);
		assert_non_null(why);
		assert_true(why[0] != '\0');
	}
}

/*
 * Leading white space: parse_seconds refuses " 1", and strtonum(3) would
 * quietly skip it, so parse_exit_code must check for it itself.
 */
static void
test_exit_code_rejects_leading_space(void **state)
{
	static const char *const bad[] = { " 7", "\t7", "\n7" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;
		int v = -1;

		if (parse_exit_code(bad[i], &v, &why) != -1)
			fail_msg("parse_exit_code(\"\\%03o7\") accepted: %d",
			    (unsigned)bad[i][0], v);
		assert_non_null(why);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seconds_accepts),
		cmocka_unit_test(test_seconds_rejects),
		cmocka_unit_test(test_seconds_reasons),
		cmocka_unit_test(test_seconds_tiny),
		cmocka_unit_test(test_exit_code_accepts),
		cmocka_unit_test(test_exit_code_rejects),
		cmocka_unit_test(test_exit_code_rejects_leading_space),
	};

	return cmocka_run_group_tests_name("numparse", tests, NULL, NULL);
}
