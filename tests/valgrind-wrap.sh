#!/bin/sh
# Runs ../lockbuild under valgrind: `make check-valgrind` sets LOCKBUILD to
# this script for the integration tests.  Any memory error or definite leak
# makes the run exit 99 (which the tests see as a wrong exit status).  Only
# definite leaks count: libbsd's setproctitle_init() keeps environment
# copies that valgrind calls "possibly lost" when lockbuild dies of a
# re-raised signal.  COMMAND is not traced (no --trace-children): only
# lockbuild itself is checked.  VALGRIND_TARGET names another binary (a
# copy that a concurrent `make` cannot replace).
#
# Where the report goes: with VALGRIND_LOGDIR set (tests/run.sh sets it
# under LOCKBUILD_VALGRIND=1), each run writes its full report (errors, leak
# and error summaries) to a file of its own there, and stderr stays
# lockbuild's alone; tests/valgrind-summary.sh then counts runs, errors and
# definite leaks over all of them, so an error also counts in a run whose
# exit status no test looks at.  Without it (or when the directory is not
# writable, e.g. for a run as another user), only errors are reported, on
# stderr.  The forked child that posix_spawn becomes under valgrind is
# silent: it only execs COMMAND.
#
# exec keeps the pid: the tests signal and inspect lockbuild by the pid of
# the process they started.
# The binary next to tests/, found through symlinks (client_ci.t runs this
# script as $T/bin/lockbuild).
self=$(readlink -f -- "$0") || self=$0
target=${VALGRIND_TARGET:-$(cd "$(dirname "$self")/.." && pwd)/lockbuild}
if [ -n "${VALGRIND_LOGDIR:-}" ] &&
	log=$(mktemp "$VALGRIND_LOGDIR/vg.$$.XXXXXX" 2>/dev/null); then
	exec valgrind --log-file="$log" --child-silent-after-fork=yes \
		--error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite --show-leak-kinds=definite \
		"$target" "$@"
fi
exec valgrind -q --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite --show-leak-kinds=definite \
	"$target" "$@"
