# Mounts whose locks would stay on each client (the lab of
# tests/hosts/lab.sh): client1 mounts the server's export a second time,
# with options that keep locks local or with NFSv3, and runs lockbuild
# with LOCKDIR there.  Where the option is in force (/proc/self/mountinfo
# shows it), lockbuild exits 69 naming it and does not run COMMAND; NFSv3
# is refused whatever its lock options (NLM).  Linux drops local_lock= and
# nolock for NFSv4 (the mount shows local_lock=none, the locks go to the
# server): there lockbuild must work, and its lock must hold against
# client2.  Every mount is nosharecache, else the kernel reuses the
# default mount's superblock and its options.  Skipped when the lab is
# not up.
# shellcheck disable=SC1091 # found at run time
. "$TESTS_DIR/hosts/labtest.sh"
NAME=mounts.$(date +%s).$$
D=/mnt/share/$NAME	# this run's directory, on the default mount
M=/mnt/lt.$$		# the extra mounts on client1: $M.1, $M.2, ...

trap 'lab run client1 "for m in $M.*; do umount -l \$m; rmdir \$m; done" >/dev/null 2>&1; rm -rf "$T"' EXIT

lab run client1 "mkdir -p $D/locks"
is "$?" 0 "client1 makes $D on the default mount"
lab run client1 "$GLB $D/locks k sh -c ': >$D/ran.default' && test -e $D/ran.default"
is "$?" 0 "lockbuild works on the default mount (vers=4.2, local_lock=none)"

# mnt N TYPE OPTIONS SOURCE: mounts SOURCE on client1's $M.N; prints the
# mount's options as the kernel shows them.
mnt() {
	lab run client1 "mkdir -p $M.$1 && mount -t $2 -o $3,nosharecache $4 $M.$1 &&
		awk '\$5 == \"$M.$1\" {print \$NF}' /proc/self/mountinfo" 2>"$T/mount.err"
}

# refused N WHAT PATTERN: lockbuild on $M.N exits 69, its message matches
# PATTERN, COMMAND did not run.
refused() {
	out=$(lab run client1 "$GLB $M.$1/$NAME/locks k sh -c ': >$D/ran.$1'" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/#   /'
	is "$rc" 69 "$2: lockbuild exits 69"
	like "$out" "$3" "$2: the message names it"
	lab run client1 "test ! -e $D/ran.$1"
	is "$?" 0 "$2: COMMAND did not run"
}

# v4 N OPTION: an NFSv4.2 mount with OPTION.
v4() {
	if ! opts=$(mnt "$1" nfs4 "vers=4.2,$2" server:/); then
		_result 1 "mount -o vers=4.2,$2"
		sed 's/^/#   /' "$T/mount.err"
		return
	fi
	echo "# vers=4.2,$2: the kernel shows $(echo "$opts" | tr , '\n' | grep -E '^(vers|local_lock|nolock)' | tr '\n' ' ')"
	case ,$opts, in
	*,local_lock=none,*)
		# In force: locks on the server.  lockbuild takes the key
		# there, and client2 (default mount) finds it held.
		lab spawn client1 v4hold "$GLB $M.$1/$NAME/locks v4.$1 sh -c ': >/tmp/$NAME.held.$1; i=0; while [ ! -e /tmp/$NAME.release.$1 ] && [ \$i -lt 1200 ]; do i=\$((i + 1)); sleep 0.05; done'"
		ok "vers=4.2,$2 (dropped by the kernel): lockbuild takes a key there" \
			lab waitfor client1 "/tmp/$NAME.held.$1" 30
		lab run client2 "$GLB -n $D/locks v4.$1 true" 2>/dev/null
		is "$?" 75 "vers=4.2,$2: client2 finds that key held (the lock is the server's)"
		lab run client1 ": >/tmp/$NAME.release.$1"
		lab wait client1 v4hold 60 >/dev/null
		is "$?" 0 "vers=4.2,$2: the holder there ends well"
		;;
	*)
		refused "$1" "vers=4.2,$2" "$(echo "$2" | sed 's/,.*//')"
		;;
	esac
}

v4 1 local_lock=all
v4 2 nolock

# NFSv3: the server exports it (guest/init2); the client needs statd for
# every mount but nolock.
v3() {	# v3 N OPTIONS PATTERN
	if ! opts=$(mnt "$1" nfs "$2" server:/export); then
		echo "# mount -o $2 failed: $(tr '\n' ' ' <"$T/mount.err")"
		skip "NFSv3 mount -o $2 not possible here"
		return
	fi
	echo "# $2: the kernel shows $(echo "$opts" | tr , '\n' | grep -E '^(vers|local_lock|nolock)' | tr '\n' ' ')"
	refused "$1" "$2" "$3"
}
v3 3 vers=3,nolock nolock
# mount.nfs wants statd for every v3 mount without nolock.
lab run client1 "pidof rpc.statd >/dev/null || { mkdir -p /run/rpcbind; rpcbind -w; rpc.statd --no-notify; }" >/dev/null 2>&1
v3 4 vers=3,local_lock=all local_lock=all
v3 5 vers=3,local_lock=posix local_lock=posix
v3 6 vers=3 'version 3'

lab run client1 "rm -rf $D"
done_testing
