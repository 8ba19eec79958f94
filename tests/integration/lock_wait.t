# Lock mode, waiting for a held key: -n and -w give up with 75 (or -E) and
# name the holder, LOCKBUILD_TIMEOUT is the default that -w and -n override,
# a blocked waiter says who it waits for and runs as soon as the holder
# lets go, and -v reports acquiring and releasing.
# shellcheck disable=SC1091 # lib.sh is found at run time
. "$TESTS_DIR/lib.sh"

L=$T/locks
rc=0 ms=0	# set by elapsed_ms

write_hold_pair "$T/hold"

# wait_blocked PID: waits (at most 10 s) until PID sleeps in the kernel's
# lock wait (wchan).
wait_blocked() {
	_i=0
	until case $(cat "/proc/$1/wchan" 2>/dev/null) in
		*lk* | *lock*) true ;; *) false ;; esac; do
		_i=$((_i + 1))
		[ "$_i" -gt 500 ] && return 1
		sleep 0.02
	done
}

# shown_cmd WORD...: the command WORD... as messages show it (joined with
# spaces, cut to 60 bytes and "..."), as a grep -E pattern: the shown
# command is checked exactly, however long $TMPDIR is.
shown_cmd() {
	_c=$*
	if [ "$(printf '%s' "$_c" | wc -c)" -gt 60 ]; then
		_c="$(printf '%s' "$_c" | head -c 60)..."
	fi
	printf '%s' "$_c" | sed 's/[][\\.*^$+?(){}|]/\\&/g'
}

# ---------------------------------------------------------------------------
"$LB" "$L" k "$T/hold" "$T/held" "$T/release" 2>"$T/holder.err" &
holder=$!
HOLDCMD=$(shown_cmd "$T/hold" "$T/held" "$T/release")
ok "holder has the key" wait_for "$T/held"

elapsed_ms timeout 20 "$LB" -n "$L" k touch "$T/ran" 2>"$T/err"
is "$rc" 75 "-n on a held key: exit 75"
ok "-n returns at once (${ms} ms < 2000)" [ "$ms" -lt 2000 ]
like "$(cat "$T/err")" \
	"^lockbuild: 'k' is held by pid $holder \($HOLDCMD\) on host .+ since [0-9]{2}:[0-9]{2}:[0-9]{2} \([0-9]+s\); not waiting \(-n\)$" \
	"-n message names the holder's pid and command"
is "$(wc -l <"$T/err" | tr -d ' ')" 1 "-n message is one line"
ok "-n did not run COMMAND" [ ! -e "$T/ran" ]

# A stopped holder is called stopped.
kill -STOP "$holder"
# The stop takes effect asynchronously: wait until the state says so.
stopped() {
	case $(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) in T*) return 0 ;; esac
	return 1
}
i=0
until stopped "$holder" || [ "$i" -gt 500 ]; do
	i=$((i + 1))
	sleep 0.02
done
timeout 20 "$LB" -n "$L" k true 2>"$T/err"
is "$?" 75 "-n while the holder is stopped: 75"
like "$(cat "$T/err")" \
	"^lockbuild: 'k' is held by pid $holder .*, which is stopped; not waiting \(-n\)$" \
	"message says the holder is stopped"
kill -CONT "$holder"
i=0
while stopped "$holder" && [ "$i" -lt 500 ]; do
	i=$((i + 1))
	sleep 0.02
done

timeout 20 "$LB" --nb "$L" k touch "$T/ran" 2>/dev/null
is "$?" 75 "--nb on a held key: exit 75"
timeout 20 "$LB" --nonblock "$L" k touch "$T/ran" 2>/dev/null
is "$?" 75 "--nonblock on a held key: exit 75"

timeout 20 "$LB" -n -E 9 "$L" k touch "$T/ran" 2>/dev/null
is "$?" 9 "-n -E 9 on a held key: exit 9"
timeout 20 "$LB" --conflict-exit-code 0 -n "$L" k touch "$T/ran" 2>/dev/null
is "$?" 0 "-E 0 (long form) on a held key: exit 0"
ok "COMMAND never ran on conflict" [ ! -e "$T/ran" ]

elapsed_ms timeout 20 "$LB" -w 0 "$L" k touch "$T/ran" 2>/dev/null
is "$rc" 75 "-w 0 on a held key: exit 75"
ok "-w 0 does not wait (${ms} ms < 2000)" [ "$ms" -lt 2000 ]

