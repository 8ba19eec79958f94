# Lock mode, exit statuses and argument handling: COMMAND's own status,
# 126/127 for exec failures, 128+N for a COMMAND killed by signal N, 64 for
# usage errors (one "lockbuild: ..." line, nothing run or created), 73 for
# a LOCKDIR that cannot be used, LOCKDIR created with its parents, and
# --help / --version.
# shellcheck disable=SC1091 # lib.sh is found at run time
. "$TESTS_DIR/lib.sh"

L=$T/locks

# --- COMMAND's status passes through -------------------------------------
"$LB" "$L" k true
is "$?" 0 "COMMAND exits 0: 0"
"$LB" "$L" k false
is "$?" 1 "COMMAND exits 1: 1"
"$LB" "$L" k sh -c 'exit 42'
is "$?" 42 "COMMAND exits 42: 42"
"$LB" "$L" k sh -c 'exit 255'
is "$?" 255 "COMMAND exits 255: 255"
is "$(echo hello | "$LB" "$L" k cat)" hello "COMMAND gets stdin and stdout"
is "$("$LB" "$L" k sh -c 'echo oops >&2' 2>&1 >/dev/null)" oops \
	"COMMAND's stderr passes through"
is "$("$LB" "$L" k printf '%s|' a 'b c' '' d)" "a|b c||d|" \
	"COMMAND's arguments are passed as they are (no shell)"

# --- exec failures -------------------------------------------------------
# Under valgrind posix_spawn is a plain fork: the exec failure comes back
# as a child exiting 127, without a message, and 127 also for 126.
"$LB" "$L" k lockbuild-no-such-command-$$ 2>"$T/err"
is "$?" 127 "COMMAND not found in PATH: 127"
if under_valgrind; then
	skip_n 2 "$VG_SPAWN"
else
	like "$(cat "$T/err")" "^lockbuild: .*lockbuild-no-such-command-$$" \
		"not found: message names the command"
	is "$(wc -l <"$T/err" | tr -d ' ')" 1 "not found: one line on stderr"
fi
"$LB" "$L" k "$T/no/such/file" 2>/dev/null
is "$?" 127 "COMMAND path does not exist: 127"
cat >"$T/noexec" <<'EOF'
#!/bin/sh
echo ran >"$0.ran"
EOF
chmod 644 "$T/noexec"
"$LB" "$L" k "$T/noexec" 2>"$T/err"
rc=$?
if under_valgrind; then
	skip_n 2 "$VG_SPAWN"
else
	is "$rc" 126 "COMMAND not executable: 126"
	like "$(cat "$T/err")" "^lockbuild: .*noexec" "not executable: message"
fi
ok "non-executable COMMAND did not run" [ ! -e "$T/noexec.ran" ]
mkdir "$T/adir"
"$LB" "$L" k "$T/adir" 2>/dev/null
rc=$?
if under_valgrind; then
	skip "$VG_SPAWN"
else
	is "$rc" 126 "COMMAND is a directory: 126"
fi
is "$(ls -A "$L")" "" "no lock files left after exec failures"

# --- COMMAND killed by a signal ------------------------------------------
"$LB" "$L" k sh -c 'kill -TERM $$'
is "$?" 143 "COMMAND killed by SIGTERM: 143"
"$LB" "$L" k sh -c 'kill -KILL $$'
is "$?" 137 "COMMAND killed by SIGKILL: 137"
"$LB" "$L" k sh -c 'kill -HUP $$'
is "$?" 129 "COMMAND killed by SIGHUP: 129"
"$LB" "$L" k sh -c 'kill -INT $$'
is "$?" 130 "COMMAND killed by SIGINT: 130"
is "$(ls -A "$L")" "" "no lock files left after COMMAND died of a signal"

