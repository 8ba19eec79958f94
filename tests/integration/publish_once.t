# Publish mode with --once: when DEST exists, exit 0 without running COMMAND
# (checked before taking the lock, so a held key does not matter); with 8
# concurrent --once callers of one DEST exactly one build runs, all exit 0,
# DEST is complete, and the callers that waited return after that build
# without building again.
# shellcheck disable=SC1091,SC2016 # lib.sh is found at run time; sh -c expands
. "$TESTS_DIR/lib.sh"

L=$T/locks
W=$T/w
mkdir "$W"
N=8

# wait_until SECONDS COMMAND...: until COMMAND succeeds, at most SECONDS.
wait_until() {
	_max=$(($1 * 50))
	shift
	_i=0
	until "$@"; do
		_i=$((_i + 1))
		[ "$_i" -gt "$_max" ] && return 1
		sleep 0.02
	done
}

# --- DEST present: nothing runs -----------------------------------------

mkdir "$W/d"
echo old >"$W/d/f"
ino=$(stat -c '%i %Y' "$W/d")
"$LB" "$L" k -o "$W/d" --once sh -c ': >"$0/ran-d"' "$T" 2>"$T/err"
is "$?" 0 "--once, directory DEST present: exit 0"
ok "--once, directory DEST present: COMMAND not run" test ! -e "$T/ran-d"
is "$(stat -c '%i %Y' "$W/d") $(cat "$W/d/f")" "$ino old" \
	"--once, directory DEST present: DEST untouched"
is "$(cat "$T/err")" "" "--once, directory DEST present: nothing on stderr"

echo old >"$W/f"
"$LB" "$L" k -o "$W/f" -f --once sh -c ': >"$0/ran-f"' "$T"
is "$?" 0 "--once, file DEST present: exit 0"
ok "--once, file DEST present: COMMAND not run" test ! -e "$T/ran-f"
is "$(cat "$W/f")" "old" "--once, file DEST present: DEST untouched"

# The check comes before the lock: a busy key does not matter (-n).
"$LB" "$L" k sh -c ': >"$0/held"; i=0
	while [ ! -e "$0/release" ] && [ "$i" -lt 500 ]; do
		i=$((i + 1)); sleep 0.02; done' "$T" &
holder=$!
ok "holder has the key" wait_for "$T/held"
"$LB" -n "$L" k -o "$W/d" --once sh -c ': >"$0/ran-d"' "$T" 2>"$T/err"
is "$?" 0 "--once -n with DEST present and the key busy: exit 0, not 75"
ok "--once -n with the key busy: COMMAND not run" test ! -e "$T/ran-d"
: >"$T/release"
wait "$holder"

# DEST absent: --once builds.
"$LB" "$L" k -o "$W/new" --once sh -c 'echo new >"$LOCKBUILD_STAGING/f"'
is "$?" 0 "--once, DEST absent: exit 0"
is "$(cat "$W/new/f")" "new" "--once, DEST absent: COMMAND ran and DEST published"

# --- N concurrent callers --------------------------------------------------

# The build: counts itself, says it is building, and finishes only when
# the test says go (after all other callers are waiting for the key); it
# fails after 10 s (times $2, TIME_SCALE) without go.
cat >"$T/build" <<'EOF'
#!/bin/sh
echo "$$" >>"$1/count"
: >"$1/building"
i=0
while [ ! -e "$1/go" ]; do
	i=$((i + 1))
	[ "$i" -gt $((500 * ${2:-1})) ] && exit 1
	sleep 0.02
done
echo first >"$LOCKBUILD_STAGING/a"
echo last >"$LOCKBUILD_STAGING/z"
EOF
chmod +x "$T/build"

i=1
pids=
while [ "$i" -le "$N" ]; do
	(
		timeout $((20 * TIME_SCALE)) "$LB" -v "$L" once -o "$W/o" \
			--once "$T/build" "$T" "$TIME_SCALE" 2>"$T/err.$i"
		echo "$?" >"$T/rc.$i"
		# What DEST looked like when this caller returned.
		cat "$W/o/a" "$W/o/z" >"$T/saw.$i" 2>/dev/null
	) &
	pids="$pids $!"
	i=$((i + 1))
done

ok "one caller builds" wait_for "$T/building" $((10 * TIME_SCALE))
# "waiting" lines come after ~1 s of waiting: then all others are blocked.
waiters() {
	[ "$(grep -l 'waiting' "$T"/err.* 2>/dev/null | wc -l)" -ge $((N - 1)) ]
}
# Under valgrind no tick prints a "waiting" line: count instead the
# lockbuild processes of this test (their command line names $L) that
# sleep in the kernel's lock wait.
blocked() {
	_nb=0
	for _p in /proc/[0-9]*; do
		case $(cat "$_p/wchan" 2>/dev/null) in
		*lk* | *lock*)
			tr '\0' ' ' <"$_p/cmdline" 2>/dev/null | grep -qF -- " $L once " &&
				_nb=$((_nb + 1)) ;;
		esac
	done
	[ "$_nb" -ge $((N - 1)) ]
}
if under_valgrind; then
	ok "the other $((N - 1)) callers wait for the key (wchan)" \
		wait_until $((10 * TIME_SCALE)) blocked
else
	ok "the other $((N - 1)) callers wait for the key" wait_until 10 waiters
fi
: >"$T/go"
# shellcheck disable=SC2086
wait $pids

is "$(wc -l <"$T/count" | tr -d ' ')" 1 "$N concurrent --once callers: exactly one build ran"
rcs=$(cat "$T"/rc.* | sort | uniq -c | tr -s ' ' | sed 's/^ //')
is "$rcs" "$N 0" "all $N callers exit 0"
is "$(cat "$W/o/a" "$W/o/z" | tr '\n' ' ')" "first last " "DEST is complete"
sawall=$(cat "$T"/saw.* | sort | uniq -c | tr -s ' ' | sed 's/^ //' | tr '\n' ' ')
is "$sawall" "$N first $N last " "every caller returned after DEST was published"
nwait=$(grep -l 'waiting' "$T"/err.* | wc -l | tr -d ' ')
# Under valgrind none says so, but all N - 1 were seen blocked above.
under_valgrind && nwait=$((N - 1))
nre=$(grep -l 'published while we waited' "$T"/err.* | wc -l | tr -d ' ')
is "$nre" "$nwait" "each of the $nwait callers that waited found DEST after getting the key"
is "$(grep -l 'published' "$T"/err.* | wc -l | tr -d ' ')" "$N" \
	"one caller published, the others saw it published"
is "$(leftovers "$W")" "" "no .lockbuild.* left"
is "$(ls -A "$L")" "" "no lock or owner file left"

done_testing
