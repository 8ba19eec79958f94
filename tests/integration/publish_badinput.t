# Publish mode, bad input rejected before anything runs: for each case the
# exit status (66 DEST's parent missing, 77 not writable, 73 DEST of the
# wrong type or a symlink, 64 usage errors: LOCKDIR inside DEST, -s/-F with
# -o, -I '', DEST ending in / . .., publish options without -o), exactly one
# "lockbuild: ..." line on stderr naming the problem, COMMAND not run, and
# nothing under DEST's directory changed (DEST, links and their targets keep
# bytes, inodes and times; no staging dir, no LOCKDIR created).
# shellcheck disable=SC1091,SC2016 # lib.sh is found at run time; sh -c expands
. "$TESTS_DIR/lib.sh"

L=$T/locks
W=$T/w
MARK=$T/mark
mkdir "$W" "$MARK"
chmod 777 "$MARK"
RAN=': >"$0/ran"'	# COMMAND: sh -c "$RAN" "$MARK" leaves a trace

# state: everything under $W and the victim dir: names, types, inodes,
# times, link targets, contents.
state() {
	find "$W" "$T/victim" -printf '%p %y %i %m %T@ %l\n' 2>/dev/null | LC_ALL=C sort
	find "$W" "$T/victim" -type f -exec sha256sum {} + 2>/dev/null | LC_ALL=C sort
}

