#!/bin/sh
# A LOCKDIR shared between users, for real: two raw uids (setpriv, no
# accounts needed) and root.  A second user waits its turn and then
# runs; nobody is locked out without a message naming the file and its
# owner; a reader who may not write LOCKDIR cannot hold up a key; a
# symbolic link planted in /tmp does not lead root elsewhere.  Needs
# root; skipped otherwise.
. "$TESTS_DIR/lib.sh"

A=61231 B=61232 G=61240
as() {	# as UID[:GID] COMMAND...
	_u=${1%%:*} _g=${1#*:}
	[ "$_g" = "$1" ] && _g=$_u
	shift
	setpriv --reuid="$_u" --regid="$_g" --clear-groups "$@"
}

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null 2>&1; then
	skip "needs root and setpriv to act as other users"
	done_testing
	exit
fi
# Others must reach the binary and our directories.
S=$(mktemp -d /tmp/lockbuild-mu.XXXXXX) || exit 1
chmod 755 "$S"
trap 'rm -rf "$T" "$S"' EXIT
cp "$LB" "$S/lockbuild" 2>/dev/null && chmod 755 "$S/lockbuild"
if ! as $A "$S/lockbuild" --version >/dev/null 2>&1; then
	skip "another user cannot run $LB"
	done_testing
	exit
fi
LB=$S/lockbuild
# Markers, where every user may write.
M=$S/m
mkdir "$M" && chmod 1777 "$M"

# hold_as UID DIR KEY LABEL [OPTS...]: UID holds KEY until $S/LABEL.release.
hold_as() {
	_u=$1 _d=$2 _k=$3 _l=$4
	shift 4
	as "$_u" timeout 30 "$LB" "$@" "$_d" "$_k" sh -c '
		: >"$0.in"
		i=0
		while [ ! -e "$0.release" ] && [ "$i" -lt 1000 ]; do
			i=$((i + 1)); sleep 0.02
		done' "$M/$_l" 2>"$M/$_l.err" &
	hpid=$!
	wait_for "$M/$_l.in" 10
}

# --- /tmp-like LOCKDIR: sticky, world-writable ----------------------------
L=$S/tmplocks
mkdir "$L" && chmod 1777 "$L"
hold_as $A "$L" k a1
# B must wait, then run: marker order tells that B ran after A let go.
as $B timeout 20 "$LB" -w 10 "$L" k sh -c 'test -e "$0" || echo early' "$M/a1.release" >"$S/b1.out" 2>"$S/b1.err" &
bpid=$!
sleep 0.3
ok "while A holds k, B waits (has not run)" test ! -s "$S/b1.out"
: >"$M/a1.release"
wait "$hpid"
reap "$bpid"
is "$rc" 0 "B, -w 10: runs once A lets go (exit 0)"
is "$(cat "$S/b1.out")" "" "B's COMMAND ran after A's release"
# (A's file may stay: if B took it before A could delete it, B may not
# delete it in a sticky directory.)
is "$(ls -A "$L" | grep -v '^k\.lock$')" "" "nothing else is left in LOCKDIR"
rm -f "$L/k.lock"

# -F leaves A's record behind: B still gets the key, and cleans what it may.
as $A "$LB" -F "$L" k true
is "$(stat -c '%u %a' "$L/k.lock")" "$A 666" \
	"a lock file in a world-writable LOCKDIR is 0666, owned by its maker"
as $B timeout 10 "$LB" -w 5 "$L" k echo ran >"$S/b2.out" 2>"$S/b2.err"
is "$?" 0 "B takes a key whose file A's -F left behind"
is "$(cat "$S/b2.out")" ran "and its COMMAND ran"
as $B "$LB" --clean "$L" >/dev/null 2>"$S/b3.err"
is "$?" 1 "B's --clean cannot remove A's file in a sticky LOCKDIR: exit 1"
like "$(cat "$S/b3.err")" "cannot remove lock file '$L/k.lock'" \
	"B's --clean names the file it could not remove"
as $A "$LB" --clean "$L" >/dev/null 2>&1
is "$?" 0 "A's --clean removes it (exit 0)"
ok "and LOCKDIR is empty" test -z "$(ls -A "$L")"

# A file only its owner may write (root's, 0644, as older versions left).
printf 'pid=1\nsince=1\nstate=exec\n' | seal_record >"$L/old.lock"
chmod 644 "$L/old.lock"
elapsed_ms as $B timeout 10 "$LB" -w 5 "$L" old true 2>"$S/b4.err"
is "$rc" 77 "B on root's 0644 lock file: 77"
like "$(cat "$S/b4.err")" "'$L/old\.lock': it belongs to uid 0 and its mode 0644" \
	"the message names the file, its owner and its mode"
ok "B did not wait out -w 5 for a file it can never lock" test "$ms" -lt 4000
chmod 600 "$L/old.lock"
as $B timeout 10 "$LB" -w 5 "$L" old true 2>"$S/b5.err"
is "$?" 77 "B on root's 0600 lock file: 77"
like "$(cat "$S/b5.err")" "old\.lock'.*uid 0 and its mode 0600" \
	"the message names owner and mode"
out=$(as $B "$LB" --status "$L" 2>"$S/b6.err"); rc=$?
is "$rc" 1 "B's --status on a key it cannot judge: exit 1, not 0"
like "$out" "^old: unknown" "B's --status shows it as unknown"
like "$(cat "$S/b6.err")" "cannot judge 'old': .*uid 0, mode 0600" \
	"B's --status says why it could not judge it"
json=$(as $B "$LB" --status --json "$L" 2>/dev/null)
like "$json" '"lock":"unknown"' "JSON says unknown too"
as $B "$LB" --clean "$L" >/dev/null 2>"$S/b7.err"
is "$?" 1 "B's --clean on a key it cannot open: exit 1"
like "$(cat "$S/b7.err")" "old\.lock" "and names the file"
rm -f "$L/old.lock"

# --- a LOCKDIR only root may write: readers cannot hold up a key ----------
R=$S/rootlocks
mkdir "$R" && chmod 755 "$R"
"$LB" -F "$R" k true	# leaves its file
is "$(stat -c %a "$R/k.lock")" 600 "lock file in root's 0755 LOCKDIR: 0600"
as $A sh -c 'exec 3<"$0"' "$R/k.lock" 2>/dev/null
is "$?" 2 "another user cannot even open it (and so cannot read-lock it)"
elapsed_ms timeout 10 "$LB" -w 3 "$R" k true
is "$rc" 0 "root takes the key at once"

# --- a symbolic link planted in a sticky directory --------------------------
V=$S/victim
mkdir "$V" && chown $A "$V"
printf '# yarn lockfile v1\n' >"$V/precious"
chown $A "$V/precious"
mkdir "$S/tmp" && chmod 1777 "$S/tmp"
as $B ln -s "$V" "$S/tmp/locks"
elapsed_ms timeout 10 "$LB" "$S/tmp/locks" k touch "$S/ran" 2>"$S/l.err"
is "$rc" 77 "root refuses a LOCKDIR link that B planted in a sticky dir: 77"
like "$(cat "$S/l.err")" "refusing to follow symbolic link '$S/tmp/locks', owned by uid $B" \
	"the message names the link and its owner"
is "$(ls -A "$V")" precious "nothing was created in the victim's directory"
ok "COMMAND did not run" test ! -e "$S/ran"
"$LB" --clean "$S/tmp/locks" 2>/dev/null
is "$?" 77 "--clean refuses the planted link too"
as $A "$LB" "$S/tmp/locks" k true
is "$?" 77 "so does A, whose directory it points at"
mkdir "$S/bdir" && chown $B "$S/bdir"
rm "$S/tmp/locks"
as $B ln -s "$S/bdir" "$S/tmp/locks"
as $B "$LB" "$S/tmp/locks" k true
is "$?" 0 "B may follow its own link"
rm "$S/tmp/locks"
ln -s "$V" "$S/tmp/locks"	# root's own link
"$LB" "$S/tmp/locks" k true
is "$?" 0 "root follows a link that root owns"
ln -s "$S/tmp/locks" "$S/via"
as $B ln -s "$V" "$S/tmp/inner"
"$LB" "$S/tmp/inner/." k true 2>/dev/null
is "$?" 77 "a planted link in the middle of the path is refused too"
rm -f "$S/tmp/locks" "$S/tmp/inner" "$S/via"

# --- LOCKDIR with write and search permission only ---------------------------
W=$S/wx
mkdir "$W" && chown $A "$W" && chmod 733 "$W"
as $B timeout 10 "$LB" "$W" k echo ok >"$S/wx.out" 2>"$S/wx.err"
is "$?" 0 "a 0733 LOCKDIR is usable by another user"
is "$(cat "$S/wx.out")" ok "and COMMAND ran"
as $B "$LB" --status "$W" k >/dev/null 2>&1
is "$?" 0 "--status of a named key works there"
as $B "$LB" --status "$W" >/dev/null 2>"$S/wx2.err"
is "$?" 77 "--status listing a LOCKDIR it may not read: 77"
like "$(cat "$S/wx2.err")" "cannot read LOCKDIR '$W'" "and says so"

# --- a group-shared LOCKDIR (setgid, group-writable) ------------------------
GD=$S/group
mkdir "$GD" && chgrp $G "$GD" && chmod 2770 "$GD"
hold_as $A:$G "$GD" k g1
is "$(stat -c '%a %g' "$GD/k.lock")" "660 $G" "lock file in a 2770 LOCKDIR: 0660, the directory's group"
as $B:$G timeout 10 "$LB" -n "$GD" k true 2>"$S/g.err"
is "$?" 75 "another group member sees the key busy (75)"
like "$(cat "$S/g.err")" "pid [0-9]+ .*; not waiting" "and who holds it"
: >"$M/g1.release"
wait "$hpid"
as $B:$G timeout 10 "$LB" -w 5 "$GD" k true
is "$?" 0 "then takes it"
as $A "$LB" -n "$GD" k true 2>/dev/null
is "$?" 77 "a user outside the group cannot use that LOCKDIR (77)"

done_testing
