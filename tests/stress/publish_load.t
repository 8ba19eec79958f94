#!/bin/sh
# Stress part 2, publish under load.  BUILDERS processes publish one
# directory DEST and one file DEST again and again (BUILD_ROUNDS each, some
# with --check, some with --no-fsync) while READERS processes keep opening
# DEST and verifying what they see:
#  - directory: cd into DEST, check its MANIFEST (sha256sum -c).  A failure
#    while the directory is still DEST is a torn read; a failure after it was
#    swapped out only means the old tree was deleted under the reader
#    ("retired", not a violation);
#  - file: one open (cat), then the last line must be the SHA-256 of the
#    rest;
#  - DEST must never be missing (RENAME_EXCHANGE, rename over a file).
# At the same time, ONCE_ROUNDS rounds of ONCE_PROCS concurrent --once
# callers of a fresh DEST (directory and file in turn): exactly one build
# per round, every caller exits 0, DEST complete; in every other round two
# plain builds of that DEST join in (then at most one --once build).
# Figures: processes, builds, reads, torn, missing, --once rounds.
# shellcheck disable=SC1091,SC2002,SC2010,SC2012,SC2016 # lib.sh is found at run time; scratch names are ours; sh -c expands
. "$TESTS_DIR/lib.sh"

BUILDERS=${BUILDERS:-6}
BUILD_ROUNDS=${BUILD_ROUNDS:-40}
READERS=${READERS:-4}
ONCE_ROUNDS=${ONCE_ROUNDS:-40}
ONCE_PROCS=${ONCE_PROCS:-8}
NFILES=${NFILES:-30}
L=$T/locks
O=$T/out
TREE=$O/tree
BLOB=$O/blob
mkdir "$O" "$T/st"

# mktree DIR ID: NFILES files and a subdirectory, then the MANIFEST.
cat >"$T/mktree" <<'EOF'
#!/bin/sh
cd "$1" || exit 1
mkdir sub || exit 1
head -c 65536 /dev/urandom >big || exit 1
i=0
while [ "$i" -lt "$3" ]; do
	echo "build $2 file $i" >"f$i"
	echo "build $2 sub $i" >"sub/s$i"
	i=$((i + 1))
