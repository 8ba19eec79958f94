#!/bin/sh
# Stress part 3, crash injection beyond tests/integration/stale_crash.t
# (which tests/stress/run.sh runs with ROUNDS=300 for the building phase):
# lockbuild gets SIGKILL, SIGTERM, SIGINT or SIGHUP at a random moment
#  - while WAITING for a key another build holds (WAIT_ROUNDS rounds; every
#    8th waits past the first "waiting" tick, when the re-arming timer runs):
#    it ends with 128+N, the holder is unaffected and its record intact;
#  - while its --check runs (CHECK_ROUNDS): 137 for SIGKILL, 128+N for the
#    others, DEST untouched;
#  - right after --check, while flushing, renaming and deleting the old tree
#    (PUBLISH_ROUNDS; a large tree; every 5th round DEST absent first):
#    DEST old-complete or new-complete (absent only if it was absent).
# After every round the next run succeeds and leaves no staging leftover;
# at the end LOCKDIR is empty.  Figures: rounds per phase and signal,
# outcomes, violations.
# shellcheck disable=SC1091,SC2002,SC2010,SC2012,SC2016 # lib.sh is found at run time; scratch names are ours; sh -c expands
. "$TESTS_DIR/lib.sh"

WAIT_ROUNDS=${WAIT_ROUNDS:-100}
CHECK_ROUNDS=${CHECK_ROUNDS:-100}
PUBLISH_ROUNDS=${PUBLISH_ROUNDS:-100}
BIG=${BIG:-1500}
O=$T/out
D=$O/dest
L=$T/locks
mkdir "$O"
# Background jobs of a script start with SIGINT ignored; lockbuild sets its
# own handler, but a SIGINT landing before that would be ignored: give the
# killed runs the default disposition (coreutils env).
LBK="env --default-signal=INT $LB"

# build DIR ID NFILES: NFILES files, an id, then the MANIFEST (last).
cat >"$T/build" <<'EOF'
#!/bin/sh
cd "$1" || exit 1
i=0
while [ "$i" -lt "$3" ]; do
	echo "$2 $i" >"f$i"
	i=$((i + 1))
done
echo "$2" >id
sha256sum id f* >MANIFEST
EOF
chmod +x "$T/build"

# state_of: "absent", the complete tree's id, or "partial".
state_of() {
	[ -e "$D" ] || { echo absent; return; }
	if (cd "$D" && sha256sum --status -c MANIFEST 2>/dev/null); then
		cat "$D/id"
	else
		echo partial
	fi
}

rnd() {	# rnd MAX_MS: 0 .. MAX_MS ms as seconds
	r_num=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	printf '0.%03d' $((r_num % ($1 + 1)))
}

signum() { case $1 in KILL) echo 9 ;; TERM) echo 15 ;; INT) echo 2 ;; HUP) echo 1 ;; esac; }
SIGS="KILL TERM KILL INT HUP KILL TERM INT"
# shellcheck disable=SC2086 # split on purpose
pick_sig() { _k=$1; set -- $SIGS; shift $((_k % 8)); echo "$1"; }

# settle: waits until nobody (an orphaned COMMAND or --check) holds k.
settle() { "$LB" -q -w 30 "$L" k true || echo "settle: exit $?" >>"$T/viol"; }

# busy_wait PATH: waits for PATH without sleeping (a sleep of 20 ms would
# decide the timing, not the random delay).  At most ~20 s.
busy_wait() {
	_i=0
	while [ ! -e "$1" ]; do
		_i=$((_i + 1))
		[ "$_i" -gt 2000000 ] && return 1
	done
	return 0
}

viol() { echo "$*" >>"$T/viol"; echo "# $*"; }
no_staging() {	# no_staging WHERE
	_s=$(ls -A "$O" | grep -c '^\.lockbuild\.')
	[ "$_s" -eq 0 ] || viol "$1: $_s staging leftovers"
}
tally() { echo "$1" >>"$T/tally"; }

