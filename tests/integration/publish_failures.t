# Publish mode when the build fails: COMMAND's exit status or 128+N for a
# signal, 65 for a --check that refuses or for no output (-f without a file,
# an empty directory unless --allow-empty, COMMAND deleting its staging
# directory), 143 when lockbuild itself gets SIGTERM; in every case DEST is
# untouched (same bytes, same inode) and the staging container is removed,
# unless --keep-failed, which keeps it and prints its path.  A --check that
# inspects $LOCKBUILD_STAGING and passes lets the output be published.
# shellcheck disable=SC1091,SC2016 # lib.sh is found at run time; sh -c expands
. "$TESTS_DIR/lib.sh"

L=$T/locks
W=$T/w
mkdir "$W"

# snap PATH: inode, mtime and content checksums of a file or a tree.
snap() {
	stat -c '%i %Y %a' "$1"
	if [ -d "$1" ]; then
		(cd "$1" && find . -printf '%p %y %m\n' | LC_ALL=C sort &&
			find . -type f -exec sha256sum {} + | LC_ALL=C sort)
	else
		sha256sum <"$1"
	fi
}

mkdir "$W/d"
echo old >"$W/d/f"
mkdir "$W/d/sub"
echo old >"$W/d/sub/g"
echo old >"$W/f"
touch -d '2001-02-03 04:05:06' "$W/d" "$W/f"
D0=$(snap "$W/d")
F0=$(snap "$W/f")

# untouched LABEL: DEST dir and file as they were, no staging left.
untouched() {
	is "$(snap "$W/d")" "$D0" "$1: directory DEST untouched (bytes, inode, mtime)"
	is "$(snap "$W/f")" "$F0" "$1: file DEST untouched"
	is "$(leftovers "$W")" "" "$1: staging removed"
}

# --- COMMAND fails -----------------------------------------------------------

"$LB" "$L" k -o "$W/d" sh -c 'echo new >"$LOCKBUILD_STAGING/f"; exit 3' \
	2>"$T/err"
is "$?" 3 "COMMAND exits 3: lockbuild exits 3"
like "$(cat "$T/err")" "^lockbuild: .*status 3" "COMMAND exits 3: says so"
"$LB" "$L" k -o "$W/f" -f sh -c 'echo new >"$LOCKBUILD_STAGING"; exit 3' \
	2>"$T/err"
is "$?" 3 "COMMAND exits 3 (-f): lockbuild exits 3"
untouched "COMMAND exits 3"

"$LB" "$L" k -o "$W/d" sh -c 'echo new >"$LOCKBUILD_STAGING/f"; kill -KILL $$' \
	2>"$T/err"
is "$?" 137 "COMMAND killed by SIGKILL: exit 137"
like "$(cat "$T/err")" "^lockbuild: .*signal 9" "COMMAND killed by SIGKILL: says so"
"$LB" "$L" k -o "$W/f" -f sh -c 'echo new >"$LOCKBUILD_STAGING"; kill -USR1 $$' \
	2>"$T/err"
is "$?" 138 "COMMAND killed by SIGUSR1 (-f): exit 138"
untouched "COMMAND killed by a signal"

# COMMAND died of SIGINT: lockbuild dies of SIGINT too (the spec's rule, so
# that a calling shell loop stops), not just exit 130.
if command -v perl >/dev/null; then
	how=$(perl -e 'system(@ARGV); printf "%d/%d", $? >> 8, $? & 127' \
		"$LB" "$L" k -o "$W/d" sh -c \
		'echo new >"$LOCKBUILD_STAGING/f"; kill -INT $$' 2>/dev/null)
	is "$how" "0/2" "COMMAND killed by SIGINT: lockbuild dies of SIGINT (status/signal)"
	untouched "COMMAND killed by SIGINT"
else
	skip "no perl to see how lockbuild died"
fi

# --- --check -----------------------------------------------------------------

"$LB" "$L" k -o "$W/d" --check false sh -c 'echo new >"$LOCKBUILD_STAGING/f"' \
	2>"$T/err"
