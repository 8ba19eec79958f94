#!/bin/sh
# Stress part 5, filesystems: runs the lock and publish tests with DEST and
# LOCKDIR on tmpfs, ext4, xfs and btrfs (loop images) and overlayfs, by
# pointing TMPDIR at the mount (lib.sh makes $T under it), next to the host's
# own TMPDIR as the reference column.  Also:
#  - overlayfs (redirect_dir=off, as in container build layers): replacing a
#    directory DEST that comes from the lower layer fails with EXDEV:
#    lockbuild exits 73 and says so, DEST intact, no staging left; a file
#    DEST from the lower layer is replaced; a DEST made in the upper layer
#    is replaced again and again;
#  - FUSE (bindfs): LOCKDIR there is refused with exit 69 and a message
#    (FUSE may grant a held lock twice); DEST there can still be published.
# Needs root and the mkfs tools: when mkfs.xfs, mkfs.btrfs or bindfs are
# missing and apt-get works, they are installed (and the output says so);
# otherwise the column is skipped with the reason.  Everything mounted is
# unmounted again (and loop devices detached) on exit, also on failure.
# Prints a table of filesystem x test (pass, FAIL, skip, "-" for n/a).
# A test that fails on the host TMPDIR too counts once, in the host column.
# FS_TESTS overrides the list of integration tests (file names).
# shellcheck disable=SC1091,SC2010,SC2016 # lib.sh is found at run time; scratch names are ours; sh -c expands
. "$TESTS_DIR/lib.sh"

