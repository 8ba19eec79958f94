#!/bin/sh
# Crash injection: lockbuild is SIGKILLed (or sent SIGTERM/SIGINT) at random
# moments while building and publishing.  After every round DEST is absent,
# or the old or new complete tree (its manifest verifies), never partial;
# the next run reports the dead holder and removes its leftovers; after a
# final clean run nothing is left over.  ROUNDS sets the dose (make stress
# raises it).
. "$TESTS_DIR/lib.sh"

ROUNDS=${ROUNDS:-24}
D=$T/out
L=$T/locks

cat >"$T/build.sh" <<'EOS'
#!/bin/sh
# Writes 20 files, then a manifest: slow enough to be killed in the middle.
out=$1
i=0
while [ $i -lt 20 ]; do
	echo "$$ $i $(date +%s%N)" >"$out/f$i"
	i=$((i + 1))
done
(cd "$out" && sha256sum f* >MANIFEST)
EOS
chmod +x "$T/build.sh"

rnd_delay() {	# a random delay of 0 to 60 ms, as "0.0NN"
	n=$(od -An -N1 -tu1 /dev/urandom | tr -d ' ')
	printf '0.%03d' $((n * 60 / 255))
}

dest_ok() {	# DEST absent, or complete
	[ ! -e "$D" ] && return 0
	(cd "$D" && sha256sum --status -c MANIFEST)
}

bad=0 reported=0 sigs="KILL KILL TERM KILL INT"
r=0
while [ $r -lt "$ROUNDS" ]; do
	set -- $sigs
	shift $((r % 5))
	sig=$1
	"$LB" -q -o "$D" -I @ "$L" k -- "$T/build.sh" @ 2>>"$T/err" &
	pid=$!
	sleep "$(rnd_delay)"
	kill -s "$sig" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	# The killed holder's COMMAND may still hold the key: wait for it.
	"$LB" -w 10 "$L" k true || bad=$((bad + 1))
	dest_ok || { bad=$((bad + 1)); echo "# round $r ($sig): DEST partial"; }
	r=$((r + 1))
done
is "$bad" 0 "$ROUNDS rounds of random kills: DEST always absent or complete"

# A kill that surely lands mid-build leaves a record and a staging dir ...
"$LB" -q -o "$D" "$L" k -- sh -c 'touch "$0/started"; sleep 1' "$T" &
pid=$!
wait_for "$T/started"
kill -KILL "$pid"
wait "$pid" 2>/dev/null
"$LB" -w 10 -C "$L" other true	# (another key: not held)
ok "a killed build leaves its staging dir" \
	sh -c 'ls -a "$0" | grep -q "^\.lockbuild\..*\.out$"' "$T"
# ... and the next run of the key reports the dead holder and cleans up.
"$LB" -o "$D" -I @ "$L" k -- "$T/build.sh" @ 2>"$T/next.err"
rc=$?
is "$rc" 0 "the next run succeeds"
like "$(cat "$T/next.err")" "previous holder pid [0-9]+ .* exited without releasing \(state building\)" \
	"the next run reports the dead holder and its state"
like "$(cat "$T/next.err")" "removed leftover staging dir" "and removes its staging dir"
ok "DEST is complete after recovery" dest_ok

left=$(ls -A "$L" | wc -l | tr -d ' ')
is "$left" 0 "no lock file or record left in LOCKDIR"
stg=$(ls -a "$T" | grep -c '^\.lockbuild\.' | tr -d ' ')
is "$stg" 0 "no staging leftovers next to DEST"
done_testing
