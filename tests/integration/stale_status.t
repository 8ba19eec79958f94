#!/bin/sh
# Owner records, stale detection and --status/--json/--clean: a reused pid
# and a record from another boot are stale; a live, a stopped and an
# orphaned holder are reported as such; a record is data, never a path
# to follow or a reason to delete another user's files.
. "$TESTS_DIR/lib.sh"

L=$T/locks
mkdir -p "$L"
boot=$(cat /proc/sys/kernel/random/boot_id)
host=$(hostname)
pidns=$(readlink /proc/self/ns/pid)

record() {	# record NAME PID START BOOT [STATE] [DEST]: a lock file with it
	printf 'pid=%s\nstart=%s\nuid=%s\nsince=%s\nboot=%s\npidns=%s\nhost=%s\nstate=%s\nkey=%s\ncmd=make tools\ndest=%s\nstaging=\n' \
		"$2" "$3" "$(id -u)" "$(($(date +%s) - 41))" "$4" "$pidns" "$host" \
		"${5:-building}" "$1" "${6:-}" | seal_record >"$L/$1.lock"
}

# A live pid (this shell) with the wrong start time: the pid was reused.
record reused $$ 1 "$boot"
# A record from before a reboot.
record oldboot $$ "$(cut -d' ' -f22 /proc/$$/stat)" 00000000-dead-beef-0000-000000000000
# A live holder for real, and a stopped one.
"$LB" "$L" live -- sh -c 'touch "$0/live.in"; exec sleep 30' "$T" &
live=$!
wait_for "$T/live.in"
"$LB" "$L" stopped -- sh -c 'touch "$0/stopped.in"; exec sleep 30' "$T" &
stopped=$!
wait_for "$T/stopped.in"
kill -STOP "$stopped"
# The stop takes effect when the process is next scheduled: wait for it.
i=0
while [ "$(cut -d' ' -f3 "/proc/$stopped/stat")" != T ] && [ $i -lt 250 ]; do
	sleep 0.02; i=$((i + 1))
done

out=$("$LB" --status "$L"); rc=$?
is "$rc" 1 "--status exits 1 when something is stale"
like "$(echo "$out" | grep '^reused:')" "^reused: free; last holder pid $$ \(make tools\) on host .* since .* \(4[0-9]s\), gone, building \[stale\]$" \
	"a live pid with another start time is a stale record"
like "$(echo "$out" | grep '^oldboot:')" "gone, building \[stale\]$" "a record from another boot is stale"
like "$(echo "$out" | grep '^live:')" "^live: exclusive; holder pid $live \(sh -c .*\) .*, running, building$" \
	"a live holder: exclusive, running, no flags"
like "$(echo "$out" | grep '^stopped:')" "stopped, building \[stopped\]$" "a stopped holder is flagged stopped"

