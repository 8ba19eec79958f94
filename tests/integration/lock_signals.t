# Lock mode, signals: SIGTERM, SIGHUP and SIGINT sent to lockbuild while
# COMMAND runs are passed to COMMAND (once), lockbuild waits for it and
# exits 128+N; a lockbuild still waiting for the key ends at once with 128+N
# and never runs COMMAND; after SIGKILL of lockbuild the orphaned COMMAND
# keeps the key locked until it ends, unless -C was given.
# shellcheck disable=SC1091 # lib.sh is found at run time
. "$TESTS_DIR/lib.sh"

L=$T/locks
rc=0	# set by reap

# trapper SIG DIR: COMMAND that writes DIR/lbpid ($PPID), DIR/cpid ($$) and
# DIR/ready; on SIG appends SIG to DIR/got; exits 0 once it got SIG and
# DIR/release exists (exit 3 after 30 s, or when DIR is gone).
cat >"$T/trapper" <<'EOF'
#!/bin/sh
sig=$1 d=$2 got=0
trap 'echo "$sig" >>"$d/got"; got=1' "$sig"
echo "$PPID" >"$d/lbpid"
echo "$$" >"$d/cpid"
: >"$d/ready"
i=0
while [ -d "$d" ] && [ "$i" -lt 1500 ]; do
	[ "$got" = 1 ] && [ -e "$d/release" ] && exit 0
	i=$((i + 1))
	sleep 0.02
done
exit 3
EOF
chmod +x "$T/trapper"

write_hold_dir "$T/hold"

# --- signals for a running COMMAND are forwarded ---------------------------
# Background jobs of a non-interactive shell start with SIGINT ignored;
# env --default-signal gives lockbuild the ordinary disposition.
for sig in TERM HUP INT; do
	case $sig in
	TERM) want=143 ;;
	HUP) want=129 ;;
	INT) want=130 ;;
	esac
	d=$T/fwd-$sig
	mkdir "$d"
	env --default-signal=INT "$LB" "$L" "key-$sig" "$T/trapper" "$sig" "$d" &
	p=$!
	ok "SIG$sig: COMMAND is running" wait_for "$d/ready"
	is "$(cat "$d/lbpid")" "$p" "SIG$sig: COMMAND is lockbuild's child"
	kill -s "$sig" "$p"
	ok "SIG$sig sent to lockbuild reaches COMMAND" wait_for "$d/got"
	ok "SIG$sig: lockbuild waits for COMMAND to finish" alive "$p"
	"$LB" -n "$L" "key-$sig" true 2>/dev/null
	is "$?" 75 "SIG$sig: the key stays locked while COMMAND finishes"
	: >"$d/release"
	reap "$p"
	is "$rc" "$want" "SIG$sig: lockbuild exits $want after COMMAND exited 0"
	is "$(cat "$d/got")" "$sig" "SIG$sig: COMMAND got it exactly once"
done

# COMMAND that does not catch SIGINT dies of it; so does lockbuild.
mkdir "$T/int2"
env --default-signal=INT "$LB" "$L" key-int2 "$T/hold" "$T/int2" &
p=$!
ok "SIGINT, COMMAND without a trap: running" wait_for "$T/int2/ready"
kill -s INT "$p"
reap "$p"
is "$rc" 130 "SIGINT, COMMAND without a trap: lockbuild ends with 130"
is "$(ls -A "$L")" "" "no lock files left after forwarded signals"

# --- a lockbuild still waiting ends at once ------------------------------
mkdir "$T/w"
"$LB" "$L" busy "$T/hold" "$T/w" &
holder=$!
ok "holder of 'busy' is inside" wait_for "$T/w/ready"
# waiter NAME [OPTION...]: starts a waiter for 'busy' whose COMMAND would
# create $T/ran-NAME; its pid goes to $T/NAME.pid.
waiter() {
	_name=$1
	shift
	env --default-signal=INT "$LB" "$@" "$L" busy touch "$T/ran-$_name" \
		2>"$T/$_name.err" &
	echo "$!" >"$T/$_name.pid"
}
# All four wait at once; term-w waits with a timeout, which wakes it every
# few ms: that must not lose the signal either.  Under valgrind a waiter
# blocked in the lock gets no signal until the lock is free: no waiters,
# their 3 checks each are skipped.
if under_valgrind; then
	set --
	skip_n 12 "$VG_OFD"
