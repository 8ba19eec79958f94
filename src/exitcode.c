/*
 * errno to exit status, so that every "cannot ..." message ends with a
 * status a script can tell apart: no space is not the same as no access.
 */
#include <errno.h>

#include "exitcode.h"

int
exit_for_errno(int err, int fallback)
{
	switch (err) {
	case EACCES:
	case EPERM:
		return EXIT_NOPERM;
	case ENOSPC:
	case EDQUOT:
	case EIO:
		return EXIT_IOERR;
	case ENOLCK:
	case EOPNOTSUPP:
		return EXIT_UNAVAILABLE;
	case EROFS:
		return EXIT_CANTCREAT;
	default:
		return fallback;
	}
}