FS_TESTS=${FS_TESTS:-"lock_exclusion.t lock_files.t lock_shared.t lock_wait.t
	lock_status.t publish_basic.t publish_replace.t publish_once.t
	publish_ifchanged.t publish_failures.t publish_leftovers.t stale_crash.t
	stale_status.t"}
# The stress parts in small doses, per filesystem.
STRESS_ROWS=${STRESS_ROWS-"contention publish_load"}
FSES="host tmpfs ext4 xfs btrfs overlay fuse"
# Mount points with short paths: some tests match COMMAND in messages that
# shorten it to 60 bytes, and $T/... of a test run there must fit.
M=$(mktemp -d /tmp/lbfs.XXXXXX) || exit 1
mounts=
fuse_mounts=

cleanup() {
	for m in $fuse_mounts; do
		fusermount -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	for m in $mounts; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	# Only empty mount points are left in $M (a lazy unmount detached them).
	for m in "$M"/*; do rmdir "$m" 2>/dev/null; done
	rmdir "$M"
	rm -rf "$T"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	skip "filesystem tests need root (they mount tmpfs, loop images, overlayfs)"
	echo "# filesystems: skipped, not root"
	done_testing
	exit
fi

# --- tools --------------------------------------------------------------
need=
command -v mkfs.xfs >/dev/null || need="$need xfsprogs"
command -v mkfs.btrfs >/dev/null || need="$need btrfs-progs"
command -v bindfs >/dev/null || need="$need bindfs"
if [ -n "$need" ] && command -v apt-get >/dev/null; then
	echo "# filesystems: installing$need with apt-get"
	# shellcheck disable=SC2086 # a list of package names
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null 2>&1; } ||
		echo "# filesystems: apt-get install$need failed"
fi

# --- mounts -------------------------------------------------------------
mkdir "$T/img" "$T/ov"
set_dir() { eval "dir_$1=\$2"; }
get_dir() { eval "echo \"\${dir_$1-}\""; }
set_why() { eval "why_$1=\$2"; }
get_why() { eval "echo \"\${why_$1-}\""; }

# Images live on a tmpfs: sparse, fast, gone with it.
mount -t tmpfs -o size=2g tmpfs "$T/img" && mounts="$T/img $mounts"

set_dir host "${TMPDIR:-/tmp}"
mkdir "$M/tmpfs"
if mount -t tmpfs -o size=512m tmpfs "$M/tmpfs" 2>"$T/e"; then
	mounts="$M/tmpfs $mounts"; set_dir tmpfs "$M/tmpfs"
else
	set_why tmpfs "mount failed: $(head -n 1 "$T/e")"
fi

loopfs() {	# loopfs NAME SIZE MKFS...
	lf_name=$1 lf_size=$2; shift 2
	if ! command -v "$1" >/dev/null; then
		set_why "$lf_name" "$1 not installed"
		return
	fi
	mkdir "$M/$lf_name"
	truncate -s "$lf_size" "$T/img/$lf_name.img"
	if ! "$@" "$T/img/$lf_name.img" >"$T/e" 2>&1; then
		set_why "$lf_name" "$1 failed: $(head -n 1 "$T/e")"
	elif ! mount -o loop "$T/img/$lf_name.img" "$M/$lf_name" 2>"$T/e"; then
		set_why "$lf_name" "loop mount failed: $(head -n 1 "$T/e")"
	else
		mounts="$M/$lf_name $mounts"
		chmod 1777 "$M/$lf_name"
		set_dir "$lf_name" "$M/$lf_name"
	fi
}
loopfs ext4 256m mkfs.ext4 -q
loopfs xfs 320m mkfs.xfs -q
loopfs btrfs 256m mkfs.btrfs -q

# overlayfs: lower, upper and work on one tmpfs; tests run in a directory
# that comes from the lower layer.
mkdir "$M/overlay"
if mount -t tmpfs tmpfs "$T/ov" 2>"$T/e"; then
	mounts="$T/ov $mounts"
	mkdir "$T/ov/lower" "$T/ov/upper" "$T/ov/work" "$T/ov/lower/tmp" \
		"$T/ov/lower/tree"
	chmod 1777 "$T/ov/lower/tmp"
	echo old >"$T/ov/lower/tree/v"
	echo old >"$T/ov/lower/blob"
	if mount -t overlay overlay -o "lowerdir=$T/ov/lower,upperdir=$T/ov/upper,workdir=$T/ov/work,redirect_dir=off" \
	    "$M/overlay" 2>"$T/e"; then
		mounts="$M/overlay $mounts"
		set_dir overlay "$M/overlay/tmp"
	else
		set_why overlay "mount failed: $(head -n 1 "$T/e")"
	fi
else
	set_why overlay "tmpfs for its layers: $(head -n 1 "$T/e")"
fi

# FUSE: bindfs of a plain directory.
mkdir "$M/fuse" "$T/fusesrc"
if ! command -v bindfs >/dev/null; then
	set_why fuse "bindfs not installed"
elif [ ! -e /dev/fuse ]; then
	set_why fuse "no /dev/fuse"
elif bindfs "$T/fusesrc" "$M/fuse" 2>"$T/e"; then
	fuse_mounts="$M/fuse"
	set_dir fuse "$M/fuse"
else
	set_why fuse "bindfs failed: $(head -n 1 "$T/e")"
fi

# --- results ------------------------------------------------------------
# Cell values in $T/cells: "ROW FS RESULT".
cell() { echo "$1 $2 $3" >>"$T/cells"; }
cell_of() { awk -v r="$1" -v f="$2" '$1 == r && $2 == f { print $3 }' "$T/cells"; }

# result ROW FS STATUS DESCRIPTION: one TAP line; a failure that the host
# shows too is reported once, in the host column.
result() {
	if [ "$3" -eq 0 ]; then
		cell "$1" "$2" pass
		_result 0 "$2: $4"
	elif [ "$2" != host ] && [ "$(cell_of "$1" host)" = FAIL ]; then
		cell "$1" "$2" FAIL
		skip "$2: $4 fails here, but on the host TMPDIR too"
	else
		cell "$1" "$2" FAIL
		_result 1 "$2: $4"
	fi
}

fs_skip() {	# fs_skip ROW FS REASON
	cell "$1" "$2" skip
	skip "$2: $1: $3"
}

# unrunnable ROW FS DIR: FS cannot run ROW here (FUSE refuses any LOCKDIR,
# and gets its own checks; no DIR: FS is not mounted); the cell says so.
unrunnable() {
	if [ "$2" = fuse ]; then
		cell "$1" fuse -
	elif [ -z "$3" ]; then
		fs_skip "$1" "$2" "$(get_why "$2")"
	else
		return 1
	fi
	return 0
}

run_t() {	# run_t FS DIR FILE [VAR=VALUE...]: runs one .t with TMPDIR=DIR
	_fs=$1 _dir=$2 _f=$3; shift 3
	env TMPDIR="$_dir" LOCKBUILD="$LB" TESTS_DIR="$TESTS_DIR" "$@" \
		sh "$_f" >"$T/out" 2>&1
	_rc=$?
	if [ "$_rc" -ne 0 ] || grep -q '^not ok' "$T/out"; then
		grep '^not ok' "$T/out" | sed 3q | sed "s/^/# $_fs: /"
		return 1
	fi
	return 0
}

start=$(date +%s)
for fs in $FSES; do
	dir=$(get_dir "$fs")
	for t in $FS_TESTS; do
		row=${t%.t}
		unrunnable "$row" "$fs" "$dir" && continue
		run_t "$fs" "$dir" "$TESTS_DIR/integration/$t"
		result "$row" "$fs" $? "$t"
	done
	for s in $STRESS_ROWS; do
		row=stress:$s
		unrunnable "$row" "$fs" "$dir" && continue
		case $s in
		contention) run_t "$fs" "$dir" "$TESTS_DIR/stress/contention.t" \
			HOT_PROCS=16 HOT_CYCLES=8 MIX_CYCLES=8 DEADLINE=120 ;;
		publish_load) run_t "$fs" "$dir" "$TESTS_DIR/stress/publish_load.t" \
			BUILDERS=3 BUILD_ROUNDS=8 READERS=2 ONCE_ROUNDS=6 ONCE_PROCS=6 ;;
		crash) run_t "$fs" "$dir" "$TESTS_DIR/stress/crash.t" \
			WAIT_ROUNDS=8 CHECK_ROUNDS=4 PUBLISH_ROUNDS=6 BIG=200 ;;
		esac
		result "$row" "$fs" $? "stress $s (small dose)"
	done
done

# --- overlayfs: a directory DEST from the lower layer -------------------
ov=$(get_dir overlay)
if [ -z "$ov" ]; then
	for r in overlay:lower-dir-refused overlay:lower-file-replaced overlay:upper-dir-replaced; do
		fs_skip "$r" overlay "$(get_why overlay)"
	done
else
	ol=$T/ovlocks
	m=$M/overlay
	"$LB" -o "$m/tree" "$ol" k -- sh -c 'echo new >"$LOCKBUILD_STAGING/v"' 2>"$T/e"
	rc=$?
	left=$(ls -A "$m" | grep -c '^\.lockbuild\.')
	msg=$(cat "$T/e")
	[ "$rc" -eq 73 ] && [ "$(cat "$m/tree/v")" = old ] && [ "$left" -eq 0 ] &&
		printf '%s\n' "$msg" | grep -q "lower overlayfs layer cannot be replaced atomically"
	st=$?
	[ "$st" -eq 0 ] || echo "# overlay: exit $rc, DEST v=$(cat "$m/tree/v"), $left staging, stderr: $msg"
	result overlay:lower-dir-refused overlay "$st" \
		"directory DEST from the lower layer: exit 73 with a message, DEST intact, no staging left"

	"$LB" -q -f -o "$m/blob" "$ol" k -- sh -c 'echo new >"$LOCKBUILD_STAGING"'
	rc=$?
	[ "$rc" -eq 0 ] && [ "$(cat "$m/blob")" = new ]
	result overlay:lower-file-replaced overlay $? "file DEST from the lower layer is replaced (exit $rc)"

	rm -rf "$m/tree"
	st=0
	for i in 1 2 3; do
		"$LB" -q -o "$m/tree" "$ol" k -- sh -c 'echo "$1" >"$LOCKBUILD_STAGING/v"' sh "up$i" || st=1
		[ "$(cat "$m/tree/v")" = "up$i" ] || st=1
	done
	[ "$(ls -A "$m" | grep -c '^\.lockbuild\.')" -eq 0 ] || st=1
	result overlay:upper-dir-replaced overlay "$st" \
		"once removed, DEST lives in the upper layer and is replaced (3 publishes)"
fi

# --- FUSE -----------------------------------------------------------------
fu=$(get_dir fuse)
if [ -z "$fu" ]; then
	fs_skip fuse:lockdir-refused fuse "$(get_why fuse)"
	fs_skip fuse:publish-dest fuse "$(get_why fuse)"
else
	"$LB" "$fu/locks" k touch "$T/fuse-ran" 2>"$T/e"
	rc=$?
	[ "$rc" -eq 69 ] && [ ! -e "$T/fuse-ran" ] && grep -q "FUSE" "$T/e"
	st=$?
	[ "$st" -eq 0 ] || echo "# fuse: exit $rc, stderr: $(cat "$T/e")"
	result fuse:lockdir-refused fuse "$st" "LOCKDIR on FUSE: exit 69, says FUSE, COMMAND not run"
	st=0
	for i in 1 2; do
		"$LB" -q -o "$fu/dest" "$T/fuselocks" k -- sh -c 'echo "$1" >"$LOCKBUILD_STAGING/v"' sh "f$i" || st=1
		[ "$(cat "$fu/dest/v" 2>/dev/null)" = "f$i" ] || st=1
	done
	[ "$(ls -A "$fu" | grep -c '^\.lockbuild\.')" -eq 0 ] || st=1
	result fuse:publish-dest fuse "$st" "DEST on FUSE (LOCKDIR local): published and replaced"
fi
secs=$(($(date +%s) - start))

# --- table ----------------------------------------------------------------
echo "# filesystems: $(echo "$FS_TESTS" | wc -w | tr -d ' ') integration tests + $(echo "$STRESS_ROWS" | wc -w | tr -d ' ') stress tests per filesystem, ${secs}s; host TMPDIR is $(get_dir host) ($(stat -f -c %T "$(get_dir host)"))"
awk -v fses="$FSES" '
	{ if (!($1 in seen)) { seen[$1] = 1; rows[++n] = $1 } v[$1, $2] = $3 }
	END {
		nf = split(fses, f, " ")
		line = sprintf("%-28s", "test")
		for (i = 1; i <= nf; i++) line = line sprintf(" %-7s", f[i])
		print "# " line
		for (r = 1; r <= n; r++) {
			line = sprintf("%-28s", rows[r])
			for (i = 1; i <= nf; i++) {
				c = v[rows[r], f[i]]; if (c == "") c = "-"
				line = line sprintf(" %-7s", c)
			}
			print "# " line
		}
	}' "$T/cells"
for fs in $FSES; do
	w=$(get_why "$fs")
	[ -n "$w" ] && echo "# filesystems: $fs skipped: $w"
done
done_testing
