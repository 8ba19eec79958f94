#!/bin/sh
# Installs what building and testing lockbuild needs, when it is missing:
# with apt-get as root, with sudo apt-get otherwise.  Says what it runs.
# Usage: install-deps.sh [extra Debian packages...]
set -u

missing=""
pkg-config --exists libbsd-overlay 2>/dev/null || missing="$missing libbsd-dev"
pkg-config --exists libmd 2>/dev/null || missing="$missing libmd-dev"
pkg-config --exists cmocka 2>/dev/null || missing="$missing libcmocka-dev"
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
command -v cc >/dev/null 2>&1 || missing="$missing gcc"
for p in "$@"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "lockbuild: missing build dependencies:$missing (no apt-get here: install them by hand)" >&2
	exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1; then
	sudo="sudo"
else
	echo "lockbuild: missing:$missing; not root and no sudo: install them by hand" >&2
	exit 1
fi
echo "lockbuild: installing missing dependencies:$missing"
echo "+ $sudo apt-get update -qq && $sudo apt-get install -y -qq$missing"
$sudo apt-get update -qq >/dev/null || exit 1
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null || {
	echo "lockbuild: apt-get install$missing failed" >&2
	exit 1
}
