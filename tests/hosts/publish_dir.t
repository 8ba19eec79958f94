# A directory DEST on the NFS share, republished ROUNDS times on client1
# while a reader on client2 reads a file inside it in a loop: the reader
# must never find it missing (ENOENT) nor read a partial or mixed file.
# NFS has no RENAME_EXCHANGE, so DEST is a link to a version directory,
# flipped by one rename.  Counts are TAP comments.  Then the one-time
# conversion of a real directory DEST, and --if-changed and --once on
# such a DEST.  Skipped when the lab is not up.
#
# LB_HOSTS_LOCKBUILD names another lockbuild binary in the guests (say an
# older build copied there with `lab.sh put`), to count what it does.
# shellcheck disable=SC1091 # found at run time
. "$TESTS_DIR/hosts/labtest.sh"
D=/mnt/share/publish_dir.$(date +%s).$$	# this run's directory on the share
L=$D/locks
ROUNDS=${LB_HOSTS_PUBLISH_ROUNDS:-25}

# build N: a version whose file "data" says N on its first and last line,
# with 200 lines between, written in pieces: a reader of a partial or
# mixed file sees the lines disagree.
cat >"$T/build" <<'EOF'
#!/bin/sh
n=$1 f=$LOCKBUILD_STAGING/data
echo "begin $n" >"$f"
i=0
while [ "$i" -lt 200 ]; do
	echo "line $i of version $n" >>"$f"
	i=$((i + 1))
done
echo "end $n" >>"$f"
echo "$n" >"$LOCKBUILD_STAGING/n"
EOF

# reader DIR STOP: reads DIR/data until STOP exists, then prints its
# counts; /tmp/reader.bad keeps what went wrong.
cat >"$T/reader" <<'EOF'
#!/bin/sh
good=0 missing=0 partial=0 other=0 first=
rm -f /tmp/reader.bad /tmp/reader.started
while [ ! -e "$2" ]; do
	if out=$(cat "$1/data" 2>/tmp/reader.err); then
		n=${out%%
*}
		n=${n#begin }
		case $out in
		"begin $n
line 0 of version $n
"*"
line 199 of version $n
end $n")
			good=$((good + 1)) ;;
		*)
			partial=$((partial + 1))
			printf 'partial: %.60s...\n' "$out" >>/tmp/reader.bad ;;
		esac
	elif grep -q 'No such file' /tmp/reader.err; then
		missing=$((missing + 1))
	else
		other=$((other + 1))
		cat /tmp/reader.err >>/tmp/reader.bad
	fi
	[ -n "$first" ] || { first=1; : >/tmp/reader.started; }
done
echo "good=$good missing=$missing partial=$partial other=$other"
EOF

lab run client1 "mkdir -p $L" || exit 1
lab put client1 "$T/build" "$D/build"
lab put client2 "$T/reader" /tmp/reader

# count_of NAME COUNTS: the number after NAME= in COUNTS.
count_of() { printf '%s\n' "$2" | sed -n "s/.*$1=\([0-9]*\).*/\1/p"; }

# --- republishing under a reader on the other host ------------------------------

lab run client1 "$GLB -o $D/out $L out sh $D/build 0"
is "$?" 0 "client1 publishes the directory DEST"
if [ "$GLB" = /lb/src/lockbuild ]; then
	lab run client1 "[ -L $D/out ] && [ -d $D/out ] && readlink $D/out" |
		grep -q '^\.lockbuild-v\.[A-Za-z0-9]\{8\}\.out$'
	is "$?" 0 "on NFS, DEST is a link to a version directory next to it"
fi
is "$(lab run client2 "cat $D/out/n")" 0 "client2 reads it"

lab run client2 "rm -f /tmp/reader.stop"
lab spawn client2 reader "sh /tmp/reader $D/out /tmp/reader.stop"
ok "the reader on client2 runs" lab waitfor client2 /tmp/reader.started 30
t0=$(date +%s%N)
lab run client1 "i=1 bad=0
while [ \$i -le $ROUNDS ]; do
	$GLB -o $D/out $L out sh $D/build \$i || bad=\$((bad + 1))
	i=\$((i + 1))
done
exit \$bad"
is "$?" 0 "client1 republishes DEST $ROUNDS times, every run exits 0"
ms=$((($(date +%s%N) - t0) / 1000000))
# Reads go on for a while after the last flip, through what client2 has
# cached of the versions it found on the way.
sleep 3
lab run client2 ": >/tmp/reader.stop"
counts=$(lab wait client2 reader 60)
echo "# $ROUNDS republications on client1 in $ms ms; reader on client2: $counts"
lab run client2 "cat /tmp/reader.bad 2>/dev/null" | head -5 | sed 's/^/# reader: /'
is "$(count_of missing "$counts")" 0 "the reader never found DEST/data missing (ENOENT)"
is "$(count_of partial "$counts")" 0 "the reader never read a partial or mixed file"
is "$(count_of other "$counts")" 0 "the reader met no other error"
ok "the reader read DEST/data" test "$(count_of good "$counts")" -gt 0
echo "# versions next to DEST: $(lab run client1 "ls -a $D | grep -c '^\.lockbuild-v\.'")"
lab run client2 "i=0; while [ \"\$(cat $D/out/n)\" != $ROUNDS ] && [ \$i -lt 900 ]; do i=\$((i + 1)); sleep 0.1; done"
is "$(lab run client2 "cat $D/out/n")" "$ROUNDS" "client2 sees the last version (within its attribute cache time)"

if [ "$GLB" != /lb/src/lockbuild ]; then
	lab run client1 "rm -rf $D"
	done_testing
	exit
fi

# --- a real directory DEST: converted once ----------------------------------

lab run client1 "mkdir $D/conv && echo old >$D/conv/n"
lab run client1 "$GLB -o $D/conv $L conv sh $D/build 1"
is "$?" 0 "a real directory DEST is replaced"
lab run client1 "[ -L $D/conv ] && [ -d $D/conv ]"
is "$?" 0 "it is a link to a version now"
is "$(lab run client1 "cat $D/conv/n")" 1 "with the new content"
is "$(lab run client1 "cat $D/.lockbuild-v.*.conv/n | sort | tr '\n' ' '")" "1 old " \
	"the old directory is kept as the previous version"

# --- --if-changed and --once on the link -------------------------------------------

was=$(lab run client1 "readlink $D/conv")
lab run client1 "$GLB --if-changed -o $D/conv $L conv sh $D/build 1"
is "$?" 0 "--if-changed with the same output exits 0"
is "$(lab run client1 "readlink $D/conv")" "$was" "and leaves the link as it was"
lab run client1 "$GLB --if-changed -o $D/conv $L conv sh $D/build 2"
is "$(lab run client1 "cat $D/conv/n")" 2 "--if-changed with new output publishes it"
lab run client1 "$GLB --once -o $D/conv $L conv sh -c 'echo ran >$D/ran'"
lab run client1 "[ ! -e $D/ran ]"
is "$?" 0 "--once: the link counts as DEST existing"

lab run client1 "rm -rf $D"
done_testing
