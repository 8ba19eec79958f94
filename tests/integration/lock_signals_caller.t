# What the caller set up is kept: signals it ignored (nohup, trap '') stay
# ignored for a waiting lockbuild, for a publish, and for COMMAND (also with
# -F and for --check); COMMAND gets the caller's signal mask.  A file size
# limit (ulimit -f) does not kill lockbuild while it writes the owner record:
# COMMAND runs, nothing is left behind, and COMMAND still gets SIGXFSZ as the
# caller had it.  A fork that fails for the process limit exits 71.
# shellcheck disable=SC1091,SC2016 # lib.sh is found at run time; sh -c expands
. "$TESTS_DIR/lib.sh"

L=$T/locks
W=$T/w
mkdir "$W"
rc=0	# set by reap

# sigbit MASK SIG: 1 when signal number SIG is set in the hex MASK that
# /proc/PID/status shows (SigIgn, SigBlk), else 0.
sigbit() {
	[ -n "$1" ] || { echo "?"; return; }
	echo $(((0x$1 >> ($2 - 1)) & 1))
}
# field NAME TEXT: the value of the "NAME:" line of /proc/PID/status text.
field() {
	printf '%s\n' "$2" | sed -n "s/^$1:[[:space:]]*//p"
}
HUP=1 INT=2 USR1=10 TERM=15 ALRM=14 XFSZ=25

# --- ignored signals stay ignored for COMMAND ------------------------------
st=$(env --ignore-signal=HUP "$LB" "$L" k grep '^Sig' /proc/self/status)
is "$(sigbit "$(field SigIgn "$st")" $HUP)" 1 \
	"nohup-style: COMMAND has SIGHUP ignored"
st=$(sh -c 'trap "" INT HUP TERM; exec "$0" "$1" k grep "^Sig" /proc/self/status' \
	"$LB" "$L")
ign=$(field SigIgn "$st")
is "$(sigbit "$ign" $INT)$(sigbit "$ign" $HUP)$(sigbit "$ign" $TERM)" 111 \
	"trap '' INT HUP TERM: COMMAND has all three ignored"
st=$(env --ignore-signal=ALRM "$LB" -w 5 "$L" k grep '^Sig' /proc/self/status)
is "$(sigbit "$(field SigIgn "$st")" $ALRM)" 1 \
	"SIGALRM ignored by the caller stays ignored (lockbuild used a timer)"
st=$(env --ignore-signal=HUP,TERM "$LB" -F "$L" kf grep '^Sig' /proc/self/status)
ign=$(field SigIgn "$st")
is "$(sigbit "$ign" $HUP)$(sigbit "$ign" $TERM)" 11 \
	"-F: COMMAND has SIGHUP and SIGTERM ignored"
rm -f "$L/kf.lock"	# -F leaves its lock file by design
st=$("$LB" "$L" k grep '^Sig' /proc/self/status)
ign=$(field SigIgn "$st")
is "$(sigbit "$ign" $HUP)$(sigbit "$ign" $TERM)$(sigbit "$ign" $XFSZ)" 000 \
	"default dispositions stay default for COMMAND"
# --check runs with the caller's dispositions too.
env --ignore-signal=HUP "$LB" "$L" ck2 -o "$W/ck2" \
	--check "grep '^Sig' /proc/self/status >'$T/ck2.st'" \
	sh -c 'echo x >"$LOCKBUILD_STAGING/x"'
is "$?" 0 "--check under nohup: published"
is "$(sigbit "$(field SigIgn "$(cat "$T/ck2.st")")" $HUP)" 1 \
	"--check's child has SIGHUP ignored"

# A caller ignoring SIGCHLD would have the kernel reap COMMAND for us.
env --ignore-signal=CHLD "$LB" "$L" k sh -c 'exit 3'
is "$?" 3 "SIGCHLD ignored by the caller: COMMAND's status still comes back"
env --ignore-signal=CHLD "$LB" "$L" chk -o "$W/chk" --check 'exit 0' \
	sh -c 'echo x >"$LOCKBUILD_STAGING/x"'
is "$?" 0 "SIGCHLD ignored by the caller: --check's status too"

# --- the signal mask is passed down as it came -----------------------------
st=$(env --block-signal=USR1 "$LB" "$L" k grep '^Sig' /proc/self/status)
is "$(sigbit "$(field SigBlk "$st")" $USR1)" 1 \
	"COMMAND starts with the caller's mask (SIGUSR1 blocked)"
st=$(env --block-signal=USR1 "$LB" -F "$L" kf grep '^Sig' /proc/self/status)
is "$(sigbit "$(field SigBlk "$st")" $USR1)" 1 \
	"-F: COMMAND starts with the caller's mask (SIGUSR1 blocked)"
rm -f "$L/kf.lock"

# --- a waiter ignoring SIGHUP/TERM/INT keeps waiting -------------------------
mkdir "$T/h"
write_hold_dir "$T/hold"
"$LB" "$L" busy "$T/hold" "$T/h" &
holder=$!
ok "holder of 'busy' is inside" wait_for "$T/h/ready"
env --ignore-signal=HUP,TERM,INT "$LB" "$L" busy touch "$T/ran-w" \
	2>"$T/w.err" &
waiter=$!
if under_valgrind; then
	skip_n 2 "$VG_OFD"
