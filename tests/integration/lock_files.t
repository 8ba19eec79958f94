# Lock mode, files in LOCKDIR: KEY -> file name escaping, the owner record
# while COMMAND runs, LOCKBUILD_KEY / LOCKBUILD_LOCKDIR, cleanup after a
# run, a background process that inherited the lock (and -C), planted
# symlinks / directories / FIFOs in place of the lock file, and -F.
# shellcheck disable=SC1091,SC2016 # lib.sh is found at run time; sh -c expands
. "$TESTS_DIR/lib.sh"

L=$T/locks
rc=0	# set by reap

write_hold_dir "$T/hold"

between() {	# between N LOW HIGH
	[ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}

absent() {	# absent PATH...: none of them exists.
	for _p; do
		[ -e "$_p" ] || [ -L "$_p" ] && return 1
	done
	return 0
}

# field NAME FILE: the value of NAME= in an owner record.
field() {
	sed -n "s/^$1=//p" "$2"
}

# --- cleanup after a run -----------------------------------------------------
"$LB" "$L" k true
is "$(ls -A "$L")" "" "after a normal run no lock file remains"
"$LB" "$L" k false
is "$(ls -A "$L")" "" "after a failing COMMAND no files remain"

# --- KEY -> file name ----------------------------------------------------------
# lock_name KEY: the name of the .lock file while KEY is held.
lock_name() {
	rm -rf "$T/names"
	"$LB" -- "$T/names" "$1" sh -c 'ls -A "$1" | grep "\.lock$"' sh \
		"$T/names"
}
a200=$(printf 'a%.0s' $(seq 200))
check_name() {	# check_name KEY NAME [LABEL]
	is "$(lock_name "$1")" "$2.lock" \
		"key '${3:-$1}' -> file '$(printf %.40s "$2").lock'"
}
check_name tools tools
check_name alpine:3.19 alpine:3.19
check_name out/lib/libfoo.a out%2Flib%2Flibfoo.a
check_name "my key" my%20key
check_name .hidden %2Ehidden
check_name -x %2Dx
check_name a.-x a.-x
check_name "a%b" a%25b
check_name "A_z-0.9+,=@:" "A_z-0.9+,=@:"
check_name "$(printf 'a\nb')" a%0Ab "a<newline>b"
check_name "$(printf '\303\274')" %C3%BC "<u-umlaut in UTF-8>"
check_name "$a200" "$a200" "<200 times a>"

# Longer than 200 bytes escaped: <= 135 bytes of it, "~", SHA-256 of KEY.
long="${a200}a"
# upper NAME.lock: NAME with the hex digits of its hash upper-cased (the
# spec does not say which case).
upper() {
	printf '%s~%s.lock' "${1%%~*}" "$(printf %s "${1#*~}" |
		sed 's/\.lock$//' | tr a-f A-F)"
}
sum=$(printf %s "$long" | sha256sum | cut -c1-64 | tr a-f A-F)
is "$(upper "$(lock_name "$long")")" "$(printf 'a%.0s' $(seq 135))~$sum.lock" \
	"201-byte key -> 135 bytes + '~' + SHA-256 of the key"
long=$(printf 'a%.0s' $(seq 100))$(printf '/%.0s' $(seq 100))
full=$(printf 'a%.0s' $(seq 100))$(printf '%%2F%.0s' $(seq 100))
sum=$(printf %s "$long" | sha256sum | cut -c1-64 | tr a-f A-F)
got=$(upper "$(lock_name "$long")")
prefix=${got%%~*}
is "${got#*~}" "$sum.lock" \
	"escaped key of 400 bytes: name ends in '~' + SHA-256 of the key"
ok "escaped key of 400 bytes: cut to 133..135 bytes (${#prefix})" \
	between "${#prefix}" 133 135
case $full in
"$prefix"*) r=0 ;;
*) r=1 ;;
esac
is "$r" 0 "escaped key of 400 bytes: the cut part is a prefix of the escaped key"
like "$prefix" "(^|[^%])([^%]|%[0-9A-F]{2})$" \
	"escaped key of 400 bytes: not cut inside a %XX escape"

# --- the owner record while COMMAND runs --------------------------------------
key="rec key/1"
name=rec%20key%2F1
before=$(date +%s)
"$LB" "$L" "$key" sh -c '
	cat "$1/$2.lock" >"$3/rec"
	echo "$PPID" >"$3/lbpid"
	cat "/proc/$PPID/stat" >"$3/lbstat"
	ls -A "$1" >"$3/ls"
	printf "%s\n" "$LOCKBUILD_KEY" >"$3/env-key"
	printf "%s\n" "$LOCKBUILD_LOCKDIR" >"$3/env-dir"' sh "$L" "$name" "$T"
is "$?" 0 "COMMAND that reads its owner record exits 0"
after=$(date +%s)
rec=$T/rec
like "$(sed -n 1p "$rec")" '^lockbuild-owner 2 [0-9]+ [0-9]+$' \
	"the lock file holds the record: 'lockbuild-owner 2 CKSUM LENGTH'"
