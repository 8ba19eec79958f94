#!/bin/sh
# Runs test programs that print TAP (cmocka binaries, tests/integration/*.t)
# and ends with one line for the whole run: "N passed, N failed, N skipped".
# A program that exits non-zero without a failing test counts as a failure.
# Under LOCKBUILD_VALGRIND=1 (make check-valgrind) every valgrind report
# goes to a file (tests/valgrind-wrap.sh), and the run ends with their sum
# (tests/valgrind-summary.sh), for each test program and for the whole
# run: a report with an error or a definite leak fails its test program
# (even if no check looked at that run's exit status), and the reports are
# kept.
set -u

passed=0 failed=0 skipped=0
top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp)
trap 'rm -f "$out" "$out.vg"' EXIT
vgdir=
if [ "${LOCKBUILD_VALGRIND:-0}" = 1 ]; then
	vgdir=$(mktemp -d "${TMPDIR:-/tmp}/lockbuild-valgrind.XXXXXX") || exit 1
	# Also runs as another user (setpriv in some tests) write their report.
	chmod 1777 "$vgdir"
fi

for t in "$@"; do
	case "$t" in
	*.t)
		if [ -n "$vgdir" ]; then
			VALGRIND_LOGDIR=$vgdir/${t##*/}
			mkdir "$VALGRIND_LOGDIR" && chmod 1777 "$VALGRIND_LOGDIR"
			export VALGRIND_LOGDIR
		fi
		CMOCKA_MESSAGE_OUTPUT=TAP LOCKBUILD="${LOCKBUILD:-$top/lockbuild}" \
			TESTS_DIR="$top/tests" sh "$t" >"$out" 2>&1 ;;
	*) CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$out" 2>&1 ;;
	esac
	rc=$?
	if [ -n "$vgdir" ] && [ "$t" != "${t%.t}" ] &&
		! sh "$top/tests/valgrind-summary.sh" "$VALGRIND_LOGDIR" >"$out.vg"; then
		cat "$out.vg" >>"$out"
		grep -q '^valgrind: report with errors' "$out.vg" &&
			echo "not ok - valgrind found errors in $t" >>"$out"
	fi
	p=$(grep -c '^ok ' "$out" | tr -d ' ')
	s=$(grep -c '^ok .*# *[Ss][Kk][Ii][Pp]' "$out" | tr -d ' ')
	f=$(grep -c '^not ok ' "$out" | tr -d ' ')
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $t exited with status $rc" >>"$out"
	fi
	if [ "$f" -gt 0 ] || [ "${VERBOSE:-0}" = 1 ]; then
		cat "$out"
	else
		grep '# *[Ss][Kk][Ii][Pp]' "$out" || :
	fi
	printf '%-40s %3d passed, %d failed, %d skipped\n' "${t#"$top"/}" "$p" "$f" "$s"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done
if [ -n "$vgdir" ]; then
	sh "$top/tests/valgrind-summary.sh" "$vgdir" >"$out.vg"
	case $? in
	0) rm -rf "$vgdir" ;;
	1) echo "valgrind: reports kept in $vgdir" ;;	# failures counted above
	*) failed=$((failed + 1)) ;;	# no report: valgrind never ran
	esac
	grep '^valgrind: ' "$out.vg"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