# --- waiting ------------------------------------------------------------
r=0
while [ "$r" -lt "$WAIT_ROUNDS" ]; do
	sig=$(pick_sig "$r")
	rm -f "$T/held" "$T/release"
	"$LB" -q -o "$D" -I @ "$L" k -- sh -c '
		"$1" "$2" "$3" 5 || exit 1
		: >"$4/held"
		i=0
		while [ ! -e "$4/release" ] && [ $i -lt 2000 ]; do
			sleep 0.01; i=$((i + 1))
		done' sh "$T/build" @ "hold$r" "$T" 2>>"$T/err" &
	holder=$!
	wait_for "$T/held" 20 || viol "wait round $r: holder never started"
	$LBK -q -o "$D" -I @ "$L" k -- "$T/build" @ "victim$r" 5 2>>"$T/err" &
	victim=$!
	if [ $((r % 8)) -eq 7 ]; then sleep "1.$(rnd 100 | cut -c3-)"; else sleep "$(rnd 60)"; fi
	kill -s "$sig" "$victim"
	wait "$victim" 2>/dev/null
	rc=$?
	[ "$rc" -eq $((128 + $(signum "$sig"))) ] ||
		viol "wait round $r ($sig): waiting lockbuild exited $rc"
	pid=$(sed -n 's/^pid=//p' "$L/k.lock" 2>/dev/null)
	[ "$pid" = "$holder" ] ||
		viol "wait round $r ($sig): record names '$pid', holder is $holder"
	: >"$T/release"
	wait "$holder" || viol "wait round $r ($sig): holder exited $?"
	st=$(state_of)
	[ "$st" = "hold$r" ] || viol "wait round $r ($sig): DEST is '$st', not hold$r"
	left=$(ls -A "$L" | wc -l)
	[ "$left" -eq 0 ] || viol "wait round $r ($sig): $left files left in LOCKDIR"
	no_staging "wait round $r"
	tally "waiting $sig rc=$rc"
	r=$((r + 1))
done

# --- checking -----------------------------------------------------------
cat >"$T/slowcheck" <<EOF
#!/bin/sh
: >"$T/checking"
cd "\$LOCKBUILD_STAGING" && sha256sum --status -c MANIFEST && sleep 0.15
EOF
chmod +x "$T/slowcheck"
r=0
while [ "$r" -lt "$CHECK_ROUNDS" ]; do
	sig=$(pick_sig "$r")
	rm -f "$T/checking"
	before=$(state_of)
	$LBK -q -o "$D" --check "$T/slowcheck" -I @ "$L" k -- \
		"$T/build" @ "new$r" 20 2>>"$T/err" &
	p=$!
	busy_wait "$T/checking" || viol "check round $r: --check never ran"
	sleep "$(rnd 60)"
	kill -s "$sig" "$p"
	wait "$p" 2>/dev/null
	rc=$?
	[ "$rc" -eq $((128 + $(signum "$sig"))) ] ||
		viol "check round $r ($sig): lockbuild signalled during --check exited $rc, not $((128 + $(signum "$sig")))"
	settle
	st=$(state_of)
	[ "$st" = "$before" ] || viol "check round $r ($sig): DEST '$before' became '$st'"
	"$LB" -q -o "$D" -I @ "$L" k -- "$T/build" @ "rec$r" 20 2>>"$T/err" ||
		viol "check round $r ($sig): the next run exited $?"
	st=$(state_of)
	[ "$st" = "rec$r" ] || viol "check round $r ($sig): after recovery DEST is '$st'"
	no_staging "check round $r ($sig), after the next run"
	tally "checking $sig rc=$rc"
	r=$((r + 1))
done

# --- publishing ---------------------------------------------------------
# Every publish replaces a tree of BIG files with another: the window
# (flush, exchange, delete the old tree) is long enough to aim at.
# Calibration: how long the owner record says "publishing" (the first
# range of random delays, then tuned after every round), and how many
# turns of a shell loop make a millisecond (sleep(1) costs more than the
# window: the random delay is spun instead).
spin() { _s=0; while [ "$_s" -lt "$1" ]; do _s=$((_s + 1)); done; }
t0=$(date +%s%N)
spin 20000
per_ms=$((20000 * 1000000 / ($(date +%s%N) - t0 + 1)))
[ "$per_ms" -gt 0 ] || per_ms=1
pub_ms=0
for c in 1 2 3; do
	rm -f "$T/checked"
	"$LB" -q -o "$D" --check ": >'$T/checked'" -I @ "$L" k -- \
		"$T/build" @ "calib$c" "$BIG" 2>>"$T/err" &
	p=$!
	busy_wait "$T/checked"
	t0=$(date +%s%N)
	while [ -e "$L/k.lock" ]; do :; done
	ms=$((($(date +%s%N) - t0) / 1000000))
	wait "$p"
	[ "$c" -gt 1 ] && [ "$ms" -gt "$pub_ms" ] && pub_ms=$ms
