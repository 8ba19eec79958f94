#!/bin/sh
# The replaced DEST is deleted after the key is let go: the next holder
# does not wait for an old tree of 20,000 files to be removed (which over
# NFS takes minutes).  Its COMMAND finds the previous lockbuild still at
# work, and in the end nothing is left.
. "$TESTS_DIR/lib.sh"

if under_valgrind; then
	skip "valgrind: too slow to race a tree deletion"
	done_testing
	exit
fi
L=$T/locks D=$T/out
"$LB" -o "$D" "$L" k sh -c 'cd "$LOCKBUILD_STAGING" && seq 1 20000 | xargs touch'
is "$(ls "$D" | wc -l | tr -d ' ')" 20000 "an old DEST of 20,000 files"

"$LB" -o "$D" "$L" k sh -c 'echo new >"$LOCKBUILD_STAGING/f"; : >"$0/a.in"
	i=0; while [ ! -e "$0/a.go" ] && [ $i -lt 1500 ]; do i=$((i+1)); sleep 0.02; done' "$T" &
a=$!
wait_for "$T/a.in"
"$LB" -w 30 "$L" k sh -c 'if kill -0 "$0" 2>/dev/null; then echo running; else echo exited; fi' "$a" >"$T/b.out" &
b=$!
# B waits in the kernel for the key: its lock file is open.
i=0
until ls -l "/proc/$b/fd" 2>/dev/null | grep -q 'k\.lock' || [ $i -gt 500 ]; do
	sleep 0.02; i=$((i + 1))
done
: >"$T/a.go"
reap "$a"
is "$rc" 0 "A republishes DEST"
reap "$b"
is "$rc" 0 "B, waiting meanwhile, runs"
is "$(cat "$T/b.out")" running \
	"B's COMMAND ran while A was still deleting the old tree"
is "$(ls "$D")" f "DEST is the new version"
is "$(leftovers "$T")" "" "no staging container is left"
ok "LOCKDIR is empty" test -z "$(ls -A "$L")"
done_testing