# --- usage errors ----------------------------------------------------------
# usage_error DESCRIPTION ARG...: lockbuild ARG... must exit 64 with
# exactly one "lockbuild: " line on stderr, and neither run COMMAND
# (touch $T/ran) nor create LOCKDIR ($T/never).
N=$T/never
usage_error() {
	_d=$1
	shift
	rm -f "$T/ran"
	"$LB" "$@" >"$T/out" 2>"$T/err"
	_rc=$?
	_why=
	[ "$_rc" -eq 64 ] || _why="$_why exit $_rc;"
	[ "$(grep -c '^lockbuild: ' "$T/err")" -eq 1 ] ||
		_why="$_why not one 'lockbuild: ' line;"
	sed -n 1p "$T/err" | grep -q '^lockbuild: ' ||
		_why="$_why first stderr line is not the error;"
	[ -s "$T/out" ] && _why="$_why output on stdout;"
	[ -e "$T/ran" ] && _why="$_why COMMAND ran;"
	[ -e "$N" ] && _why="$_why LOCKDIR created;"
	is "$_why" "" "usage error, $_d: 64 and one 'lockbuild:' line"
	[ -z "$_why" ] || sed 's/^/#   stderr: /' "$T/err"
	rm -rf "$N"
}

usage_error "no arguments"
usage_error "LOCKDIR only" "$N"
usage_error "missing COMMAND" "$N" k
usage_error "missing COMMAND after --" "$N" k --
usage_error "empty KEY" "$N" "" touch "$T/ran"
usage_error "-n with -w" -n -w 1 "$N" k touch "$T/ran"
usage_error "-w with -n" "$N" k -w 1 -n touch "$T/ran"
usage_error "-q with -v" -q -v "$N" k touch "$T/ran"
usage_error "-F with -C" -F -C "$N" k touch "$T/ran"
for w in -1 nan NaN inf 1e999 5s 0x10 '' ' 1' 1,5 --; do
	usage_error "bad -w '$w'" -w "$w" "$N" k touch "$T/ran"
done
usage_error "bad --timeout=-0.5" --timeout=-0.5 "$N" k touch "$T/ran"
for e in 256 -1 x '' 1.5 75x; do
	usage_error "bad -E '$e'" -E "$e" "$N" k touch "$T/ran"
done
usage_error "-w without its value" "$N" k -w
usage_error "unknown option --bogus" --bogus "$N" k touch "$T/ran"
usage_error "unknown option -Z" -Z "$N" k touch "$T/ran"
usage_error "unknown option after KEY" "$N" k --bogus touch "$T/ran"
usage_error "bad -w after KEY" "$N" k -w nan touch "$T/ran"

# Good values are accepted (and the "bad" list above is not rejecting
# everything): the key is free, so each runs COMMAND.
for w in 0 0.25 10 1e-3 .5; do
	"$LB" -w "$w" "$L" k true
	is "$?" 0 "-w '$w' is accepted"
done
for e in 0 255 1; do
	"$LB" -E "$e" "$L" k true
	is "$?" 0 "-E '$e' is accepted"
done

# Options end at COMMAND: its own options are its own.
"$LB" "$L" k sh -c 'exit 8' -n
is "$?" 8 "options after COMMAND belong to COMMAND"
"$LB" "$L" k true -w nan --bogus
is "$?" 0 "bad-looking options after COMMAND are not parsed"
"$LB" "$L" k -- sh -c 'exit 7'
is "$?" 7 "'--' before COMMAND"
"$LB" -- "$L" -k true
is "$?" 0 "'--' before LOCKDIR: a KEY starting with '-'"

