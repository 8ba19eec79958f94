# lockbuild between two real NFS clients (the lab of tests/hosts/lab.sh:
# a knfsd server VM and two Linux client VMs, NFSv4.2): both clients see
# the share; N processes on each client incrementing one counter under one
# key never overlap and lose no update; -n exits 75 across hosts;
# hand-off latency across hosts, lockbuild and a raw OFD lock; takeover
# when the holder's host is killed, by a lockbuild started after that
# (expect about the lease), and no delegation left with the holder.
# Timings are TAP comments, bounded only generously.  Skipped when the
# lab is not up.
# shellcheck disable=SC1091 # found at run time
. "$TESTS_DIR/hosts/labtest.sh"
OFD=/lb/src/tests/hosts/ofdlock
LEASE=${LB_HOSTS_LEASE:-20}
D=/mnt/share/basic.$(date +%s).$$	# this run's directory on the NFS share
L=$D/locks
N=${LB_HOSTS_N:-4}			# processes per client
ROUNDS=${LB_HOSTS_ROUNDS:-15}		# lock rounds per process
PP_ROUNDS=${LB_HOSTS_PP_ROUNDS:-30}	# hand-off rounds

# --- the share -------------------------------------------------------------

lab run client1 "mkdir -p $L && echo from-client1 >$D/seen"
is "$?" 0 "client1 writes to the share"
is "$(lab run client2 "cat $D/seen")" from-client1 "client2 reads what client1 wrote"
lab run client2 "echo from-client2 >$D/seen2"
is "$(lab run client1 "cat $D/seen2")" from-client2 "client1 reads what client2 wrote"

# --- exclusion under load ------------------------------------------------------

# The COMMAND: checks that nobody else is inside, increments the counter
# (read-modify-write), checks again.  Files are reopened each time, so
# NFS close-to-open consistency applies; a lost update shows in the final
# count, an overlap in the overlaps file of the client that saw it.
cat >"$T/body" <<'EOF'
#!/bin/sh
# body DIR ME
d=$1 me=$2
o=$(cat "$d/owner")
[ "$o" = free ] || echo "$me found $o inside" >>/tmp/overlaps
echo "$me" >"$d/owner"
n=$(cat "$d/counter")
echo $((n + 1)) >"$d/counter"
o=$(cat "$d/owner")
[ "$o" = "$me" ] || echo "$me lost the owner file to $o" >>/tmp/overlaps
echo free >"$d/owner"
EOF
lab put client1 "$T/body" "$D/body"
lab run client1 "chmod +x $D/body; echo 0 >$D/counter; echo free >$D/owner; rm -f /tmp/overlaps"
lab run client2 "rm -f /tmp/overlaps /tmp/worker-failures"
lab run client1 "rm -f /tmp/worker-failures"

# worker script, run N times on each client: ROUNDS lockbuild runs.
cat >"$T/worker" <<EOF
#!/bin/sh
i=0 bad=0
while [ "\$i" -lt $ROUNDS ]; do
	timeout 300 $GLB $L counter $D/body $D "\$1.\$i" 2>/tmp/worker.\$1.err
	rc=\$?
	if [ "\$rc" -ne 0 ]; then
		bad=\$((bad + 1))
		echo "\$1 round \$i: exit \$rc: \$(cat /tmp/worker.\$1.err)" >>/tmp/worker-failures
	fi
	i=\$((i + 1))
done
exit \$bad
EOF
lab put client1 "$T/worker" "$D/worker"
t0=$(date +%s)
for c in client1 client2; do
	i=1
	while [ "$i" -le "$N" ]; do
		lab spawn "$c" "w$i" "sh $D/worker $c.$i"
		i=$((i + 1))
	done
done
bad=0
for c in client1 client2; do
	i=1
	while [ "$i" -le "$N" ]; do
		lab wait "$c" "w$i" 600 >/dev/null || bad=$((bad + 1))
		i=$((i + 1))
	done
done
secs=$(($(date +%s) - t0))
for c in client1 client2; do
	lab run "$c" "cat /tmp/worker-failures 2>/dev/null" | sed "s/^/# $c: /"
done
is "$bad" 0 "all $((2 * N)) workers ($N per client, $ROUNDS rounds each) ended with every run exiting 0"
is "$(lab run client1 "cat $D/counter")" $((2 * N * ROUNDS)) "the counter is $((2 * N * ROUNDS)): no update lost"
ov=$(lab run client1 "cat /tmp/overlaps 2>/dev/null"; lab run client2 "cat /tmp/overlaps 2>/dev/null")
is "$ov" "" "no overlap inside the lock"
echo "# exclusion: $((2 * N * ROUNDS)) runs from 2 clients in $secs s"

# --- -n across hosts ---------------------------------------------------------------

lab spawn client1 holder "$GLB $L busy sh -c ': >$D/held; i=0; while [ ! -e $D/release ] && [ \$i -lt 3000 ]; do i=\$((i + 1)); sleep 0.05; done'"
# Wait on client1 itself: a name that client2 looked up while it was
# missing can stay "missing" there for a while (lookup cache).
ok "client1 holds key busy" lab waitfor client1 $D/held 30
lab run client2 "$GLB -n $L busy true"
is "$?" 75 "lockbuild -n on client2 exits 75 while client1 holds the key"
lab run client2 "$OFD -n $L/busy.lock true"
is "$?" 75 "a raw OFD F_OFD_SETLK on client2 fails too (the helper agrees)"
lab run client2 ": >$D/release"
lab wait client1 holder 30 >/dev/null
is "$?" 0 "client1's holder ended"
lab run client2 "$GLB -n $L busy true"
is "$?" 0 "then lockbuild -n on client2 gets the key"

