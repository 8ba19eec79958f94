# Publish mode and staging leftovers: the container of a build whose
# lockbuild was SIGKILLed is removed by the next run of that DEST, which
# says "removed leftover staging dir"; a container that another live
# lockbuild is using for the same DEST under a different KEY is left alone
# (it holds an flock on it), as are containers of other DESTs and names that
# only look like containers; removing an old tree or a leftover never
# follows a symlink out of it (nor a container name that is a symlink), and
# never descends into another mounted filesystem.
# shellcheck disable=SC1091,SC2016 # lib.sh is found at run time; sh -c expands
. "$TESTS_DIR/lib.sh"

L=$T/locks
W=$T/w
mkdir "$W"

# A COMMAND that writes $1 into the output, records its staging path in
# $0/staging-$1, says it started, and waits for $0/go-$1 (at most 10 s).
cat >"$T/slow" <<'EOF'
#!/bin/sh
echo "$2" >"$LOCKBUILD_STAGING/f"
printf '%s\n' "$LOCKBUILD_STAGING" >"$1/staging-$2"
: >"$1/started-$2"
i=0
while [ ! -e "$1/go-$2" ]; do
	i=$((i + 1))
	[ "$i" -gt 500 ] && exit 1
	sleep 0.02
done
: >"$1/ended-$2"
EOF
chmod +x "$T/slow"

# --- a killed build's container is removed by the next run ---------------------

"$LB" "$L" k -o "$W/d" "$T/slow" "$T" killed 2>/dev/null &
pid=$!
ok "killed build: COMMAND started" wait_for "$T/started-killed"
kill -KILL "$pid"
wait "$pid" 2>/dev/null	# no "Killed" from the shell
is "$?" 137 "killed build: lockbuild SIGKILLed"
C=$(leftovers "$W")
like "$C" '^\.lockbuild\.[A-Za-z0-9]{8}\.d$' "killed build: its container is left next to DEST"
# COMMAND still holds the key (inherited descriptor): let it finish.
: >"$T/go-killed"
ok "killed build: COMMAND ran to its end" wait_for "$T/ended-killed"

timeout 10 "$LB" "$L" k -o "$W/d" sh -c 'echo next >"$LOCKBUILD_STAGING/f"' \
	2>"$T/err"
is "$?" 0 "next run: exit 0"
like "$(cat "$T/err")" "removed leftover staging dir '$W/$C'" \
	"next run: says it removed the leftover, naming it"
like "$(cat "$T/err")" "previous holder .* exited without releasing \\(state building\\)" \
	"next run: says the previous holder died while building"
is "$(leftovers "$W")" "" "next run: the leftover container is gone"
is "$(cat "$W/d/f")" "next" "next run: published"
is "$(ls -A "$L")" "" "next run: no lock or owner file left"

# --- a live container under another KEY is left alone ------------------------------

"$LB" "$L" keyA -o "$W/d" "$T/slow" "$T" A 2>"$T/errA" &
pidA=$!
ok "live build A (keyA) started" wait_for "$T/started-A"
SA=$(cat "$T/staging-A")
timeout 10 "$LB" "$L" keyB -o "$W/d" sh -c 'echo B >"$LOCKBUILD_STAGING/f"' \
	2>"$T/errB"
is "$?" 0 "build B of the same DEST under keyB: exit 0"
is "$(cat "$T/errB")" "" "build B: no leftover reported"
ok "build B: A's container still exists" test -d "$(dirname "$SA")"
is "$(cat "$SA/f" 2>/dev/null)" "A" "build B: A's staged output intact"
is "$(cat "$W/d/f")" "B" "build B: published"
: >"$T/go-A"
wait "$pidA"
is "$?" 0 "build A finishes: exit 0"
is "$(cat "$W/d/f")" "A" "build A: published over B"
is "$(leftovers "$W")" "" "no .lockbuild.* left after A and B"

# --- other DESTs' containers and lookalikes are left alone ------------------------

mkdir "$W/.lockbuild.AbCd1234.other" "$W/.lockbuild.short.d" \
	"$W/.lockbuild.AbCd12345.d" "$W/.lockbuild.AbCd1234.dd"
