#!/bin/sh
# The NFS test lab: one knfsd server VM and two Linux client VMs (qemu,
# TCG), on a bridge inside a network namespace of their own.  No address
# outside that namespace is ever reached: the VMs have no route out, no
# DNS, and the host talks to them only from inside the namespace.
# See tests/hosts/README.md.
#
# Usage: lab.sh COMMAND [ARG...]
#   image            build the guest image if not cached; print its directory
#   up               boot server, client1, client2; wait until the clients
#                    have mounted the share
#   down             kill the VMs, delete the namespace, the taps, the state
#   status           which VMs run, which are ready (exit 1: none runs)
#   run HOST CMD...  run the sh text CMD on HOST (stdin: /dev/null); its
#                    stdout, stderr and exit status come back (255: no agent)
#   runi HOST CMD... the same, with this stdin sent to CMD
#   put HOST FILE DEST  copy FILE to HOST's DEST
#   spawn HOST NAME CMD...  start CMD in the background on HOST (job NAME)
#   wait HOST NAME [SECONDS]  wait for job NAME; print its output, exit
#                    with its status (124: still running after SECONDS)
#   waitfor HOST PATH [SECONDS]  wait until PATH exists on HOST (10 s)
#   kill HOST        kill -9 HOST's qemu (a host crash)
#   boot HOST        boot HOST again (a fresh overlay) after kill
#   partition HOST   cut HOST off the data network (control stays up)
#   heal HOST        undo partition
#   console HOST     HOST's console log
# HOST: server, client1 or client2.  Environment: LB_HOSTS_NS (namespace,
# lbhosts), LB_HOSTS_CACHE (/var/cache/lockbuild-hosts), LB_HOSTS_LEASE
# (NFSv4 lease and grace, 20 s), LB_HOSTS_MEM (MiB per VM, 256),
# LB_HOSTS_BOOT_TIMEOUT (s, 300).
set -u

HOSTS="server client1 client2"
NS=${LB_HOSTS_NS:-lbhosts}
RUN=/run/lockbuild-hosts/$NS
CACHE=${LB_HOSTS_CACHE:-/var/cache/lockbuild-hosts}
LEASE=${LB_HOSTS_LEASE:-20}
MEM=${LB_HOSTS_MEM:-256}
BOOT_TIMEOUT=${LB_HOSTS_BOOT_TIMEOUT:-300}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)

die() { echo "lab: $*" >&2; exit 1; }
say() { echo "lab: $*" >&2; }

num() {	# num HOST: the host's number (its addresses end in it)
	case $1 in
	server) echo 1 ;;
	client1) echo 2 ;;
	client2) echo 3 ;;
	*) die "no host '$1' (server, client1, client2)" ;;
	esac
}

# nsx CMD...: CMD inside the lab's namespace.
nsx() { ip netns exec "$NS" "$@"; }

# ns_exists: the lab's namespace exists.  Its exact name: "lbhosts" must
# not match another lab's "lbhosts-PID" (grep -w would: "-" ends a word).
ns_exists() { ip netns list | awk '{print $1}' | grep -qxF "$NS"; }

# What the lab needs on the host, as Debian packages.
NEED_PKGS="qemu-system-x86 qemu-utils debootstrap socat busybox-static e2fsprogs kmod cpio iproute2"

# preflight: why the lab cannot run here (exit 1, the reason on stdout).
preflight() {
	[ "$(id -u)" -eq 0 ] || { echo "not root"; return 1; }
	[ -c /dev/net/tun ] || { echo "no /dev/net/tun"; return 1; }
	ip netns list >/dev/null 2>&1 || { echo "no network namespaces (ip netns)"; return 1; }
	for c in qemu-system-x86_64 qemu-img debootstrap socat busybox mkfs.ext4 depmod cpio; do
		command -v "$c" >/dev/null 2>&1 || { echo "$c missing (apt-get install $NEED_PKGS)"; return 1; }
	done
	return 0
}

# --- image ----------------------------------------------------------------

image_dir() {
	h=$(cat "$HERE/build-image.sh" | sha256sum | cut -c1-16)
	echo "$CACHE/image-$h"
}

