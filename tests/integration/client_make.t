#!/bin/sh
# GNU make as a real client (tests/clients/Makefile.test): 16 targets
# built with make -j16 share one toolchain built once through
# lockbuild --once -o; a second make rebuilds nothing; two make -j8 at
# once on one tree both succeed with one toolchain build.
. "$TESTS_DIR/lib.sh"

if ! command -v make >/dev/null 2>&1; then
	skip "GNU make is not installed"
	done_testing
	exit
fi
MK="make -s -f $TESTS_DIR/clients/Makefile.test LB=$LB TESTS=$TESTS_DIR/clients"

export BUILDS="$T/builds"
: >"$BUILDS"
O=$T/one
mkdir -p "$O"
$MK OUT="$O" -j16 >"$T/make1.log" 2>&1
is "$?" 0 "make -j16 of 16 targets succeeds"
is "$(wc -l <"$BUILDS" | tr -d ' ')" 1 "the shared toolchain was built once"
is "$(wc -l <"$O/built.log" | tr -d ' ')" 16 "all 16 targets were built"
is "$(cat "$O/obj7.o")" "cc 1.0: obj7" "a target holds what the toolchain made"
stamp=$(stat -c '%Y.%y %i' "$O/gen.h" "$O/obj1.o" "$O/obj16.o")

$MK OUT="$O" -j16 >"$T/make2.log" 2>&1
is "$?" 0 "a second make succeeds"
is "$(wc -l <"$O/built.log" | tr -d ' ')" 16 "the second make rebuilt no target"
is "$(stat -c '%Y.%y %i' "$O/gen.h" "$O/obj1.o" "$O/obj16.o")" "$stamp" \
	"gen.h was regenerated but kept its mtime and inode (--if-changed)"
is "$(wc -l <"$BUILDS" | tr -d ' ')" 1 "and did not rebuild the toolchain"
ok "no staging leftovers in the build dir" \
	sh -c '! ls -a "$0" | grep -q "^\.lockbuild\."' "$O"

# Two independent make -j8 processes on one tree, started together.
: >"$BUILDS"
O=$T/two
mkdir -p "$O"
$MK OUT="$O" -j8 >"$T/a.log" 2>&1 &
a=$!
$MK OUT="$O" -j8 >"$T/b.log" 2>&1 &
b=$!
wait "$a"; ra=$?
wait "$b"; rb=$?
is "$ra.$rb" "0.0" "two concurrent make -j8 on one tree both succeed"
is "$(wc -l <"$BUILDS" | tr -d ' ')" 1 "the toolchain was built once between them"
n=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do
	[ "$(cat "$O/obj$i.o")" = "cc 1.0: obj$i" ] && n=$((n + 1))
done
is "$n" 16 "every target is complete"
is "$(ls -A "$O/.locks")" "" "no lock files left behind"
done_testing
