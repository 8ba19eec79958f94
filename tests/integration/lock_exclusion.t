# Lock mode, mutual exclusion: 8 processes taking one key 25 times each never
# overlap inside COMMAND; holders of different keys do overlap, including keys
# that differ only in how they would be escaped ("a/b" vs "a%2Fb", "x" vs ".x").
# shellcheck disable=SC1091 # lib.sh is found at run time
. "$TESTS_DIR/lib.sh"

L=$T/locks
N=8
ROUNDS=25

# meet MINE THEIRS: creates MINE, then waits (at most 10 s) for THEIRS.
# Two holders running it with swapped arguments both exit 0 only if both
# were inside their COMMAND at the same time.
cat >"$T/meet" <<'EOF'
#!/bin/sh
: >"$1"
i=0
while [ ! -e "$2" ]; do
	i=$((i + 1))
	[ "$i" -gt 500 ] && exit 1
	sleep 0.02
done
exit 0
EOF
chmod +x "$T/meet"

# COMMAND for the exclusion test: enter, a little work, leave.
cat >"$T/body" <<'EOF'
#!/bin/sh
echo "enter $1" >>"$2"
i=0
while [ "$i" -lt 200 ]; do i=$((i + 1)); done
echo "leave $1" >>"$2"
EOF
chmod +x "$T/body"

# --- one key, N contenders ------------------------------------------------

# Bounded: each run at most 20 s, and no new round after 30 s (times
# TIME_SCALE: under valgrind each of the 200 runs takes a second or more).
deadline=$(($(date +%s) + 30 * TIME_SCALE))
worker() {	# worker ID
	_r=0
	while [ "$_r" -lt "$ROUNDS" ]; do
		if [ "$(date +%s)" -gt "$deadline" ]; then
			echo "worker $1: out of time at round $_r" >>"$T/failures"
			break
		fi
		timeout $((20 * TIME_SCALE)) "$LB" "$L" one-key "$T/body" "$1" "$T/log" \
			2>>"$T/stderr" ||
			echo "worker $1 round $_r: exit $?" >>"$T/failures"
		_r=$((_r + 1))
	done
}

id=1
pids=
while [ "$id" -le "$N" ]; do
	worker "$id" &
	pids="$pids $!"
	id=$((id + 1))
done
# shellcheck disable=SC2086
wait $pids

is "$(cat "$T/failures" 2>/dev/null)" "" "every lockbuild run of the contended key exited 0"
# Every hand-off was a normal release: nobody may be reported as having
# died without releasing the key, and the last one leaves LOCKDIR empty.
is "$(cat "$T/stderr")" "" "contending runs print nothing on stderr"
is "$(ls -A "$L")" "" "no lock or owner files left after the contention"
is "$(wc -l <"$T/log" | tr -d ' ')" "$((N * ROUNDS * 2))" \
	"log has $N x $ROUNDS enter/leave pairs"
bad=$(awk '
	NR % 2 == 1 { if ($1 != "enter") { print NR ": " $0; exit } id = $2; next }
	{ if ($1 != "leave" || $2 != id) { print NR ": " $0; exit } }
' "$T/log")
is "$bad" "" "enter/leave strictly alternate with the same id (no overlap)"
counts=$(awk '$1 == "enter" { n[$2]++ } END { for (i in n) print n[i] }' \
	"$T/log" | sort -u)
is "$counts" "$ROUNDS" "each of the $N workers entered $ROUNDS times"

# --- different keys overlap ----------------------------------------------

# overlap KEY1 KEY2: both holders must be inside at once.  "--" so that
# a key such as "-x" is not taken for an option.
overlap() {
	rm -f "$T/m1" "$T/m2"
	"$LB" -- "$L" "$1" "$T/meet" "$T/m1" "$T/m2" &
	_p=$!
	"$LB" -- "$L" "$2" "$T/meet" "$T/m2" "$T/m1"
	_rc2=$?
	wait "$_p"
	_rc1=$?
	is "$_rc1 $_rc2" "0 0" "keys '$1' and '$2' are held at the same time"
}

overlap a b
overlap a/b a%2Fb
overlap x .x
overlap .x %2Ex
overlap -x %2Dx
overlap "my key" my%20key
overlap tools TOOLS

# Control: the same key does not overlap (a holder blocks a -n taker).
cat >"$T/hold" <<'EOF'
#!/bin/sh
: >"$1"
i=0
while [ ! -e "$2" ] && [ "$i" -lt 1500 ]; do i=$((i + 1)); sleep 0.02; done
EOF
chmod +x "$T/hold"
"$LB" "$L" a/b "$T/hold" "$T/held" "$T/release" &
holder=$!
ok "holder of 'a/b' is inside" wait_for "$T/held"
"$LB" -n "$L" a/b true 2>/dev/null
is "$?" 75 "same key 'a/b' again with -n: 75"
"$LB" -n "$L" a%2Fb true
is "$?" 0 "key 'a%2Fb' is free while 'a/b' is held"
"$LB" -n "$L" a_b true
is "$?" 0 "key 'a_b' is free while 'a/b' is held"

# Nested: COMMAND taking its own key again conflicts (no re-entry), another
# key is free.
# shellcheck disable=SC2016 # expanded by sh -c
"$LB" "$L" outer sh -c '"$1" -n "$2" outer true 2>/dev/null; echo "$?"' sh \
	"$LB" "$L" >"$T/nested"
is "$(cat "$T/nested")" 75 "nested lockbuild -n on the same key: 75"
"$LB" "$L" outer "$LB" -n "$L" inner true
is "$?" 0 "nested lockbuild on another key: 0"
: >"$T/release"
wait "$holder"
is "$?" 0 "holder of 'a/b' exited 0"

done_testing
