# Publish mode, replacing an existing DEST: a directory DEST gets exactly the
# new content and nothing is left behind; a file DEST likewise; and a reader
# that keeps reading DEST while replacements run back to back never finds it
# missing or partial (directory: a MANIFEST of checksums; file: a checksum
# line at its end).
# shellcheck disable=SC1091,SC2016 # lib.sh is found at run time; sh -c expands
. "$TESTS_DIR/lib.sh"

L=$T/locks
W=$T/w
mkdir "$W"
ROUNDS=40

listing() {	# every path under DIR with its type, sorted
	(cd "$1" && find . -printf '%p %y\n' | LC_ALL=C sort)
}

# --- replacing a directory -------------------------------------------------

"$LB" "$L" k -o "$W/d" sh -c 'cd "$LOCKBUILD_STAGING" &&
	echo 1 >a && echo 1 >b && mkdir sub && echo 1 >sub/c'
is "$?" 0 "first publish of directory DEST"
old_ino=$(stat -c %i "$W/d")
"$LB" "$L" k -o "$W/d" sh -c 'cd "$LOCKBUILD_STAGING" &&
	echo 2 >a && mkdir new && echo 2 >new/n'
is "$?" 0 "replacing directory DEST: exit 0"
is "$(listing "$W/d")" ". d
./a f
./new d
./new/n f" "replaced directory holds exactly the new tree (b, sub/ gone)"
is "$(cat "$W/d/a") $(cat "$W/d/new/n")" "2 2" "replaced directory has the new bytes"
ok "replaced directory is a new inode" test "$(stat -c %i "$W/d")" != "$old_ino"
is "$(leftovers "$W")" "" "no .lockbuild.* (old tree) left after replacing a directory"
is "$(ls -A "$L")" "" "no lock or owner file left"

# --- replacing a file -----------------------------------------------------

"$LB" "$L" k -o "$W/f" -f sh -c 'echo one >"$LOCKBUILD_STAGING"'
is "$?" 0 "first publish of file DEST"
"$LB" "$L" k -o "$W/f" -f sh -c 'echo two >"$LOCKBUILD_STAGING"'
is "$?" 0 "replacing file DEST: exit 0"
is "$(cat "$W/f")" "two" "replaced file has the new content"
is "$(leftovers "$W")" "" "no .lockbuild.* left after replacing a file"

# --- readers during back-to-back replacements ------------------------------

# Builds version $1 of a tree: 20 files of different sizes, and MANIFEST
# with their checksums.  Every version differs in every file.
cat >"$T/maketree" <<'EOF'
#!/bin/sh
cd "$LOCKBUILD_STAGING" || exit 1
i=0
while [ "$i" -lt 20 ]; do
	j=0
	while [ "$j" -le "$i" ]; do
		echo "version $1 file $i line $j ................................"
		j=$((j + 1))
	done >"f$i"
	i=$((i + 1))
done
mkdir sub && echo "version $1" >sub/VERSION
sha256sum f* sub/VERSION >MANIFEST
EOF

# Builds version $1 of a file: payload, then the payload's checksum.
cat >"$T/makefile" <<'EOF'
#!/bin/sh
i=0
while [ "$i" -lt 300 ]; do
	echo "version $1 line $i ......................................"
	i=$((i + 1))
done >"$LOCKBUILD_STAGING.payload"
{
	cat "$LOCKBUILD_STAGING.payload"
	sha256sum <"$LOCKBUILD_STAGING.payload" | cut -d' ' -f1
} >"$LOCKBUILD_STAGING"
rm -f "$LOCKBUILD_STAGING.payload"
EOF