# --- hand-off latency ------------------------------------------------------------

# pingpong MODE: median hand-off (ms) from client1 to client2 and back.
pingpong() {
	_pd=$D/pp.$1
	_extra=
	case $1 in
	lockbuild) _extra=$GLB ;;
	ofd-spawn) _extra=spawn ;;
	esac
	lab run client1 "mkdir -p $_pd; rm -f /tmp/pp.ready /tmp/pp.go"
	lab run client2 "rm -f /tmp/pp.ready /tmp/pp.go"
	lab spawn client2 ppb "$OFD pingpong b $_pd $PP_ROUNDS /tmp/pp.ready /tmp/pp.go $_extra"
	lab waitfor client2 /tmp/pp.ready 60 || return 1
	lab spawn client1 ppa "$OFD pingpong a $_pd $PP_ROUNDS /tmp/pp.ready /tmp/pp.go $_extra"
	lab waitfor client1 /tmp/pp.ready 60 || return 1
	lab run client2 ": >/tmp/pp.go"
	lab run client1 ": >/tmp/pp.go"
	if ! pp_out=$(lab wait client1 ppa 300) ||
		! pp_b=$(lab wait client2 ppb 60); then
		echo "$pp_out" | sed 's/^/# pingpong a (client1): /'
		lab wait client2 ppb 1 | sed 's/^/# pingpong b (client2): /'
		return 1
	fi
	echo "# handoff $1: $pp_out"
	pp_ms=$(echo "$pp_out" | sed -n 's/.*median=\([0-9]*\).*/\1/p' | awk '{printf "%.1f", $1 / 1000}')
	[ -n "$pp_ms" ]
}

if pingpong ofd; then
	ofd_ms=$pp_ms
	echo "# handoff median raw OFD: $ofd_ms ms (client1 <-> client2, $PP_ROUNDS rounds)"
	ok "raw OFD hand-off across hosts works, median < 5 s" \
		awk -v m="$ofd_ms" 'BEGIN {exit !(m < 5000)}'
else
	_result 1 "raw OFD hand-off across hosts"
fi
# The raw OFD lock again, taken by a process spawned for each hold as
# lockbuild's case does: what process start-up alone costs in these VMs.
if pingpong ofd-spawn; then
	echo "# handoff median raw OFD, a process per hold: $pp_ms ms"
	ok "raw OFD hand-off with a process per hold works, median < 5 s" \
		awk -v m="$pp_ms" 'BEGIN {exit !(m < 5000)}'
else
	_result 1 "raw OFD hand-off with a process per hold"
fi
if pingpong lockbuild; then
	echo "# handoff median lockbuild: $pp_ms ms (client1 <-> client2, $PP_ROUNDS rounds)"
	ok "lockbuild hand-off across hosts works, median < 5 s" \
		awk -v m="$pp_ms" 'BEGIN {exit !(m < 5000)}'
else
	_result 1 "lockbuild hand-off across hosts"
fi

# --- the holder's host dies ----------------------------------------------------

lab spawn client1 crashholder "$GLB $L crash sh -c ': >$D/crash.held; sleep 600'"
ok "client1 holds key crash" lab waitfor client1 $D/crash.held 30
# The server may hand client1 a read delegation of the lock file with its
# open; lockbuild gives it back (lock.c).  Kept, it would make a host
# that opens the file after client1 dies wait for the server to take it
# back, and then for its client's next try: up to the lease and 15 s.
states=$(lab run server "cat /proc/fs/nfsd/clients/*/states")
like "$states" "type: open.*crash\.lock" "the server lists client1's open of the lock file"
deleg=$(echo "$states" | grep 'type: deleg' | grep -c 'crash\.lock')
is "$deleg" 0 "the server holds no delegation of client1's lock file"
# client2's lockbuild starts only after the crash (crash.t has one that
# was already waiting).
t0=$(date +%s%N)
lab kill client1
lab spawn client2 waiter "$GLB $L crash true"
sleep 2
lab run client2 "[ ! -e /tmp/jobs/waiter.rc ]"
is "$?" 0 "client2, started after client1's VM is killed, waits for key crash"
lab wait client2 waiter $((LEASE * 10)) >/dev/null
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
is "$rc" 0 "client2 gets key crash after client1's VM is killed"
echo "# takeover after the holder's VM was killed, by a lockbuild started after it: $ms ms (lease $LEASE s)"
ok "takeover within the lease and 10 s" test "$ms" -lt $(((LEASE + 10) * 1000))
lab boot client1
ok "client1 boots again and mounts the share" lab run client1 "ls $D/seen >/dev/null"
lab run client1 "$GLB -n $L crash true"
is "$?" 0 "the rebooted client1 takes key crash"

lab run client1 "rm -rf $D"
done_testing
