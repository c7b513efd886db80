#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Second stage of the test VM, run by the initramfs /init inside the
# chroot of the host's (read-only) root filesystem:
#   - mounts proc/sys/devtmpfs/configfs/debugfs and tmpfs or overlays on
#     the paths that must be writable (/tmp, /var, /lib/modules, ...);
#   - installs the freshly built kernel/*.ko (copied by run.sh into the
#     results share) into /lib/modules/$KVER/updates/bioreader/ with the
#     module index that depmod -a made for them on the host (or runs
#     depmod -a here when there is none), so that tests load them with
#     modprobe, as users do (with --installed: nothing is put in place;
#     the modules and index installed on the host are used as they are);
#   - with run.sh --net (BR_NET_HOST in guest.env): loads virtio_net and
#     gives the card 10.0.2.15/24, up (no DHCP client, no default route:
#     the only peer is the host's forwarding address, on that subnet);
#   - runs the guest command from guest.env in the project root, with
#     build/ on PATH (not with --installed), its output on the console and
#     in output.log;
#   - stores its exit status and the kernel log in the results share and
#     powers the VM off.
#
# Usage (by /init only): guest-run.sh RESULTS_DIR

RES=${1:?results directory}
# shellcheck disable=SC1091
. "$RES/guest.env"

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb

log() {
	local up _

	read -r up _ </proc/uptime
	echo "vm: [$up] $*"
}

halt_vm() {
	sync
	busybox poweroff -f 2>/dev/null
	echo o >/proc/sysrq-trigger
	sleep 10
}

die() {
	log "setup failed: $*"
	echo 125 >"$RES/status"
	dmesg >"$RES/dmesg" 2>/dev/null
	halt_vm
}

mount -t proc proc /proc || die "mount /proc"
log "kernel up, init started the second stage"
mount -t sysfs sysfs /sys || die "mount /sys"
mount -t devtmpfs devtmpfs /dev || die "mount /dev"
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# The project may live under a path that is about to be covered (/tmp):
# keep a handle on it and put it back afterwards.
mkdir -p /run/bioreader-root
mount --bind "$BR_ROOT" /run/bioreader-root || die "no project root $BR_ROOT"
mount -t tmpfs -o mode=1777 tmpfs /tmp || die "mount /tmp"
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null

# Writable copies of host directories: overlayfs, upper layer in /run.
overlay() {
	local dir=$1 name=$2 lower=${3:-$1}

	mkdir -p "/run/ovl/$name/upper" "/run/ovl/$name/work"
	mount -t overlay overlay \
		-o "lowerdir=$lower,upperdir=/run/ovl/$name/upper,workdir=/run/ovl/$name/work" \
		"$dir" || die "overlay on $dir"
}
modprobe overlay 2>/dev/null
overlay /var var
# The new modules and their index (run.sh) lie over the kernel's own.
kver=$(uname -r)
if [ -s "$RES/modroot/$kver/modules.dep" ]; then
	overlay /lib/modules modules "$RES/modroot:/lib/modules"
else
	overlay /lib/modules modules
fi
overlay /etc etc
overlay /root root
mkdir -p /run/lock /var/tmp

hostname bioreader-vm
ip link set lo up 2>/dev/null

# The network card of run.sh --net: the only interface besides lo.
if [ -n "${BR_NET_HOST:-}" ]; then
	modprobe virtio_net || die "modprobe virtio_net"
	nic=
	for _ in $(seq 50); do
		for d in /sys/class/net/*; do
			[ "${d##*/}" = lo ] || nic=${d##*/}
		done
		[ -n "$nic" ] && break
		sleep 0.1
	done
	[ -n "$nic" ] || die "no network interface after loading virtio_net"
	ip addr add 10.0.2.15/24 dev "$nic" || die "ip addr add on $nic"
	ip link set "$nic" up || die "ip link set $nic up"
	log "network: $nic 10.0.2.15/24, the host's services at $BR_NET_HOST"
fi

modprobe configfs 2>/dev/null
mount -t configfs configfs /sys/kernel/config || die "mount configfs"

# Kernel log into the results share as it happens: if the guest hangs,
# the host still has it.
dmesg -w >"$RES/dmesg.live" 2>&1 &

if [ ! -e "$BR_ROOT/tests/vm/qemu/guest-run.sh" ]; then
	mkdir -p "$BR_ROOT" && mount --bind /run/bioreader-root "$BR_ROOT" ||
		die "cannot make $BR_ROOT visible"
fi
cd "$BR_ROOT" || die "no project root $BR_ROOT"
[ "$kver" = "$BR_KVER" ] || log "note: booted $kver, built for $BR_KVER"
dest=/lib/modules/$kver/updates/bioreader
n=$(find "$dest" -name '*.ko' 2>/dev/null | wc -l)
if [ "${BR_INSTALLED:-0}" = 1 ]; then
	log "testing the installed system: the host's modules, index and programs"
elif [ -s "$RES/modroot/$kver/modules.dep" ]; then
	# Index made by depmod -a on the host over the same modules.
	how="module index from the host's depmod -a"
else
	mkdir -p "$dest"
	n=0
	for ko in "$RES/modroot/$kver/updates/bioreader"/*.ko; do
		[ -e "$ko" ] || continue
		install -m 0644 "$ko" "$dest/" || die "install $ko"
		n=$((n + 1))
	done
	depmod -a "$kver" || die "depmod"
	how="depmod -a"
fi
if [ "${BR_INSTALLED:-0}" != 1 ]; then
	log "installed $n module(s) into $dest ($how)"
	export PATH=$BR_ROOT/build:$BR_ROOT/build/tests/vm:$PATH
fi
# BR_RESULTS: the results share, which the host reads while the guest
# runs (a guest command and its host side may meet there).
export BR_ROOT BR_VM=1 BR_RESULTS=$RES
[ -z "${BR_NET_HOST:-}" ] || export BR_NET_HOST

boot_s=$(cut -d' ' -f1 /proc/uptime)
log "ready after ${boot_s}s; running: $BR_CMD"
echo "$boot_s" >"$RES/boot-seconds"

(eval "$BR_CMD") </dev/null 2>&1 | tee "$RES/output.log"
status=${PIPESTATUS[0]}
log "command exited with status $status after $(cut -d' ' -f1 /proc/uptime)s"

dmesg >"$RES/dmesg"
echo "$status" >"$RES/status"
halt_vm
