#!/bin/sh
# Builds the guest image of the NFS test lab into directory OUT (default
# $LOCKBUILD_STAGING: lab.sh runs this under `lockbuild --once -o`, so the
# image is built once per machine and published whole or not at all):
#   OUT/vmlinuz      Debian bookworm kernel (the host's mirror, apt-get download)
#   OUT/root.img     raw ext4 (sparse): debootstrap minbase + nfs-kernel-server,
#                    nfs-common, socat, kmod, iproute2, procps, only the kernel
#                    modules the lab needs
#   OUT/initmods/    the modules that mount the root (virtio, ext4), in load
#                    order (initmods/order); lab.sh packs them into its initrd
#   OUT/kver, OUT/build.log
# The lab's init and agent are not in the image (lab.sh puts them in the
# initrd), so changing them does not rebuild this.  Run as root, on the host:
# the guests never reach any network but the lab's own.
# Usage: build-image.sh [OUT]
set -eu

OUT=${1:-${LOCKBUILD_STAGING:?usage: build-image.sh OUT}}
SUITE=bookworm
# Modules the guests load (their dependencies come along).
MODULES="virtio_pci virtio_blk ext4 virtio_net virtio_rng 9p 9pnet_virtio
	nfsd nfsv4 nfsv3 nfs sch_netem"
BOOT_MODULES="virtio_pci virtio_blk ext4"
PKGS=nfs-kernel-server,nfs-common,socat,kmod,iproute2,procps

# The mirror apt uses here (deb822 or one-line sources), unless given.
mirror() {
	[ -n "${LB_HOSTS_MIRROR:-}" ] && { echo "$LB_HOSTS_MIRROR"; return; }
	m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '/^URIs:/ {u=$2} /^Suites:/ && u != "" && $0 ~ / '"$SUITE"'( |$)/ {print u; exit}')
	[ -z "$m" ] && m=$(cat /etc/apt/sources.list 2>/dev/null |
		awk '$1 == "deb" && $3 == "'"$SUITE"'" {print $2; exit}')
	echo "${m:-http://deb.debian.org/debian}"
}

W=$(mktemp -d /var/tmp/lockbuild-hosts-build.XXXXXX)
R=$W/root
cleanup() {
	# debootstrap mounts proc/sys in the target; a failed run can leave them.
	for m in $(awk -v r="$R" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r); do
		umount -l "$m" 2>/dev/null || :
	done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$OUT"
exec 3>"$OUT/build.log"
say() { echo "build-image: $*"; echo "$*" >&3; }
t0=$(date +%s)

# 1. Kernel: the version linux-image-amd64 points to, unpacked from its .deb.
kdep() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ {print $2; exit}'
}
kpkg=$(kdep)
if [ -z "$kpkg" ]; then
	say "apt-get update (no linux-image-amd64 in apt's lists)"
	apt-get update -qq >&3 2>&1
	kpkg=$(kdep)
fi
[ -n "$kpkg" ] || { echo "build-image: no linux-image-amd64 in apt's lists (apt-get update?)" >&2; exit 1; }
kver=${kpkg#linux-image-}
say "kernel $kpkg"
mkdir "$W/deb" "$W/k"
chmod 777 "$W/deb"	# apt-get download runs as _apt
(cd "$W/deb" && apt-get download -q "$kpkg" >&3 2>&1)
dpkg-deb -x "$W/deb/$kpkg"_*.deb "$W/k"
cp "$W/k/boot/vmlinuz-$kver" "$OUT/vmlinuz"
echo "$kver" >"$OUT/kver"
depmod -b "$W/k" "$kver"

# 2. Root file system.
m=$(mirror)
say "debootstrap $SUITE from $m"
debootstrap --variant=minbase --include="$PKGS" "$SUITE" "$R" "$m" >&3 2>&1 || {
	tail -n 20 "$OUT/build.log" >&2
	exit 1
}
say "debootstrap done after $(($(date +%s) - t0)) s"

# 3. Modules: the closure of $MODULES, and the boot ones in load order.
md=$R/lib/modules/$kver
mkdir -p "$md" "$OUT/initmods"
cp "$W/k/lib/modules/$kver"/modules.builtin* "$W/k/lib/modules/$kver"/modules.order "$md/"
for mod in $MODULES; do
	modprobe -S "$kver" -d "$W/k" --show-depends "$mod"
done | awk '$1 == "insmod" {print $2}' | sort -u | while read -r ko; do
	rel=${ko#"$W/k/lib/modules/$kver/"}
	mkdir -p "$md/${rel%/*}"
	cp "$ko" "$md/$rel"
done
depmod -b "$R" "$kver"
for mod in $BOOT_MODULES; do
	modprobe -S "$kver" -d "$W/k" --show-depends "$mod"
done | awk '$1 == "insmod" {print $2}' | awk '!seen[$0]++' | while read -r ko; do
	cp "$ko" "$OUT/initmods/"
	basename "$ko" >>"$OUT/initmods/order"
done

# 4. Configuration that does not depend on the lab's layout (lab.sh's
# init does the rest at boot).
mkdir -p "$R/export" "$R/mnt/share"
chmod 1777 "$R/export"
echo "/export *(rw,sync,no_root_squash,no_subtree_check,insecure,fsid=0)" >"$R/etc/exports"
# NFSv4.1, 4.2, and v3 (for tests/hosts/mounts.t: lockbuild refuses it;
# the clients mount v4.2, rpcbind and mountd serve only the v3 mounts).
cat >>"$R/etc/nfs.conf" <<'EOF'

[nfsd]
vers3=y
vers4.0=n
vers4.1=y
vers4.2=y
[mountd]
manage-gids=n
EOF
rm -rf "$R/var/cache/apt/archives"/*.deb "$R/var/lib/apt/lists"/* \
	"$R/usr/share/doc" "$R/usr/share/man" "$R/usr/share/locale"

# 5. The disk: ext4 filled from the directory, no loop device needed.
size=$(du -sm "$R" | awk '{print $1 + 256}')
say "root ${size} MiB"
mkfs.ext4 -q -F -L lbroot -d "$R" "$OUT/root.img" "${size}M" >&3 2>&1
say "image built in $(($(date +%s) - t0)) s"