else
	ok "waiter is blocked" wait_grep "$T/w.err" "waiting$" 10
	kill -s HUP "$waiter"
	kill -s TERM "$waiter"
	kill -s INT "$waiter"
	# Still there once the signals were delivered: a second "waiting"
	# tick would be ~1 s away, so look at its state instead.
	ok "the ignored signals did not end the waiter" alive "$waiter"
fi
: >"$T/h/release"
reap "$holder"
reap "$waiter"
is "$rc" 0 "the waiter got the key and ran COMMAND: exit 0"
ok "... and COMMAND ran" [ -e "$T/ran-w" ]

# --- publish mode: an ignored hang-up does not discard the build -------------
env --ignore-signal=HUP "$LB" "$L" pub -o "$W/pub" sh -c \
	'kill -s HUP "$PPID"; echo x >"$LOCKBUILD_STAGING/x"' 2>"$T/err"
is "$?" 0 "nohup, SIGHUP during the build: exit 0"
ok "... DEST published" [ -f "$W/pub/x" ]
is "$(cat "$T/err")" "" "... nothing said about an interruption"

# --- ulimit -f 0: the owner record cannot be written ------------------------
# The subshells' stdout and stderr go to pipes ($(...)): the test's own
# output is a file, which the limit would forbid writing.
out=$( (ulimit -f 0; exec "$LB" "$L" fs0 sh -c \
	': >"$0"; grep "^SigIgn" /proc/self/status' "$T/ran-fs0") 2>&1)
is "$?" 0 "ulimit -f 0: exit 0 (lockbuild not killed by SIGXFSZ)"
ok "ulimit -f 0: COMMAND ran" [ -e "$T/ran-fs0" ]
like "$out" "^lockbuild: cannot write owner record into '.*/fs0.lock': File too large$" \
	"ulimit -f 0: one line says the record could not be written"
is "$(sigbit "$(field SigIgn "$out")" $XFSZ)" 0 \
	"ulimit -f 0: COMMAND gets SIGXFSZ at its default"
ok "ulimit -f 0: no lock file left" [ ! -e "$L/fs0.lock" ]

out=$( (ulimit -f 0; exec "$LB" "$L" fs0 -o "$W/fs0" sh -c \
	'mkdir "$LOCKBUILD_STAGING/sub"') 2>&1)
is "$?" 0 "ulimit -f 0, -o: exit 0"
ok "ulimit -f 0, -o: DEST published" [ -d "$W/fs0/sub" ]
is "$(leftovers "$W")" "" "ulimit -f 0, -o: no staging container left"
ok "ulimit -f 0, -o: no lock file left" [ ! -e "$L/fs0.lock" ]

out=$( (ulimit -f 0; exec env --ignore-signal=XFSZ "$LB" "$L" fs0 \
	grep '^SigIgn' /proc/self/status) 2>&1)
is "$(sigbit "$(field SigIgn "$out")" $XFSZ)" 1 \
	"caller ignoring SIGXFSZ: COMMAND has it ignored"
out=$( (ulimit -f 0; exec "$LB" -F "$L" fsF \
	grep '^SigIgn' /proc/self/status) 2>&1)
is "$(sigbit "$(field SigIgn "$out")" $XFSZ)" 0 \
	"-F, ulimit -f 0: COMMAND gets SIGXFSZ at its default"
rm -f "$L/fsF.lock"

# A limit that cuts the record part way: no cut record stays in the file.
long=$(printf 'k%.0s' $(seq 1500))
out=$( (ulimit -f 1; exec "$LB" "$L" "$long" sh -c \
	'cat "$LOCKBUILD_LOCKDIR"/*.lock | wc -c') 2>&1)
is "$?" 0 "ulimit -f 1, long key: exit 0"
like "$out" "File too large" "ulimit -f 1, long key: the error is EFBIG"
is "$(printf '%s\n' "$out" | tail -n 1)" 0 \
	"ulimit -f 1, long key: the lock file holds no cut record"
is "$(ls -A "$L")" "" "no lock files left"

# --- a failed fork is 71 ------------------------------------------------------
# prlimit --nproc=1 for a uid with no other process: lockbuild itself is its
# one process, so posix_spawn's clone fails with EAGAIN.
if [ "$(id -u)" -ne 0 ]; then
	skip_n 2 "needs root to run as an otherwise unused uid"
elif ! command -v setpriv >/dev/null || ! command -v prlimit >/dev/null; then
	skip_n 2 "needs setpriv and prlimit (util-linux)"
elif under_valgrind; then
	skip_n 2 "$VG_SPAWN"
else
	uid=$((61000 + $$ % 3000))
	mkdir "$T/np" && chmod 1777 "$T/np" && chmod 755 "$T"
	# A copy that the other uid can reach, wherever the tree is (make
	# distcheck unpacks it in a 0700 directory).
	cp "$LB" "$T/np/lockbuild" && chmod 755 "$T/np/lockbuild"
	# LeakSanitizer (make check-asan) needs a process of its own at
	# exit, which the limit forbids: without leak checks there.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	setpriv --reuid="$uid" --regid="$uid" --clear-groups \
		prlimit --nproc=1 "$T/np/lockbuild" "$T/np" k true 2>"$T/err"
	is "$?" 71 "process limit reached: exit 71, not 126"
	like "$(cat "$T/err")" "^lockbuild: cannot run 'true': cannot create a process \(the process limit" \
		"process limit reached: the message names the cause"
fi

done_testing
