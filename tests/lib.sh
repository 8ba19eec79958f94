# Shared helpers for tests/integration/*.t: POSIX sh printing TAP.
# Each test file: . "$TESTS_DIR/lib.sh", then ok/is/... calls, then done_testing.
# Concurrency tests never order events with sleep: a holder signals that it
# holds the lock by creating a marker file, and the test waits for that
# marker with a bound (wait_for).

: "${LOCKBUILD:=$(cd "$(dirname "$0")/../.." && pwd)/lockbuild}"
: "${TESTS_DIR:=$(cd "$(dirname "$0")/.." && pwd)}"
LB=$LOCKBUILD
_n=0
_failed=0

# Scratch directory, removed on exit (also after a failed test).
T=$(mktemp -d "${TMPDIR:-/tmp}/lockbuild-test.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

_result() {	# _result STATUS DESCRIPTION
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_n - $2"
	else
		echo "not ok $_n - $2"
		_failed=$((_failed + 1))
	fi
}

# ok DESCRIPTION COMMAND [ARG...]: passes when COMMAND exits 0.
ok() {
	_d=$1; shift
	"$@"
	_result $? "$_d"
}

# is GOT WANT DESCRIPTION
is() {
	if [ "$1" = "$2" ]; then
		_result 0 "$3"
	else
		_result 1 "$3"
		printf '#   got:  %s\n#   want: %s\n' "$1" "$2"
	fi
}

# like GOT PATTERN DESCRIPTION: GOT matches the grep -E PATTERN.
like() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		_result 0 "$3"
	else
		_result 1 "$3"
		printf '#   got:     %s\n#   pattern: %s\n' "$1" "$2"
	fi
}

skip() {	# skip REASON
	_n=$((_n + 1))
	echo "ok $_n # SKIP $1"
}

# wait_for PATH [SECONDS]: waits until PATH exists, at most SECONDS (10).
wait_for() {
	_i=0
	_max=$(( ${2:-10} * 50 ))
	while [ ! -e "$1" ]; do
		_i=$((_i + 1))
		[ "$_i" -gt "$_max" ] && return 1
		sleep 0.02
	done
	return 0
}

# wait_grep FILE PATTERN [SECONDS]: waits until FILE has a line matching
# the grep -E PATTERN, at most SECONDS (10).
wait_grep() {
	_i=0
	_max=$((${3:-10} * 50))
	until grep -Eq -- "$2" "$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -gt "$_max" ] && return 1
		sleep 0.02
	done
}

# leftovers DIR: the staging containers (.lockbuild.*) in DIR, one a line.
leftovers() {
	for _f in "$1"/.lockbuild.*; do
		if [ -e "$_f" ] || [ -L "$_f" ]; then basename "$_f"; fi
	done
}

# elapsed_ms COMMAND...: runs COMMAND, sets $rc and $ms (wall time).
elapsed_ms() {
	_t0=$(date +%s%N)
	"$@"
	rc=$?
	ms=$(( ($(date +%s%N) - _t0) / 1000000 ))
}

done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}

# under_valgrind: true when lockbuild runs under valgrind: `make
# check-valgrind` exports LOCKBUILD_VALGRIND=1, and LOCKBUILD naming
# tests/valgrind-wrap.sh counts too.  Some things do not work there, so the
# checks that need them are skipped, only then, with these reasons:
# VG_OFD: a lockbuild blocked in F_OFD_SETLKW is not interrupted by a
# signal (valgrind 3.19; plain F_SETLKW is), so a -w timeout never fires,
# the "waiting" line of the SIGALRM tick never comes, and a blocked waiter
# does not end on SIGTERM/SIGINT/SIGHUP; VG_SPAWN: posix_spawn runs as a
# plain fork, so an exec failure reaches lockbuild as a child exiting 127,
# without the errno (no "cannot run" message, 127 instead of 126); VG_PS:
# /proc/PID/cmdline is valgrind's, so setproctitle's text is not seen.
under_valgrind() {
	[ "${LOCKBUILD_VALGRIND:-0}" = 1 ] && return 0
	case $LB in
	*/valgrind-wrap.sh) return 0 ;;
	esac
	return 1
}
# Skip reasons, used by the test files.
# shellcheck disable=SC2034
VG_OFD="valgrind: F_OFD_SETLKW is not interruptible under valgrind"
# shellcheck disable=SC2034
VG_SPAWN="valgrind: posix_spawn runs as a plain fork under valgrind (exec errors come back as status 127)"
# shellcheck disable=SC2034
VG_PS="valgrind: /proc/PID/cmdline shows valgrind's own arguments, not setproctitle's"

# skip_n COUNT REASON: COUNT skipped checks.
skip_n() {
	_k=$1
	while [ "$_k" -gt 0 ]; do
		skip "$2"
		_k=$((_k - 1))
	done
}

# TIME_SCALE: factor for the time budgets of background holders and other
# bounds that a slowed-down lockbuild can overrun: 1 normally, 10 under
# valgrind (each lockbuild run there takes a second or more).
if under_valgrind; then
	: "${TIME_SCALE:=10}"
else
	: "${TIME_SCALE:=1}"
fi

# seal_record: the body of an owner record on stdin, the whole record
# (with its "lockbuild-owner 2 CKSUM LENGTH" header) on stdout, as a
# lock file holds it.
seal_record() {
	_sr_body=$(mktemp) || return 1
	cat >"$_sr_body"
	printf 'lockbuild-owner 2 %s\n' "$(cksum <"$_sr_body")"
	cat "$_sr_body"
	rm -f "$_sr_body"
}

# gone PID: PID has exited (a zombie, or reaped).
gone() {
	_st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 0
	case $_st in Z* | X* | '') return 0 ;; esac
	return 1
}

alive() {	# alive PID
	! gone "$1"
}

# wait_exit PID [SECONDS]: waits until PID has exited, at most SECONDS (10).
wait_exit() {
	_i=0
	_max=$((${2:-10} * 50))
	until gone "$1"; do
		_i=$((_i + 1))
		[ "$_i" -gt "$_max" ] && return 1
		sleep 0.02
	done
}

# reap PID: bounded wait for our child PID (killed after 10 s); its exit
# status in $rc.
reap() {
	wait_exit "$1" 10 || kill -KILL "$1"
	wait "$1"
	rc=$?
}

# write_hold_dir PATH: writes a COMMAND "PATH DIR" that records its pid in
# DIR/cpid, creates DIR/ready, then waits (at most 30 s, or until DIR is
# gone) for DIR/release.
write_hold_dir() {
	cat >"$1" <<'EOF'
#!/bin/sh
echo "$$" >"$1/cpid"
: >"$1/ready"
i=0
while [ ! -e "$1/release" ] && [ -d "$1" ] && [ "$i" -lt 1500 ]; do
	i=$((i + 1))
	sleep 0.02
done
EOF
	chmod +x "$1"
}

# write_hold_pair PATH: writes a COMMAND "PATH READY RELEASE" that creates
# READY, then waits (at most 30 s, or until RELEASE's directory is gone)
# for RELEASE.
write_hold_pair() {
	cat >"$1" <<'EOF'
#!/bin/sh
: >"$1"
i=0
while [ ! -e "$2" ] && [ -d "${2%/*}" ] && [ "$i" -lt 1500 ]; do
	i=$((i + 1))
	sleep 0.02
done
EOF
	chmod +x "$1"
}
