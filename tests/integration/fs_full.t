#!/bin/sh
# Full disk and quotas (needs root: mounts a small tmpfs, a loop ext4 and,
# when mkfs.btrfs is there, a loop btrfs; skips otherwise).
#  - COMMAND's own write fails (ENOSPC, EDQUOT): lockbuild exits with
#    COMMAND's status, DEST untouched, staging removed;
#  - lockbuild cannot create the staging dir or the lock file: exit 74 and
#    a message naming the error;
#  - the owner record cannot be written: the build still runs (warning);
#  - the staged output fits in the page cache but flushing it fails (an
#    ext4 image on a tmpfs that is full: writeback fails): exit 74, the
#    message names the error, DEST untouched, staging removed.  For -f the
#    fsync reports ENOSPC; for a directory, syncfs reports EIO or ENOSPC
#    (the failed metadata writes of the loop device are reported as EIO).
# FULL_ROUNDS repeats the disk-full cases (make stress raises it).
# shellcheck disable=SC1091,SC2010,SC2012,SC2016 # lib.sh is found at run time; scratch names are ours; sh -c expands
. "$TESTS_DIR/lib.sh"

FULL_ROUNDS=${FULL_ROUNDS:-1}
L=$T/locks
mounts=

# Unmount everything we mounted (last first), also after a failure.
cleanup() {
	for m in $mounts; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	skip "full-disk tests need root (they mount a tmpfs and loop images)"
	done_testing
	exit
fi
mkdir "$T/m"
if ! mount -t tmpfs -o size=1m,nr_inodes=64 tmpfs "$T/m" 2>"$T/mount.err"; then
	skip "cannot mount a tmpfs: $(cat "$T/mount.err")"
	done_testing
	exit
fi
mounts="$T/m $mounts"

inode() { stat -c %i "$1"; }
staging_left() { ls -A "$1" | grep -c '^\.lockbuild\.'; }

# fill DIR: uses up every block and every inode of DIR's filesystem.
fill() {
	head -c 2000000000 /dev/zero >"$1/.fill" 2>/dev/null
	_i=0
	while true 2>/dev/null >"$1/.i$_i"; do _i=$((_i + 1)); done
}
unfill() { rm -f "$1"/.fill "$1"/.i*; }

"$LB" -q -o "$T/m/dest" "$L" k -- sh -c 'echo old >"$LOCKBUILD_STAGING/v"'
"$LB" -q -f -o "$T/m/file" "$L" k -- sh -c 'echo old >"$LOCKBUILD_STAGING"'
dino=$(inode "$T/m/dest")
fino=$(inode "$T/m/file")

# --- COMMAND runs out of space ------------------------------------------
r=0 bad=0
while [ "$r" -lt "$FULL_ROUNDS" ]; do
	"$LB" -o "$T/m/dest" "$L" k -- sh -c \
		'echo new >"$LOCKBUILD_STAGING/v" &&
		 dd if=/dev/zero of="$LOCKBUILD_STAGING/big" bs=64k count=32 status=none' \
		2>"$T/err"
	rc=$?
	got="$(cat "$T/m/dest/v"):$(inode "$T/m/dest")"
	left=$(staging_left "$T/m")
	if [ "$r" -eq 0 ]; then
		is "$rc" 1 "ENOSPC in COMMAND (directory): exit status is COMMAND's (dd: 1)"
		like "$(cat "$T/err")" "No space left on device" "the error names ENOSPC"
		like "$(cat "$T/err")" "COMMAND failed with exit status 1; '.*/m/dest' left as it was" \
			"lockbuild says DEST was left as it was"
		is "$got" "old:$dino" "directory DEST untouched"
		is "$left" 0 "staging removed, space given back"
	elif [ "$rc" -ne 1 ] || [ "$got" != "old:$dino" ] || [ "$left" -ne 0 ]; then
		bad=$((bad + 1))
		echo "# round $r: exit $rc, DEST $got, $left staging"
	fi
	r=$((r + 1))
done
[ "$FULL_ROUNDS" -gt 1 ] &&
	is "$bad" 0 "ENOSPC in COMMAND: $((FULL_ROUNDS - 1)) more rounds, same result"
"$LB" -f -o "$T/m/file" "$L" k -- sh -c \
	'head -c 2097152 /dev/zero >"$LOCKBUILD_STAGING" || exit 42' 2>"$T/err"
is "$?" 42 "ENOSPC in COMMAND (-f): exit status is COMMAND's (42)"
like "$(cat "$T/err")" "No space left on device" "the error names ENOSPC"
is "$(cat "$T/m/file"):$(inode "$T/m/file")" "old:$fino" "file DEST untouched"
is "$(staging_left "$T/m")" 0 "staging removed"

# --- lockbuild itself cannot create what it needs -----------------------
fill "$T/m"
"$LB" -o "$T/m/dest" "$L" k -- touch "$T/ran" 2>"$T/err"
is "$?" 74 "no room for the staging dir: exit 74"
like "$(cat "$T/err")" "cannot create staging dir next to '.*/m/dest': No space left on device" \
	"the message names the staging dir and ENOSPC"
ok "COMMAND not run" test ! -e "$T/ran"
is "$(cat "$T/m/dest/v"):$(inode "$T/m/dest")" "old:$dino" "DEST untouched"
is "$(staging_left "$T/m")" 0 "no staging left"

"$LB" "$T/m/locks" k touch "$T/ran" 2>"$T/err"
rc=$?
is "$rc" 74 "no room for LOCKDIR or the lock file: exit 74"
like "$(cat "$T/err")" "No space left on device" "the message names ENOSPC"
ok "COMMAND not run" test ! -e "$T/ran"
unfill "$T/m"

# Blocks full, inodes left: the lock file (empty) can be made, the owner
# record cannot; the build still runs, with a warning.
mkdir "$T/m/locks"
head -c 2000000000 /dev/zero >"$T/m/.fill" 2>/dev/null
"$LB" "$T/m/locks" k touch "$T/ran" 2>"$T/err"
is "$?" 0 "no room for the owner record: COMMAND still runs (exit 0)"
ok "COMMAND ran" test -e "$T/ran"
like "$(cat "$T/err")" "cannot write owner record .*: No space left on device" \
	"with a warning naming ENOSPC"
is "$(ls -A "$T/m/locks" | tr '\n' ' ')" "" "no lock file left"
unfill "$T/m"
rm -f "$T/ran"

# --- the staged output fits, flushing it does not -----------------------
# An ext4 image on a tmpfs: writes land in the page cache; when the tmpfs
# under the image is full, writeback fails.
if ! command -v mkfs.ext4 >/dev/null; then
	skip "mkfs.ext4 missing: cannot test a failing flush"
else
	mkdir "$T/b" "$T/x"
	flush_case() {	# flush_case file|dir
		mount -t tmpfs -o size=48m tmpfs "$T/b" || return 1
		mounts="$T/b $mounts"
		truncate -s 256m "$T/b/img"
		mkfs.ext4 -q -O ^has_journal -E nodiscard "$T/b/img" &&
			mount -o loop,errors=continue "$T/b/img" "$T/x" || return 1
		mounts="$T/x $mounts"
		if [ "$1" = file ]; then
			"$LB" -q -f -o "$T/x/out" "$L" k -- sh -c 'echo old >"$LOCKBUILD_STAGING"'
		else
			"$LB" -q -o "$T/x/out" "$L" k -- sh -c 'echo old >"$LOCKBUILD_STAGING/v"'
		fi
		sync
		ino=$(inode "$T/x/out")
		# Leave 2 MiB under the image, then stage 20 MiB.
		avail=$(df --output=avail -B1 "$T/b" | tail -n 1)
		fallocate -l $((avail - 2097152)) "$T/b/fill" || return 1
		if [ "$1" = file ]; then
			"$LB" -f -o "$T/x/out" "$L" k -- sh -c \
				'head -c 20971520 /dev/zero >"$LOCKBUILD_STAGING"' 2>"$T/err"
		else
			"$LB" -o "$T/x/out" "$L" k -- sh -c \
				'head -c 20971520 /dev/zero >"$LOCKBUILD_STAGING/big"' 2>"$T/err"
		fi
		rc=$?
		if [ "$1" = file ]; then got=$(cat "$T/x/out"); else got=$(cat "$T/x/out/v"); fi
		got="$got:$(inode "$T/x/out")"
		left=$(staging_left "$T/x")
		umount "$T/x" && umount "$T/b"
		mounts=${mounts#"$T/x $T/b "}
	}
	r=0 bad=0
	while [ "$r" -lt "$FULL_ROUNDS" ]; do
		for kind in file dir; do
			if ! flush_case $kind 2>"$T/setup.err"; then
				skip "cannot set up the loop ext4 image: $(head -n 1 "$T/setup.err")"
				continue
			fi
			if [ $kind = file ]; then
				pattern="cannot publish '.*/x/out': flush staged output to disk: No space left on device"
			else
				pattern="cannot publish '.*/x/out': flush staged output to disk: (No space left on device|Input/output error)"
			fi
			if [ "$r" -eq 0 ]; then
				is "$rc" 74 "flush of staged output fails ($kind): exit 74"
				like "$(cat "$T/err")" "$pattern" "the message says the flush failed and why"
				is "$got" "old:$ino" "DEST untouched ($kind)"
				is "$left" 0 "staging removed ($kind)"
			elif [ "$rc" -ne 74 ] || [ "$got" != "old:$ino" ] || [ "$left" -ne 0 ] ||
			    ! grep -Eq "$pattern" "$T/err"; then
				bad=$((bad + 1))
				echo "# round $r ($kind): exit $rc, DEST $got, $left staging: $(cat "$T/err")"
			fi
		done
		r=$((r + 1))
	done
	[ "$FULL_ROUNDS" -gt 1 ] &&
		is "$bad" 0 "flush failure: $((FULL_ROUNDS - 1)) more rounds of each kind, same result"
fi

# --- quota (btrfs qgroup limits apply to root too) ----------------------
if ! command -v mkfs.btrfs >/dev/null || ! command -v btrfs >/dev/null; then
	skip "mkfs.btrfs missing: no quota test (apt-get install btrfs-progs)"
elif ! { mkdir "$T/q" && mount -t tmpfs -o size=300m tmpfs "$T/q"; }; then
	skip "cannot mount a tmpfs for the btrfs image"
else
	mounts="$T/q $mounts"
	mkdir "$T/qm"
	truncate -s 200m "$T/q/img"
	if mkfs.btrfs -q "$T/q/img" >/dev/null 2>&1 &&
	    mount -o loop "$T/q/img" "$T/qm" 2>/dev/null; then
		mounts="$T/qm $mounts"
		btrfs quota enable "$T/qm" &&
			btrfs subvolume create "$T/qm/sv" >/dev/null &&
			btrfs qgroup limit 1m "$T/qm/sv" 2>"$T/err"
		"$LB" -q -o "$T/qm/sv/dest" "$L" k -- sh -c 'echo old >"$LOCKBUILD_STAGING/v"'
		sync
		qino=$(inode "$T/qm/sv/dest")
		"$LB" -o "$T/qm/sv/dest" "$L" k -- sh -c \
			'dd if=/dev/zero of="$LOCKBUILD_STAGING/big" bs=64k count=64 status=none' \
			2>"$T/err"
		is "$?" 1 "quota exceeded in COMMAND: exit status is COMMAND's (dd: 1)"
		like "$(cat "$T/err")" "Disk quota exceeded" "the error names EDQUOT"
		is "$(cat "$T/qm/sv/dest/v"):$(inode "$T/qm/sv/dest")" "old:$qino" "DEST untouched"
		is "$(staging_left "$T/qm/sv")" 0 "staging removed"
		# Use up the quota, then lockbuild's own mkdir fails.
		sync
		dd if=/dev/zero of="$T/qm/sv/fill" bs=64k count=64 status=none 2>/dev/null
		sync
		"$LB" -o "$T/qm/sv/dest" "$L" k -- touch "$T/ran" 2>"$T/err"
		is "$?" 74 "no quota left for the staging dir: exit 74"
		like "$(cat "$T/err")" "cannot create staging dir .*: Disk quota exceeded" \
			"the message names EDQUOT"
		ok "COMMAND not run" test ! -e "$T/ran"
		is "$(staging_left "$T/qm/sv")" 0 "no staging left"
	else
		skip "cannot make or mount a btrfs image"
	fi
fi

is "$(ls -A "$L" | tr '\n' ' ')" "" "no lock or owner file left"
done_testing
