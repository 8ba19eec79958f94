#!/bin/sh
# A holder on another host (an NFS LOCKDIR shared by runners) cannot be
# looked up, only its lock can: while the lock is held, --status calls it
# alive; once the lock is free (its host died and the lease ran out),
# its record is stale, --status exits 1 and --clean removes it.  Here
# the other host is a forged record (host=elsewhere) on a local LOCKDIR.
. "$TESTS_DIR/lib.sh"

L=$T/locks
mkdir "$L"
remote() {	# remote STATE: a record of pid 1 on host "elsewhere"
	printf 'pid=1\nstart=1\nuid=%s\nsince=%s\nboot=00000000-0000-0000-0000-000000000001\nhost=elsewhere\nstate=%s\nkey=k\ncmd=make tools\ndest=\nstaging=\n' \
		"$(id -u)" "$(($(date +%s) - 30))" "$1" | seal_record
}

# --- lock free: the remote holder is gone ---------------------------------
remote building >"$L/k.lock"
chmod 600 "$L/k.lock"
out=$("$LB" --status "$L"); rc=$?
is "$rc" 1 "remote record, lock free: --status exits 1"
like "$out" "^k: free; last holder pid 1 \(make tools\) on host elsewhere since .* \(3[0-9]s\), on another host, its lock free, building \[stale\]$" \
	"remote record, lock free: stale, with host and age"
json=$("$LB" --status --json "$L")
like "$json" '"holder":"remote"' "JSON: holder remote"
like "$json" '"flags":\["stale"\]' "JSON: flagged stale"
remote exec >"$L/k.lock"
out=$("$LB" --status "$L"); rc=$?
is "$rc" 0 "remote -F record, lock free: not stale (exit 0)"
like "$out" "\[leftover\]$" "remote -F record: a leftover"
remote building >"$L/k.lock"
err=$("$LB" "$L" k true 2>&1); rc=$?
is "$rc" 0 "a new holder takes the key of a remote holder that is gone"
like "$err" "previous holder pid 1 \(make tools\) on host elsewhere .* let go without releasing \(state building\): it was killed, or its host went down or was cut off from the file server" \
	"and says the remote holder let go uncleanly"
remote building >"$L/k.lock"
out=$("$LB" --clean "$L"); rc=$?
is "$rc" 0 "--clean exits 0"
like "$out" "removed stale record of 'k': pid 1 .* host elsewhere" \
	"--clean removes a remote holder's record once its lock is free"
ok "LOCKDIR is empty" test -z "$(ls -A "$L")"

# --- lock held: the remote holder is alive by its lock ------------------------
mkdir "$T/h"
"$LB" "$L" k sh -c ': >"$0/ready"; i=0
	while [ ! -e "$0/release" ] && [ $i -lt 1500 ]; do i=$((i+1)); sleep 0.02; done' "$T/h" &
p=$!
wait_for "$T/h/ready"
remote building >"$T/rec"
cp "$T/rec" "$L/k.lock"	# same file, lock kept: as if held elsewhere
out=$("$LB" --status "$L"); rc=$?
is "$rc" 0 "remote record, lock held: --status exits 0"
like "$out" "^k: exclusive; holder pid 1 .*on host elsewhere.*, on another host, alive by its lock, building$" \
	"remote record, lock held: alive by its lock, not stale"
err=$("$LB" -n "$L" k true 2>&1)
like "$err" "another host or pid namespace: alive as long as it holds the lock\); not waiting" \
	"the waiting line says where its liveness comes from"
"$LB" --clean "$L" >/dev/null
ok "--clean leaves a live remote holder's record" cmp -s "$T/rec" "$L/k.lock"
: >"$T/h/release"
wait "$p"
done_testing
