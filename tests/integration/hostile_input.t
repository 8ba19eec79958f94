# Hostile and bad input.  Keys with '/', '..', newlines, control bytes,
# invalid UTF-8 or 100 KB are valid: each maps to one safe file in LOCKDIR,
# two of them never share a lock, and messages naming them stay on one
# line.  Everything else is refused with the spec's exit status and exactly
# one "lockbuild: " line (a usage error may add one "usage:" line), while a
# published DEST, LOCKDIR and another key held meanwhile stay untouched:
# bad LOCKDIRs (a file, a dangling symlink, unwritable, read-only mount),
# lock files replaced by a symlink / directory / FIFO (never followed,
# truncated or waited on), forged owner records, bad DESTs, COMMANDs that
# delete the staging dir or close / dup the lock descriptor, bad -w / -E
# numbers, unknown options, missing operands.
# shellcheck disable=SC1091,SC2016 # lib.sh is found at run time; sh -c expands
. "$TESTS_DIR/lib.sh"

L=$T/locks
DEST=$T/pub/dest
ms=0			# set by elapsed_ms
RAN=$T/ran		# COMMAND "touch $RAN" leaves a trace
H=$T/holders		# one directory per background holder
mkdir -p "$T/pub" "$H" "$T/victim"
echo precious >"$T/victim/file"
# Traversable for the run as nobody below; the files stay root's.
chmod 755 "$T"