is "$(sed -n '1s/^lockbuild-owner 2 //p' "$rec")" "$(tail -n +2 "$rec" | cksum)" \
	"record header: CKSUM LENGTH are what cksum(1) prints for the rest"
is "$(field pid "$rec")" "$(cat "$T/lbpid")" "record: pid= is lockbuild's pid"
# Field 22 of /proc/PID/stat, counted after the last ')' (field 2 ends there).
start=$(sed 's/.*) //' "$T/lbstat" | cut -d' ' -f20)
is "$(field start "$rec")" "$start" "record: start= is field 22 of /proc/PID/stat"
is "$(field uid "$rec")" "$(id -u)" "record: uid="
since=$(field since "$rec")
ok "record: since= is the time of acquiring ($since in $before..$after)" \
	between "${since:-0}" "$before" "$after"
if [ -r /proc/sys/kernel/random/boot_id ]; then
	is "$(field boot "$rec")" "$(cat /proc/sys/kernel/random/boot_id)" \
		"record: boot= is the boot id"
else
	skip "no /proc/sys/kernel/random/boot_id"
fi
is "$(field host "$rec")" "$(uname -n)" "record: host="
is "$(field state "$rec")" building "record: state=building"
is "$(field key "$rec")" "$key" "record: key="
like "$(field cmd "$rec")" '^sh -c ' "record: cmd= is COMMAND"
is "$(grep -c '^cmd=' "$rec")" 1 "record: the multi-line cmd is one escaped line"
is "$(sort "$T/ls" | tr '\n' ' ')" "$name.lock " \
	"while held: the lock file alone, no record file or temporary"
is "$(cat "$T/env-key")" "$key" "LOCKBUILD_KEY is the key, unescaped"
is "$(cat "$T/env-dir")" "$L" "LOCKBUILD_LOCKDIR is LOCKDIR"
is "$(ls -A "$L")" "" "record and lock file removed afterwards"

key=$(printf 'new\nline\ttab')
"$LB" "$L" "$key" sh -c 'cat "$1"/*.lock >"$2"' sh "$L" "$T/rec2"
is "$(field key "$T/rec2")" 'new\nline\ttab' "record: key= is escaped C-style (newline, tab)"
is "$(wc -l <"$T/rec2" | tr -d ' ')" "$(wc -l <"$T/rec" | tr -d ' ')" \
	"record with a newline in the key has no extra lines"

is "$("$LB" "$L" k sh -c \
	'echo "${LOCKBUILD_STAGING-unset} ${LOCKBUILD_DEST-unset}"')" \
	"unset unset" "lock mode sets neither LOCKBUILD_STAGING nor LOCKBUILD_DEST"
is "$(env LOCKBUILD_KEY=stale LOCKBUILD_LOCKDIR=stale "$LB" "$L" fresh \
	sh -c 'echo "$LOCKBUILD_KEY $LOCKBUILD_LOCKDIR"')" "fresh $L" \
	"LOCKBUILD_KEY and LOCKBUILD_LOCKDIR replace inherited values"

# --- a background process keeps the inherited lock -------------------------
"$LB" "$L" bg sh -c 'sleep 30 </dev/null >/dev/null 2>&1 &
	echo "$!" >"$1"; echo "$PPID" >"$2"' sh "$T/bgpid" "$T/bglb"
is "$?" 0 "COMMAND that leaves a background sleep exits 0"
bg=$(cat "$T/bgpid")
"$LB" -n "$L" bg touch "$T/ran-bg" 2>"$T/err"
is "$?" 75 "the background sleep still holds the key: -n gives 75"
like "$(cat "$T/err")" "pids ([0-9]+, )*$bg([^0-9]|$)" \
	"message names the sleep's pid"
ok "the lock file stays while the sleep runs" [ -f "$L/bg.lock" ]
is "$(field state "$L/bg.lock")" done \
	"its record stays, marked as let go: state=done"
like "$(cat "$T/err")" \
	"^lockbuild: 'bg' is held by processes left behind by pid $(cat "$T/bglb") \(.*\), which has finished: pids " \
	"message names the exited lockbuild from its record"
kill "$bg"
ok "background sleep ends" wait_exit "$bg" 10
"$LB" -n "$L" bg touch "$T/ran-bg" 2>/dev/null
is "$?" 0 "after the sleep ended the key is free"
is "$(ls -A "$L")" "" "and its files are cleaned up by that next run"

"$LB" -C "$L" bgc sh -c 'sleep 30 </dev/null >/dev/null 2>&1 &
	echo "$!" >"$1"' sh "$T/bgpid"
is "$?" 0 "-C: COMMAND that leaves a background sleep exits 0"
bg=$(cat "$T/bgpid")
is "$(ls -A "$L")" "" "-C: no lock files remain although the sleep runs"
"$LB" -n "$L" bgc true
is "$?" 0 "-C: the key is free although the sleep runs"
gone "$bg"
is "$?" 1 "-C: the sleep does run"
kill "$bg"

