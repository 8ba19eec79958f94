/*
 * Messages to stderr: one line each, "lockbuild: " first, written with a
 * single write(2) so lines of concurrent processes never interleave.
 */
#ifndef LOCKBUILD_MSG_H
#define LOCKBUILD_MSG_H

/* -1 quiet (errors only), 0 normal, 1 verbose. */
extern int msg_level;

void msg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A user string made printable on one line (control bytes, newlines and
 * invalid UTF-8 escaped as \n, \033 ...), shortened when very long.  The
 * result lives in one of a few rotating static buffers: use it at once.
 */
const char *show(const char *s);

#endif
