#!/bin/sh
# lockbuild from shell scripts and crontabs: one key held across several
# commands (lockbuild L k -- sh -c 'a && b && c') while a second caller
# waits and runs after; the cron one-liner that must not overlap
# (lockbuild -n L nightly -- job, and -E 0 -q to skip quietly); and the
# letters shared with flock(1) (-n -w -s -x -E) meaning what flock's do,
# checked side by side with flock(1) when it is installed.  Two letters
# differ: the default conflict status is 75 here, 1 for flock (so the
# comparison passes -E), and flock's -o (close before exec) is -C here,
# -o being the output to publish.
# shellcheck disable=SC1091,SC2016,SC2154 # lib.sh is found at run time and sets $rc/$ms; sh -c expands
. "$TESTS_DIR/lib.sh"

L=$T/locks
LOG=$T/log

# hold NAME [LB OPTION...]: starts "lockbuild OPTION... L k" in the
# background holding its key until $T/NAME.go exists (at most 20 s);
# returns once it holds (marker $T/NAME.held).  Sets $holder.
hold() {
	_h=$1; shift
	"$LB" "$@" "$L" k -- sh -c '
		touch "$0.held"
		i=0
		while [ ! -e "$0.go" ] && [ $i -lt 1000 ]; do sleep 0.02; i=$((i + 1)); done' \
		"$T/$_h" &
	holder=$!
	wait_for "$T/$_h.held"
}

# release NAME: lets the holder started by hold NAME finish; waits for it.
release() {
	: >"$T/$1.go"
	wait "$holder"
}

# wait_blocked PID ERRFILE: waits (at most 10 s) until lockbuild PID is
# blocked on the lock: the kernel says so (wchan), or it printed its
# "waiting" line (after about a second).
wait_blocked() {
	_i=0
	while [ "$_i" -lt 500 ]; do
		case $(cat "/proc/$1/wchan" 2>/dev/null) in
		*lk* | *lock*) return 0 ;;
		esac
		grep -q '; waiting$' "$2" 2>/dev/null && return 0
		_i=$((_i + 1))
		sleep 0.02
	done
	return 1
}

# --- One key across several commands ---------------------------------
: >"$LOG"
"$LB" "$L" k -- sh -c '
	echo "A1 $LOCKBUILD_KEY" >>"$0" &&
	touch "$0.a-held" &&
	i=0 && while [ ! -e "$0.a-go" ] && [ $i -lt 1000 ]; do sleep 0.02; i=$((i + 1)); done &&
	echo A2 >>"$0" &&
	echo A3 >>"$0"' "$LOG" 2>"$T/a.err" &
a=$!
ok "the script holds the key (marker)" wait_for "$LOG.a-held"
"$LB" "$L" k -- sh -c 'echo B1 >>"$0" && echo B2 >>"$0"' "$LOG" 2>"$T/b.err" &
b=$!
ok "a second script on the same key blocks" wait_blocked "$b" "$T/b.err"
is "$(tr '\n' ' ' <"$LOG")" "A1 k " "it has not run while the first holds the key"
: >"$LOG.a-go"
wait "$a"; ra=$?
wait "$b"; rb=$?
is "$ra.$rb" "0.0" "both scripts succeed"
is "$(tr '\n' ' ' <"$LOG")" "A1 k A2 A3 B1 B2 " \
	"the second ran after all three commands of the first"

# A command failing in the middle: its status is passed on, the key freed.
"$LB" "$L" k -- sh -c 'echo C1 >>"$0" && false && echo C2 >>"$0"' "$LOG"
is "$?" 1 "a failing command in the middle: the script's status (1) is passed on"
is "$(tail -n 1 "$LOG")" C1 "and the commands after it did not run"
"$LB" -n "$L" k -- true
is "$?" 0 "and the key is free again"

# Not re-entrant (nor is flock(1) with a second open): inside the held key,
# a nested lockbuild on the same key conflicts instead of passing through.
"$LB" "$L" k -- "$LB" -n -q "$L" k -- true
is "$?" 75 "a nested lockbuild -n on the held key conflicts (75)"

