#!/bin/sh
# make check-hosts: installs what the lab needs (apt-get, says so), builds
# the guest image if it is not cached, boots the lab in a network
# namespace of its own, runs tests/hosts/*.t through tests/run.sh, and
# tears the lab down on every way out.  Where the lab cannot run (not
# root, no /dev/net/tun, no network namespaces), every test file says
# why and skips.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
lab() { sh tests/hosts/lab.sh "$@"; }

# The lab's host packages, without recommends (qemu's are large).
PKGS="qemu-system-x86 qemu-utils debootstrap socat busybox-static e2fsprogs kmod cpio iproute2"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	missing=
	for p in $PKGS; do
		dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "check-hosts: installing missing packages:$missing"
		echo "+ apt-get update -qq && apt-get install -y -qq --no-install-recommends$missing"
		apt-get update -qq >/dev/null &&
			# shellcheck disable=SC2086
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				--no-install-recommends $missing >/dev/null ||
			echo "check-hosts: apt-get install failed" >&2
	fi
fi

# A lab of this run's own: parallel runs do not meet, a stale lab from
# a killed run does not get in the way (lab.sh down LB_HOSTS_NS=... ends it).
LB_HOSTS_NS=lbhosts-$$
export LB_HOSTS_NS

if ! why=$(lab preflight); then
	echo "check-hosts: the NFS lab cannot run here: $why; its tests skip"
elif ! ldd lockbuild 2>&1 | grep -Eq 'not a dynamic|statically linked'; then
	echo "check-hosts: ./lockbuild is dynamically linked; the guests need a static one (make clean all)" >&2
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
else
	trap 'lab down' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	t0=$(date +%s)
	if ! lab up; then
		echo "check-hosts: the lab did not come up" >&2
		echo "0 passed, 1 failed, 0 skipped"
		exit 1
	fi
	echo "check-hosts: lab up in $(($(date +%s) - t0)) s (image build or cache, boot, mounts)"
fi
t1=$(date +%s)
# VERBOSE: the figures (hand-off, takeover) are TAP comments; show them.
VERBOSE=1 sh tests/run.sh tests/hosts/*.t
rc=$?
echo "check-hosts: suite took $(($(date +%s) - t1)) s"
exit "$rc"