is "$?" 65 "--check false: exit 65"
like "$(cat "$T/err")" "^lockbuild: .*--check" "--check false: says --check refused"
"$LB" "$L" k -o "$W/f" -f --check 'exit 1' \
	sh -c 'echo new >"$LOCKBUILD_STAGING"' 2>"$T/err"
is "$?" 65 "--check 'exit 1' (-f): exit 65"
untouched "--check refused"

# A check that looks at the staged output (and the environment COMMAND had).
check='grep -qx good "$LOCKBUILD_STAGING/f" &&
	[ "$LOCKBUILD_DEST" = "$CHECK_DEST" ] && [ "$LOCKBUILD_KEY" = k ]'
CHECK_DEST=$W/checked "$LB" "$L" k -o "$W/checked" --check "$check" \
	sh -c 'echo good >"$LOCKBUILD_STAGING/f"'
is "$?" 0 "--check inspecting \$LOCKBUILD_STAGING passes: exit 0"
is "$(cat "$W/checked/f" 2>/dev/null)" "good" "--check passed: output published"
CHECK_DEST=$W/checked "$LB" "$L" k -o "$W/checked" --check "$check" \
	sh -c 'echo bad >"$LOCKBUILD_STAGING/f"' 2>"$T/err"
is "$?" 65 "--check inspecting \$LOCKBUILD_STAGING fails: exit 65"
is "$(cat "$W/checked/f")" "good" "--check failed: DEST keeps the old output"
"$LB" "$L" k -o "$W/f" -f --check 'grep -qx good "$LOCKBUILD_STAGING"' \
	sh -c 'echo good >"$LOCKBUILD_STAGING"' &&
	cp "$W/f" "$T/f.published"
is "$(cat "$T/f.published" 2>/dev/null)" "good" "--check on -f output passes: published"
echo old >"$W/f"
touch -d '2001-02-03 04:05:06' "$W/f"
F0=$(snap "$W/f")

# --- no output ---------------------------------------------------------------

"$LB" "$L" k -o "$W/f" -f true 2>"$T/err"
is "$?" 65 "-f and no file created: exit 65"
like "$(cat "$T/err")" "^lockbuild: .*(no file|created no)" \
	"-f and no file created: message names the problem"
"$LB" "$L" k -o "$W/f" -f sh -c 'mkdir "$LOCKBUILD_STAGING"' 2>"$T/err"
is "$?" 65 "-f and COMMAND made a directory: exit 65"
like "$(cat "$T/err")" "^lockbuild: .*directory" \
	"-f and a directory: message names the problem"

"$LB" "$L" k -o "$W/d" true 2>"$T/err"
is "$?" 65 "empty directory output: exit 65"
like "$(cat "$T/err")" "^lockbuild: .*empty" "empty directory output: message says empty"

"$LB" "$L" k -o "$W/d" sh -c 'rm -rf "$LOCKBUILD_STAGING"' 2>"$T/err"
is "$?" 65 "COMMAND deleting \$LOCKBUILD_STAGING: exit 65"
like "$(cat "$T/err")" "^lockbuild: .*staging" \
	"COMMAND deleting \$LOCKBUILD_STAGING: message names the problem"
"$LB" "$L" k -o "$W/d" sh -c 'rm -rf "$LOCKBUILD_STAGING"; : >"$LOCKBUILD_STAGING"' \
	2>"$T/err"
is "$?" 65 "COMMAND replacing \$LOCKBUILD_STAGING by a file: exit 65"
untouched "no output"

"$LB" "$L" k -o "$W/empty" --allow-empty true
is "$?" 0 "--allow-empty: exit 0"
ok "--allow-empty: DEST is a directory" test -d "$W/empty"
is "$(ls -A "$W/empty")" "" "--allow-empty: DEST is empty"

# --- DEST appears while building (first publish) -----------------------------

