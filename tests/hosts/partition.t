# A holder cut off from the NFS server for longer than the lease (the lab
# of tests/hosts/lab.sh): the server gives its lock away, the other client
# takes it.  What the cut-off holder then sees is reported as TAP
# comments: with a raw OFD lock (tests/hosts/ofdlock probe: F_OFD_GETLK,
# F_OFD_SETLK again, pwrite, fsync, unlock on the lock fd after the
# partition heals), and with lockbuild (its exit status and message when
# its command ends after the heal).  Checked: the takeover happens, within
# a generous bound, and the healed client can lock again.  Skipped when
# the lab is not up.
# shellcheck disable=SC1091 # found at run time
. "$TESTS_DIR/hosts/labtest.sh"
OFD=/lb/src/tests/hosts/ofdlock
LEASE=${LB_HOSTS_LEASE:-10}
D=/mnt/share/partition.$(date +%s).$$
L=$D/locks

# healall: on any way out, no client stays cut off.
trap 'lab heal client1 2>/dev/null; lab heal client2 2>/dev/null; rm -rf "$T"' EXIT

lab run client1 "mkdir -p $L; rm -rf /tmp/pt; mkdir /tmp/pt"
is "$?" 0 "client1 makes the test directory"

# cutoff NAME: partitions client1 (which holds the lock), waits for
# client2's job NAME, which waits for the same lock, to get it; sets $ms
# (from the cut to the takeover, host clock) and $rc (the job's status).
cutoff() {
	lab spawn client2 "$1" "$2"
	sleep 2
	t0=$(date +%s%N)
	lab partition client1
	lab wait client2 "$1" $((LEASE * 10)) >/dev/null
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
}

# --- raw OFD lock -----------------------------------------------------------

lab spawn client1 probe "$OFD probe $D/raw.lock /tmp/pt"
ok "client1 holds raw.lock (ofdlock probe)" lab waitfor client1 /tmp/pt/held 30
cutoff rawwaiter "$OFD $D/raw.lock true"
is "$rc" 0 "client2 gets raw.lock while client1 is cut off"
echo "# raw OFD: client2 got the lock $ms ms after client1 was cut off (lease $LEASE s)"
ok "within 6 leases" test "$ms" -lt $((LEASE * 6000))
lab heal client1
lab run client1 ": >/tmp/pt/probe"
out=$(lab wait client1 probe 120)
is "$?" 0 "client1's probe ends after the heal"
echo "$out" | sed 's/^/# raw OFD holder after the heal: /'
ok "client1 can lock raw.lock again" lab run client1 "timeout 60 $OFD $D/raw.lock true"

# --- lockbuild --------------------------------------------------------------

lab spawn client1 lbholder "$GLB $L cut sh -c ': >/tmp/pt/lbheld; i=0; while [ ! -e /tmp/pt/lbrelease ] && [ \$i -lt 6000 ]; do i=\$((i + 1)); sleep 0.05; done'"
ok "client1 holds key cut (lockbuild)" lab waitfor client1 /tmp/pt/lbheld 30
cutoff lbwaiter "$GLB $L cut true"
is "$rc" 0 "client2's lockbuild gets key cut while client1 is cut off"
echo "# lockbuild: client2 got the key $ms ms after client1 was cut off"
ok "within 6 leases" test "$ms" -lt $((LEASE * 6000))
lab heal client1
lab run client1 ": >/tmp/pt/lbrelease"
out=$(lab wait client1 lbholder 120 2>&1)
rc=$?
echo "# lockbuild holder on client1, its command ending after the heal: exit $rc"
echo "$out" | sed 's/^/#   /'
ok "client1's lockbuild ends after the heal" test "$rc" -ne 124
ok "client1 takes key cut again" lab run client1 "timeout 60 $GLB $L cut true"

lab run client1 "rm -rf $D"
done_testing
