# Publish mode with --if-changed: identical output leaves DEST alone (same
# mtime and inode, also of a file inside) and leaves no staging behind; a
# content change (same size, same mtime), a new file, a removed file, an
# exec-bit change and a changed symlink target each do replace DEST; the
# same for -f output.
# shellcheck disable=SC1091,SC2016 # lib.sh is found at run time; sh -c expands
. "$TESTS_DIR/lib.sh"

umask 022
L=$T/locks
W=$T/w
SRC=$T/src
mkdir "$W" "$SRC"

# COMMAND: copies $SRC into the staging dir, keeping modes, times, links.
publish() {
	"$LB" "$L" k -o "$W/d" --if-changed \
		sh -c 'cp -a "$0/." "$LOCKBUILD_STAGING/"' "$SRC" 2>"$T/err"
}

# ids: DEST's mtime and inode, and the inode of a file inside.
ids() {
	echo "$(stat -c '%Y %i' "$W/d") $(stat -c %i "$W/d/a")"
}

echo aaaa >"$SRC/a"
echo bbbb >"$SRC/b"
mkdir "$SRC/sub"
echo cccc >"$SRC/sub/c"
: >"$SRC/empty"
ln -s a "$SRC/link"
chmod 644 "$SRC/a" "$SRC/b"

publish
is "$?" 0 "--if-changed with no DEST yet: published"
ok "--if-changed with no DEST yet: DEST exists" test -f "$W/d/sub/c"
# An old mtime, so that a replacement within the same second still shows.
touch -d '2001-02-03 04:05:06' "$W/d"
before=$(ids)

publish
is "$?" 0 "identical output: exit 0"
is "$(ids)" "$before" "identical output: DEST's mtime and inode, and a file's inode, unchanged"
is "$(leftovers "$W")" "" "identical output: no .lockbuild.* left"
is "$(ls -A "$L")" "" "identical output: no lock or owner file left"

# Same again with the staged copy made at another time (cp without -a):
# times differ, names/types/bytes/links/modes do not.
"$LB" "$L" k -o "$W/d" --if-changed sh -c '
	cd "$0" && cp -R -P . "$LOCKBUILD_STAGING/"' "$SRC"
is "$?" 0 "identical output with other timestamps: exit 0"
is "$(ids)" "$before" "identical output with other timestamps: DEST untouched"

# changed DESCRIPTION CHECK...: after a change to $SRC, --if-changed
# replaces DEST and the change shows in it (CHECK runs after the publish).
changed() {
	_what=$1
	shift
	touch -d '2001-02-03 04:05:06' "$W/d"
	_before=$(ids)
	publish
	is "$?" 0 "$_what: exit 0"
	ok "$_what: DEST replaced (new inode, new mtime)" \
		test "$(ids)" != "$_before"
	ok "$_what: DEST has the change" "$@"
	is "$(leftovers "$W")" "" "$_what: no .lockbuild.* left"
}
link_is() {	# link_is TARGET: DEST/link points to TARGET
	[ "$(readlink "$W/d/link")" = "$1" ]
}

# Same size and same mtime: only the bytes tell.
printf 'aaab\n' >"$SRC/a.new"
touch -r "$SRC/a" "$SRC/a.new"
chmod 644 "$SRC/a.new"
mv "$SRC/a.new" "$SRC/a"
changed "content change (same size, same mtime)" grep -qx aaab "$W/d/a"

echo new >"$SRC/sub/new"
changed "new file" test -f "$W/d/sub/new"

rm "$SRC/b"
changed "removed file" test ! -e "$W/d/b"

chmod +x "$SRC/a"
changed "exec bit set (chmod +x)" test -x "$W/d/a"

ln -sfn z "$SRC/link"
changed "symlink target changed, same length (a -> z)" link_is z

ln -sfn sub/c "$SRC/link"
changed "symlink target changed (z -> sub/c)" link_is sub/c

mkdir "$SRC/newdir"
changed "new empty directory" test -d "$W/d/newdir"

chmod 640 "$SRC/sub/c"
mode_is() {	# mode_is PATH MODE
	[ "$(stat -c %a "$1")" = "$2" ]
}
changed "other permission bits (644 -> 640)" mode_is "$W/d/sub/c" 640