cmd_image() {
	d=$(image_dir)
	if [ ! -f "$d/root.img" ]; then
		lb=$TOP/lockbuild
		[ -x "$lb" ] || die "$lb missing: run make first"
		mkdir -p "$CACHE/locks"
		say "building the guest image into $d (once per machine)"
		t0=$(date +%s)
		# Built once per machine, published whole or not at all.
		"$lb" --once -o "$d" "$CACHE/locks" image sh "$HERE/build-image.sh" >&2 ||
			die "image build failed"
		say "image built in $(($(date +%s) - t0)) s"
	fi
	touch "$d"	# its last use (below)
	# Images of other build-image.sh versions: removed once no lab runs
	# on them (another worktree's lab may, as the backing file of its
	# overlays) and none has booted them for 7 days (so that worktrees
	# on different versions do not rebuild each other's in turn).
	for old in "$CACHE"/image-*; do
		[ "$old" = "$d" ] && continue
		cat /run/lockbuild-hosts/*/image 2>/dev/null | grep -qxF "$old" && continue
		[ -n "$(find "$old" -maxdepth 0 -mtime +7)" ] && rm -rf "$old"
	done
	echo "$d"
}

# --- initrd ---------------------------------------------------------------

make_initrd() {	# make_initrd IMAGE_DIR OUT
	w=$RUN/initrd.d
	rm -rf "$w"
	mkdir -p "$w/bin" "$w/mods" "$w/lb" "$w/proc" "$w/sys" "$w/dev" "$w/newroot"
	cp "$(command -v busybox)" "$w/bin/busybox"
	cp "$1"/initmods/*.ko "$1/initmods/order" "$w/mods/"
	cp "$HERE/guest/init1" "$w/init"
	cp "$HERE/guest/init2" "$HERE/guest/agent" "$HERE/guest/agentd" \
		"$HERE/guest/inittab" "$w/lb/"
	cp "$(command -v busybox)" "$w/lb/busybox"
	{
		echo "127.0.0.1 localhost"
		for h in $HOSTS; do echo "10.77.0.$(num "$h") $h"; done
	} >"$w/lb/hosts"
	(cd "$w" && find . | cpio -o -H newc --quiet | gzip -1) >"$2"
	rm -rf "$w"
}

# --- VMs ------------------------------------------------------------------

boot() {	# boot HOST
	h=$1
	n=$(num "$h")
	role=client
	[ "$h" = server ] && role=server
	img=$(cat "$RUN/image")
	rm -f "$RUN/$h.qcow2" "$RUN/$h.pid" "$RUN/$h.console"
	qemu-img create -q -f qcow2 -b "$img/root.img" -F raw "$RUN/$h.qcow2" || return 1
	nsx ip link set "lbd$n" up
	# shellcheck disable=SC2086
	nsx qemu-system-x86_64 -name "lb-$h" -machine pc -accel tcg,tb-size=64 -cpu max \
		-smp 1 -m "$MEM" -nodefaults -no-user-config -nographic -no-reboot \
		-kernel "$img/vmlinuz" -initrd "$RUN/initrd.gz" \
		-append "console=ttyS0 quiet panic=-1 lb.host=$h lb.n=$n lb.role=$role lb.lease=$LEASE" \
		-drive "file=$RUN/$h.qcow2,if=virtio,format=qcow2,cache=unsafe" \
		-netdev "tap,id=d,ifname=lbd$n,script=no,downscript=no" \
		-device "virtio-net-pci,netdev=d,mac=52:54:00:77:00:0$n,romfile=" \
		-netdev "tap,id=c,ifname=lbc$n,script=no,downscript=no" \
		-device "virtio-net-pci,netdev=c,mac=52:54:00:78:00:0$n,romfile=" \
		-virtfs "local,path=$TOP,mount_tag=lbsrc,security_model=none,readonly=on" \
		-device virtio-rng-pci \
		-serial "file:$RUN/$h.console" -monitor none \
		-pidfile "$RUN/$h.pid" -daemonize >"$RUN/$h.qemu.log" 2>&1 || {
		cat "$RUN/$h.qemu.log" >&2
		return 1
	}
}

qpid() {	# qpid HOST: its qemu's pid, if it runs
	[ -f "$RUN/$1.pid" ] || return 1
	p=$(cat "$RUN/$1.pid")
	[ -n "$p" ] && [ -d "/proc/$p" ] || return 1
	echo "$p"
}

cmd_up() {
	why=$(preflight) || die "cannot run here: $why"
	ns_exists && die "namespace $NS exists: lab.sh down first"
	t0=$(date +%s)
	img=$(cmd_image) || exit 1
	mkdir -p "$RUN"
	echo "$img" >"$RUN/image"
	make_initrd "$img" "$RUN/initrd.gz" || die "initrd"
	t1=$(date +%s)
	ip netns add "$NS" || die "ip netns add $NS"
	nsx ip link set lo up
	nsx ip link add lbbr type bridge || { cmd_down; die "bridge"; }
	nsx ip link set lbbr up
	for h in $HOSTS; do
		n=$(num "$h")
		# Data: a tap on the bridge, no address on the host side (the
		# host never talks NFS).  Control: a point-to-point tap per VM.
		nsx ip tuntap add "lbd$n" mode tap &&
			nsx ip link set "lbd$n" master lbbr &&
			nsx ip link set "lbd$n" up &&
			nsx ip tuntap add "lbc$n" mode tap &&
			nsx ip addr add "10.78.$n.1/24" dev "lbc$n" &&
			nsx ip link set "lbc$n" up || { cmd_down; die "taps for $h"; }
	done
	for h in $HOSTS; do
		boot "$h" || { cmd_down; die "cannot boot $h"; }
	done
	for h in $HOSTS; do
		if ! wait_ready "$h" "$BOOT_TIMEOUT"; then
			say "$h not ready after $BOOT_TIMEOUT s; its console:"
			tail -n 30 "$RUN/$h.console" >&2
			cmd_down
			exit 1
		fi
	done
	t2=$(date +%s)
	echo "$((t1 - t0)) $((t2 - t1))" >"$RUN/times"
	say "up: image ready in $((t1 - t0)) s, booted and mounted in $((t2 - t1)) s"
}

wait_ready() {	# wait_ready HOST SECONDS
	end=$(($(date +%s) + $2))
	while [ "$(date +%s)" -lt "$end" ]; do
		qpid "$1" >/dev/null || return 1
		r=$(run_cmd "$1" '[ -e /run/lb/failed ] && echo failed; [ -e /run/lb/ready ] && echo ready' </dev/null 2>/dev/null)
		case $r in
		*failed*) return 1 ;;
		*ready*) return 0 ;;
		esac
		sleep 1
	done
	return 1
}

cmd_down() {
	for h in $HOSTS; do
		p=$(qpid "$h") && kill -KILL "$p" 2>/dev/null
	done
	# Wait for them to be gone before the taps go.
	for h in $HOSTS; do
		i=0
		while qpid "$h" >/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	done
	if ns_exists; then
		for n in 1 2 3; do
			nsx ip link del "lbd$n" 2>/dev/null
			nsx ip link del "lbc$n" 2>/dev/null
		done
		nsx ip link del lbbr 2>/dev/null
		ip netns del "$NS"
	fi
	rm -rf "$RUN"
}

cmd_status() {
	ns_exists || { echo "lab $NS: down"; return 1; }
	st=1	# 0 once a VM runs: the tests' "is the lab up"
	for h in $HOSTS; do
		if p=$(qpid "$h"); then
			st=0
			r=$(run_cmd "$h" '[ -e /run/lb/ready ] && echo ready || echo booting' </dev/null 2>/dev/null) ||
				r="no agent"
			echo "$h: qemu $p, $r"
		else
			echo "$h: not running"
		fi
	done
	return "$st"
}

# --- the control channel ----------------------------------------------------

# run_cmd HOST TEXT: runs TEXT with sh on HOST, this stdin forwarded.
# The agent answers "STATUS OUTLEN ERRLEN", then stdout and stderr.
run_cmd() {
	n=$(num "$1")
	f=$(mktemp "${TMPDIR:-/tmp}/lab-run.XXXXXX") || return 255
	{ printf '%s' "$2" | base64 -w0; echo; cat; } |
		nsx socat -t 100000 - "TCP:10.78.$n.2:7000,connect-timeout=5" >"$f" 2>/dev/null
	hdr=$(head -n 1 "$f")
	# shellcheck disable=SC2086
	set -- $hdr
	if [ $# -ne 3 ]; then
		rm -f "$f"
		echo "lab: no answer from the agent on host $n" >&2
		return 255
	fi
	skip=$((${#hdr} + 2))
	tail -c "+$skip" "$f" | head -c "$2"
	tail -c "+$((skip + $2))" "$f" >&2
	rm -f "$f"
	return "$1"
}

cmd_run() {	# run HOST CMD...
	[ $# -ge 2 ] || die "usage: run HOST CMD..."
	h=$1; shift
	run_cmd "$h" "$*" </dev/null
}

cmd_runi() {
	[ $# -ge 2 ] || die "usage: runi HOST CMD..."
	h=$1; shift
	run_cmd "$h" "$*"
}

cmd_put() {	# put HOST FILE DEST
	[ $# -eq 3 ] || die "usage: put HOST FILE DEST"
	run_cmd "$1" "cat >'$3'" <"$2"
}

# Jobs live in /tmp/jobs/NAME.{out,rc,pid} on the guest.
cmd_spawn() {	# spawn HOST NAME CMD...
	[ $# -ge 3 ] || die "usage: spawn HOST NAME CMD..."
	h=$1 name=$2; shift 2
	body=$(printf '%s' "$*" | base64 -w0)
	run_cmd "$h" "set -e
mkdir -p /tmp/jobs
rm -f /tmp/jobs/$name.*
echo '$body' | /lb/busybox base64 -d >/tmp/jobs/$name.sh
setsid sh -c 'sh /tmp/jobs/$name.sh; echo \$? >/tmp/jobs/$name.rc.tmp; mv /tmp/jobs/$name.rc.tmp /tmp/jobs/$name.rc' \
	</dev/null >/tmp/jobs/$name.out 2>&1 &
echo \$! >/tmp/jobs/$name.pid" </dev/null
}

cmd_wait() {	# wait HOST NAME [SECONDS]
	[ $# -ge 2 ] || die "usage: wait HOST NAME [SECONDS]"
	run_cmd "$1" "i=0; while [ ! -e /tmp/jobs/$2.rc ]; do
	[ \$i -ge $((${3:-60} * 50)) ] && exit 124; i=\$((i + 1)); sleep 0.02; done
cat /tmp/jobs/$2.out; exit \$(cat /tmp/jobs/$2.rc)" </dev/null
}

cmd_waitfor() {	# waitfor HOST PATH [SECONDS]
	[ $# -ge 2 ] || die "usage: waitfor HOST PATH [SECONDS]"
	run_cmd "$1" "i=0; while [ ! -e '$2' ]; do
	[ \$i -ge $((${3:-10} * 50)) ] && exit 1; i=\$((i + 1)); sleep 0.02; done" </dev/null
}

# --- faults ---------------------------------------------------------------

cmd_kill() {
	p=$(qpid "$1") || die "$1 is not running"
	kill -KILL "$p"
	i=0
	while [ -d "/proc/$p" ] && [ "$i" -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
}

cmd_boot() {
	qpid "$1" >/dev/null && die "$1 is running"
	boot "$1" || die "cannot boot $1"
	wait_ready "$1" "$BOOT_TIMEOUT" || die "$1 not ready"
}

cmd_partition() { nsx ip link set "lbd$(num "$1")" down; }
cmd_heal() { nsx ip link set "lbd$(num "$1")" up; }

cmd_console() { cat "$RUN/$(num "$1" >/dev/null; echo "$1").console"; }

[ $# -ge 1 ] || { sed -n '/^# Usage/,/^# LB_HOSTS_BOOT/p' "$0"; exit 2; }
c=$1; shift
case $c in
image) cmd_image ;;
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
preflight) preflight ;;
run | runi | put | spawn | wait | waitfor | kill | boot | partition | heal | console)
	"cmd_$c" "$@" ;;
*) die "unknown command '$c'" ;;
esac
