#!/bin/sh
# make demo: lockbuild's main job, shown against the race it prevents.
# 8 callers at once all need one artifact (a directory of files with a
# checksum manifest).  A reader keeps opening it and verifying the manifest.
#   1. with lockbuild --once -o: one build, 8 successes, 0 torn reads;
#   2. with the usual "rm -rf DEST; build into DEST": several builds, and
#      the reader sees half-built trees.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
LB=$top/lockbuild
W=$(mktemp -d "${TMPDIR:-/tmp}/lockbuild-demo.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
CALLERS=8

# The "expensive build": five files written one by one, then a manifest.
cat >"$W/build.sh" <<'EOS'
#!/bin/sh
out=$1
echo build >>"$BUILDS"
for i in 1 2 3 4 5; do
	head -c 20000 /dev/urandom >"$out/part$i"
	sleep 0.05
done
(cd "$out" && sha256sum part1 part2 part3 part4 part5 >MANIFEST)
EOS
chmod +x "$W/build.sh"

# Reader: counts opens of DEST that do not verify (torn: present but partial).
reader() {	# reader DEST STOPFILE COUNTFILE
	ok=0 torn=0
	while [ ! -e "$2" ]; do
		if [ -d "$1" ]; then
			if (cd "$1" 2>/dev/null && sha256sum --status -c MANIFEST 2>/dev/null); then
				ok=$((ok + 1))
			elif [ -d "$1" ]; then
				torn=$((torn + 1))
			fi
		fi
	done
	echo "$ok $torn" >"$3"
}

run_round() {	# run_round NAME CALLER-COMMAND...
	name=$1; shift
	rm -rf "$W/artifact" "$W/stop" "$W/builds" "$W/ok"
	: >"$W/builds"
	reader "$W/artifact" "$W/stop" "$W/reads" &
	rpid=$!
	i=0 pids=""
	while [ $i -lt $CALLERS ]; do
		( if BUILDS=$W/builds "$@" >/dev/null 2>&1; then echo ok >>"$W/ok"; fi ) &
		pids="$pids $!"
		i=$((i + 1))
	done
	# Wait for the callers (not for the reader).
	for p in $pids; do wait "$p"; done
	touch "$W/stop"
	wait "$rpid"
	builds=$(wc -l <"$W/builds" | tr -d ' ')
	succeeded=$( [ -e "$W/ok" ] && wc -l <"$W/ok" | tr -d ' ' || echo 0)
	set -- $(cat "$W/reads")
	printf '%-34s builds run: %s   callers succeeded: %s/%s   good reads: %s   torn reads: %s\n' \
		"$name" "$builds" "$succeeded" "$CALLERS" "$1" "$2"
	eval "${name%% *}_builds=$builds ${name%% *}_ok=$succeeded ${name%% *}_torn=$2"
}

echo "lockbuild demo: $CALLERS concurrent callers need one artifact; a reader verifies it meanwhile"
run_round "lockbuild --once -o" \
	"$LB" -q --once -o "$W/artifact" "$W/locks" artifact -- sh -c '"$0" "$LOCKBUILD_STAGING"' "$W/build.sh"
run_round "naive rm -rf + build (no lock)" \
	sh -c 'd=$1; if [ ! -f "$d/MANIFEST" ]; then rm -rf "$d"; mkdir -p "$d" && "$0" "$d"; fi' "$W/build.sh" "$W/artifact"

echo
if [ "$lockbuild_builds" -eq 1 ] && [ "$lockbuild_ok" -eq "$CALLERS" ] && [ "$lockbuild_torn" -eq 0 ]; then
	echo "lockbuild: exactly one build, every caller succeeded, no torn reads."
else
	echo "lockbuild: UNEXPECTED result (see above)"
	exit 1
fi
echo "naive:     $naive_builds builds for one artifact, $naive_torn torn reads."