# bad STATUS PATTERN DESCRIPTION ARG...: "lockbuild ARG..." exits STATUS
# with one "lockbuild: " line matching PATTERN, runs nothing, changes
# nothing.  With NOBODY=1 it runs as uid 65534 (setpriv).
bad() {
	_want=$1 _pat=$2 _what=$3
	shift 3
	rm -f "$MARK/ran"
	state >"$T/state.before"
	if [ "${NOBODY:-0}" = 1 ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$LB" "$@" 2>"$T/err"
	else
		"$LB" "$@" 2>"$T/err"
	fi
	is "$?" "$_want" "$_what: exit $_want"
	_lines=$(grep -c '^lockbuild: ' "$T/err")
	_msg=$(grep '^lockbuild: ' "$T/err")
	is "$_lines" 1 "$_what: one 'lockbuild:' line on stderr"
	like "$_msg" "$_pat" "$_what: the message names the problem"
	ok "$_what: COMMAND not run" test ! -e "$MARK/ran"
	state >"$T/state.after"
	cmp -s "$T/state.before" "$T/state.after"
	_result $? "$_what: DEST and its directory untouched"
	diff "$T/state.before" "$T/state.after" | sed -n 's/^[<>]/#   &/p'
}

mkdir "$W/d"
echo content >"$W/d/f"
echo content >"$W/f"
mkdir "$W/x"
echo content >"$W/x/f"
mkdir "$T/victim"
echo precious >"$T/victim/file"
ln -s "$T/victim" "$W/dirlink"
ln -s "$T/victim/file" "$W/filelink"
ln -s "$W/nowhere" "$W/dangling"
ln -s d "$W/dlink"
mkdir "$W/e" "$W/e/locks"
ln -s e "$W/elink"

# --- DEST's directory --------------------------------------------------------

bad 66 "nope" "DEST's parent missing" "$L" k -o "$W/nope/out" sh -c "$RAN" "$MARK"
bad 66 "f/out" "DEST's parent is a file" "$L" k -o "$W/f/out" sh -c "$RAN" "$MARK"

if [ "$(id -u)" -ne 0 ]; then
	mkdir "$W/ro"
	chmod 555 "$W/ro"
	bad 77 "not writable|ermission" "DEST's parent not writable (mode 555)" \
		"$L" k -o "$W/ro/out" sh -c "$RAN" "$MARK"
	chmod 755 "$W/ro"
else
	# Root writes anywhere: use a read-only filesystem instead.
	mkdir "$T/rofs"
	if mount -t tmpfs -o ro,size=1m tmpfs "$T/rofs" 2>/dev/null; then
		# sysexits: a filesystem problem is 73, not a permission (77).
		bad 73 "not writable|[Rr]ead-only" \
			"DEST's parent on a read-only filesystem" \
			"$L" k -o "$T/rofs/out" sh -c "$RAN" "$MARK"
		umount "$T/rofs"
	else
		skip "root, and cannot mount a read-only tmpfs"
	fi
	# And a plain permission problem, as an unprivileged user.
	if command -v setpriv >/dev/null &&
	    setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null
	then
		chmod 711 "$T"
		mkdir "$W/ro"
		chmod 555 "$W/ro"
		mkdir "$T/nblocks"
		chmod 777 "$T/nblocks"
		NOBODY=1
		bad 77 "not writable|ermission" \
			"DEST's parent not writable (mode 555, uid 65534)" \
			"$T/nblocks" k -o "$W/ro/out" sh -c "$RAN" "$MARK"
		NOBODY=0
		rmdir "$W/ro"
		chmod 700 "$T"
	else
		skip "no setpriv to run as an unprivileged user"
	fi
fi

# --- DEST of the wrong type ----------------------------------------------------

bad 73 "directory" "-f with DEST an existing directory" \
	"$L" k -o "$W/d" -f sh -c "$RAN" "$MARK"
bad 73 "not a directory" "directory output with DEST an existing file" \
	"$L" k -o "$W/f" sh -c "$RAN" "$MARK"
bad 73 "symbolic link" "DEST a symlink to a directory" \
	"$L" k -o "$W/dirlink" sh -c "$RAN" "$MARK"
bad 73 "symbolic link" "-f with DEST a symlink to a file" \
	"$L" k -o "$W/filelink" -f sh -c "$RAN" "$MARK"
bad 73 "symbolic link" "DEST a dangling symlink" \
	"$L" k -o "$W/dangling" sh -c "$RAN" "$MARK"
is "$(readlink "$W/dirlink") $(readlink "$W/filelink")" \
	"$T/victim $T/victim/file" "the symlinks still point where they did"
is "$(cat "$T/victim/file")" "precious" "the symlinks' target untouched"

# --- LOCKDIR inside DEST -------------------------------------------------------

bad 64 "inside" "LOCKDIR inside DEST" \
	"$W/d/locks" k -o "$W/d" sh -c "$RAN" "$MARK"
bad 64 "inside" "LOCKDIR is DEST" \
	"$W/d" k -o "$W/d" sh -c "$RAN" "$MARK"
bad 64 "inside" "LOCKDIR inside DEST, spelled with .." \
	"$W/x/../d/./locks" k -o "$W/d" sh -c "$RAN" "$MARK"
bad 64 "inside" "LOCKDIR inside DEST, through a symlink, LOCKDIR exists" \
	"$W/elink/locks" k -o "$W/e" sh -c "$RAN" "$MARK"
bad 64 "inside" "LOCKDIR inside DEST, through a symlink, LOCKDIR not made yet" \
	"$W/dlink/locks" k -o "$W/d" sh -c "$RAN" "$MARK"
bad 64 "inside" "LOCKDIR inside a DEST that does not exist yet" \
	"$W/new/locks" k -o "$W/new" sh -c "$RAN" "$MARK"
# Not in a subshell: bad's test counter must survive.
cd "$W" || exit 1
bad 64 "inside" "LOCKDIR inside DEST, relative paths" \
	d/locks k -o ./d sh -c "$RAN" "$MARK"
cd "$T" || exit 1
# Not inside: a name that merely starts with DEST's.
"$LB" "$W/pp" k -o "$W/p" sh -c ': >"$LOCKBUILD_STAGING/x"'
is "$?" 0 "LOCKDIR $W/pp next to DEST $W/p is fine"
rm -rf "$W/pp" "$W/p"

# --- usage errors ----------------------------------------------------------------

bad 64 "-s" "-s with -o" "$L" k -s -o "$W/d" sh -c "$RAN" "$MARK"
bad 64 "-I" "-I ''" "$L" k -o "$W/d" -I '' sh -c "$RAN" "$MARK"
bad 64 "-F" "-F with -o" "$L" k -F -o "$W/d" sh -c "$RAN" "$MARK"
bad 64 "DEST" "DEST 'x/'" "$L" k -o "$W/x/" sh -c "$RAN" "$MARK"
bad 64 "DEST" "DEST 'x/.'" "$L" k -o "$W/x/." sh -c "$RAN" "$MARK"
bad 64 "DEST" "DEST 'x/..'" "$L" k -o "$W/x/.." sh -c "$RAN" "$MARK"
# A last component of 256 bytes: said to be too long; 255 is a file name.
long=$(printf '%0255d' 0)
bad 64 "longer than a file name can be \(255 bytes\)" "DEST name of 256 bytes" \
	"$L" k -o "$W/${long}1" sh -c "$RAN" "$MARK"
bad 64 "longer than a file name" "DEST name of 256 bytes, -f, no '/'" \
	"$L" k -f -o "${long}1" sh -c "$RAN" "$MARK"
"$LB" "$T/locks2" k -f -o "$W/$long" sh -c 'echo x >"$LOCKBUILD_STAGING"'
is "$?" 0 "DEST name of 255 bytes: published"
ok "DEST name of 255 bytes: in place" test -f "$W/$long"
rm -f "$W/$long"
cd "$W/x" || exit 1
bad 64 "DEST" "DEST '..'" "$L" k -o .. sh -c "$RAN" "$MARK"
cd "$T" || exit 1
bad 64 "-o" "--once without -o" "$L" k --once sh -c "$RAN" "$MARK"
bad 64 "-o" "-f without -o" "$L" k -f sh -c "$RAN" "$MARK"
bad 64 "-o" "-o ''" "$L" k -o '' sh -c "$RAN" "$MARK"

ok "no LOCKDIR was created by any rejected run" test ! -e "$L"
ok "no LOCKDIR inside DEST was created" test ! -e "$W/d/locks"

done_testing
