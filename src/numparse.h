/* Strict number parsing for -w SECONDS and -E CODE. */
#ifndef LOCKBUILD_NUMPARSE_H
#define LOCKBUILD_NUMPARSE_H

/* Longest timeout accepted: about 31 years, far below time_t limits. */
#define TIMEOUT_MAX_SECONDS 1e9

/*
 * Parses a decimal number of seconds ("10", "0.25", "1e-3").  0 on
 * success; -1 with errstr set to why not (empty, trailing junk, negative,
 * not a number, infinite, too large).
 */
int parse_seconds(const char *s, double *out, const char **errstr);

/* Parses an exit code 0..255.  Same contract as parse_seconds. */
int parse_exit_code(const char *s, int *out, const char **errstr);

#endif