# --- The cron one-liner ----------------------------------------------
#   */5 * * * *  lockbuild -n /var/lock/cron nightly -- /usr/local/bin/nightly
nightly() {	# nightly NAME: the cron job; records that it ran
	"$LB" "$@" -- sh -c 'echo "ran $0" >>"$1"' "$_job" "$LOG"
}
: >"$LOG"
"$LB" "$L" nightly -- sh -c 'touch "$0.held"; i=0
	while [ ! -e "$0.go" ] && [ $i -lt 1000 ]; do sleep 0.02; i=$((i + 1)); done' "$T/cron" &
first=$!
ok "the first run of the job is running (marker)" wait_for "$T/cron.held"
_job=second
elapsed_ms nightly -n "$L" nightly 2>"$T/cron.err"
is "$rc" 75 "an overlapping run with -n exits 75"
ok "at once (${ms}ms)" [ "$ms" -lt 2000 ]
like "$(cat "$T/cron.err")" "^lockbuild: 'nightly' is held by pid [0-9]+ .*; not waiting \(-n\)$" \
	"and says who holds the job"
_job=third
nightly -n -E 0 -q "$L" nightly 2>"$T/cron.err"
is "$?" 0 "with -E 0 -q it exits 0"
is "$(cat "$T/cron.err")" "" "and prints nothing (no cron mail)"
is "$(cat "$LOG")" "" "neither overlapping run ran the job"
: >"$T/cron.go"
wait "$first"
_job=fourth
nightly -n -E 0 -q "$L" nightly
is "$?.$(cat "$LOG")" "0.ran fourth" "once the first run ended, the next one runs"

# --- flock(1) letters ----------------------------------------------------
hold x -x
if under_valgrind; then
	skip_n 2 "$VG_OFD"
else
	elapsed_ms "$LB" -w 0.3 "$L" k -- true 2>/dev/null
	is "$rc" 75 "-w 0.3 on a held key: gives up with 75"
	ok "after at least 0.3 s and at most 5 s (${ms}ms)" \
		sh -c '[ "$0" -ge 300 ] && [ "$0" -lt 5000 ]' "$ms"
fi
"$LB" -n -E 3 "$L" k -- true 2>/dev/null
is "$?" 3 "-E 3 -n: the conflict exits 3"
"$LB" -s -n "$L" k -- true 2>/dev/null
is "$?" 75 "-s -n: a shared lock is refused while an exclusive one is held"
release x

hold s1 -s
"$LB" -s -n "$L" k -- true
is "$?" 0 "-s -n: two shared holders at once"
"$LB" -x -n "$L" k -- true 2>/dev/null
is "$?" 75 "-x -n: an exclusive lock is refused while a shared one is held"
"$LB" -n "$L" k -- true 2>/dev/null
is "$?" 75 "without -s or -x the lock is exclusive (-x is the default)"
release s1

"$LB" -E 3 "$L" k -- sh -c 'exit 7'
is "$?" 7 "-E changes only the conflict status: COMMAND's status passes through"

# Side by side with flock(1): one holder holds both lockbuild's key and
# flock's file; each letter set gives the same exit status from both.
if command -v flock >/dev/null 2>&1; then
	F=$T/flockfile
	for kind in x s; do
		rm -f "$T/both.held" "$T/both.go"
		"$LB" "-$kind" "$L" k -- flock "-$kind" "$F" sh -c 'touch "$0.held"; i=0
			while [ ! -e "$0.go" ] && [ $i -lt 1000 ]; do sleep 0.02; i=$((i + 1)); done' "$T/both" &
		both=$!
		wait_for "$T/both.held" || echo "# the -$kind holder did not start"
		for opts in "-n -E 9" "-w 0.2 -E 9" "-s -n -E 9" "-x -n -E 9" "-s -w 0.2 -E 9"; do
			# A -w that has to wait never times out under valgrind
			# (and would wait out the holder): only -s against -s
			# gets its lock at once.
			case $kind:$opts in
			x:*-w* | s:-w*)
				if under_valgrind; then
					skip "$VG_OFD"
					continue
				fi ;;
			esac
			# shellcheck disable=SC2086 # $opts is a word list
			"$LB" -q $opts "$L" k -- true; rl=$?
			# shellcheck disable=SC2086
			flock $opts "$F" true; rf=$?
			is "$rl" "$rf" "against an -$kind holder, $opts: lockbuild and flock(1) both exit $rf"
		done
		: >"$T/both.go"
		wait "$both"
	done
else
	skip "flock(1) is not installed (util-linux): no side-by-side check"
fi
done_testing
