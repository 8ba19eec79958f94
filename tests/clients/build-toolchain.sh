#!/bin/sh
# A stand-in for an expensive shared artifact ("a toolchain"): takes a
# moment, writes several files into $1, and counts its runs in $BUILDS.
set -eu
out=$1
echo "$$" >>"$BUILDS"
mkdir -p "$out/bin"
printf '#!/bin/sh\necho "cc 1.0: $*"\n' >"$out/bin/cc"
chmod +x "$out/bin/cc"
sleep 0.3
echo "toolchain 1.0" >"$out/VERSION"
