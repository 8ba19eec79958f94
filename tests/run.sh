#!/bin/sh
# Runs test programs that print TAP (cmocka binaries, tests/integration/*.t)
# and ends with one line for the whole run: "N passed, N failed, N skipped".
# A program that exits non-zero without a failing test counts as a failure.
set -u

passed=0 failed=0 skipped=0
top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT

for t in "$@"; do
	case "$t" in
	*.t) CMOCKA_MESSAGE_OUTPUT=TAP LOCKBUILD="${LOCKBUILD:-$top/lockbuild}" \
		TESTS_DIR="$top/tests" sh "$t" >"$out" 2>&1 ;;
	*) CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$out" 2>&1 ;;
	esac
	rc=$?
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
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