"$LB" "$L" k -o "$W/d" sh -c 'echo x >"$LOCKBUILD_STAGING/f"' 2>"$T/err"
is "$?" 0 "with unrelated .lockbuild.* names around: exit 0"
is "$(leftovers "$W" | tr '\n' ' ')" \
	".lockbuild.AbCd1234.dd .lockbuild.AbCd1234.other .lockbuild.AbCd12345.d .lockbuild.short.d " \
	"containers of other DESTs and lookalike names are left alone"
is "$(cat "$T/err")" "" "nothing reported about them"
rmdir "$W"/.lockbuild.*

# --- removal never follows symlinks ---------------------------------------------

mkdir "$T/victim" "$T/victim/sub"
echo precious >"$T/victim/file"
echo precious >"$T/victim/sub/file"
victim() {	# victim LABEL: the victim tree is intact
	is "$(cd "$T/victim" && find . -printf '%p %y\n' | LC_ALL=C sort | tr '\n' ' ')" \
		". d ./file f ./sub d ./sub/file f " "$1: victim directory intact"
	is "$(cat "$T/victim/file" "$T/victim/sub/file" | tr '\n' ' ')" \
		"precious precious " "$1: victim files intact"
}

"$LB" "$L" k -o "$W/s" sh -c '
	cd "$LOCKBUILD_STAGING" || exit 1
	ln -s "$0/victim" vdir
	ln -s "$0/victim/file" vfile
	mkdir deep && ln -s "$0/victim/sub" deep/vsub
	ln -s ../../victim up' "$T"
is "$?" 0 "DEST with symlinks out of it: published"
"$LB" "$L" k -o "$W/s" sh -c 'echo new >"$LOCKBUILD_STAGING/f"'
is "$?" 0 "replacing it: exit 0"
is "$(ls -A "$W/s")" "f" "replacing it: new DEST in place"
is "$(leftovers "$W")" "" "replacing it: old tree removed"
victim "deleting the old tree"

# A dead build's container with links out of it, and a read-only dir.
C=$W/.lockbuild.Zy9Xw8Vu.s
mkdir -m 700 "$C"
mkdir "$C/s" "$C/s/ro"
ln -s "$T/victim" "$C/vdir"
ln -s "$T/victim/file" "$C/s/vfile"
ln -s "$T/victim/sub" "$C/s/ro/vsub"
echo x >"$C/s/ro/x"
chmod 555 "$C/s/ro"
"$LB" "$L" k -o "$W/s" sh -c 'echo newer >"$LOCKBUILD_STAGING/f"' 2>"$T/err"
is "$?" 0 "sweeping a leftover with links out of it: exit 0"
like "$(cat "$T/err")" "removed leftover staging dir '$C'" "sweeping: reported"
is "$(leftovers "$W")" "" "sweeping: leftover removed"
victim "sweeping a leftover"

# A symlink named like a container is not followed.
ln -s "$T/victim" "$W/.lockbuild.Link0000.s"
"$LB" "$L" k -o "$W/s" sh -c 'echo newest >"$LOCKBUILD_STAGING/f"' 2>"$T/err"
is "$?" 0 "a symlink named like a container: exit 0"
victim "a symlink named like a container"
rm -f "$W/.lockbuild.Link0000.s"

# --- removal does not descend into another mount (root only) ----------------------

if [ "$(id -u)" -eq 0 ] &&
    "$LB" "$L" k -o "$W/m" sh -c 'mkdir "$LOCKBUILD_STAGING/mnt"' &&
    mount -t tmpfs -o size=1m tmpfs "$W/m/mnt" 2>/dev/null; then
	echo keep >"$W/m/mnt/file"
	"$LB" "$L" k -o "$W/m" sh -c 'echo new >"$LOCKBUILD_STAGING/f"' 2>"$T/err"
	is "$?" 0 "old DEST with a mount inside: replaced, exit 0"
	is "$(ls -A "$W/m")" "f" "old DEST with a mount inside: new DEST in place"
	mnt=$(awk -v w="$W/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts)
	is "$(cat "$mnt/file" 2>/dev/null)" "keep" \
		"the mounted filesystem's files survive deleting the old tree"
	like "$(cat "$T/err")" "^lockbuild: .*cannot remove" \
		"the old tree that cannot go is reported"
	[ -n "$mnt" ] && { umount "$mnt" || umount -l "$mnt"; }
	rm -rf "$W"/.lockbuild.*
else
	skip "mounting a tmpfs needs root"
fi

done_testing