else
	waiter term
	waiter int
	waiter hup
	waiter term-w -w 20
	# NAME SIG WANT
	set -- \
		term TERM 143 \
		int INT 130 \
		hup HUP 129 \
		term-w TERM 143
fi
while [ "$#" -ge 3 ]; do
	ok "waiter $1 is blocked (says 'waiting')" \
		wait_grep "$T/$1.err" "waiting$" 10
	p=$(cat "$T/$1.pid")
	t0=$(date +%s%N)
	kill -s "$2" "$p"
	wait_exit "$p" 10
	ms=$((($(date +%s%N) - t0) / 1000000))
	reap "$p"
	is "$rc" "$3" "waiter $1 gets SIG$2 while waiting: exit $3"
	ok "waiter $1 ends promptly (${ms} ms < 3000)" [ "$ms" -lt 3000 ]
	shift 3
done
"$LB" -n "$L" busy true 2>/dev/null
is "$?" 75 "the holder still holds 'busy' after the waiters left"
: >"$T/w/release"
reap "$holder"
is "$rc" 0 "holder of 'busy' exited 0"
"$LB" -n "$L" busy true
is "$?" 0 "'busy' is free after the holder"
if under_valgrind; then
	skip "$VG_OFD"
else
	ran=
	for f in term int hup term-w; do
		[ -e "$T/ran-$f" ] && ran="$ran $f"
	done
	is "$ran" "" "no signalled waiter ever ran its COMMAND"
fi

# --- SIGKILL of lockbuild: the orphaned COMMAND keeps the key --------------
mkdir "$T/k"
"$LB" "$L" orphan "$T/hold" "$T/k" &
p=$!
ok "SIGKILL: COMMAND is running" wait_for "$T/k/ready"
cpid=$(cat "$T/k/cpid")
kill -s KILL "$p"
reap "$p"
is "$rc" 137 "SIGKILLed lockbuild: 137"
ok "the orphaned COMMAND still runs" alive "$cpid"
"$LB" -n "$L" orphan touch "$T/ran-orphan" 2>"$T/err"
is "$?" 75 "the orphaned COMMAND still holds the key: -n gives 75"
like "$(cat "$T/err")" \
	"^lockbuild: 'orphan' is held by processes left behind by pid $p \(.*\), which has exited: pids ([0-9]+, )*$cpid(, [0-9]+)*; not waiting \(-n\)$" \
	"message names the dead holder and the orphan's pid"
ok "lock file stays while the orphan holds it" [ -f "$L/orphan.lock" ]
: >"$T/k/release"
ok "the orphaned COMMAND ends" wait_exit "$cpid" 10
"$LB" -n "$L" orphan touch "$T/ran-orphan" 2>"$T/err"
is "$?" 0 "after the orphan ended the key is free"
ok "... and COMMAND ran" [ -e "$T/ran-orphan" ]
like "$(cat "$T/err")" \
	"^lockbuild: 'orphan': previous holder pid $p \(.*\).* exited without releasing \(state building\)$" \
	"the next holder reports the dead previous holder"
is "$(ls -A "$L")" "" "the next holder cleaned the lock and owner files"

# --- ... unless -C -----------------------------------------------------------
mkdir "$T/c"
"$LB" -C "$L" closed "$T/hold" "$T/c" &
p=$!
ok "-C, SIGKILL: COMMAND is running" wait_for "$T/c/ready"
cpid=$(cat "$T/c/cpid")
kill -s KILL "$p"
reap "$p"
is "$rc" 137 "-C: SIGKILLed lockbuild: 137"
"$LB" -n "$L" closed touch "$T/ran-closed" 2>/dev/null
is "$?" 0 "-C: the key is free once lockbuild is dead"
ok "-C: ... while COMMAND still runs" alive "$cpid"
: >"$T/c/release"
ok "-C: COMMAND ends" wait_exit "$cpid" 10

done_testing