# --- things planted in place of the lock file -------------------------------
printf 'precious\n' >"$T/victim"
touch -d '2001-02-03 04:05:06' "$T/victim"
vstat() { stat -c '%s %Y %i' "$T/victim"; }
v0=$(vstat)

ln -s "$T/victim" "$L/sym.lock"
timeout 5 "$LB" "$L" sym touch "$T/ran-sym" 2>"$T/err"
is "$?" 73 "lock file is a symlink to a file: 73"
like "$(cat "$T/err")" "^lockbuild: .*sym\.lock" \
	"symlink lock file: message names the file"
is "$(wc -l <"$T/err" | tr -d ' ')" 1 "symlink lock file: one line"
is "$(cat "$T/victim")" precious "symlink lock file: victim content unchanged"
is "$(vstat)" "$v0" "symlink lock file: victim size, mtime, inode unchanged"
ok "symlink lock file: COMMAND did not run" [ ! -e "$T/ran-sym" ]
timeout 5 "$LB" -n "$L" sym touch "$T/ran-sym" 2>/dev/null
is "$?" 73 "symlink lock file with -n: 73 (not 75)"
timeout 5 "$LB" -s "$L" sym touch "$T/ran-sym" 2>/dev/null
is "$?" 73 "symlink lock file with -s: 73"

ln -s "$T/nowhere" "$L/dangle.lock"
timeout 5 "$LB" "$L" dangle touch "$T/ran-sym" 2>/dev/null
is "$?" 73 "lock file is a dangling symlink: 73"
ok "dangling symlink lock file: its target was not created" [ ! -e "$T/nowhere" ]

mkdir "$L/dir.lock"
timeout 5 "$LB" "$L" dir touch "$T/ran-dir" 2>"$T/err"
is "$?" 73 "lock file is a directory: 73"
like "$(cat "$T/err")" "^lockbuild: .*dir\.lock" "directory lock file: message"
ok "directory lock file: COMMAND did not run" [ ! -e "$T/ran-dir" ]

mkfifo "$L/fifo.lock"
timeout 5 "$LB" "$L" fifo touch "$T/ran-fifo" 2>"$T/err"
is "$?" 73 "lock file is a FIFO: 73 (no hang)"
like "$(cat "$T/err")" "^lockbuild: .*fifo\.lock" "FIFO lock file: message"
ok "FIFO lock file: COMMAND did not run" [ ! -e "$T/ran-fifo" ]

# A lock file planted with a record in it: only ever overwritten in place.
printf 'lockbuild-owner 2 1 2\nxx\n' >"$L/own.lock"
timeout 5 "$LB" "$L" own sh -c 'cat "$1/own.lock"' sh "$L" >"$T/own.out"
is "$?" 0 "a lock file with a garbage record: COMMAND runs"
like "$(sed -n 1p "$T/own.out")" '^lockbuild-owner 2 ' \
	"... with its own record written over the garbage"
ok "... and no other file was made for it" absent "$L/own.owner" "$L/.own.owner-tmp"

# --- -F: COMMAND replaces lockbuild ------------------------------------------
mkdir "$T/f"
"$LB" -F "$L" nofork "$T/hold" "$T/f" &
p=$!
ok "-F: COMMAND is running" wait_for "$T/f/ready"
is "$(cat "$T/f/cpid")" "$p" "-F: COMMAND runs as lockbuild's pid"
timeout 5 "$LB" -n "$L" nofork true 2>/dev/null
is "$?" 75 "-F: COMMAND holds the key"
is "$(field pid "$L/nofork.lock")" "$p" "-F: record pid= is that pid"
is "$(field state "$L/nofork.lock")" exec "-F: record state=exec"
: >"$T/f/release"
reap "$p"
is "$rc" 0 "-F: exit status is COMMAND's"
ok "-F: lock file stays (nobody left to clean)" [ -f "$L/nofork.lock" ]
"$LB" -n "$L" nofork true 2>"$T/err"
is "$?" 0 "-F: after COMMAND exits, the key is free"
is "$(cat "$T/err")" "" "-F: the next holder does not call it a failure"
ok "-F: the next holder cleans up" \
	absent "$L/nofork.lock"
"$LB" -F "$L" nofork sh -c 'exit 42'
is "$?" 42 "-F: COMMAND's status 42"
"$LB" -F "$L" nofork lockbuild-no-such-command-$$ 2>/dev/null
is "$?" 127 "-F: missing COMMAND: 127"
ok "-F: failed exec releases and cleans up" \
	absent "$L/nofork.lock"

rm -f "$L/sym.lock" "$L/dangle.lock" "$L/fifo.lock"
rmdir "$L/dir.lock"
"$LB" "$L" last true
is "$(ls -A "$L")" "" "LOCKDIR is empty at the end"

done_testing
