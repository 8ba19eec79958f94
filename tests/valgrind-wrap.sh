#!/bin/sh
# Runs ../lockbuild under valgrind: `make check-valgrind` sets LOCKBUILD to
# this script for the integration tests.  Any memory error or definite leak
# makes the run exit 99 (which the tests see as a wrong exit status), and
# valgrind's report goes to stderr.  Only definite leaks are shown: libbsd's
# setproctitle_init() keeps environment copies that valgrind calls
# "possibly lost" when lockbuild dies of a re-raised signal, and printing
# them would break the tests that read stderr.  COMMAND is not traced (no
# --trace-children): only lockbuild itself is checked.  VALGRIND_TARGET
# names another binary (a copy that a concurrent `make` cannot replace).
exec valgrind -q --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite --show-leak-kinds=definite \
	"${VALGRIND_TARGET:-$(cd "$(dirname "$0")/.." && pwd)/lockbuild}" "$@"
