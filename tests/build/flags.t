#!/bin/sh
# make check-build: a packager's CPPFLAGS, CFLAGS and LDFLAGS (Debian's
# dpkg-buildflags, all hardening on) reach every compile and link line,
# -Werror comes only with WERROR=-Werror (the project's checks), and
# lockbuild builds with those flags and -Werror.  Prints TAP.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lockbuild-flags.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
cd "$top" || exit 1

if command -v dpkg-buildflags >/dev/null 2>&1; then
	eval "$(DEB_BUILD_MAINT_OPTIONS=hardening=+all \
	    dpkg-buildflags --export=sh)"
else
	# Debian 12's values, for machines without dpkg-dev.
	CPPFLAGS="-Wdate-time -D_FORTIFY_SOURCE=2"
	CFLAGS="-g -O2 -fstack-protector-strong -Wformat -Werror=format-security"
	LDFLAGS="-Wl,-z,relro -Wl,-z,now"
fi

echo "1..4"

# $1: test number, $2: description, $3: "make -n" output,
# $4: pattern of the lines to look at, $5...: words each must contain.
has_all() {
	n=$1 what=$2 out=$3 pat=$4
	shift 4
	lines=$(printf '%s\n' "$out" | grep -E -- "$pat")
	if [ -z "$lines" ]; then
		echo "not ok $n - $what: no line matches $pat"
		return
	fi
	for w in "$@"; do
		miss=$(printf '%s\n' "$lines" | grep -v -F -e " $w " -e " $w\$")
		if [ -n "$miss" ]; then
			printf '%s\n' "$miss" | sed 's/^/# /'
			echo "not ok $n - $what: $w missing"
			return
		fi
	done
	echo "ok $n - $what"
}

out=$(make -n -B CPPFLAGS="$CPPFLAGS" CFLAGS="$CFLAGS" LDFLAGS="$LDFLAGS" \
    lockbuild 2>&1)
# shellcheck disable=SC2086 # lists of words
has_all 1 "CPPFLAGS and CFLAGS on every compile line" "$out" \
    ' -c -o src/[a-z0-9_]+\.o ' $CPPFLAGS $CFLAGS
# shellcheck disable=SC2086
has_all 2 "CFLAGS and LDFLAGS on the link line" "$out" \
    ' -o lockbuild ' $CFLAGS $LDFLAGS

if printf '%s\n' "$out" | grep -q -e ' -Werror ' -e ' -Werror$'; then
	echo "not ok 3 - plain make adds no -Werror"
elif ! make -n -B WERROR=-Werror lockbuild 2>&1 | grep -q ' -Werror '; then
	echo "not ok 3 - WERROR=-Werror reaches the compile lines"
else
	echo "ok 3 - -Werror only with WERROR=-Werror"
fi

# The packager's build itself, held to the project's -Werror.
mkdir "$tmp/t" && cp -R Makefile src man tests "$tmp/t/" || exit 1
make -C "$tmp/t" --no-print-directory clean >/dev/null
if make -C "$tmp/t" -j"${BUILD_JOBS:-2}" --no-print-directory \
    CPPFLAGS="$CPPFLAGS" CFLAGS="$CFLAGS" LDFLAGS="$LDFLAGS" \
    WERROR=-Werror lockbuild >"$tmp/log" 2>&1 &&
    "$tmp/t/lockbuild" --version >/dev/null; then
	echo "ok 4 - builds with these flags and -Werror"
else
	sed 's/^/# /' "$tmp/log"
	echo "not ok 4 - builds with these flags and -Werror"
fi