# The spec: the first publish never overwrites a DEST that appeared
# meanwhile; exit 73, "DEST appeared while building", the newcomer stays.
"$LB" "$L" k -o "$W/late" sh -c 'echo mine >"$LOCKBUILD_STAGING/f"
	mkdir "$LOCKBUILD_DEST" && echo theirs >"$LOCKBUILD_DEST/g"' 2>"$T/err"
is "$?" 73 "directory DEST appearing while building: exit 73"
like "$(cat "$T/err")" "^lockbuild: .*appeared" \
	"directory DEST appearing while building: says so"
is "$(find "$W/late" -mindepth 1 -printf '%f ')" "g " \
	"directory DEST appearing while building: the newcomer is kept"
"$LB" "$L" k -o "$W/latef" -f sh -c 'echo mine >"$LOCKBUILD_STAGING"
	echo theirs >"$LOCKBUILD_DEST"' 2>"$T/err"
is "$?" 73 "file DEST appearing while building: exit 73"
is "$(cat "$W/latef")" "theirs" "file DEST appearing while building: the newcomer is kept"
is "$(leftovers "$W")" "" "DEST appearing while building: staging removed"
rm -rf "$W/late" "$W/latef"

# --- --keep-failed -------------------------------------------------------------

"$LB" "$L" k -o "$W/d" --keep-failed sh -c '
	printf "%s\n" "$LOCKBUILD_STAGING" >"$0/staging"
	echo new >"$LOCKBUILD_STAGING/f"; exit 1' "$T" 2>"$T/err"
is "$?" 1 "--keep-failed: COMMAND's status"
S=$(cat "$T/staging")
like "$(cat "$T/err")" "^lockbuild: .*$S" "--keep-failed: prints the staging path"
ok "--keep-failed: staging dir kept" test -d "$S"
is "$(cat "$S/f" 2>/dev/null)" "new" "--keep-failed: with COMMAND's output"
is "$(snap "$W/d")" "$D0" "--keep-failed: DEST untouched"
rm -rf "$(dirname "$S")"
"$LB" "$L" k -o "$W/d" --keep-failed --check false \
	sh -c 'echo new >"$LOCKBUILD_STAGING/f"' 2>"$T/err"
is "$?" 65 "--keep-failed with --check false: exit 65"
S=$(sed -n "s/.*staging kept in '\\(.*\\)'.*/\\1/p" "$T/err")
ok "--keep-failed with --check false: staging kept ($S)" test -f "$S/f"
[ -n "$S" ] && rm -rf "$(dirname "$S")"
untouched "--keep-failed (after removing the kept dirs)"

# --- lockbuild gets SIGTERM while COMMAND runs --------------------------------

# COMMAND ends when the forwarded SIGTERM reaches it (exec: no shell left
# behind to keep the lock); the sleep bounds the test if it never comes.
rm -f "$T/started"
"$LB" "$L" k -o "$W/d" sh -c 'echo new >"$LOCKBUILD_STAGING/f"
	: >"$0/started"; exec sleep 10' "$T" 2>"$T/err" &
pid=$!
ok "SIGTERM: COMMAND started" wait_for "$T/started"
kill -TERM "$pid"
wait "$pid"
is "$?" 143 "SIGTERM to lockbuild while COMMAND runs: exit 143"

# COMMAND that catches SIGTERM and exits 0 anyway: still not published.
rm -f "$T/started"
"$LB" "$L" k -o "$W/d" sh -c 'trap "exit 0" TERM
	echo new >"$LOCKBUILD_STAGING/f"; : >"$0/started"; i=0
	while [ "$i" -lt 500 ]; do i=$((i + 1)); sleep 0.02; done' "$T" \
	2>"$T/err" &
pid=$!
ok "SIGTERM, COMMAND exits 0: COMMAND started" wait_for "$T/started"
kill -TERM "$pid"
wait "$pid"
is "$?" 143 "SIGTERM to lockbuild, COMMAND exits 0 on it: exit 143"
untouched "SIGTERM"
is "$(ls -A "$L")" "" "no lock or owner file left after all these failures"

done_testing