# A timeout that has to wait never fires under valgrind (and each run
# would wait out the holder): 13 checks.
if under_valgrind; then
	skip_n 13 "$VG_OFD"
else
	elapsed_ms timeout 20 "$LB" -w 0.5 "$L" k touch "$T/ran" 2>"$T/err"
	is "$rc" 75 "-w 0.5 on a held key: exit 75"
	ok "-w 0.5 waits at least 0.4 s (${ms} ms)" [ "$ms" -ge 400 ]
	ok "-w 0.5 gives up within 3 s (${ms} ms)" [ "$ms" -lt 3000 ]
	like "$(cat "$T/err")" \
		"^lockbuild: 'k' is held by pid $holder .*; gave up after 0\.5s$" \
		"-w message names the holder and the timeout"

	elapsed_ms timeout 20 "$LB" --wait 0.2 -E 3 "$L" k touch "$T/ran" 2>/dev/null
	is "$rc" 3 "--wait 0.2 -E 3 on a held key: exit 3"

	elapsed_ms env LOCKBUILD_TIMEOUT=0.3 timeout 20 "$LB" "$L" k \
		touch "$T/ran" 2>"$T/err"
	is "$rc" 75 "LOCKBUILD_TIMEOUT=0.3 on a held key: exit 75"
	ok "LOCKBUILD_TIMEOUT=0.3 waits at least 0.25 s (${ms} ms)" [ "$ms" -ge 250 ]
	ok "LOCKBUILD_TIMEOUT=0.3 gives up within 3 s (${ms} ms)" [ "$ms" -lt 3000 ]
	like "$(cat "$T/err")" "gave up after 0\.3s$" "message says 0.3s"

	elapsed_ms env LOCKBUILD_TIMEOUT=0.3 timeout 20 "$LB" -w 1 "$L" k \
		touch "$T/ran" 2>/dev/null
	is "$rc" 75 "LOCKBUILD_TIMEOUT=0.3 -w 1: exit 75"
	ok "-w 1 beats a shorter LOCKBUILD_TIMEOUT (${ms} ms >= 900)" [ "$ms" -ge 900 ]

	elapsed_ms env LOCKBUILD_TIMEOUT=15 timeout 20 "$LB" -w 0.3 "$L" k \
		touch "$T/ran" 2>/dev/null
	is "$rc" 75 "LOCKBUILD_TIMEOUT=15 -w 0.3: exit 75"
	ok "-w 0.3 beats a longer LOCKBUILD_TIMEOUT (${ms} ms < 3000)" [ "$ms" -lt 3000 ]
fi

elapsed_ms env LOCKBUILD_TIMEOUT=15 timeout 20 "$LB" -n "$L" k \
	touch "$T/ran" 2>/dev/null
is "$rc" 75 "LOCKBUILD_TIMEOUT=15 -n: exit 75"
ok "-n beats LOCKBUILD_TIMEOUT (${ms} ms < 2000)" [ "$ms" -lt 2000 ]
ok "COMMAND never ran after a timeout" [ ! -e "$T/ran" ]

# A waiter without a timeout blocks, says whom it waits for, and runs as
# soon as the holder lets go.
t0=$(date +%s%N)
"$LB" "$L" k touch "$T/ran" 2>"$T/waiter.err" &
waiter=$!
# A second one on a terminal (script(1) gives it a pty): it redraws one
# status line in place instead.
# shellcheck disable=SC2016 # expanded by script's shell
LB=$LB L=$L T=$T script -qec '"$LB" "$L" k touch "$T/ran-tty"' /dev/null \
	</dev/null >"$T/tty.out" 2>&1 &
ttywaiter=$!
# And a quiet one (-q: only errors), which must not say it waits.
"$LB" -q "$L" k touch "$T/ran-q" 2>"$T/quiet.err" &
quietwaiter=$!
if under_valgrind; then
	# No tick wakes the waiter to print or redraw anything: what can be
	# checked is that it sits in the kernel's lock wait.
	ok "blocked waiter sits in the lock wait (wchan)" wait_blocked "$waiter"
	skip_n 3 "$VG_OFD"
