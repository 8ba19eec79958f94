# COMMAND gets a signal once: one sent to lockbuild alone is passed on once;
# one sent to the whole process group (kill -- -PGID, as CI runners cancel
# jobs) reached COMMAND already and is not passed on again; timeout(1),
# which sends to lockbuild and then to the group, is one signal too.  Also
# for the --check command.  lockbuild -v says what it did with each signal,
# which is what the test waits for before it lets COMMAND end.
# shellcheck disable=SC1091 # lib.sh is found at run time
. "$TESTS_DIR/lib.sh"

L=$T/locks
rc=0	# set by reap

# counter DIR: tests/countsig.c, built here (see there).
if ! ${CC:-cc} -O -o "$T/counter" "$TESTS_DIR/countsig.c"; then
	echo "1..0 # SKIP no C compiler for tests/countsig.c"
	exit 0
fi

# pgid PID: the process group of PID.
pgid() {
	ps -o pgid= -p "$1" | tr -d ' '
}

# finish NAME DIR PID WANT_RC WANT_GOT: waits for lockbuild's verbose line
# about the signal, lets COMMAND end, and checks exit status and count.
finish() {
	ok "$1: lockbuild decided about the signal" \
		wait_grep "$2.err" "(passed on|not passed on)" 10
	: >"$2/release"
	reap "$3"
	is "$rc" "$4" "$1: exit $4"
	is "$(cat "$2/got" 2>/dev/null | tr '\n' ' ')" "$5" "$1: COMMAND got it once"
}

# Whether COMMAND got a second copy was a race (it could merge with the
# first while still pending), so each case runs ROUNDS times.
ROUNDS=4

# round NAME SIG WANT_RC HOW: one run of counter under lockbuild -v, a
# signal sent when it is ready (HOW: group, or timeout); appends the
# lines COMMAND got, "|", to $T/NAME.got, and the exit status to
# $T/NAME.rc.  Waits (bounded) for lockbuild's verbose line first.
round() {
	_d=$T/$1.$_r
	mkdir "$_d"
	case $4 in
	group)
		# setsid: a process group of its own, as CI runners give jobs
		setsid "$LB" -v "$L" "$1" "$T/counter" "$_d" 2>"$_d.err" &
		_p=$!
		wait_for "$_d/ready" || echo "# $1: COMMAND not ready"
		kill -s "$2" -- "-$(pgid "$_p")"
		;;
	timeout)
		# timeout passes a signal it gets on as on expiry: to its
		# child, then to its process group; no race with its timer.
		env --default-signal=INT timeout -s "$2" 60 \
			"$LB" -v "$L" "$1" "$T/counter" "$_d" 2>"$_d.err" &
		_p=$!
		wait_for "$_d/ready" || echo "# $1: COMMAND not ready"
		kill -s "$2" "$_p"
		;;
	esac
	wait_grep "$_d.err" "(passed on|not passed on)" 10 ||
		echo "# $1: no verbose line about the signal"
	: >"$_d/release"
	reap "$_p"
	printf '%s ' "$rc" >>"$T/$1.rc"
	printf '%s|' "$(tr '\n' ' ' <"$_d/got" 2>/dev/null)" >>"$T/$1.got"
}

# rounds NAME SIG WANT_RC HOW
rounds() {
	_r=0
	while [ "$_r" -lt "$ROUNDS" ]; do
		_r=$((_r + 1))
		round "$@"
	done
	_want=
	_wrc=
	_r=0
	while [ "$_r" -lt "$ROUNDS" ]; do
		_r=$((_r + 1))
		_want="$_want$2 |"
		_wrc="$_wrc$3 "
	done
	is "$(cat "$T/$1.got")" "$_want" "$1: COMMAND got SIG$2 once, each of $ROUNDS times"
	is "$(cat "$T/$1.rc")" "$_wrc" "$1: exit $3 each time"
}

# --- sent to lockbuild alone: passed on once ---------------------------------
d=$T/alone
mkdir "$d"
"$LB" -v "$L" alone "$T/counter" "$d" 2>"$d.err" &
p=$!
ok "alone: COMMAND is running" wait_for "$d/ready"
kill -s TERM "$p"
finish alone "$d" "$p" 143 "TERM "
like "$(cat "$d.err")" "SIGTERM passed on to COMMAND" "alone: -v says passed on"

# The watcher must not answer to lockbuild's name: pkill or killall
# lockbuild would signal it too, and the signal would look like one sent
# to the whole group and not reach COMMAND.
d=$T/name
mkdir "$d"
"$LB" "$L" name "$T/counter" "$d" &
p=$!
ok "name: COMMAND is running" wait_for "$d/ready"
w=$(ps -o pid= --ppid "$p" | tr -d ' ' | grep -vx "$(cat "$d/cpid")")
ok "name: lockbuild has a second child, the watcher" [ -n "$w" ]
w=${w:-0}
is "$(cat "/proc/$w/comm" 2>/dev/null)" lb-sigwatch \
	"lockbuild's other child is the watcher, lb-sigwatch"
if under_valgrind; then
	skip "$VG_PS"
else
	like "$(tr '\0' ' ' <"/proc/$w/cmdline" 2>/dev/null)" \
		"^lb-sigwatch for pid $p" "its command line does not say lockbuild"
fi
: >"$d/release"
reap "$p"
is "$rc" 0 "name: exit 0"
ok "name: the watcher ended with lockbuild" gone "$w"

# --- sent to the whole group: not passed on again ---------------------------
rounds group-TERM TERM 143 group
rounds group-HUP HUP 129 group
like "$(cat "$T"/group-TERM.*.err)" "SIGTERM reached COMMAND's process group too; not passed on" \
	"group: -v says not passed on"

# --- timeout(1): to lockbuild, then to the group -----------------------------
rounds timeout-TERM TERM 143 timeout
rounds timeout-INT INT 130 timeout

# --- the --check command, group signal -----------------------------------
d=$T/check
mkdir "$d" "$T/out"
setsid "$LB" -v "$L" check -o "$T/out/dest" --check "exec '$T/counter' '$d'" \
	sh -c 'echo x >"$LOCKBUILD_STAGING/x"' 2>"$d.err" &
p=$!
ok "--check: the check is running" wait_for "$d/ready"
kill -s TERM -- "-$(pgid "$p")"
finish "--check, group TERM" "$d" "$p" 143 "TERM "
ok "--check: DEST not published" [ ! -e "$T/out/dest" ]

is "$(ls -A "$L")" "" "no lock files left"

done_testing
