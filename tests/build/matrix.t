#!/bin/sh
# make check-build: lockbuild and the test programs build and link with
# gcc and clang, at -O0 and -O2, dynamically and statically, with -Werror.
# Each cell builds from clean in its own copy of the tree, so the
# checkout's objects (built with other flags) are neither reused nor
# replaced.  A static binary must need no shared library, a dynamic one
# must, and each must run.  Prints TAP.
#
#   BUILD_CCS="gcc clang"   compilers to try (a missing one is skipped)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lockbuild-matrix.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
ccs=${BUILD_CCS:-gcc clang}
jobs=${BUILD_JOBS:-2}

# "yes" for a binary that needs no shared library, "no" otherwise.
linkage() {
	if readelf -d "$1" | grep -q NEEDED; then
		echo no
	else
		echo yes
	fi
}

# shellcheck disable=SC2086 # a list of words
set -- $ccs
echo "1..$(($# * 4))"
n=0
for cc in $ccs; do
	for opt in -O0 -O2; do
		for static in no yes; do
			n=$((n + 1))
			cell="$cc $opt STATIC=$static"
			if ! command -v "$cc" >/dev/null 2>&1; then
				echo "ok $n - $cell # SKIP $cc not installed"
				continue
			fi
			if [ "$static" = yes ] &&
			    ! [ -f "$("$cc" -print-file-name=libc.a)" ]; then
				echo "ok $n - $cell # SKIP no libc.a for $cc"
				continue
			fi
			d=$tmp/$n
			mkdir "$d" && cp -R "$top/Makefile" "$top/src" \
			    "$top/man" "$top/tests" "$d/" || exit 1
			# Not the checkout's objects: each cell compiles all.
			make -C "$d" --no-print-directory clean >/dev/null
			if ! make -C "$d" -j"$jobs" --no-print-directory \
			    CC="$cc" CFLAGS="$opt -g" STATIC="$static" \
			    WERROR=-Werror lockbuild test-progs \
			    >"$d.log" 2>&1; then
				tail -n 20 "$d.log" | sed 's/^/# /'
				echo "not ok $n - $cell: build failed"
			elif ! "$d/lockbuild" --version >/dev/null 2>&1; then
				echo "not ok $n - $cell: lockbuild --version failed"
			elif [ "$(linkage "$d/lockbuild")" != "$static" ]; then
				echo "not ok $n - $cell: wrong linkage"
			else
				echo "ok $n - $cell"
			fi
			rm -rf "$d" "$d.log"
		done
	done
done
