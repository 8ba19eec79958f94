#!/bin/sh
# Bazel as a real client (tests/clients/bazel): six genrules built with
# bazel build -j 8 share one toolchain in a cache directory outside Bazel's
# output tree, built once through lockbuild --once -o.  Run with
# --spawn_strategy=local, then with the default linux-sandbox strategy:
# there the cache is read-only until --sandbox_writable_path names it.
#
# The cache lives under /var/tmp, not /tmp: Bazel 4.2's linux-sandbox keeps
# /tmp writable, which would hide the need for --sandbox_writable_path.
# Bazel gets a private --output_user_root in $T (nothing in ~/.cache) and
# its server is shut down on exit; --max_idle_secs ends it anyway if that
# fails.
# shellcheck disable=SC1091 # lib.sh is found at run time
. "$TESTS_DIR/lib.sh"

if ! command -v bazel >/dev/null 2>&1; then
	skip "bazel is not installed (Debian package bazel-bootstrap)"
	done_testing
	exit
fi

C=$(mktemp -d /var/tmp/lockbuild-bazel.XXXXXX 2>/dev/null) || C=
if [ -z "$C" ]; then
	C=$T/cache
	mkdir "$C"
fi
W=$T/ws
cp -R "$TESTS_DIR/clients/bazel" "$W"
BZ="bazel --nohome_rc --output_user_root=$T/bazel --max_idle_secs=300"
# shellcheck disable=SC2086 # $BZ is a word list
cleanup() {
	(cd "$W" && $BZ shutdown) >/dev/null 2>&1
	chmod -R u+w "$T" 2>/dev/null	# Bazel leaves read-only outputs
	rm -rf "$C" "$T"
}
trap cleanup EXIT

# An LB wrapper that records when each action starts and stops waiting,
# to show that the actions really ran at once.
cat >"$T/lb" <<EOF
#!/bin/sh
echo + >>"\$CACHE/.trace"
"$LB" "\$@"; rc=\$?
echo - >>"\$CACHE/.trace"
exit \$rc
EOF
chmod +x "$T/lb"

# bz LOG CACHE [FLAG...]: bazel build -j 8 //:all with the actions' inputs.
bz() {
	_log=$1 _c=$2
	shift 2
	# shellcheck disable=SC2086 # $BZ is a word list
	(cd "$W" && timeout 300 $BZ build -j 8 --local_cpu_resources=8 \
		--action_env=LB="$T/lb" --action_env=CACHE="$_c" \
		--action_env=TOOLCHAIN_SH="$TESTS_DIR/clients/build-toolchain.sh" \
		--action_env=BUILDS="$_c/builds" "$@" //:all) >"$_log" 2>&1
}

# most_at_once TRACE: the largest number of actions inside lockbuild at once.
most_at_once() {
	awk '/\+/ { n++; if (n > m) m = n } /-/ { n-- } END { print m + 0 }' "$1"
}

# check MODE CACHE: the toolchain was built once and every output holds
# what it made; the cache holds nothing else.
check() {
	is "$(wc -l <"$2/builds" | tr -d ' ')" 1 "$1: the toolchain was built once for six genrules"
	n=0
	for i in 1 2 3 4 5 6; do
		[ "$(cat "$W/bazel-bin/obj$i.o")" = "cc 1.0: obj$i" ] && n=$((n + 1))
	done
	is "$n" 6 "$1: every output holds what the toolchain made"
	is "$(cat "$2/toolchain/VERSION")" "toolchain 1.0" "$1: the toolchain is complete"
	is "$(cd "$2" && echo .[!.]* *)" ".trace builds locks toolchain" \
		"$1: no staging leftovers in the cache"
	is "$(ls -A "$2/locks" 2>&1)" "" "$1: no lock files left behind"
	m=$(most_at_once "$2/.trace")
	ok "$1: several actions ran lockbuild at once ($m)" [ "$m" -ge 2 ]
}

t0=$(date +%s)
L=$C/local
mkdir "$L"
bz "$T/local.log" "$L" --spawn_strategy=local
is "$?" 0 "bazel build -j 8 --spawn_strategy=local succeeds"
like "$(grep 'processes:' "$T/local.log")" ' 6 local' "the six genrules ran as local actions"
check local "$L"
t1=$(date +%s)

# The default strategy: the sandbox mounts the cache read-only.  A cache
# of its own, so that the next run cannot find these actions done.
R=$C/ro
mkdir "$R"
bz "$T/ro.log" "$R"
rc=$?
if grep -q 'processwrapper-sandbox' "$T/ro.log"; then
	skip "Bazel fell back to processwrapper-sandbox (no linux-sandbox here), which mounts nothing read-only"
else
	case $C in
	/tmp/*)
		skip "the cache is under /tmp, which Bazel's sandbox keeps writable" ;;
	*)
		ok "sandboxed without --sandbox_writable_path: the build fails" [ "$rc" -ne 0 ]
		like "$(grep -m1 'lockbuild:' "$T/ro.log")" 'Read-only file system' \
			"because the cache is read-only in the sandbox"
		is "$(ls -A "$R")" "" "and nothing was written to it" ;;
	esac
fi

S=$C/sandbox
mkdir "$S"
bz "$T/sandbox.log" "$S" --sandbox_writable_path="$S"
is "$?" 0 "sandboxed with --sandbox_writable_path=CACHE: the build succeeds"
like "$(grep 'processes:' "$T/sandbox.log")" ' 6 (linux-sandbox|sandbox|processwrapper-sandbox)' \
	"the six genrules ran sandboxed"
check sandbox "$S"
is "$(grep -c 'exited without releasing' "$T/sandbox.log")" 0 \
	"no holder in another pid namespace was taken for dead"
t2=$(date +%s)
echo "# bazel: local run $((t1 - t0))s, sandboxed runs $((t2 - t1))s"

# shellcheck disable=SC2154 # _failed is lib.sh's count of failed tests
if [ "$_failed" -ne 0 ]; then
	for f in local ro sandbox; do
		sed "s/^/# $f: /" "$T/$f.log" | grep -v 'linux-sandbox.*\.cc:' | tail -n 40
	done
fi
done_testing