json=$("$LB" --status --json "$L" live)
is "$?" 0 "--status of a healthy key exits 0"
if command -v python3 >/dev/null 2>&1; then
	got=$(printf '%s\n' "$json" | python3 -c '
import json, sys
o = json.loads(sys.stdin.readline())
print(o["key"], o["name"], o["lock"], o["pid"], o["holder"], o["state"],
      o["host"] != "", o["since"] > 0, o["age"] >= 0, o["start"] > 0,
      o["dest"], o["staging"], o["flags"], sorted(o))')
	is "$got" "live live exclusive $live running building True True True True None None [] ['age', 'cmd', 'dest', 'flags', 'holder', 'host', 'key', 'lock', 'name', 'pid', 'since', 'staging', 'start', 'state', 'uid']" \
		"--json: one object with the documented fields and values"
else
	skip "python3 not installed"
fi
json=$("$LB" --status --json "$L" reused)
like "$json" '"lock":"free".*"holder":"gone","flags":\["stale"\]' "--json flags a stale record"

# The waiting message and the -n error name the holder.
err=$("$LB" -n "$L" live true 2>&1); rc=$?
is "$rc" 75 "-n on a held key exits 75"
like "$err" "^lockbuild: 'live' is held by pid $live \(sh -c .*\) on host .* since [0-9:]+ \([0-9]+s\); not waiting \(-n\)$" \
	"the conflict message names pid, command, host and since"
err=$("$LB" -n "$L" stopped true 2>&1)
like "$err" "which is stopped" "a stopped holder is called stopped"

# A key given by name that has no files is free and fine.
is "$("$LB" --status "$L" 'never used')" "never used: free" "an unused key is free"

# Processes that outlive their holder hold the key until the test
# releases them (tests/lib.sh), not for as long as a sleep happens to last.
write_hold_pair "$T/hold"

# An orphaned lock: the holder was killed, the command it started holds on.
"$LB" "$L" orphan -- "$T/hold" "$T/orphan.in" "$T/orphan.release" &
o=$!
wait_for "$T/orphan.in"
kill -KILL "$o"; wait "$o" 2>/dev/null
like "$("$LB" --status "$L" orphan)" "^orphan: exclusive; .* gone, building \[orphaned\]$" \
	"a lock held after its recorded holder died is orphaned"
err=$("$LB" -n "$L" orphan true 2>&1)
like "$err" "held by processes left behind by pid $o .*which has exited: pids [0-9]" \
	"the conflict message blames the processes left behind, with their pids"

# A holder that finished while a process it left behind held on: its
# record stays, marked released (state=done), and is no crash.
"$LB" "$L" daemon -- sh -c '"$0/hold" "$0/daemon.in" "$0/daemon.release" </dev/null >/dev/null 2>&1 & echo $! >"$0/daemon.pid"' "$T"
wait_for "$T/daemon.in"
is "$(sed -n 's/^state=//p' "$L/daemon.lock")" done \
	"a finished holder's record is marked released: state=done"
like "$("$LB" --status "$L" daemon)" "^daemon: exclusive; holder pid [0-9]+ .*, gone, done \[orphaned\]$" \
	"while its leftover holds the key: state done, orphaned"
: >"$T/daemon.release"
"$LB" -w 10 "$L" daemon true 2>"$T/daemon.err"
is "$(cat "$T/daemon.err")" "" "the next holder does not call a released record a crash"

# Processes only waiting for the key have its lock file open too, but
# hold nothing: the message names the holder alone.  The leftover is one
# process (the message must name exactly it, and the release loop's own
# sleeps would have the file open too): a sleep that the test kills.
"$LB" "$L" bgw -- sh -c 'sleep 30 </dev/null >/dev/null 2>&1 & echo $! >"$0/bgw.pid"' "$T"
"$LB" -q "$L" bgw true &
waiter=$!
i=0
until ls -l "/proc/$waiter/fd" 2>/dev/null | grep -q 'bgw\.lock' || [ $i -gt 250 ]; do
	sleep 0.02; i=$((i + 1))
done
err=$("$LB" -n "$L" bgw true 2>&1)
like "$err" "which has finished: pids $(cat "$T/bgw.pid"); not waiting" \
	"a waiter is not named as a holder, the process left behind is"
kill "$(cat "$T/bgw.pid")"
reap "$waiter"
is "$rc" 0 "the waiter runs once the process left behind has gone"

# A lock file that is a symlink to a victim: never followed, never written.
echo precious >"$T/victim"
ln -s "$T/victim" "$L/linked.lock"
like "$("$LB" --status "$L" linked)" "^linked: unknown; owner record unreadable \[bad-record\]$" \
	"a symlinked lock file is reported unreadable"
# A record written by another user naming our DEST's staging dir.
mkdir -p "$T/pub/.lockbuild.AAAAAAAA.out/out"
record foreign 999999 1 "$boot" building "$T/pub/out"
chown 65534 "$L/foreign.lock" 2>/dev/null || :

kill -CONT "$stopped"; kill "$live" "$stopped" 2>/dev/null
wait "$live" "$stopped" 2>/dev/null
: >"$T/orphan.release"
"$LB" -w 10 "$L" orphan true	# waits for the orphan's command to end

clean=$("$LB" --clean "$L" 2>"$T/cleanerr"); rc=$?
is "$rc" 1 "--clean exits 1: it left what it could not prove its own"
like "$(cat "$T/cleanerr")" "linked\.lock" "--clean names the symlink it left"
like "$clean" "removed stale record of 'reused'" "--clean removes the reused-pid record"
like "$clean" "removed stale record of 'oldboot'" "--clean removes the old-boot record"
is "$(cat "$T/victim")" "precious" "the symlink's victim is untouched"
if [ "$(stat -c %u "$L/foreign.lock" 2>/dev/null || echo 65534)" = 65534 ] && [ "$(id -u)" = 0 ]; then
	ok "a record owned by another user does not get our staging dirs removed" \
		test -d "$T/pub/.lockbuild.AAAAAAAA.out"
else
	skip "cannot chown a record to another user here"
fi
ok "--clean leaves a symlinked lock file alone (it cannot lock it)" \
	test -L "$L/linked.lock"
rm "$L/linked.lock"
if [ "$(id -u)" = 0 ]; then
	like "$(cat "$T/cleanerr")" "foreign\.lock' .*a stranger's" \
		"--clean names another user's lock file in a private LOCKDIR"
	ok "and leaves it" test -f "$L/foreign.lock"
	rm -f "$L/foreign.lock"
else
	skip "cannot chown a record to another user here"
	skip "cannot chown a record to another user here"
fi
is "$(ls -A "$L")" "" "--clean leaves LOCKDIR empty of everything else"
out=$("$LB" --status "$L"); rc=$?
is "$rc" 0 "--status exits 0 after --clean"
is "$out" "" "and lists nothing"
done_testing
