# Owner records across hosts (the lab of tests/hosts/lab.sh): client1
# holds a key; client2 must see the holder at once (within 2 s):
# --status, listing the directory or naming the key, names client1's pid
# and host and says "alive by its lock", --json says holder "remote", and
# -n exits 75 naming that pid and host.  (Records written back only by the
# client's writeback took ~30 s to show.)  Three rounds: client2 asked
# about the key by name while it was free, only listed the directory, or
# looked at nothing before.  How long client2 took is a TAP comment.
# Skipped when the lab is not up.
# shellcheck disable=SC1091 # found at run time
. "$TESTS_DIR/hosts/labtest.sh"
D=/mnt/share/records.$(date +%s).$$
L=$D/locks

lab run client1 "mkdir -p $L"
is "$?" 0 "client1 makes the lock directory"

# seen WHAT CMD: on client2 itself (no round trip to the host in between),
# runs CMD until its output names client1, at most 2 s, then (to measure
# how late) on up to $2 s more; sets $ms (-1: never) and $st (the last
# output).
seen() {
	out=$(lab run client2 "t0=\$(date +%s%N)
		until s=\$($2 2>&1) && echo \"\$s\" | grep -q 'client1'; do
			[ \$((\$(date +%s%N) - t0)) -ge ${3:-2}000000000 ] && { echo -1; echo \"\$s\"; exit; }
			sleep 0.01; done
		echo \$(((\$(date +%s%N) - t0) / 1000000)); echo \"\$s\"")
	ms=$(echo "$out" | head -n 1)
	st=$(echo "$out" | sed 1d)
	echo "# $1: client2 saw the holder after $ms ms (-1: not within ${3:-2} s)"
}

# Round 1: client2 asked about the key by name while it was free (as a
# monitor would), so its client cached "no such lock file"; round 2: it
# listed the directory only; round 3: it looked at nothing before.
for r in 1 2 3; do
	k=rec$r
	case $r in
	1) lab run client2 "$GLB --status $L $k" >/dev/null ;;
	2) lab run client2 "$GLB --status $L" >/dev/null ;;
	esac
	lab run client1 "rm -f /tmp/rec.pid /tmp/rec.release"
	lab spawn client1 holder "$GLB $L $k sh -c 'echo \$PPID >/tmp/rec.pid; i=0; while [ ! -e /tmp/rec.release ] && [ \$i -lt 2400 ]; do i=\$((i + 1)); sleep 0.05; done'"
	ok "round $r: client1 holds key $k" lab waitfor client1 /tmp/rec.pid 30
	pid=$(lab run client1 "cat /tmp/rec.pid")
	seen "round $r, --status LOCKDIR $k" "$GLB --status $L $k" $((r == 1 ? 60 : 2))
	[ "$ms" -lt 0 ] && echo "#   its last answer: $st"
	ok "round $r: --status LOCKDIR $k on client2 names the holder within 2 s" \
		test "$ms" -ge 0 -a "$ms" -lt 2000
	like "$st" "^$k: exclusive; holder pid $pid .* on host client1 .*alive by its lock" \
		"round $r: it names pid $pid, host client1, alive by its lock"
	seen "round $r, --status LOCKDIR" "$GLB --status $L | grep ^$k:"
	ok "round $r: --status LOCKDIR on client2 names the holder within 2 s" test "$ms" -ge 0
	like "$st" "^$k: exclusive; holder pid $pid .* on host client1 .*alive by its lock" \
		"round $r: so does the listing"
	js=$(lab run client2 "$GLB --status --json $L")
	like "$js" "\"key\":\"$k\".*\"pid\":$pid,.*\"host\":\"client1\".*\"holder\":\"remote\"" \
		"round $r: --status --json on client2: pid $pid, host client1, holder remote"
	out=$(lab run client2 "$GLB -n $L $k true" 2>&1)
	is "$?" 75 "round $r: lockbuild -n on client2 exits 75"
	like "$out" "held by pid $pid .* on host client1" "round $r: and names pid $pid on client1"
	[ "$r" -eq 1 ] && echo "# -n on client2: $out"
	lab run client1 ": >/tmp/rec.release"
	lab wait client1 holder 60 >/dev/null
	is "$?" 0 "round $r: client1's holder ends well"
done

out=$(lab run client2 "$GLB --status $L")
is "$?" 0 "--status on client2 afterwards: nothing stale"
echo "$out" | sed 's/^/#   /'
out=$(lab run client1 "$GLB --status $L")
echo "$out" | sed 's/^/# client1: /'
is "$out" "" "--status on client1 afterwards: no key left"

lab run client1 "rm -rf $D"
done_testing
