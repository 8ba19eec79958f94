#!/bin/sh
# Files that merely have a lock file's name are not lock files: a
# project's yarn.lock under LOCKDIR=., a hard link planted in LOCKDIR,
# an empty file, DEST published into LOCKDIR.  lockbuild refuses each
# with one line naming the file, and leaves it byte for byte as it was.
# Also: the modes lock files get, and a key held by our own ancestor.
. "$TESTS_DIR/lib.sh"

RAN=$T/ran

# fingerprint FILE: content checksum, inode, links, mode, mtime.
fingerprint() {
	printf '%s %s\n' "$(cksum <"$1")" "$(stat -c '%i %h %a %Y.%y' "$1")"
}

# refused LABEL CODE PATTERN FILE LOCKBUILD-ARGS...: lockbuild exits
# CODE with one line matching PATTERN, COMMAND does not run, FILE stays.
refused() {
	_label=$1 _code=$2 _pat=$3 _file=$4
	shift 4
	_before=$(fingerprint "$_file")
	rm -f "$RAN"
	timeout 10 "$LB" "$@" touch "$RAN" 2>"$T/err"
	is "$?" "$_code" "$_label: exit $_code"
	like "$(cat "$T/err")" "$_pat" "$_label: the message says why"
	is "$(wc -l <"$T/err" | tr -d ' ')" 1 "$_label: one line"
	ok "$_label: COMMAND did not run" test ! -e "$RAN"
	is "$(fingerprint "$_file")" "$_before" "$_label: the file is as it was"
}

# --- LOCKDIR=. in a project: yarn.lock is the project's --------------------
mkdir "$T/proj"
printf '# yarn lockfile v1\n\nleft-pad@1.3.0:\n' >"$T/proj/yarn.lock"
cp "$T/proj/yarn.lock" "$T/yarn.orig"
cd "$T/proj" || exit 1
refused "LOCKDIR=. with a yarn.lock" 73 \
	"^lockbuild: '\./yarn\.lock' is not a lockbuild lock file" yarn.lock \
	. yarn
cd "$T" || exit 1
ok "yarn.lock: not a byte changed" cmp -s "$T/yarn.orig" "$T/proj/yarn.lock"
(cd "$T/proj" && "$LB" . yarn true 2>/dev/null)
ok "yarn.lock: a second try does not eat it either" \
	cmp -s "$T/yarn.orig" "$T/proj/yarn.lock"
(cd "$T/proj" && "$LB" --clean . >/dev/null 2>"$T/err")
is "$?" 1 "--clean in that directory exits 1"
like "$(cat "$T/err")" "yarn\.lock' is not a lockbuild lock file" \
	"--clean says it left yarn.lock alone"
ok "--clean: yarn.lock intact" cmp -s "$T/yarn.orig" "$T/proj/yarn.lock"
out=$(cd "$T/proj" && "$LB" --status . yarn 2>/dev/null)
is "$?" 1 "--status flags yarn.lock (exit 1)"
like "$out" "^yarn: .*bad-record" "--status: yarn.lock is not a record"

# --- hard links ----------------------------------------------------------------
L=$T/locks
mkdir "$L"
echo important >"$T/important.db"
ln "$T/important.db" "$L/build.lock"
refused "a hard link to a file" 73 "'$L/build.lock' has 2 names \(hard links\)" \
	"$T/important.db" "$L" build
# Even one that starts as a record does: its other name is not ours.
printf 'pid=1\nsince=1\n' | seal_record >"$T/record.db"
ln "$T/record.db" "$L/rec.lock"
refused "a hard link to a record" 73 "'$L/rec.lock' has 2 names" \
	"$T/record.db" "$L" rec
rm -f "$L/build.lock" "$L/rec.lock"

# --- an empty file: nothing shows lockbuild made it ------------------------
: >"$L/empty.lock"
refused "an empty file" 73 "'$L/empty.lock' is empty" "$L/empty.lock" "$L" empty
rm -f "$L/empty.lock"

# --- DEST inside LOCKDIR -------------------------------------------------------
refused_dest() {	# refused_dest LABEL DEST
	rm -f "$RAN"
	timeout 10 "$LB" -f -o "$2" "$L" k sh -c 'echo X >"$LOCKBUILD_STAGING"; touch "$1"' sh "$RAN" 2>"$T/err"
	is "$?" 64 "$1: exit 64"
	like "$(cat "$T/err")" "^lockbuild: DEST '.*' is inside LOCKDIR" "$1: message"
	ok "$1: COMMAND did not run" test ! -e "$RAN"
	is "$(ls -A "$L")" "" "$1: nothing published into LOCKDIR"
}
refused_dest "DEST is LOCKDIR/k.lock" "$L/k.lock"
refused_dest "DEST another name in LOCKDIR" "$L/out"
mkdir "$T/sub" && ln -s "$L" "$T/sub/via"
refused_dest "DEST in LOCKDIR through a symlink" "$T/sub/via/out"
rm "$T/sub/via"

# --- modes: exactly those who may write LOCKDIR may open a lock file --------
mode_in() {	# mode_in DIRMODE: the lock file's mode while held
	_d=$T/m$1
	mkdir "$_d" && chmod "$1" "$_d"
	(umask 077 && "$LB" "$_d" k stat -c %a "$_d/k.lock")
}
is "$(mode_in 755)" 600 "lock file in a 0755 LOCKDIR: 0600"
is "$(mode_in 1777)" 666 "lock file in a 1777 LOCKDIR: 0666, whatever the umask"
is "$(mode_in 2770)" 660 "lock file in a 2770 LOCKDIR: 0660"
# One that an older version left with read access for all is narrowed.
printf 'pid=%s\nsince=1\nstate=exec\n' "$(sh -c 'echo $$')" | seal_record >"$L/old.lock"
chmod 644 "$L/old.lock"
"$LB" -F "$L" old true
is "$(stat -c %a "$L/old.lock")" 600 "a 0644 lock file left by -F is narrowed to 0600"
rm -f "$L/old.lock"
ok "no temporary lock files are left in LOCKDIR" test -z "$(ls -A "$L")"

# --- a key held by our own ancestor ----------------------------------------------
"$LB" "$L" nest sh -c 'exec "$0" -w 1.5 "$1" nest true' "$LB" "$L" 2>"$T/err"
is "$?" 75 "lockbuild nested in the holder of its key: gives up with -w (75)"
like "$(cat "$T/err")" "an ancestor of this lockbuild" \
	"nested lockbuild: the message says the holder is its ancestor"
"$LB" "$L" nest sh -c '"$0" -n "$1" nest true' "$LB" "$L" 2>"$T/err"
like "$(cat "$T/err")" "an ancestor of this lockbuild.*not waiting" \
	"nested lockbuild -n: says so too"

done_testing
