# shellcheck shell=sh
# The start of every tests/hosts/*.t: tests/lib.sh, lab() to drive the
# lab (tests/hosts/lab.sh), and the whole file skipped when the lab is
# not up.  GLB is lockbuild as the guests see it (the project directory
# is shared into them read-only on /lb/src).
# shellcheck disable=SC1091 # lib.sh is found at run time
. "$TESTS_DIR/lib.sh"

lab() { sh "$TESTS_DIR/hosts/lab.sh" "$@"; }

if ! lab status >/dev/null 2>&1; then
	skip "the NFS lab is not up (make check-hosts runs it)"
	done_testing
	exit
fi

# LB_HOSTS_LOCKBUILD: another binary in the guests (an older build put
# there with `lab.sh put`), to count what it does.
# shellcheck disable=SC2034 # used by the test files
GLB=${LB_HOSTS_LOCKBUILD:-/lb/src/lockbuild}
