# A holder cut off from the NFS server for longer than the lease (the lab
# of tests/hosts/lab.sh): the server gives its lock away, the other client
# takes it.  What the cut-off holder then sees is reported as TAP
# comments: with a raw OFD lock (tests/hosts/ofdlock probe: F_OFD_GETLK,
# F_OFD_SETLK again, pwrite, fsync, unlock on the lock fd after the
# partition heals), and with lockbuild: its COMMAND stopped during the
# cut, its exit status and message after the heal, and the same when
# COMMAND ended during the cut.  Checked: the takeover happens, within
# a generous bound, and the healed client can lock again.  Skipped when
# the lab is not up.
# shellcheck disable=SC1091 # found at run time
. "$TESTS_DIR/hosts/labtest.sh"
OFD=/lb/src/tests/hosts/ofdlock
LEASE=${LB_HOSTS_LEASE:-20}
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

# lost_after_heal JOB WHAT: heals client1, whose lockbuild JOB lost its
# lock while cut off, and checks that it exits 76, says so, and did not
# publish WHAT.
lost_after_heal() {
	lab heal client1
	out=$(lab wait client1 "$1" 120 2>&1)
	rc=$?
	echo "$out" | sed "s/^/#   client1 ($1): /"
	is "$rc" 76 "client1's lockbuild ($1) exits 76 after the heal"
	like "$out" "the lock is lost" "and says the lock is lost"
	ok "client1 published nothing" lab run client1 "test ! -e $D/$2"
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
# client1 builds DEST under key cut and is cut off.  Its lockbuild hears
# nothing from the server for 10 s, takes the lock as lost and stops
# COMMAND (which marks the TERM it gets), well before the server's lease
# gives the key to client2; after the heal it exits 76 and has published
# nothing.  Times are the host's: the control links stay up.

lab spawn client1 lbholder "$GLB -o $D/out $L cut sh -c 'trap \": >/tmp/pt/lbstopped; exit 143\" TERM; : >/tmp/pt/lbheld; while :; do sleep 0.05; done'"
ok "client1 holds key cut (lockbuild -o)" lab waitfor client1 /tmp/pt/lbheld 30
t0=$(date +%s%N)
lab partition client1
lab spawn client2 lbwaiter "$GLB -w $((LEASE * 10)) $L cut true"
lab waitfor client1 /tmp/pt/lbstopped $((LEASE * 6))
stopped=$(( ($(date +%s%N) - t0) / 1000000 ))
lab wait client2 lbwaiter $((LEASE * 10)) >/dev/null
rc=$?
taken=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "# lockbuild: client1's COMMAND stopped $stopped ms after the cut; client2 got the key after $taken ms (lease $LEASE s)"
is "$rc" 0 "client2's lockbuild gets key cut while client1 is cut off"
ok "client1's COMMAND was stopped before client2 got the key" \
	test "$stopped" -lt "$taken"
ok "client2 got it within the lease and 10 s" \
	test "$taken" -lt $(((LEASE + 10) * 1000))
lost_after_heal lbholder out
ok "client1 takes key cut again" lab run client1 "timeout 60 $GLB $L cut true"

# --- the fence --------------------------------------------------------------
# COMMAND has written its output and ends just after client1 is cut off:
# lockbuild, on its way to the rename, waits for the server (looking at
# the staging directory), and client2 takes the key meanwhile (and
# removes client1's staging directory as a dead holder's).  After the
# heal the server answers again, but the lock is gone: the silence
# longer than the stall limit, or the fence before the rename, must
# stop the publication, and be told as a lost lock, not as a COMMAND
# that left no output.

lab spawn client1 fence "$GLB -o $D/fenced $L fence sh -c 'echo built >\$LOCKBUILD_STAGING/out; sync; : >/tmp/pt/fheld; while [ ! -e /tmp/pt/fgo ]; do sleep 0.05; done'"
ok "client1 holds key fence, its output written" lab waitfor client1 /tmp/pt/fheld 30
lab partition client1
lab run client1 ": >/tmp/pt/fgo"
lab spawn client2 fwaiter "$GLB -w $((LEASE * 10)) $L fence sleep 3"
lab wait client2 fwaiter $((LEASE * 10)) >/dev/null
is "$?" 0 "client2 takes key fence while client1 is cut off"
lost_after_heal fence fenced

lab run client1 "rm -rf $D"
done_testing