# Reads DEST until STOP exists (or the scratch dir is gone).  Appends one
# line per read to LOG: "ok VERSION", "missing", "partial", or "replaced".
# "replaced": the check failed inside a tree that is no longer DEST and was
# then deleted (link count 0): the reader was cd'd into the old tree while
# lockbuild removed it, which is by design, not a DEST that was partial.
# Creates READY after its first read.
cat >"$T/readdir" <<'EOF'
#!/bin/sh
dest=$1 stop=$2 log=$3 ready=$4
deleted() {	# the current directory gets deleted (waits at most 10 s)
	i=0
	while [ "$(stat -c %h .)" != 0 ]; do
		i=$((i + 1))
		[ "$i" -gt 500 ] && return 1
		sleep 0.02
	done
}
while [ ! -e "$stop" ] && [ -d "${stop%/*}" ]; do
	if ! cd "$dest" 2>/dev/null; then
		echo missing
	else
		ino=$(stat -c %i .)
		if sha256sum -c --status MANIFEST 2>/dev/null; then
			echo "ok $(cat sub/VERSION 2>/dev/null)"
		elif [ "$(stat -c %i "$dest" 2>/dev/null)" != "$ino" ] &&
		    deleted; then
			echo replaced
		else
			echo "partial $(ls | wc -l) entries"
		fi
		cd / || exit 1
	fi >>"$log"
	[ -e "$ready" ] || : >"$ready"
done
EOF

cat >"$T/readfile" <<'EOF'
#!/bin/sh
dest=$1 stop=$2 log=$3 ready=$4 snap=$4.snap
while [ ! -e "$stop" ] && [ -d "${stop%/*}" ]; do
	# One open: cat reads one inode, old or new, to its end.
	if ! cat "$dest" >"$snap" 2>/dev/null; then
		echo missing
	elif [ "$(sed '$d' "$snap" | sha256sum | cut -d' ' -f1)" = \
	    "$(tail -n 1 "$snap")" ]; then
		echo "ok $(head -n 1 "$snap" | cut -d' ' -f2)"
	else
		echo "partial $(wc -c <"$snap") bytes"
	fi >>"$log"
	[ -e "$ready" ] || : >"$ready"
done
EOF
chmod +x "$T/maketree" "$T/makefile" "$T/readdir" "$T/readfile"

# race KIND DEST MAKER READER [-f]: publishes version 0, starts READER, runs
# ROUNDS replacements back to back, stops the reader, checks its log.
race() {
	_kind=$1 _dest=$2 _make=$3 _read=$4
	shift 4
	"$LB" "$L" "race-$_kind" -o "$_dest" "$@" "$_make" 0
	is "$?" 0 "$_kind: version 0 published"
	"$_read" "$_dest" "$T/stop-$_kind" "$T/log-$_kind" "$T/ready-$_kind" &
	_rpid=$!
	ok "$_kind: reader started" wait_for "$T/ready-$_kind"
	_v=1 _fails=0
	while [ "$_v" -le "$ROUNDS" ]; do
		timeout 10 "$LB" "$L" "race-$_kind" -o "$_dest" "$@" "$_make" "$_v" ||
			_fails=$((_fails + 1))
		_v=$((_v + 1))
	done
	: >"$T/stop-$_kind"
	wait "$_rpid"
	is "$_fails" 0 "$_kind: $ROUNDS replacements back to back all exit 0"
	_log=$T/log-$_kind
	_reads=$(wc -l <"$_log" | tr -d ' ')
	_bad=$(grep -c -e '^missing' -e '^partial' "$_log")
	is "$_bad" 0 "$_kind: reader never saw DEST missing or partial ($_reads reads)"
	grep -e '^missing' -e '^partial' "$_log" | sort | uniq -c | sed 's/^/# /'
	_seen=$(grep '^ok' "$_log" | sort -u | wc -l | tr -d ' ')
	ok "$_kind: reader saw several versions ($_seen) while they were replaced" \
		test "$_seen" -ge 2
	_gone=$(grep -c '^replaced' "$_log")
	[ "$_gone" -eq 0 ] ||
		echo "# $_kind: $_gone reads were inside an old tree as it was deleted"
	is "$(leftovers "$(dirname "$_dest")")" "" "$_kind: no .lockbuild.* left"
}

race dir "$W/tree" "$T/maketree" "$T/readdir"
is "$(cat "$W/tree/sub/VERSION")" "version $ROUNDS" "dir: DEST is the last version"
race file "$W/file" "$T/makefile" "$T/readfile" -f
is "$(head -n 1 "$W/file" | cut -d' ' -f2)" "$ROUNDS" "file: DEST is the last version"

done_testing
