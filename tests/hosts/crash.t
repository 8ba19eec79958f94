# The holder's host dies mid-build (the lab of tests/hosts/lab.sh):
# client1 holds a key with -o DEST, its COMMAND has half filled the
# staging directory; client2 waits for the key; client1's VM is killed.
# client2 must get the key within the lease and a few seconds, build and
# publish DEST, and remove client1's staging leftovers next to DEST;
# --status on client2 then shows nothing stale.  After client1 is booted
# again: --clean on client2 while client1 holds another key with -o never
# removes that live holder's record or staging.  The takeover time is a
# TAP comment.  Skipped when the lab is not up.
# shellcheck disable=SC1091 # found at run time
. "$TESTS_DIR/hosts/labtest.sh"
LEASE=${LB_HOSTS_LEASE:-20}
NAME=crash.$(date +%s).$$
D=/mnt/share/$NAME
L=$D/locks
OUT=$D/out		# DESTs go in here

lab run client1 "mkdir -p $L $OUT"
is "$?" 0 "client1 makes the test directory"

# --- the holder's host dies mid-build ----------------------------------------

lab spawn client1 crashholder "$GLB -o $OUT/dest $L crash sh -c 'echo half >\$LOCKBUILD_STAGING/half; echo \$LOCKBUILD_STAGING >/tmp/crash.staging; sleep 600'"
ok "client1 holds key crash, mid-build" lab waitfor client1 /tmp/crash.staging 30
staging=$(lab run client1 "cat /tmp/crash.staging")
container=${staging%/*}
echo "# client1's staging: $staging"
lab run client2 "test -d $container"
is "$?" 0 "client2 sees client1's staging container"
lab spawn client2 waiter "$GLB -o $OUT/dest $L crash sh -c 'echo new >\$LOCKBUILD_STAGING/new'"
sleep 2
lab run client2 "[ ! -e /tmp/jobs/waiter.rc ]"
is "$?" 0 "client2 waits for key crash"
t0=$(date +%s%N)
lab kill client1
out=$(lab wait client2 waiter $((LEASE * 10)) 2>&1)
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
echo "$out" | sed 's/^/#   client2: /'
is "$rc" 0 "client2 gets key crash after client1's VM is killed, builds and publishes"
echo "# takeover after the holder's VM was killed mid-build: $ms ms (lease $LEASE s)"
ok "takeover within the lease and 10 s" test "$ms" -lt $(((LEASE + 10) * 1000))
like "$out" "previous holder pid [0-9]+ .*on host client1" \
	"client2 reports the dead holder on client1"
is "$(lab run client2 "cat $OUT/dest/new")" new "DEST is client2's build"
lab run client2 "test ! -e $container"
is "$?" 0 "client2's run removed client1's staging container"
lab run client2 "ls -a $OUT" | sed 's/^/#   out: /'
out=$(lab run client2 "$GLB --status $L")
is "$?" 0 "--status on client2 afterwards: exit 0"
echo "$out" | sed 's/^/#   /'
unlike() { if printf '%s\n' "$1" | grep -Eq -- "$2"; then _result 1 "$3"; else _result 0 "$3"; fi; }
unlike "$out" "stale|orphaned|bad-record" "nothing stale, orphaned or bad"
lab run client2 "ls -la $L" | sed 's/^/#   locks: /'
out=$(lab run client2 "$GLB -n $L crash true" 2>&1)
is "$?" 0 "key crash can be taken again on client2"
[ -n "$out" ] && echo "$out" | sed 's/^/#   /'

# --- --clean beside a live remote holder ----------------------------------------

t0=$(date +%s)
lab boot client1
ok "client1 boots again and mounts the share" lab run client1 "test -d $L"
echo "# client1 booted again in $(($(date +%s) - t0)) s"

# A stale key on client2: a holder and its COMMAND killed -9 mid-build.
lab spawn client2 dead "$GLB -o $OUT/deaddest $L dead sh -c 'echo \$PPID \$\$ >/tmp/dead.pids; echo x >\$LOCKBUILD_STAGING/x; exec sleep 600'"
ok "client2 holds key dead" lab waitfor client2 /tmp/dead.pids 30
lab run client2 "kill -9 \$(cat /tmp/dead.pids)"
lab wait client2 dead 30 >/dev/null
# The live holder: client1, mid-build, key live.
lab spawn client1 live "$GLB -o $OUT/livedest $L live sh -c 'echo \$LOCKBUILD_STAGING >/tmp/live.staging; echo y >\$LOCKBUILD_STAGING/y; i=0; while [ ! -e /tmp/live.release ] && [ \$i -lt 2400 ]; do i=\$((i + 1)); sleep 0.05; done'"
ok "client1 holds key live, mid-build" lab waitfor client1 /tmp/live.staging 30
lstaging=$(lab run client1 "cat /tmp/live.staging")
lab run client2 "$GLB --status $L" | sed 's/^/#   before --clean: /'
out=$(lab run client2 "$GLB --clean $L" 2>&1)
echo "$out" | sed 's/^/#   --clean: /'
like "$out" "dead" "--clean on client2 removes the dead key's leftovers"
out=$(lab run client2 "$GLB --status $L live")
like "$out" "^live: exclusive; holder pid [0-9]+ .*on host client1" \
	"client1's live record is still there"
lab run client1 "test -f $lstaging/y"
is "$?" 0 "client1's live staging is still there"
lab run client1 ": >/tmp/live.release"
lab wait client1 live 60 >/dev/null
is "$?" 0 "client1's live holder ends well"
is "$(lab run client1 "cat $OUT/livedest/y")" y "and publishes"
out=$(lab run client2 "$GLB --status $L; ls -a $OUT")
echo "$out" | sed 's/^/#   afterwards: /'

lab run client1 "rm -rf $D"
done_testing