holders=""
cleanup() {
	for _d in "$H"/*; do
		[ -d "$_d" ] && : >"$_d/release"
	done
	for _p in $holders; do
		kill "$_p" 2>/dev/null
	done
	umount "$T/ro" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# hold NAME LOCKDIR KEY [OPTION...]: a background lockbuild holds KEY
# until $H/NAME/release appears (at most 30 s, times TIME_SCALE: the
# "other" holder stays for the whole test); returns once it holds it.
# Its pid is in $hpid.
hold() {
	_d=$H/$1 _ld=$2 _k=$3
	shift 3
	mkdir -p "$_d"
	timeout $((40 * TIME_SCALE)) "$LB" "$@" "$_ld" "$_k" sh -c '
		: >"$1/ready"
		i=0
		while [ ! -e "$1/release" ] && [ "$i" -lt "$2" ]; do
			i=$((i + 1)); sleep 0.02
		done' sh "$_d" $((1500 * TIME_SCALE)) 2>"$_d/err" &
	hpid=$!
	holders="$holders $hpid"
	wait_for "$_d/ready" 10
}

# unhold NAME PID: lets the holder go and waits for it; status in $rc.
unhold() {
	: >"$H/$1/release"
	wait "$2"
	rc=$?
}

# state: DEST (inodes, content), DEST's directory (no leftovers), LOCKDIR,
# and whether a refused COMMAND ran anyway.
state() {
	stat -c '%i %s %a' "$DEST" "$DEST/f"
	cat "$DEST/f"
	ls -A "$T/pub"
	ls -A "$L"
	[ -e "$RAN" ] && echo "COMMAND ran"
}

# untouched WHAT: DEST and LOCKDIR as before, the other key still held.
untouched() {
	is "$(state 2>&1)" "$STATE0" "$1: DEST, LOCKDIR untouched, COMMAND not run"
	timeout 10 "$LB" -n "$L" other true 2>/dev/null
	is "$?" 75 "$1: the other key is still held"
	rm -f "$RAN"
}

# one_line FILE WHAT: FILE holds one "lockbuild: " line, and at most one
# "usage:" line after it; no control bytes (user strings are escaped).
one_line() {
	_nl=$(wc -l <"$1" | tr -d ' ')
	case $(head -n 1 "$1") in
	"lockbuild: "*) ;;
	*) _nl="$_nl, not starting with 'lockbuild: '" ;;
	esac
	if [ "$_nl" = 2 ]; then
		case $(sed -n 2p "$1") in
		usage:*) _nl=1 ;;
		esac
	fi
	tr -d '\n' <"$1" | LC_ALL=C grep -q '[[:cntrl:]]' &&
		_nl="$_nl, with control bytes"
	is "$_nl" 1 "$2: one-line message"
	[ "$_nl" = 1 ] || sed -n 'l' "$1" | sed 's/^/#   stderr: /'
}

# bad STATUS WHAT ARG...: "lockbuild ARG..." exits STATUS with a one-line
# message and leaves everything alone.  RUNAS: a command prefix (setpriv).
RUNAS=""
bad() {
	_want=$1 _what=$2
	shift 2
	# shellcheck disable=SC2086 # RUNAS is a command prefix, or empty
	timeout 10 $RUNAS "$LB" "$@" >/dev/null 2>"$T/err"
	is "$?" "$_want" "$_what: exit $_want"
	one_line "$T/err" "$_what"
	untouched "$_what"
}

# --- the fixture: a published DEST and another key held throughout ----------
"$LB" -o "$DEST" "$L" pub sh -c 'echo v1 >"$LOCKBUILD_STAGING/f"'
is "$?" 0 "setup: DEST published"
hold other "$L" other
ok "setup: another key is held" test -e "$H/other/ready"
other_pid=$hpid
STATE0=$(state 2>&1)

# --- keys that look dangerous but are valid ------------------------------------
# key_case LABEL KEY: KEY works, is one safe file in a fresh LOCKDIR while
# held, reaches COMMAND intact, and leaves nothing behind.
n=0
key_case() {
	n=$((n + 1))
	_ld=$T/keys/$n
	timeout 10 "$LB" "$_ld" "$2" sh -c '
		ls -A "$LOCKBUILD_LOCKDIR" >"$1"
		find "$LOCKBUILD_LOCKDIR" -mindepth 1 -type d >>"$1"
		printf %s "$LOCKBUILD_KEY" >"$2"' sh "$T/ls" "$T/key" 2>"$T/err"
	is "$?" 0 "key $1: exit 0"
	_names=$(sed 's/\.lock$//' "$T/ls")
	_got=ok
	[ "$(wc -l <"$T/ls")" -eq 1 ] && grep -q '\.lock$' "$T/ls" ||
	    _got="files: $(tr '\n' ' ' <"$T/ls")"
	case $_names in
	.* | -* | '') _got="bad name: $_names" ;;
	esac
	is "$_got" ok \
		"key $1: one NAME.lock, a plain name, no directory"
	ok "key $1: LOCKBUILD_KEY is the key" test "$(cat "$T/key"; echo .)" = "$2."
	is "$(ls -A "$_ld")$(find "$T/keys" -mindepth 1 -maxdepth 1 \
	    ! -name '[0-9]*')$(ls -d "$T/x" 2>/dev/null)" "" \
		"key $1: nothing left, nothing created outside LOCKDIR"
}
key_case "with /" "a/b/../c"
key_case "'..'" ".."
key_case "'../../x'" "../../x"
key_case "with a newline" "$(printf 'a\nb')"
key_case "with control bytes" "$(printf 'a\001b\033[31mc\177')"
key_case "of invalid UTF-8" "$(printf '\377\376\300\200')"
big=$(head -c 102400 /dev/zero | tr '\0' k)
key_case "of 100 KB" "${big}x"

# Two such keys never share a lock: the escaped spelling of a held key,
# and a 100 KB key differing only in its last byte, are other keys.
# apart HELD OTHER LABEL
apart() {
	hold apart "$L" "$1"
	_p=$hpid
	timeout 10 "$LB" -n "$L" "$2" true 2>/dev/null
	is "$?" 0 "$3: a different key is free"
	timeout 10 "$LB" -n "$L" "$1" true 2>"$T/err"
	is "$?" 75 "$3: the held key itself is busy"
	one_line "$T/err" "$3: -n conflict"
	unhold apart "$_p"
	rm -rf "$H/apart"
}
apart "a/b" "a%2Fb" "'a/b' vs 'a%2Fb'"
apart "$(printf 'a\nb')" "a%0Ab" "'a<newline>b' vs 'a%0Ab'"
apart "$(printf 'x\033[2J')" "$(printf 'x\033[2K')" "two keys with escape sequences"
apart "${big}x" "${big}y" "100 KB keys differing in the last byte"

timeout 10 "$LB" -v "$T/keys/v" "$(printf 'v\nw\rx')" true 2>"$T/err"
is "$(grep -c '^lockbuild: ' "$T/err") $(wc -l <"$T/err" | tr -d ' ') $(tr -cd '\r' <"$T/err" | wc -c | tr -d ' ')" "2 2 0" \
	"-v with a newline and CR in the key: two messages, one line each"

# --- command line --------------------------------------------------------------
bad 64 "empty key" "$L" "" touch "$RAN"
bad 64 "empty LOCKDIR" "" k touch "$RAN"
bad 64 "missing COMMAND" "$L" k
bad 64 "missing COMMAND after --" "$L" k --
bad 64 "missing KEY" "$L"
bad 64 "no arguments"
bad 64 "unknown option -Z" -Z "$L" k touch "$RAN"
bad 64 "unknown option --bogus" --bogus "$L" k touch "$RAN"
bad 64 "unknown option with a newline" "$(printf -- '--a\nb')" "$L" k touch "$RAN"
bad 64 "--nb=1 (takes no argument)" --nb=1 "$L" k touch "$RAN"
bad 64 "-w without its number" "$L" k -w
for w in -1 nan inf 1e999 5s 0x10 "" " 1" "1 " 1e9x \
    "$(printf '1\n2')"; do
	bad 64 "-w '$(printf %s "$w" | tr '\n' '|')'" -w "$w" "$L" k touch "$RAN"
done
for e in -1 256 nan 1e999 3x "" " 3" 0x4 "$(printf '3\033[31m')"; do
	bad 64 "-E '$(printf %s "$e" | tr '\033' '^')'" -E "$e" "$L" k touch "$RAN"
done
export LOCKBUILD_TIMEOUT=nan
bad 64 "LOCKBUILD_TIMEOUT=nan" "$L" k touch "$RAN"
unset LOCKBUILD_TIMEOUT

# --- bad LOCKDIRs --------------------------------------------------------------
: >"$T/afile"
bad 73 "LOCKDIR is a file" "$T/afile" k touch "$RAN"
bad 73 "LOCKDIR below a file" "$T/afile/sub" k touch "$RAN"
ln -s "$T/nowhere" "$T/dangling"
bad 73 "LOCKDIR is a dangling symlink" "$T/dangling" k touch "$RAN"
ok "dangling LOCKDIR symlink: its target was not created" \
	test ! -e "$T/nowhere"

mkdir "$T/ro"
if mount -t tmpfs -o ro tmpfs "$T/ro" 2>/dev/null; then
	bad 73 "LOCKDIR on a read-only mount" "$T/ro" k touch "$RAN"
	bad 73 "LOCKDIR to create on a read-only mount" "$T/ro/sub" k touch "$RAN"
	umount "$T/ro"
else
	skip "cannot mount a read-only tmpfs (not root?): read-only LOCKDIR"
	skip "cannot mount a read-only tmpfs: LOCKDIR to create on it"
fi

mkdir -m 555 "$T/ro555"
if [ "$(id -u)" -ne 0 ]; then
	bad 77 "unwritable LOCKDIR" "$T/ro555" k touch "$RAN"
elif setpriv --reuid=65534 --regid=65534 --clear-groups "$LB" --version \
    >/dev/null 2>&1; then
	RUNAS="setpriv --reuid=65534 --regid=65534 --clear-groups"
	bad 77 "unwritable LOCKDIR (as nobody)" "$T/ro555" k touch "$RAN"
	bad 77 "LOCKDIR to create in an unwritable dir (as nobody)" \
		"$T/ro555/sub" k touch "$RAN"
	RUNAS=""
else
	skip "cannot run lockbuild as nobody: unwritable LOCKDIR"
fi
ok "unwritable LOCKDIR: nothing created in it" test -z "$(ls -A "$T/ro555")"

# --- lock file replaced by something else -----------------------------------
V=$T/vict
mkdir "$V"
ln -s "$T/victim/file" "$V/k.lock"
bad 73 "lock file is a symlink to a victim file" "$V" k touch "$RAN"
is "$(cat "$T/victim/file")" precious "symlinked lock file: victim not truncated"
ok "symlinked lock file: the link is left as it was" test -L "$V/k.lock"
ln -s "$T/victim/new" "$V/d.lock"
bad 73 "lock file is a dangling symlink" "$V" d touch "$RAN"
ok "dangling lock symlink: its target was not created" \
	test ! -e "$T/victim/new"
mkdir "$V/dir.lock"
bad 73 "lock file is a directory" "$V" dir touch "$RAN"
mkfifo "$V/fifo.lock"
elapsed_ms bad 73 "lock file is a FIFO" "$V" fifo touch "$RAN"
ok "FIFO lock file: refused at once (${ms} ms)" test "$ms" -lt 5000
ok "FIFO lock file: still a FIFO" test -p "$V/fifo.lock"
elapsed_ms bad 73 "lock file is a FIFO, with -s" -s "$V" fifo touch "$RAN"

# Swapped for a symlink while held: the holder's release must not follow
# it (no unlink or truncation of the victim), and the next taker refuses.
hold swap "$V" swap
p=$hpid
rm "$V/swap.lock"
ln -s "$T/victim/file" "$V/swap.lock"
unhold swap "$p"
is "$rc" 0 "lock file swapped for a symlink while held: holder exits 0"
is "$(cat "$T/victim/file")" precious "swapped lock file: victim intact"
ok "swapped lock file: the symlink is left alone" test -L "$V/swap.lock"
bad 73 "lock file swapped for a symlink, next taker" "$V" swap touch "$RAN"

# --- forged owner records -------------------------------------------------------
F=$T/forged
mkdir "$F"
dead=$(sh -c 'echo $$')
host=$(hostname)
boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)

# forged_free LABEL: with a planted $F/k.lock, the free key k works.
forged_free() {
	timeout 10 "$LB" "$F" k touch "$RAN" 2>"$T/err"
	is "$?" 0 "forged record ($1), key free: exit 0"
	ok "forged record ($1), key free: COMMAND ran" test -e "$RAN"
	ok "forged record ($1), key free: at most one 'lockbuild: ' line" \
		test "$(wc -l <"$T/err")" -le 1 -a \
		"$(grep -cv '^lockbuild: ' "$T/err")" -eq 0
	is "$(ls -A "$F")" "" "forged record ($1): replaced, then removed"
	rm -f "$RAN"
}
# forged_held LABEL: the same record while a live lockbuild holds k.
forged_held() {
	hold forged "$F" k
	_p=$hpid
	# cp writes into the held lock file: same file, lock kept.
	cp "$T/record" "$F/k.lock"
	timeout 10 "$LB" -n "$F" k touch "$RAN" 2>"$T/err"
	is "$?" 75 "forged record ($1), key held: -n exits 75"
	one_line "$T/err" "forged record ($1), key held"
	unhold forged "$_p"
	rm -rf "$H/forged" "$RAN"
}

# A file that does not start as a record is not a lock file of ours:
# refused, whether free or held, and left byte for byte as it was.
printf 'garbage\n\001\002 not a record' >"$T/record"
cp "$T/record" "$F/k.lock"
timeout 10 "$LB" "$F" k touch "$RAN" 2>"$T/err"
is "$?" 73 "not a record, key free: exit 73"
ok "not a record, key free: COMMAND did not run" test ! -e "$RAN"
one_line "$T/err" "not a record, key free"
like "$(cat "$T/err")" "'$F/k.lock' is not a lockbuild lock file" \
	"not a record, key free: the message names the file"
ok "not a record, key free: the file is left as it was" cmp -s "$T/record" "$F/k.lock"
rm -f "$F/k.lock"
hold forged "$F" k
p=$hpid
cp "$T/record" "$F/k.lock"
timeout 10 "$LB" -n "$F" k touch "$RAN" 2>"$T/err"
is "$?" 73 "not a record, key held: exit 73"
one_line "$T/err" "not a record, key held"
unhold forged "$p"
ok "not a record written into a held lock file: its maker still removes it" \
	test ! -e "$F/k.lock"
rm -rf "$H/forged" "$RAN" "$F/k.lock"
{ echo "lockbuild-owner 2 1 1048576"; head -c 1048576 /dev/zero | tr '\0' a; } \
	>"$T/record"
cp "$T/record" "$F/k.lock"
forged_free "1 MiB"
forged_held "1 MiB"
printf 'pid=1\0\377\nsince=1\n\0\0' | seal_record >"$T/record"
cp "$T/record" "$F/k.lock"
forged_free binary
forged_held binary
printf 'pid=%s\nsince=1700000000\nhost=%s\nkey=k\ncmd=%s\n' \
	"$dead" 'evil\nlockbuild: fake\033[2J' 'make\nlockbuild: x\033]0;t\007' |
	seal_record >"$T/record"
forged_held "newline and escapes in host and cmd"

# A dead holder's record pointing at someone else's files, in a lock
# file that another user owns, or that others may write: whoever wrote
# it, nothing of ours is swept.
mkdir "$T/theirs" "$T/theirs/.lockbuild.AbCd1234.precious"
echo keep >"$T/theirs/precious"
echo keep >"$T/theirs/.lockbuild.AbCd1234.precious/f"
theirs() {
	printf 'pid=%s\nstart=1\nuid=%s\nsince=1700000000\nboot=%s\nhost=%s\nstate=building\nkey=k\ncmd=x\ndest=%s\nstaging=%s\n' \
		"$dead" "$1" "$boot" "$host" "$T/theirs/precious" \
		"$T/theirs/.lockbuild.AbCd1234.precious/precious" | seal_record
}
theirs_kept() {
	is "$(find "$T/theirs" | sort | tr '\n' ' ')" \
		"$T/theirs $T/theirs/.lockbuild.AbCd1234.precious $T/theirs/.lockbuild.AbCd1234.precious/f $T/theirs/precious " \
		"$1: nothing there removed"
}
theirs 12345 >"$F/k.lock"
if chown 12345:12345 "$F/k.lock" 2>/dev/null; then
	# A shared LOCKDIR, where another user's lock files are expected.
	chmod 1777 "$F"
	chmod 666 "$F/k.lock"	# so that we may lock it
	timeout 10 "$LB" "$F" k touch "$RAN" 2>"$T/err"
	is "$?" 0 "record in another user's lock file: exit 0"
	like "$(cat "$T/err")" "previous holder pid $dead .* exited without releasing" \
		"record in another user's lock file: the dead holder is reported"
	theirs_kept "record in another user's lock file"
else
	skip "cannot plant a lock file as another user (not root)"
	skip "cannot plant a lock file as another user: report"
	skip "cannot plant a lock file as another user: nothing removed"
fi
rm -f "$RAN" "$F/k.lock"
chmod 755 "$F"
theirs "$(id -u)" >"$F/k.lock"
chmod 664 "$F/k.lock"
timeout 10 "$LB" "$F" k touch "$RAN" 2>"$T/err"
is "$?" 0 "record in a group-writable lock file: exit 0"
theirs_kept "record in a group-writable lock file"
rm -f "$RAN" "$F/k.lock"

# --- publish mode -------------------------------------------------------------
bad 66 "DEST's parent missing" -o "$T/nodir/out" "$L" pub touch "$RAN"
ln -s "$T/victim" "$T/pub/link"
STATE0=$(state 2>&1)
bad 73 "DEST is a symlink" -o "$T/pub/link" "$L" pub touch "$RAN"
is "$(ls -A "$T/victim")" file "DEST symlink: its target untouched"
rm "$T/pub/link"
STATE0=$(state 2>&1)
bad 65 "COMMAND deletes the staging dir" -o "$DEST" "$L" pub \
	sh -c 'rm -rf "$LOCKBUILD_STAGING"'
bad 65 "COMMAND deletes the whole staging container" -o "$DEST" "$L" pub \
	sh -c 'rm -rf "$(dirname "$LOCKBUILD_STAGING")"'
bad 65 "COMMAND replaces the staging dir by a file" -o "$DEST" "$L" pub \
	sh -c 'rm -rf "$LOCKBUILD_STAGING"; echo x >"$LOCKBUILD_STAGING"'

# --- COMMAND closes or dups the lock descriptor ----------------------------
# The lock is on lockbuild's own open file description: whatever COMMAND
# does with its copies, the key stays locked while lockbuild runs.
# lockfd: COMMAND's shell code that writes the fd naming $2 (the lock
# file) to $1/fd.
# (By inode: a lock file made without a name shows in /proc as deleted.)
lockfd='ino=$(stat -c %i "$2")
	for fd in 3 4 5 6 7 8 9; do
		[ "$(stat -L -c %i "/proc/$$/fd/$fd" 2>/dev/null)" = "$ino" ] &&
			echo "$fd" >"$1/fd"
	done'
wait_release='i=0
	while [ ! -e "$1/release" ] && [ "$i" -lt 1500 ]; do
		i=$((i + 1)); sleep 0.02
	done'
mkdir "$H/close"
timeout 30 "$LB" "$L" fdkey sh -c "$lockfd"'
	exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-
	: >"$1/ready"
	'"$wait_release" sh "$H/close" "$L/fdkey.lock" 2>/dev/null &
p=$!
wait_for "$H/close/ready"
ok "COMMAND got the lock fd ($(cat "$H/close/fd" 2>/dev/null)) among 3-9" \
	test -s "$H/close/fd"
timeout 10 "$LB" -n "$L" fdkey true 2>/dev/null
is "$?" 75 "COMMAND closed fds 3-9: the key is still locked"
unhold close "$p"
is "$rc" 0 "COMMAND closed fds 3-9: exit 0"
ok "COMMAND closed fds 3-9: files removed after" \
	test ! -e "$L/fdkey.lock"

mkdir "$H/dup"
timeout 30 "$LB" "$L" fdkey sh -c "$lockfd"'
	fd=$(cat "$1/fd")
	eval "exec 9>&$fd $fd>&-"
	: >"$1/ready"
	'"$wait_release" sh "$H/dup" "$L/fdkey.lock" 2>/dev/null &
p=$!
wait_for "$H/dup/ready"
timeout 10 "$LB" -n "$L" fdkey true 2>/dev/null
is "$?" 75 "COMMAND moved the lock fd to 9: the key is still locked"
unhold dup "$p"
is "$rc" 0 "COMMAND moved the lock fd: exit 0"

# A dup left in a background process outlives lockbuild: still locked
# (spec: the lock ends when the last inherited descriptor is closed).
mkdir "$H/bg"
timeout 30 "$LB" "$L" fdkey sh -c "$lockfd"'
	fd=$(cat "$1/fd")
	(eval "exec 9>&$fd $fd>&-"; : >"$1/ready"
	 '"$wait_release"') >/dev/null 2>&1 &' sh "$H/bg" "$L/fdkey.lock" \
	2>/dev/null
is "$?" 0 "COMMAND left a background process with a dup of the lock fd: exit 0"
wait_for "$H/bg/ready"
timeout 10 "$LB" -n "$L" fdkey true 2>/dev/null
is "$?" 75 "background process with the dup: key still locked"
ok "background process with the dup: lock file kept" test -f "$L/fdkey.lock"
: >"$H/bg/release"
i=0
until timeout 10 "$LB" -n "$L" fdkey true 2>/dev/null || [ "$i" -ge 250 ]; do
	i=$((i + 1))
	sleep 0.02
done
ok "background process gone: the key is free again" test "$i" -lt 250
rm -f "$L/fdkey.lock"

untouched "after all hostile input"
unhold other "$other_pid"
is "$rc" 0 "the other key's holder exits 0"

done_testing
