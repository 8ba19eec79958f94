/*
 * One-line messages.  Keys and paths come from users and may hold
 * newlines or terminal escapes, so everything user-supplied goes through
 * show() before it is printed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <vis.h>

#include "msg.h"

int msg_level;

#define SHOW_MAX 160	/* bytes of the original shown before "..." */

static void
emit(const char *fmt, va_list ap)
{
	char line[2048];
	int n;
	size_t len;

	n = snprintf(line, sizeof(line), "lockbuild: ");
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	len = strlen(line);
	line[len++] = '\n';
	/* Best effort: nowhere to report a failing stderr. */
	if (write(STDERR_FILENO, line, len) == -1)
		return;
}

void
msg_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(fmt, ap);
	va_end(ap);
}

void
msg_info(const char *fmt, ...)
{
	va_list ap;

	if (msg_level < 0)
		return;
	va_start(ap, fmt);
	emit(fmt, ap);
	va_end(ap);
}

void
msg_verbose(const char *fmt, ...)
{
	va_list ap;

	if (msg_level < 1)
		return;
	va_start(ap, fmt);
	emit(fmt, ap);
	va_end(ap);
}

const char *
show(const char *s)
{
	static char bufs[4][SHOW_MAX * 4 + 8];
	static unsigned next;
	char *out = bufs[next++ % 4];
	size_t len = strlen(s);

	strvisx(out, s, len > SHOW_MAX ? SHOW_MAX : len,
	    VIS_CSTYLE | VIS_NL | VIS_TAB | VIS_OCTAL | VIS_NOLOCALE);
	if (len > SHOW_MAX)
		strlcat(out, "...", sizeof(bufs[0]));
	return out;
}
