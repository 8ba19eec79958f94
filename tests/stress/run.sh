#!/bin/sh
# `make stress`: the reliability suite's full doses, in order, each printing
# its figures (the "# " lines of its TAP output) and failing on any
# violation.  Ends with one line "N passed, N failed, N skipped" summed over
# every part.
#   1. contention       tests/stress/contention.t
#   2. publish          tests/stress/publish_load.t
#   3. crash injection  tests/integration/stale_crash.t (ROUNDS=300) and
#                       tests/stress/crash.t (waiting, --check, publishing)
#   4. full disk        tests/integration/fs_full.t (FULL_ROUNDS=10)
#   5. filesystems      tests/stress/filesystems.t (table fs x test)
# About 5 minutes on a 2-core machine (bounded: 10).  STRESS_QUICK=1: tiny doses (under
# a minute), for smoke testing.  Parts 4 and 5 need root (they mount) and
# skip otherwise.  Full logs stay in $STRESS_LOGS (default: a new directory
# under ${TMPDIR:-/tmp}, removed when everything passed).
# The valgrind run of the integration suite is `make check-valgrind`.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
quick=${STRESS_QUICK:-0}
LOCKBUILD=${LOCKBUILD:-$top/lockbuild}
TESTS_DIR=$top/tests
export LOCKBUILD TESTS_DIR
[ -x "$LOCKBUILD" ] || { echo "stress: $LOCKBUILD not built (make lockbuild)" >&2; exit 2; }
logs=${STRESS_LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/lockbuild-stress.XXXXXX")}
mkdir -p "$logs"

passed=0 failed=0 skipped=0
t_start=$(date +%s)

# part TITLE FILE [VAR=VALUE...]: runs one TAP file with the given doses.
part() {
	_title=$1 _file=$2; shift 2
	_log=$logs/$(basename "$_file" .t).log
	_t0=$(date +%s)
	echo "== $_title: $(basename "$_file")${*:+ ($*)}"
	env "$@" sh "$_file" >"$_log" 2>&1
	_rc=$?
	_p=$(grep -c '^ok ' "$_log")
	_s=$(grep -c '^ok .*# *[Ss][Kk][Ii][Pp]' "$_log")
	_f=$(grep -c '^not ok ' "$_log")
	_p=$((_p - _s))
	if [ "$_rc" -ne 0 ] && [ "$_f" -eq 0 ]; then
		_f=1
		echo "not ok - $_file exited with status $_rc"
	fi
	# Figures and diagnostics ("# " lines), failures, skips.
	grep -E '^(not ok |# |ok .*# *[Ss][Kk][Ii][Pp])' "$_log"
	echo "-- $(basename "$_file"): $_p passed, $_f failed, $_s skipped ($(($(date +%s) - _t0))s)"
	passed=$((passed + _p)) failed=$((failed + _f)) skipped=$((skipped + _s))
}

if [ "$quick" = 1 ]; then
	echo "stress: STRESS_QUICK=1, tiny doses"
	part "1. contention" "$TESTS_DIR/stress/contention.t" \
		HOT_PROCS=32 HOT_CYCLES=3 MIX_CYCLES=3 DEADLINE=60
	part "2. publish under load" "$TESTS_DIR/stress/publish_load.t" \
		BUILDERS=3 BUILD_ROUNDS=4 READERS=2 ONCE_ROUNDS=4 ONCE_PROCS=4
	part "3. crash injection (building)" "$TESTS_DIR/integration/stale_crash.t" \
		ROUNDS=10
	part "3. crash injection (waiting, --check, publishing)" \
		"$TESTS_DIR/stress/crash.t" \
		WAIT_ROUNDS=4 CHECK_ROUNDS=4 PUBLISH_ROUNDS=4 BIG=100
	part "4. full disk and quotas" "$TESTS_DIR/integration/fs_full.t" \
		FULL_ROUNDS=1
	part "5. filesystems" "$TESTS_DIR/stress/filesystems.t" \
		FS_TESTS="lock_files.t publish_basic.t" STRESS_ROWS=
else
	part "1. contention" "$TESTS_DIR/stress/contention.t" \
		HOT_PROCS=32 HOT_CYCLES=150 MIX_CYCLES=150 DEADLINE=400
	part "2. publish under load" "$TESTS_DIR/stress/publish_load.t" \
		BUILDERS=6 BUILD_ROUNDS=60 READERS=4 ONCE_ROUNDS=60 ONCE_PROCS=8
	part "3. crash injection (building)" "$TESTS_DIR/integration/stale_crash.t" \
		ROUNDS=300
	part "3. crash injection (waiting, --check, publishing)" \
		"$TESTS_DIR/stress/crash.t" \
		WAIT_ROUNDS=100 CHECK_ROUNDS=100 PUBLISH_ROUNDS=100 BIG=300
	part "4. full disk and quotas" "$TESTS_DIR/integration/fs_full.t" \
		FULL_ROUNDS=10
	part "5. filesystems" "$TESTS_DIR/stress/filesystems.t"
fi

if [ "$failed" -eq 0 ] && [ -z "${STRESS_LOGS:-}" ]; then
	rm -rf "$logs"
	echo "stress: $(($(date +%s) - t_start))s in all"
else
	echo "stress: $(($(date +%s) - t_start))s in all; full logs in $logs"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