done
echo "$2" >id
sha256sum big id f* sub/* >MANIFEST
EOF
# mkblob PATH ID: a body written in pieces, then a line with its SHA-256.
cat >"$T/mkblob" <<'EOF'
#!/bin/sh
echo "build $2" >"$1" || exit 1
i=0
while [ "$i" -lt 8 ]; do
	head -c 4096 /dev/urandom | od -An -tx1 >>"$1" || exit 1
	i=$((i + 1))
done
sum=$(sha256sum <"$1")
echo "sum ${sum%% *}" >>"$1"
EOF
# readtree DEST: 0 complete, 1 torn (still DEST), 2 retired, 3 missing.
cat >"$T/readtree" <<'EOF'
#!/bin/sh
cd "$1" 2>/dev/null || exit 3
sha256sum --status -c MANIFEST 2>/dev/null && exit 0
[ . -ef "$1" ] && exit 1
exit 2
EOF
# readblob DEST TMP: 0 complete, 1 torn, 3 missing.
cat >"$T/readblob" <<'EOF'
#!/bin/sh
cat "$1" >"$2" 2>/dev/null || exit 3
last=$(tail -n 1 "$2")
got=$(head -n -1 "$2" | sha256sum)
[ "${last#sum }" = "${got%% *}" ] || exit 1
EOF
chmod +x "$T/mktree" "$T/mkblob" "$T/readtree" "$T/readblob"

CHECK='cd "$LOCKBUILD_STAGING" && sha256sum --status -c MANIFEST'

# build_tree ID [OPTIONS]: one publish of the directory DEST.
build_tree() {
	_bid=$1; shift
	"$LB" -q "$@" -o "$TREE" "$L" tree sh -c \
		'echo "$1" >>"$2" && exec "$3" "$LOCKBUILD_STAGING" "$1" "$4"' \
		sh "$_bid" "$T/st/built.tree" "$T/mktree" "$NFILES"
}
build_blob() {
	_bid=$1; shift
	"$LB" -q "$@" -f -o "$BLOB" "$L" blob sh -c \
		'echo "$1" >>"$2" && exec "$3" "$LOCKBUILD_STAGING" "$1"' \
		sh "$_bid" "$T/st/built.blob" "$T/mkblob"
}

# The first publish happens before the readers start: from then on DEST
# must always be there.
build_tree init
build_blob init
ok "first directory publish verifies" "$T/readtree" "$TREE"
ok "first file publish verifies" "$T/readblob" "$BLOB" "$T/st/r0"

reader() {	# reader ID tree|blob
	_g=0 _t=0 _r=0 _m=0
	while [ ! -e "$T/st/stop" ]; do
		if [ "$2" = tree ]; then
			"$T/readtree" "$TREE"
		else
			"$T/readblob" "$BLOB" "$T/st/rd.$1"
		fi
		case $? in
		0) _g=$((_g + 1)) ;;
		1) _t=$((_t + 1)); echo "reader $1: torn $2" >>"$T/st/torn" ;;
		2) _r=$((_r + 1)) ;;
		*) _m=$((_m + 1)); echo "reader $1: $2 missing" >>"$T/st/missing" ;;
		esac
	done
	echo "$_g $_t $_r $_m" >"$T/st/reads.$1"
}

builder() {	# builder ID
	_i=0
	while [ "$_i" -lt "$BUILD_ROUNDS" ]; do
		case $((_i % 4)) in
		0) build_tree "$1.$_i" ;;
		1) build_blob "$1.$_i" ;;
		2) build_tree "$1.$_i" --check "$CHECK" ;;
		3) build_blob "$1.$_i" --no-fsync ;;
		esac || echo "builder $1 round $_i: exit $?" >>"$T/st/bad"
		_i=$((_i + 1))
	done
}

start=$(date +%s)
rpids=
r=1
while [ "$r" -le "$READERS" ]; do
	if [ $((r % 2)) -eq 1 ]; then reader "$r" tree & else reader "$r" blob & fi
	rpids="$rpids $!"
	r=$((r + 1))
done
bpids=
b=1
while [ "$b" -le "$BUILDERS" ]; do
	builder "$b" &
	bpids="$bpids $!"
	b=$((b + 1))
done

# --once rounds, while the builders and readers run.
once_bad=0 once_exact=0 once_mixed=0 once_calls=0
r=0
while [ "$r" -lt "$ONCE_ROUNDS" ]; do
	D=$O/once$r
	opt=
	[ $((r % 2)) -eq 1 ] && opt=-f
	mixed=$((r % 4 >= 2))
	cpids=
	c=0
	while [ "$c" -lt "$ONCE_PROCS" ]; do
		(
			# shellcheck disable=SC2086 # $opt is empty or -f
			"$LB" -q --once $opt -o "$D" "$L" "once$r" sh -c '
				echo x >>"$1"
				sleep 0.05
				if [ -n "$2" ]; then exec "$3" "$LOCKBUILD_STAGING" once
				else exec "$4" "$LOCKBUILD_STAGING" once 5; fi' \
				sh "$T/st/once$r.builds" "$opt" "$T/mkblob" "$T/mktree"
			echo $? >"$T/st/once$r.rc.$c"
		) &
		cpids="$cpids $!"
		c=$((c + 1))
	done
	if [ "$mixed" -eq 1 ]; then
		for c in p1 p2; do
			(
				# shellcheck disable=SC2086
				"$LB" -q $opt -o "$D" "$L" "once$r" sh -c '
					if [ -n "$1" ]; then exec "$2" "$LOCKBUILD_STAGING" plain
					else exec "$3" "$LOCKBUILD_STAGING" plain 5; fi' \
					sh "$opt" "$T/mkblob" "$T/mktree"
				echo $? >"$T/st/once$r.rc.$c"
			) &
			cpids="$cpids $!"
		done
	fi
	# shellcheck disable=SC2086
	wait $cpids
	once_calls=$((once_calls + ONCE_PROCS))
	n=$(cat "$T/st/once$r.builds" 2>/dev/null | wc -l | tr -d ' ')
	rcs=$(cat "$T"/st/once$r.rc.* | sort -u | tr '\n' ' ')
	if [ -n "$opt" ]; then "$T/readblob" "$D" "$T/st/once.rd"; else "$T/readtree" "$D"; fi
	complete=$?
	if [ "$rcs" != "0 " ] || [ "$complete" -ne 0 ] ||
	    { [ "$mixed" -eq 0 ] && [ "$n" -ne 1 ]; } || [ "$n" -gt 1 ]; then
		once_bad=$((once_bad + 1))
		echo "# --once round $r (${opt:-dir}, mixed $mixed): $n builds, exits $rcs, verify $complete"
	fi
	if [ "$mixed" -eq 0 ]; then once_exact=$((once_exact + 1)); else once_mixed=$((once_mixed + 1)); fi
	r=$((r + 1))
done

# shellcheck disable=SC2086
wait $bpids
: >"$T/st/stop"
# shellcheck disable=SC2086
wait $rpids
secs=$(($(date +%s) - start))

built_tree=$(($(wc -l <"$T/st/built.tree") - 1))
built_blob=$(($(wc -l <"$T/st/built.blob") - 1))
bad=$(cat "$T/st/bad" 2>/dev/null | wc -l | tr -d ' ')
is "$bad" 0 "every build under load exited 0"
[ "$bad" -eq 0 ] || sed 5q "$T/st/bad" | sed 's/^/# /'
is "$((built_tree + built_blob))" "$((BUILDERS * BUILD_ROUNDS))" \
	"every build ran its COMMAND once"
# shellcheck disable=SC2046 # four numbers
set -- $(cat "$T"/st/reads.* | awk '{ g += $1; t += $2; r += $3; m += $4 }
	END { print g + 0, t + 0, r + 0, m + 0 }')
good=$1 torn=$2 retired=$3 missing=$4
is "$torn" 0 "no torn or partial read of DEST"
is "$missing" 0 "DEST was never missing"
ok "readers did read ($good complete reads)" test "$good" -gt 0
is "$once_bad" 0 "--once: exactly one build per round, every caller exits 0, DEST complete"
ok "directory DEST complete at the end" "$T/readtree" "$TREE"
ok "file DEST complete at the end" "$T/readblob" "$BLOB" "$T/st/r1"
left=$(ls -A "$L" | wc -l | tr -d ' ')
is "$left" 0 "no lock or owner file left"
stg=$(ls -A "$O" | grep -c '^\.lockbuild\.' | tr -d ' ')
is "$stg" 0 "no staging leftovers next to DEST"

echo "# publish: $BUILDERS builders x $BUILD_ROUNDS = $built_tree directory + $built_blob file" \
	"publishes, $READERS readers, ${secs}s"
echo "# publish: $((good + torn + retired + missing)) reads: $good complete, $torn torn," \
	"$missing DEST missing, $retired saw their old tree retired (not a violation)"
echo "# publish: --once $ONCE_ROUNDS rounds x $ONCE_PROCS callers ($once_exact --once only:" \
	"exactly one build; $once_mixed with 2 plain builds: at most one), violations $once_bad"
done_testing
