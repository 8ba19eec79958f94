# Publishing with few descriptors left (ulimit -n) and deep trees.  A
# build that cannot have the descriptors it needs fails with a clear
# "Too many open files" and leaves no staging container behind; removing
# a tree (a replaced DEST, a discarded build) holds a bounded number of
# descriptors whatever its depth, and so does comparing one with DEST
# (--if-changed), so a 100-deep tree goes under a limit of 20.  COMMAND
# is mkdir alone: a shell with redirections needs descriptors of its own.
# shellcheck disable=SC1091,SC2016 # lib.sh is found at run time; sh -c expands
. "$TESTS_DIR/lib.sh"

L=$T/locks
P=$T/pub
mkdir "$P"
deep=$(printf 'd/%.0s' $(seq 100))
two=a/b

for n in 6 8 12; do
	(ulimit -n "$n" && exec "$LB" "$L" k -o "$P/x" mkdir -p "$P/x.ran") \
		2>"$T/err"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		_result 0 "ulimit -n $n: published"
	else
		like "$(cat "$T/err")" "Too many open files" \
			"ulimit -n $n: fails saying so (exit $rc)"
	fi
	is "$(leftovers "$P")" "" "ulimit -n $n: no staging left behind"
	(ulimit -n "$n" && exec "$LB" --if-changed "$L" k -o "$P/two" sh -c \
		'mkdir -p "$LOCKBUILD_STAGING/$0"' "$two") 2>"$T/err"
	is "$(leftovers "$P")" "" \
		"ulimit -n $n, --if-changed on a two-level tree: nothing left"
done

"$LB" "$L" k -o "$P/deep" sh -c 'mkdir -p "$LOCKBUILD_STAGING/$0"' "$deep"
is "$?" 0 "a 100-deep tree: published"
(ulimit -n 20 && exec "$LB" "$L" k -o "$P/deep" \
	sh -c 'mkdir -p "$LOCKBUILD_STAGING/$0"' "$deep") 2>"$T/err"
is "$?" 0 "ulimit -n 20: a 100-deep tree replaced by another"
is "$(cat "$T/err")" "" "ulimit -n 20: the old 100-deep tree removed quietly"
is "$(leftovers "$P")" "" "ulimit -n 20: no staging left behind"
(ulimit -n 20 && exec "$LB" "$L" k -o "$P/deep" \
	sh -c 'mkdir -p "$LOCKBUILD_STAGING/$0" && exit 3' "$deep") 2>/dev/null
is "$?" 3 "ulimit -n 20: a failed 100-deep build: COMMAND's status"
is "$(leftovers "$P")" "" "ulimit -n 20: its staging tree removed"
# Comparing holds a bounded number of descriptors too: the same tree
# again leaves DEST alone, one that differs only at the bottom replaces it.
ino=$(stat -c %i "$P/deep")
(ulimit -n 20 && exec "$LB" --if-changed "$L" k -o "$P/deep" \
	sh -c 'mkdir -p "$LOCKBUILD_STAGING/$0"' "$deep") 2>"$T/err"
is "$?" 0 "ulimit -n 20, --if-changed on the same 100-deep tree: exit 0"
is "$(cat "$T/err")" "" "ulimit -n 20, --if-changed, the same tree: quietly"
is "$(stat -c %i "$P/deep")" "$ino" \
	"ulimit -n 20, --if-changed, the same tree: DEST untouched"
is "$(leftovers "$P")" "" \
	"ulimit -n 20, --if-changed on a 100-deep tree: nothing left"
(ulimit -n 20 && exec "$LB" --if-changed "$L" k -o "$P/deep" \
	sh -c 'mkdir -p "$LOCKBUILD_STAGING/$0" &&
	    touch "$LOCKBUILD_STAGING/$0/new"' "$deep") 2>"$T/err"
is "$?" 0 "ulimit -n 20, --if-changed, different at depth 100: exit 0"
is "$(cat "$T/err")" "" \
	"ulimit -n 20, --if-changed, different at depth 100: quietly"
ok "ulimit -n 20, --if-changed, different at depth 100: published" \
	test -f "$P/deep/$deep/new"
ok "ulimit -n 20, --if-changed, different at depth 100: DEST replaced" \
	test "$(stat -c %i "$P/deep")" != "$ino"
is "$(leftovers "$P")" "" \
	"ulimit -n 20, --if-changed, different at depth 100: nothing left"
ok "the 100-deep DEST is whole" test -d "$P/deep/$deep"

done_testing
