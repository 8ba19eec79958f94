# A file DEST (-f) republished across hosts (the lab of tests/hosts/lab.sh):
# client1 publishes it 25 times while client2 keeps opening it by name and
# checking it whole (its last line: the round, the line count and the
# md5sum of the lines before).  No open may fail (ENOENT or otherwise), no
# copy may be partial or mixed.  A read of a copy being replaced may fail
# with ESTALE (the Linux client; counted): opened again, it must give a
# whole copy.  Counts are TAP comments.  (A directory
# DEST is not atomic across hosts on NFS, see lockbuild(1).)  Skipped when
# the lab is not up.
# shellcheck disable=SC1091 # found at run time
. "$TESTS_DIR/hosts/labtest.sh"
NAME=republish.$(date +%s).$$
D=/mnt/share/$NAME
L=$D/locks
DEST=$D/pub.txt
ROUNDS=${LB_HOSTS_REPUB_ROUNDS:-25}

lab run client1 "mkdir -p $L"
is "$?" 0 "client1 makes the test directory"

# gen ROUND: the content, ~100 KiB (several NFS writes).
cat >"$T/gen" <<'EOF'
#!/bin/sh
seq 1 3000 | sed "s/^/round $1 line /" >"$LOCKBUILD_STAGING.body"
n=$(wc -l <"$LOCKBUILD_STAGING.body")
s=$(md5sum <"$LOCKBUILD_STAGING.body" | cut -d' ' -f1)
{ cat "$LOCKBUILD_STAGING.body"; echo "end $1 $n $s"; } >"$LOCKBUILD_STAGING"
rm -f "$LOCKBUILD_STAGING.body"
EOF
# reader: opens DEST by name until /tmp/$NAME.stop, checks each copy.
cat >"$T/reader" <<EOF
#!/bin/sh
reads=0 enoent=0 other=0 bad=0 estale=0 seen=
while [ ! -e /tmp/$NAME.stop ]; do
	# The open and the reads apart, to tell which one failed.
	if ! { command exec 3<$DEST; } 2>/tmp/$NAME.err; then
		if grep -q 'No such file' /tmp/$NAME.err; then
			enoent=\$((enoent + 1))
		else
			other=\$((other + 1)); sed 's/^/open error: /' /tmp/$NAME.err
		fi
		continue
	fi
	if ! cat <&3 >/tmp/$NAME.copy 2>/tmp/$NAME.err; then
		exec 3<&-
		# A read of the replaced file can fail with ESTALE (see
		# lockbuild(1)); opened again, the name must give a copy.
		if grep -q 'Stale file handle' /tmp/$NAME.err &&
			cat $DEST >/tmp/$NAME.copy 2>/tmp/$NAME.err; then
			estale=\$((estale + 1))
		else
			other=\$((other + 1)); sed 's/^/read error: /' /tmp/$NAME.err
			continue
		fi
	else
		exec 3<&-
	fi
	reads=\$((reads + 1))
	set -- \$(tail -n 1 /tmp/$NAME.copy)
	if [ "\$1" != end ] || [ "\$(head -n -1 /tmp/$NAME.copy | wc -l)" != "\$3" ] ||
		[ "\$(head -n -1 /tmp/$NAME.copy | md5sum | cut -d' ' -f1)" != "\$4" ] ||
		[ "\$(head -n -1 /tmp/$NAME.copy | grep -vc "^round \$2 line ")" != 0 ]; then
		bad=\$((bad + 1)); echo "bad copy: \$(wc -c </tmp/$NAME.copy) bytes, last line: \$*"
		continue
	fi
	case " \$seen " in *" \$2 "*) ;; *) seen="\$seen \$2" ;; esac
done
echo "reads=\$reads enoent=\$enoent other=\$other bad=\$bad estale=\$estale versions=\$(echo \$seen | wc -w)"
EOF
lab put client1 "$T/gen" "$D/gen"
lab put client1 "$T/reader" "$D/reader"

lab run client1 "$GLB -f -o $DEST $L pub sh $D/gen 0"
is "$?" 0 "client1 publishes DEST (round 0)"
ok "client2 sees it" lab waitfor client2 "$DEST" 60
lab run client2 "rm -f /tmp/$NAME.stop"
lab spawn client2 reader "sh $D/reader"
t0=$(date +%s%N)
out=$(lab run client1 "i=1 bad=0; while [ \$i -le $ROUNDS ]; do
	$GLB -f -o $DEST $L pub sh $D/gen \$i || bad=\$((bad + 1)); i=\$((i + 1)); done; exit \$bad" 2>&1)
is "$?" 0 "client1 republishes DEST $ROUNDS times, every run exits 0"
[ -n "$out" ] && echo "$out" | sed 's/^/#   client1: /'
secs=$((($(date +%s%N) - t0) / 1000000))
lab run client2 ": >/tmp/$NAME.stop"
res=$(lab wait client2 reader 120)
is "$?" 0 "client2's reader ends"
echo "$res" | sed 's/^/# client2 reader: /'
echo "# $ROUNDS publications in $secs ms"
sum=$(echo "$res" | tail -n 1)
like "$sum" " enoent=0 " "client2: no open failed with ENOENT"
like "$sum" " other=0 " "client2: no open failed otherwise, no read but ESTALE, and every ESTALE read gave a copy when opened again"
like "$sum" " bad=0 " "client2: no partial or mixed copy"
like "$sum" "^reads=[1-9]" "client2 read DEST"
last=$(lab run client2 "tail -n 1 $DEST")
like "$last" "^end $ROUNDS " "client2 then reads the last version"

lab run client1 "rm -rf $D"
lab run client2 "rm -f /tmp/$NAME.*"
done_testing