rm "$SRC/empty"
mkdir "$SRC/empty"
changed "type change (empty file -> empty directory)" test -d "$W/d/empty"

# After all that, identical once more: untouched.
touch -d '2001-02-03 04:05:06' "$W/d"
before=$(ids)
publish
is "$?" 0 "identical after changes: exit 0"
is "$(ids)" "$before" "identical after changes: DEST untouched"

# --- a wide tree ----------------------------------------------------------
# Two or more subdirectories: compared and deleted by two threads
# (src/twothreads.c).  A difference in any one of them must show, and an
# identical tree must leave DEST alone.
rm -rf "$SRC"
mkdir "$SRC"
for _d in 1 2 3 4 5 6 7 8; do
	mkdir -p "$SRC/d$_d/deep"
	for _f in a b c; do
		echo "$_d$_f" >"$SRC/d$_d/$_f"
		echo "$_d$_f" >"$SRC/d$_d/deep/$_f"
	done
done
chmod -R go-w "$SRC"
publish
is "$?" 0 "wide tree: published"
touch -d '2001-02-03 04:05:06' "$W/d"
before=$(echo "$(stat -c '%Y %i' "$W/d") $(stat -c %i "$W/d/d8/deep/c")")
publish
is "$?" 0 "wide tree, identical: exit 0"
is "$(echo "$(stat -c '%Y %i' "$W/d") $(stat -c %i "$W/d/d8/deep/c")")" \
	"$before" "wide tree, identical: DEST untouched"
is "$(leftovers "$W")" "" "wide tree, identical: no .lockbuild.* left"
ids() {
	echo "$(stat -c '%Y %i' "$W/d") $(stat -c %i "$W/d/d1/a")"
}
echo 8x >"$SRC/d8/deep/c"
changed "wide tree: last file of the last subdirectory" \
	grep -qx 8x "$W/d/d8/deep/c"
echo 1x >"$SRC/d1/a"
changed "wide tree: first file of the first subdirectory" \
	grep -qx 1x "$W/d/d1/a"
rm "$SRC/d4/deep/b"
changed "wide tree: a file removed in the middle" \
	test ! -e "$W/d/d4/deep/b"
chmod 700 "$SRC/d6/deep"
changed "wide tree: a directory's mode in the middle" \
	mode_is "$W/d/d6/deep" 700

# --- -f output -------------------------------------------------------------

printf 'one\n' >"$SRC.f"
chmod 644 "$SRC.f"
fpublish() {
	"$LB" "$L" k -o "$W/f" -f --if-changed \
		sh -c 'cp -a "$0" "$LOCKBUILD_STAGING"' "$SRC.f"
}
fpublish
is "$?" 0 "-f: first publish"
touch -d '2001-02-03 04:05:06' "$W/f"
before=$(stat -c '%Y %i' "$W/f")
fpublish
is "$?" 0 "-f, identical output: exit 0"
is "$(stat -c '%Y %i' "$W/f")" "$before" "-f, identical output: mtime and inode unchanged"
is "$(leftovers "$W")" "" "-f, identical output: no .lockbuild.* left"

printf 'two\n' >"$SRC.f.new"
touch -r "$SRC.f" "$SRC.f.new"
chmod 644 "$SRC.f.new"
mv "$SRC.f.new" "$SRC.f"
fpublish
is "$?" 0 "-f, content change: exit 0"
ok "-f, content change: DEST replaced" test "$(stat -c '%Y %i' "$W/f")" != "$before"
is "$(cat "$W/f")" "two" "-f, content change: DEST has the new bytes"

touch -d '2001-02-03 04:05:06' "$W/f"
before=$(stat -c '%Y %i' "$W/f")
chmod +x "$SRC.f"
fpublish
is "$?" 0 "-f, exec bit set: exit 0"
ok "-f, exec bit set: DEST replaced" test "$(stat -c '%Y %i' "$W/f")" != "$before"
ok "-f, exec bit set: DEST is executable" test -x "$W/f"
is "$(leftovers "$W")" "" "-f: no .lockbuild.* left"

done_testing