# --- LOCKDIR --------------------------------------------------------------
: >"$T/plainfile"
"$LB" "$T/plainfile" k touch "$T/ran" 2>"$T/err"
is "$?" 73 "LOCKDIR is a regular file: 73"
like "$(cat "$T/err")" "^lockbuild: .*plainfile" "LOCKDIR regular file: message"
is "$(wc -l <"$T/err" | tr -d ' ')" 1 "LOCKDIR regular file: one line"
"$LB" "$T/plainfile/sub" k touch "$T/ran" 2>/dev/null
is "$?" 73 "LOCKDIR below a regular file: 73"
ln -s "$T/nowhere" "$T/dangling"
"$LB" "$T/dangling" k touch "$T/ran" 2>"$T/err"
is "$?" 73 "LOCKDIR is a dangling symlink: 73"
like "$(cat "$T/err")" "^lockbuild: .*dangling" "dangling LOCKDIR: message"
ok "dangling LOCKDIR: the link's target was not created" [ ! -e "$T/nowhere" ]
ok "COMMAND never ran for a bad LOCKDIR" [ ! -e "$T/ran" ]

# Permission denied: 77.  Root writes anywhere, so as root run lockbuild
# as nobody (setpriv, util-linux).
mkdir "$T/ro"
chmod 555 "$T/ro"
as_user=''
if [ "$(id -u)" -eq 0 ]; then
	if command -v setpriv >/dev/null 2>&1; then
		chmod 711 "$T"
		as_user="setpriv --reuid=65534 --regid=65534 --clear-groups"
	else
		as_user=none
	fi
fi
if [ "$as_user" = none ]; then
	skip "running as root without setpriv"
	skip "running as root without setpriv"
else
	$as_user "$LB" "$T/ro" k true 2>"$T/err"
	is "$?" 77 "LOCKDIR not writable: 77"
	$as_user "$LB" "$T/ro/sub" k true 2>/dev/null
	is "$?" 77 "LOCKDIR cannot be created (parent not writable): 77"
fi

mkdir "$T/real"
ln -s real "$T/link"
"$LB" "$T/link" k true
is "$?" 0 "LOCKDIR that is a symlink to a directory works"

(umask 027 && "$LB" "$T/p/q/r" k touch "$T/ran")
is "$?" 0 "missing LOCKDIR with missing parents: COMMAND runs"
ok "LOCKDIR was created" [ -d "$T/p/q/r" ]
is "$(stat -c %a "$T/p/q/r")" 750 "LOCKDIR mode is 0777 & ~umask (027)"
is "$(stat -c %a "$T/p")" 750 "LOCKDIR parent mode is 0777 & ~umask (027)"
(cd "$T" && "$LB" rel/dir k true)
is "$?" 0 "relative missing LOCKDIR is created"
ok "relative LOCKDIR is created relative to the working directory" \
	[ -d "$T/rel/dir" ]

# --- --help and --version ----------------------------------------------------
want=$(sed -n 's/^VERSION *= *//p' "$TESTS_DIR/../Makefile")
for v in --version -V; do
	out=$("$LB" $v 2>"$T/err")
	is "$?" 0 "$v exits 0"
	is "$out" "lockbuild $want" "$v prints 'lockbuild $want' (from the Makefile)"
	is "$(cat "$T/err")" "" "$v: nothing on stderr"
done
for h in --help -h; do
	out=$("$LB" $h 2>"$T/err")
	is "$?" 0 "$h exits 0"
	like "$(printf '%s\n' "$out" | sed -n 1p)" "^usage: lockbuild " \
		"$h prints the usage on stdout"
	like "$out" "lockbuild\(1\)" "$h points to lockbuild(1)"
	is "$(cat "$T/err")" "" "$h: nothing on stderr"
done

# --help is short, fits 80 columns and points at the manual.
help=$("$LB" --help)
is "$(printf '%s\n' "$help" | awk 'length($0) > 80' | wc -l | tr -d ' ')" 0 \
	"--help fits in 80 columns"
like "$help" "lockbuild\(1\)" "--help points at lockbuild(1)"
ok "--help is under 25 lines" test "$(printf '%s\n' "$help" | wc -l)" -lt 25
like "$("$LB" --version)" "^lockbuild [0-9]+\.[0-9]+\.[0-9]+$" "--version prints the Makefile's version"
done_testing
