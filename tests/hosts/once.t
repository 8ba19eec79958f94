# --once -o across hosts (the lab of tests/hosts/lab.sh): in each round,
# both clients start `lockbuild --once -o DEST` on one key at the same
# moment, DEST new each round; the one that gets the key first builds, the
# other waits and then, finding DEST, exits 0 without building.  Builds are
# counted by COMMAND on each host (a local file) and on the share.  (A
# waiter whose client had cached "no DEST" before waiting built again.)
# Skipped when the lab is not up.
# shellcheck disable=SC1091 # found at run time
. "$TESTS_DIR/hosts/labtest.sh"
NAME=once.$(date +%s).$$
D=/mnt/share/$NAME
L=$D/locks
ROUNDS=${LB_HOSTS_ONCE_ROUNDS:-5}

lab run client1 "mkdir -p $L"
is "$?" 0 "client1 makes the test directory"

# COMMAND: counts itself (on this host and on the share), takes a second
# so that the other caller is surely waiting, then fills the output.
cat >"$T/build" <<EOF
#!/bin/sh
# build ROUND
h=\$(hostname)
echo "\$h" >>/tmp/$NAME.builds.\$1
echo "\$h" >>$D/builds.\$1
sleep 1
echo "built by \$h" >"\$LOCKBUILD_STAGING/out"
EOF
lab put client1 "$T/build" "$D/build"

r=1
while [ "$r" -le "$ROUNDS" ]; do
	dest=$D/dest.$r
	# Both look DEST up first: a cached miss is what --once must see past.
	for c in client1 client2; do
		lab run "$c" "rm -f /tmp/$NAME.go; test ! -e $dest"
		lab spawn "$c" "once$r" "while [ ! -e /tmp/$NAME.go ]; do sleep 0.01; done
			$GLB --once -o $dest $L once.$r sh $D/build $r"
	done
	# Started at once: the go files are local, written in parallel.
	lab run client1 ": >/tmp/$NAME.go" &
	lab run client2 ": >/tmp/$NAME.go" &
	wait
	rc1=$(lab wait client1 "once$r" 120 >"$T/out1" 2>&1; echo $?)
	rc2=$(lab wait client2 "once$r" 120 >"$T/out2" 2>&1; echo $?)
	n1=$(lab run client1 "cat /tmp/$NAME.builds.$r 2>/dev/null | wc -l")
	n2=$(lab run client2 "cat /tmp/$NAME.builds.$r 2>/dev/null | wc -l")
	ns=$(lab run client1 "cat $D/builds.$r 2>/dev/null | wc -l")
	echo "# round $r: builds client1 $n1, client2 $n2 (share: $ns); exit client1 $rc1, client2 $rc2"
	if [ "$rc1" -ne 0 ] || [ "$rc2" -ne 0 ]; then
		sed 's/^/#   client1: /' "$T/out1"
		sed 's/^/#   client2: /' "$T/out2"
	fi
	is "$rc1 $rc2" "0 0" "round $r: both callers exit 0"
	is "$((n1 + n2))" 1 "round $r: exactly one build"
	is "$ns" 1 "round $r: the share's count agrees"
	# On the host that built (the other one's client may still cache the
	# miss it looked up before, unless its lockbuild looked again).
	b=client1
	[ "$n2" -eq 1 ] && b=client2
	got=$(lab run "$b" "cat $dest/out")
	is "$got" "built by $b" "round $r: DEST is $b's build"
	r=$((r + 1))
done

lab run client1 "rm -rf $D"
lab run client1 "rm -f /tmp/$NAME.*"
lab run client2 "rm -f /tmp/$NAME.*"
done_testing