done
maxd=$((pub_ms * 12 / 10))
[ "$maxd" -lt 5 ] && maxd=5
r=0
while [ "$r" -lt "$PUBLISH_ROUNDS" ]; do
	sig=$(pick_sig "$r")
	rm -f "$T/checked"
	[ $((r % 5)) -eq 4 ] && rm -rf "$D"
	before=$(state_of)
	$LBK -q -o "$D" --check ": >'$T/checked'" -I @ "$L" k -- \
		"$T/build" @ "big$r" "$BIG" 2>>"$T/err" &
	p=$!
	busy_wait "$T/checked" || viol "publish round $r: --check never ran"
	spin $(($(od -An -N2 -tu2 /dev/urandom) % (maxd + 1) * per_ms))
	kstate=$(sed -n 's/^state=//p' "$L/k.lock" 2>/dev/null)
	kill -s "$sig" "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	rc=$?
	case $sig:$rc in
	KILL:137 | KILL:0) ;;	# 0: it had finished before the kill
	*:0) ;;
	*:*) [ "$rc" -eq $((128 + $(signum "$sig"))) ] ||
		viol "publish round $r ($sig): exit $rc" ;;
	esac
	settle
	st=$(state_of)
	case $st in
	"$before" | "big$r") ;;
	*) viol "publish round $r ($sig, state ${kstate:-gone}): DEST '$before' became '$st'" ;;
	esac
	[ "$st" = "$before" ] && outcome=old || outcome=new
	"$LB" -q -o "$D" -I @ "$L" k -- "$T/build" @ "rec$r" "$BIG" 2>>"$T/err" ||
		viol "publish round $r ($sig): the next run exited $?"
	st=$(state_of)
	[ "$st" = "rec$r" ] || viol "publish round $r ($sig): after recovery DEST is '$st'"
	no_staging "publish round $r ($sig), after the next run"
	tally "publishing $sig rc=$rc state=${kstate:-gone} dest=$outcome"
	# Self-tuning: aim about half the kills inside the window.
	if [ -z "$kstate" ]; then maxd=$((maxd * 8 / 10)); else maxd=$((maxd * 11 / 10 + 1)); fi
	[ "$maxd" -lt 2 ] && maxd=2
	r=$((r + 1))
done

nviol=$(cat "$T/viol" 2>/dev/null | wc -l | tr -d ' ')
wv=$(grep -c '^wait round' "$T/viol" 2>/dev/null)
cv=$(grep -c '^check round' "$T/viol" 2>/dev/null)
pv=$(grep -c '^publish round' "$T/viol" 2>/dev/null)
is "${wv:-0}" 0 "$WAIT_ROUNDS kills while waiting: 128+N, holder and its record unaffected"
is "${cv:-0}" 0 "$CHECK_ROUNDS kills during --check: 128+N, DEST untouched, next run recovers"
is "${pv:-0}" 0 "$PUBLISH_ROUNDS kills while publishing: DEST old or new and complete, next run recovers"
is "$((nviol - ${wv:-0} - ${cv:-0} - ${pv:-0}))" 0 "the following runs always got the key"
left=$(ls -A "$L" | wc -l | tr -d ' ')
is "$left" 0 "no lock or owner file left at the end"
stg=$(ls -A "$O" | grep -c '^\.lockbuild\.' | tr -d ' ')
is "$stg" 0 "no staging leftovers at the end"

for ph in waiting checking publishing; do
	line=$(awk -v ph="$ph" '$1 == ph { n++; s[$2]++; r[$3]++ }
		END { printf "%d rounds; signals", n
			for (k in s) printf " %s %d", k, s[k]
			printf "; exits"
			for (k in r) { v = k; sub("rc=", "", v); printf " %s:%d", v, r[k] }
		}' "$T/tally")
	echo "# crash $ph: $line"
done
echo "# crash publishing: $BIG files, publish took ${pub_ms}ms, kills at 0-${maxd}ms after --check at the end;" \
	"$(awk '$1 == "publishing" { s[$4]++; d[$5]++ }
	END { for (k in s) printf "%s %d, ", k, s[k]
		for (k in d) printf "%s %d, ", k, d[k] }' "$T/tally")violations $nviol"
done_testing