else
	ok "blocked waiter prints a 'waiting' line" \
		wait_grep "$T/waiter.err" "waiting$" 10
	ms=$((($(date +%s%N) - t0) / 1000000))
	ok "the 'waiting' line comes after about 1 s (${ms} ms >= 800)" [ "$ms" -ge 800 ]
	like "$(head -n 1 "$T/waiter.err")" \
		"^lockbuild: 'k' is held by pid $holder \($HOLDCMD\) on host .+ since [0-9]{2}:[0-9]{2}:[0-9]{2} \([0-9]+s\); waiting$" \
		"waiting line: pid, command, host, since, age"
fi
ok "waiter has not run COMMAND while the key is held" [ ! -e "$T/ran" ]
ok "waiter process is still alive" alive "$waiter"
if under_valgrind; then
	skip "$VG_PS"
else
	like "$(tr '\0' ' ' <"/proc/$waiter/cmdline")" \
		"^(lockbuild|${LB##*/}): waiting for 'k' \([0-9]+s\)" \
		"ps shows 'lockbuild: waiting for 'k' (Ns)'"
fi

if under_valgrind; then
	skip_n 3 "$VG_OFD"
else
	ok "terminal waiter redraws its line (reaches 'waiting 2s')" \
		wait_grep "$T/tty.out" "waiting 2s" 10
	like "$(tr '\r' '\n' <"$T/tty.out" | grep 'waiting 1s')" \
		"^lockbuild: 'k' is held by pid $holder \(.*\); waiting 1s" \
		"terminal status line names the holder"
	is "$(grep -c 'waiting [0-9]' "$T/tty.out")" 1 \
		"terminal status lines are redrawn with CR, not stacked with newlines"
fi
ok "terminal waiter has not run COMMAND" [ ! -e "$T/ran-tty" ]

: >"$T/release"
t0=$(date +%s%N)
ok "waiter exits after the holder lets go" wait_exit "$waiter" 10
ms=$((($(date +%s%N) - t0) / 1000000))
gone "$waiter" || kill -KILL "$waiter"
wait "$waiter"
is "$?" 0 "waiter exit status 0"
ok "waiter ran COMMAND" [ -e "$T/ran" ]
ok "waiter ran within 3 s of the release (${ms} ms)" [ "$ms" -lt 3000 ]
reap_q() {
	wait_exit "$quietwaiter" 10 || kill -KILL "$quietwaiter"
	wait "$quietwaiter"
}
reap_q
is "$?" 0 "-q waiter exit status 0"
ok "-q waiter ran COMMAND" [ -e "$T/ran-q" ]
is "$(cat "$T/quiet.err")" "" "-q waiter printed nothing while waiting 2 s"
ok "terminal waiter exits after the release" wait_exit "$ttywaiter" 10
gone "$ttywaiter" || kill -KILL "$ttywaiter"
wait "$ttywaiter"
is "$?" 0 "terminal waiter exit status 0"
ok "terminal waiter ran COMMAND" [ -e "$T/ran-tty" ]
if under_valgrind; then
	skip "$VG_OFD"
else
	# shellcheck disable=SC2016 # expanded by sh -c
	ok "terminal waiter erased its status line" \
		sh -c 'tail -c 20 "$1" | tr "\r\033" "RE" | grep -q "RE\[K"' sh "$T/tty.out"
fi
wait_exit "$holder" 10 || kill -KILL "$holder"
wait "$holder"
is "$?" 0 "holder exit status 0"
is "$(cat "$T/holder.err")" "" "holder printed nothing (no -v)"

# -v: one line when acquired, one when released.
"$LB" -v "$L" k true 2>"$T/err"
is "$?" 0 "-v run exits 0"
is "$(wc -l <"$T/err" | tr -d ' ')" 2 "-v prints two lines"
like "$(sed -n 1p "$T/err")" \
	"^lockbuild: acquired exclusive 'k' after [0-9]+\.[0-9]+s$" \
	"-v: acquired line"
like "$(sed -n 2p "$T/err")" "^lockbuild: released 'k' after [0-9]+\.[0-9]+s$" \
	"-v: released line"
"$LB" --verbose -s "$L" k true 2>"$T/err"
like "$(sed -n 1p "$T/err")" "^lockbuild: acquired shared 'k' after " \
	"--verbose -s: acquired shared line"
"$LB" "$L" k true 2>"$T/err"
is "$(cat "$T/err")" "" "without -v a free key gives no output"

done_testing
