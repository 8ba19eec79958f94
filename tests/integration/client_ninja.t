#!/bin/sh
# ninja as a real client (tests/clients/build.ninja): ninja -j16 builds 16
# objects that share one toolchain built once through lockbuild --once -o;
# a second ninja run rebuilds nothing thanks to --if-changed and restat.
. "$TESTS_DIR/lib.sh"

if ! command -v ninja >/dev/null 2>&1; then
	skip "ninja is not installed (Debian package ninja-build)"
	done_testing
	exit
fi
export LB TESTS="$TESTS_DIR/clients" BUILDS="$T/builds"
: >"$BUILDS"
O=$T/out
mkdir -p "$O"
cp "$TESTS/build.ninja" "$O/"

ninja -C "$O" -j16 >"$T/n1.log" 2>&1
is "$?" 0 "ninja -j16 succeeds"
is "$(wc -l <"$BUILDS" | tr -d ' ')" 1 "the shared toolchain was built once"
is "$(wc -l <"$O/built.log" | tr -d ' ')" 16 "all 16 objects were built"
is "$(cat "$O/obj3.o")" "cc 1.0: gen.h" "an object holds what the toolchain made"
stamp=$(stat -c '%Y.%y %i' "$O/gen.h")

ninja -C "$O" -j16 >"$T/n2.log" 2>&1
is "$?" 0 "a second ninja run succeeds"
is "$(stat -c '%Y.%y %i' "$O/gen.h")" "$stamp" "gen.h kept its mtime and inode"
is "$(wc -l <"$O/built.log" | tr -d ' ')" 16 "no object was rebuilt"
done_testing
