# Lock mode, shared locks (-s): shared holders overlap each other, exclude
# exclusive ones both ways, write no owner record, and the last holder to
# leave removes the lock file (not an earlier one, while others still hold).
# shellcheck disable=SC1091 # lib.sh is found at run time
. "$TESTS_DIR/lib.sh"

L=$T/locks

# share MINE THEIRS RELEASE: creates MINE, waits (at most 10 s) for THEIRS
# (exit 1 if it never comes), then waits (at most 30 s) for RELEASE.
cat >"$T/share" <<'EOF'
#!/bin/sh
: >"$1"
i=0
while [ ! -e "$2" ]; do
	i=$((i + 1))
	[ "$i" -gt 500 ] && exit 1
	sleep 0.02
done
i=0
while [ ! -e "$3" ] && [ -d "${3%/*}" ] && [ "$i" -lt 1500 ]; do
	i=$((i + 1))
	sleep 0.02
done
EOF
chmod +x "$T/share"

write_hold_pair "$T/hold"

# --- two shared holders at once ------------------------------------------
"$LB" -s "$L" k "$T/share" "$T/a.in" "$T/b.in" "$T/a.release" &
a=$!
"$LB" --shared "$L" k "$T/share" "$T/b.in" "$T/a.in" "$T/b.release" &
b=$!
ok "shared holder A is inside" wait_for "$T/a.in"
ok "shared holder B is inside" wait_for "$T/b.in"

ok "the lock file exists while shared holders hold it" [ -f "$L/k.lock" ]
# The first shared holder makes the file with its record (state
# shared), so the file can be told from anyone else's; later ones write
# nothing.
like "$(cat "$L/k.lock")" "state=shared" \
	"the first shared holder's record says shared"

timeout 20 "$LB" -n "$L" k touch "$T/ran-x" 2>"$T/err"
is "$?" 75 "exclusive -n while shared is held: 75"
like "$(cat "$T/err")" "^lockbuild: 'k' .*; not waiting \(-n\)$" \
	"exclusive -n while shared is held: one-line message"
timeout 20 "$LB" -x -n "$L" k touch "$T/ran-x" 2>/dev/null
is "$?" 75 "explicit -x -n while shared is held: 75"
if under_valgrind; then
	skip "$VG_OFD"
else
	timeout 20 "$LB" -w 0.3 "$L" k touch "$T/ran-x" 2>/dev/null
	is "$?" 75 "exclusive -w 0.3 while shared is held: 75"
fi
ok "no exclusive COMMAND ran" [ ! -e "$T/ran-x" ]

timeout 20 "$LB" -s -n "$L" k touch "$T/ran-s"
is "$?" 0 "a third shared -n while shared is held: 0"
ok "the third shared holder ran its COMMAND" [ -e "$T/ran-s" ]

# An exclusive waiter blocks until both shared holders are gone.
"$LB" "$L" k touch "$T/ran-x" 2>/dev/null &
x=$!
: >"$T/a.release"
reap "$a"
is "$rc" 0 "shared holder A exited 0 (it met B)"
ok "lock file stays while B still holds it" [ -f "$L/k.lock" ]
timeout 20 "$LB" -n "$L" k true 2>/dev/null
is "$?" 75 "exclusive -n after A left, B still holding: 75"
ok "exclusive waiter has not run yet" [ ! -e "$T/ran-x" ]
: >"$T/b.release"
reap "$b"
is "$rc" 0 "shared holder B exited 0 (it met A)"
reap "$x"
is "$rc" 0 "exclusive waiter exited 0 once both shared holders left"
ok "exclusive waiter ran its COMMAND" [ -e "$T/ran-x" ]
is "$(ls -A "$L")" "" "no lock or owner files left after the last holder"

# --- shared against an exclusive holder ----------------------------------
"$LB" "$L" k "$T/hold" "$T/held" "$T/x.release" &
h=$!
ok "exclusive holder is inside" wait_for "$T/held"
timeout 20 "$LB" -s -n "$L" k touch "$T/ran-s2" 2>"$T/err"
is "$?" 75 "shared -n while exclusive is held: 75"
like "$(cat "$T/err")" "^lockbuild: 'k' is held by pid $h .*; not waiting \(-n\)$" \
	"shared -n message names the exclusive holder"
if under_valgrind; then
	skip "$VG_OFD"
else
	timeout 20 "$LB" -s -w 0.3 "$L" k touch "$T/ran-s2" 2>/dev/null
	is "$?" 75 "shared -w 0.3 while exclusive is held: 75"
fi
ok "no shared COMMAND ran" [ ! -e "$T/ran-s2" ]
"$LB" -s "$L" k touch "$T/ran-s2" &
s=$!
: >"$T/x.release"
reap "$h"
is "$rc" 0 "exclusive holder exited 0"
reap "$s"
is "$rc" 0 "shared waiter exited 0 after the exclusive holder left"
ok "shared waiter ran its COMMAND" [ -e "$T/ran-s2" ]
is "$(ls -A "$L")" "" "no lock or owner files left at the end"

# --- hand-off from an exclusive holder to shared takers --------------------
# Shared takers that arrive while an exclusive holder lets go must not leave
# its owner record behind (a record without a lock file, later reported as
# a holder that died without releasing).  Racy by nature: 10 rounds with 6
# takers each.
left=''
bad=''
for r in 1 2 3 4 5 6 7 8 9 10; do
	d=$T/handoff-$r
	mkdir "$d"
	"$LB" "$L" hk "$T/hold" "$d/held" "$d/release" &
	h=$!
	if ! wait_for "$d/held"; then
		bad="$bad round $r: holder never got in;"
		break
	fi
	takers=
	for _ in 1 2 3 4 5 6; do
		"$LB" -s "$L" hk true 2>>"$T/handoff.err" &
		takers="$takers $!"
	done
	: >"$d/release"
	reap "$h"
	[ "$rc" -eq 0 ] || bad="$bad round $r: holder exit $rc;"
	for p in $takers; do
		reap "$p"
		[ "$rc" -eq 0 ] || bad="$bad round $r: taker exit $rc;"
	done
	now=$(ls -A "$L")
	if [ -n "$now" ]; then
		left="$left round $r: $(printf '%s ' "$now" | tr '\n' ' ');"
		rm -f "$L/hk.lock"
	fi
done
is "$bad" "" "exclusive -> shared hand-off: every run exits 0"
is "$left" "" "exclusive -> shared hand-off leaves no lock or owner files"
is "$(cat "$T/handoff.err")" "" "exclusive -> shared hand-off: takers print nothing"

done_testing
