#!/bin/sh
# make distcheck: the release tarball is complete and reproducible.
# Makes lockbuild-VERSION.tar.gz twice and compares the bytes, then, in a
# temporary directory and without .git, builds it, runs make check, installs
# it under DESTDIR and checks the installed files, and uninstalls it.
# Usage: distcheck.sh VERSION
set -eu
version=$1
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
tarball=lockbuild-$version.tar.gz
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lockbuild-distcheck.XXXXXX")
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

fail() {
	echo "distcheck: $*" >&2
	exit 1
}

make --no-print-directory dist >/dev/null
a=$(sha256sum "$tarball" | cut -d' ' -f1)
sleep 1	# a tarball that took the time of day would now differ
make --no-print-directory dist >/dev/null
b=$(sha256sum "$tarball" | cut -d' ' -f1)
[ "$a" = "$b" ] || fail "two make dist gave different tarballs: $a $b"
echo "distcheck: $tarball reproducible, sha256 $a"

tar -xzf "$tarball" -C "$tmp"
src=$tmp/lockbuild-$version
[ -d "$src" ] || fail "$tarball does not unpack into lockbuild-$version/"
[ ! -e "$src/.git" ] || fail "$tarball holds .git"
cd "$src"
echo "distcheck: make check in $src"
# Its totals line is renamed: .ci/run counts make check's tests once.
rc=0
make --no-print-directory check >"$tmp/check.log" 2>&1 || rc=$?
sed 's/^\([0-9]* passed, \)/distcheck: make check: \1/' "$tmp/check.log"
[ "$rc" -eq 0 ] || fail "make check failed in the unpacked tarball"
echo "distcheck: make install"
dest=$tmp/dest
make --no-print-directory install DESTDIR="$dest" PREFIX=/usr >/dev/null

got=$(cd "$dest" && find . -type f | sort)
want="./usr/bin/lockbuild
./usr/share/bash-completion/completions/lockbuild
./usr/share/man/man1/lockbuild.1"
[ "$got" = "$want" ] || fail "installed files:
$got
expected:
$want"
[ -x "$dest/usr/bin/lockbuild" ] || fail "lockbuild is not executable"
v=$("$dest/usr/bin/lockbuild" --version)
[ "$v" = "lockbuild $version" ] || fail "--version says '$v'"
"$dest/usr/bin/lockbuild" "$tmp/locks" k true || fail "installed lockbuild cannot lock"
cmp -s man/lockbuild.1 "$dest/usr/share/man/man1/lockbuild.1" ||
    fail "installed man page differs"
make --no-print-directory uninstall DESTDIR="$dest" PREFIX=/usr >/dev/null
[ -z "$(find "$dest" -type f)" ] || fail "make uninstall left files"
echo "distcheck: $tarball builds, passes make check, installs and uninstalls"
