/*
 * Strict number parsing: strtod and strtonum accept more than a user
 * means ("1e999" is HUGE_VAL, "nan" parses, "5s" stops at 's'), so every
 * such case is rejected here with a reason the error message can name.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "numparse.h"

int
parse_seconds(const char *s, double *out, const char **errstr)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s)) {
		*errstr = "not a number";
		return -1;
	}
	/* strtod takes "inf", "nan" and hex floats; a timeout is plain decimal. */
	for (const char *p = s; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p) && *p != '.' && *p != 'e' &&
		    *p != 'E' && *p != '-' && *p != '+') {
			*errstr = "not a decimal number";
			return -1;
		}
	}
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0') {
		*errstr = "not a decimal number";
		return -1;
	}
	if (isnan(v)) {
		*errstr = "not a number";
		return -1;
	}
	if (v < 0 || *s == '-') {
		*errstr = "negative";
		return -1;
	}
	/* ERANGE also means underflow ("1e-310"): that is just ~0 s. */
	if (errno == ERANGE && v > 1) {
		*errstr = "too large";
		return -1;
	}
	if (isinf(v) || v > TIMEOUT_MAX_SECONDS) {
		*errstr = "too large";
		return -1;
	}
	*out = v;
	return 0;
}

int
parse_exit_code(const char *s, int *out, const char **errstr)
{
	const char *why = NULL;
	long long v;

	/* strtonum would skip leading blanks and take a '+'. */
	if (s == NULL || !isdigit((unsigned char)*s)) {
		*errstr = "not a number";
		return -1;
	}
	v = strtonum(s, 0, 255, &why);
	if (why != NULL) {
		*errstr = why;
		return -1;
	}
	*out = (int)v;
	return 0;
}
