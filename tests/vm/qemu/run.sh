#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The QEMU test bench (host side).
#
# Boots Debian's kernel /boot/vmlinuz-$KVER in qemu-system-x86_64 (TCG)
# with the host's root filesystem shared read-only over 9p (writable paths
# are tmpfs or overlays in the guest), a software TPM (swtpm, tpm-tis) and
# a second, writable 9p share for the results.  In the guest, the freshly
# built modules are installed into /lib/modules/$KVER/updates/bioreader/
# (depmod -a, so `modprobe bioreader_sim` works), build/ is put on PATH and
# COMMAND runs in the project root.  Its output shows here as it happens.
# The modules are kernel/*.ko when they were built for $KVER (their
# vermagic says so); otherwise `make modules-kver KVER=$KVER` builds (or
# brings up to date) build/kmod/$KVER/kernel/*.ko and those are used.
#
# Usage: tests/vm/qemu/run.sh [options] -- COMMAND [ARGS...]
#   e.g. tests/vm/qemu/run.sh -- tests/vm/guest-suite.sh
#        tests/vm/qemu/run.sh -- 'modprobe bioreader_sim && lsmod'
#
# Options:
#   --kver KVER     kernel release to boot (default: `make print-kver`;
#                   `make print-kvers` lists the supported ones installed),
#                   e.g. 6.12.117+deb12-rt-amd64 for Debian's PREEMPT_RT
#   --out DIR       keep the results in DIR: output.log, status, dmesg,
#                   klog-issues, boot-seconds (default: a temporary dir)
#   --timeout SEC   kill the VM after SEC seconds (default 900)
#   --mem MB        guest memory (default 1024)
#   --smp N         guest CPUs (default 2)
#   --no-tpm        no software TPM
#   --build         run `make` first
#   --guest-depmod  run depmod -a in the guest (about 50 s) instead of
#                   building the module index with depmod on the host
#   --installed     test the installed system instead of the build: the
#                   guest loads the modules installed on the host (e.g.
#                   by DKMS from the Debian packages) with the host's own
#                   module index, and runs the installed programs;
#                   neither kernel/*.ko nor build/ are put in place
#   --ccid SOCKET   a USB smart-card reader in the guest: qemu-xhci,
#                   usb-ccid (08e6:4433, T=0, TPDU level) and a
#                   ccid-card-passthru card whose VSCard chardev connects
#                   to the Unix socket SOCKET, where a card emulator must
#                   already listen (tests/emu/vscard-card; QEMU is the
#                   client); the guest loads xhci_pci itself.  QEMU's
#                   ids: usb-ccid "ccid" (its bus "ccid.0"), the card
#                   "ccid-card", its chardev "ccidcard", the bus "xhci.0"
#   --net PORTS     a network card in the guest (virtio-net on QEMU user
#                   networking, restrict=on: no route to the host or
#                   beyond) through which the guest reaches exactly the
#                   host's 127.0.0.1:PORT, for each PORT of the comma-
#                   separated list, at 10.0.2.100:PORT (QEMU's guestfwd
#                   starts `socat STDIO TCP:127.0.0.1:PORT` for each
#                   connection, so a host service may be down, start
#                   later or restart).  The guest's address is
#                   10.0.2.15/24; guest.env's BR_NET_HOST names 10.0.2.100
#   --monitor SOCKET  QEMU's QMP monitor on the Unix socket SOCKET (QEMU
#                   listens, without waiting for a client), e.g. for the
#                   card emulator's unplug-after (device_del of the reader)
#   -q, --quiet     do not echo the guest console (results are still kept)
#
# Exit status: the command's exit status; 1 if it succeeded but the kernel
# log has a BUG/WARNING/Oops/general protection/KASAN/refcount/UBSAN/panic
# line (printed); 124 if the VM timed out; 125 if the VM failed before or
# after the command (no status came back).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd -P)
HERE=$ROOT/tests/vm/qemu

KVER=${KVER:-}
OUT=
TIMEOUT=900
MEM=1024
SMP=2
TPM=1
BUILD=0
QUIET=0
GUEST_DEPMOD=0
INSTALLED=0
CCID_SOCK=
MONITOR=
NET_PORTS=

usage() {
	sed -n '3,64p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

while [ $# -gt 0 ]; do
	case "$1" in
	--kver) KVER=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--mem) MEM=$2; shift 2 ;;
	--smp) SMP=$2; shift 2 ;;
	--no-tpm) TPM=0; shift ;;
	--build) BUILD=1; shift ;;
	--guest-depmod) GUEST_DEPMOD=1; shift ;;
	--installed) INSTALLED=1; shift ;;
	--ccid) CCID_SOCK=$2; shift 2 ;;
	--monitor) MONITOR=$2; shift 2 ;;
	--net) NET_PORTS=$2; shift 2 ;;
	-q | --quiet) QUIET=1; shift ;;
	-h | --help) usage 0 ;;
	--) shift; break ;;
	*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done
[ $# -gt 0 ] || { echo "run.sh: no guest command (see --help)" >&2; exit 2; }

say() { echo "vm-bench: $*" >&2; }
die() { say "$*"; exit 125; }

if [ $BUILD -eq 1 ]; then
	make -C "$ROOT" || die "build failed"
fi
[ -n "$KVER" ] || KVER=$(make -s --no-print-directory -C "$ROOT" print-kver 2>/dev/null)
[ -n "$KVER" ] || die "cannot tell which kernel to boot (give --kver)"

KERNEL=/boot/vmlinuz-$KVER
[ -r "$KERNEL" ] || die "$KERNEL is missing or unreadable (tools/install-deps.sh; run as root)"
[ -d "/lib/modules/$KVER/kernel" ] || die "/lib/modules/$KVER is missing (linux-image-$KVER)"
for t in qemu-system-x86_64 busybox cpio gzip modprobe; do
	command -v "$t" >/dev/null || die "$t not found (tools/install-deps.sh)"
done
if [ -n "$NET_PORTS" ]; then
	command -v socat >/dev/null || die "socat not found (tools/install-deps.sh)"
	for p in ${NET_PORTS//,/ }; do
		case "$p" in
		'' | *[!0-9]*) die "--net $NET_PORTS: $p is not a port number" ;;
		esac
		[ "$p" -ge 1 ] && [ "$p" -le 65535 ] || die "--net $NET_PORTS: $p is not a port number"
	done
fi
[ $TPM -eq 0 ] || command -v swtpm >/dev/null || die "swtpm not found (tools/install-deps.sh, or --no-tpm)"

# --- the modules for $KVER ------------------------------------------------

KO_DIR=
if [ $INSTALLED -eq 0 ]; then
	ko=$ROOT/kernel/bioreader.ko
	if [ -f "$ko" ] &&
		[ "$(modinfo -F vermagic "$ko" 2>/dev/null | cut -d' ' -f1)" = "$KVER" ]; then
		KO_DIR=$ROOT/kernel
	else
		say "building the modules for $KVER (make modules-kver)"
		mlog=$(mktemp "${TMPDIR:-/tmp}/bioreader-modules.XXXXXX") || die "mktemp"
		if ! make -C "$ROOT" -j"$(nproc 2>/dev/null || echo 2)" modules-kver \
			KVER="$KVER" >"$mlog" 2>&1; then
			tail -n 30 "$mlog" >&2
			rm -f "$mlog"
			die "cannot build the modules for $KVER"
		fi
		rm -f "$mlog"
		KO_DIR=$ROOT/build/kmod/$KVER/kernel
	fi
fi

# --- initramfs (cached outside the clone) ---------------------------------

if [ -n "${BR_CACHE:-}" ]; then
	CACHE=$BR_CACHE
elif [ "$(id -u)" -eq 0 ]; then
	CACHE=/var/cache/bioreader
else
	CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/bioreader
fi
mkdir -p "$CACHE/initramfs" || die "cannot create $CACHE"

# virtio-pci, the 9p transport and filesystem, in dependency order.
INITRD_MODULES=(virtio_pci 9pnet_virtio 9p)
mods=$(modprobe -S "$KVER" --show-depends -a "${INITRD_MODULES[@]}" |
	awk '$1 == "insmod" && !seen[$2]++ { print $2 }') ||
	die "cannot resolve the initramfs modules of $KVER"
key=$( {
	cat "$HERE/init"
	echo "$KVER"
	echo "$mods"
	busybox 2>&1 | head -n 1
	for m in $mods; do stat -c '%n %s %Y' "$m"; done
} | sha256sum | cut -c1-16)
INITRD=$CACHE/initramfs/initramfs-$KVER-$key.cpio.gz

if [ ! -s "$INITRD" ]; then
	say "building the initramfs ($INITRD)"
	stage=$(mktemp -d "${TMPDIR:-/tmp}/bioreader-initramfs.XXXXXX") || die "mktemp"
	mkdir -p "$stage"/{bin,dev,proc,sys,newroot,results,lib/modules}
	cp "$(command -v busybox)" "$stage/bin/busybox" || die "copy busybox"
	install -m 0755 "$HERE/init" "$stage/init"
	: >"$stage/modules.order"
	for m in $mods; do
		cp "$m" "$stage/lib/modules/" || die "copy $m"
		echo "/lib/modules/$(basename "$m")" >>"$stage/modules.order"
	done
	[ "$(id -u)" -ne 0 ] || mknod -m 600 "$stage/dev/console" c 5 1
	tmp=$(mktemp "$INITRD.XXXXXX") || die "mktemp"
	(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc --quiet -R 0:0 | gzip -1) >"$tmp" ||
		die "cpio failed"
	mv -f "$tmp" "$INITRD"
	rm -rf "$stage"
	# Old images of this kernel are useless now.
	find "$CACHE/initramfs" -name "initramfs-$KVER-*.cpio.gz" ! -name "$(basename "$INITRD")" \
		-mmin +60 -delete 2>/dev/null
fi

# --- run directory, results share, TPM ------------------------------------

RUN=$(mktemp -d "${TMPDIR:-/tmp}/bioreader-vm.XXXXXX") || die "mktemp"
RUN=$(cd "$RUN" && pwd -P)
if [ -n "$OUT" ]; then
	mkdir -p "$OUT" || die "cannot create $OUT"
	RES=$(cd "$OUT" && pwd -P)
	rm -f "$RES"/{guest.env,output.log,status,dmesg,dmesg.live,klog-issues,klog.status,boot-seconds}
	rm -rf "$RES/modroot"
else
	RES=$RUN/results
	mkdir -p "$RES"
fi
SWTPM_PID=

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	if [ -n "$SWTPM_PID" ]; then
		kill "$SWTPM_PID" 2>/dev/null
		wait "$SWTPM_PID" 2>/dev/null
	fi
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

# A script given by its path need not be executable.
if [ -f "$ROOT/$1" ] && [ ! -x "$ROOT/$1" ]; then
	set -- bash "$@"
fi
# One argument is a shell command line; several are the words of one.
if [ $# -eq 1 ]; then
	cmd=$1
else
	cmd=$(printf '%q ' "$@")
fi
{
	printf 'BR_ROOT=%q\n' "$ROOT"
	printf 'BR_KVER=%q\n' "$KVER"
	printf 'BR_CMD=%q\n' "$cmd"
	printf 'BR_INSTALLED=%q\n' "$INSTALLED"
	[ -z "$NET_PORTS" ] || printf 'BR_NET_HOST=10.0.2.100\n'
} >"$RES/guest.env"

# The module index.  depmod -a in the guest reads every module of the
# kernel over 9p, which takes about 50 s under TCG; the same depmod on the
# host, over a view of /lib/modules/$KVER (symlinks) plus the new modules,
# takes a few seconds.  The guest installs the modules and this index.
# $RES/modroot/$KVER/ holds updates/bioreader/*.ko and, from the host's
# depmod, the complete modules.* index; the guest puts it over
# /lib/modules as the top read-only layer of an overlay.
# Copies of the modules installed on the host (updates/bioreader/ of make
# install, updates/dkms/ of the Debian package) stay out of that view:
# the new ones must be the ones modprobe finds.
mods_dir=$RES/modroot/$KVER
rm -rf "$RES/modroot"
[ $INSTALLED -eq 1 ] || mkdir -p "$mods_dir/updates/bioreader"
if [ $INSTALLED -eq 1 ]; then
	:
else
	cp "$KO_DIR"/bioreader.ko "$KO_DIR"/bioreader_sim.ko \
		"$mods_dir/updates/bioreader/" || die "cannot copy the modules from $KO_DIR"
fi
if [ $INSTALLED -eq 0 ] && [ $GUEST_DEPMOD -eq 0 ] && command -v depmod >/dev/null; then
	view=$RUN/depmod/lib/modules/$KVER
	mkdir -p "$view/updates"
	for e in /lib/modules/"$KVER"/*; do
		n=$(basename "$e")
		case "$n" in
		modules.order | modules.builtin | modules.builtin.modinfo) cp "$e" "$view/" ;;
		modules.* | build | source) ;;
		updates)
			for u in "$e"/*; do
				if [ "${u##*/}" = bioreader ]; then
					continue
				elif [ -d "$u" ]; then
					mkdir -p "$view/updates/${u##*/}"
					for f in "$u"/*; do
						case "${f##*/}" in
						bioreader.ko* | bioreader_sim.ko*) ;;
						*) ln -s "$f" "$view/updates/${u##*/}/" ;;
						esac
					done
				else
					ln -s "$u" "$view/updates/"
				fi
			done
			;;
		*) ln -s "$e" "$view/$n" ;;
		esac
	done
	ln -s "$mods_dir/updates/bioreader" "$view/updates/bioreader"
	if depmod -b "$RUN/depmod" -a "$KVER"; then
		cp "$view"/modules.* "$mods_dir/"
	else
		say "host depmod failed; the guest will run depmod -a (slow)"
	fi
fi

TPM_ARGS=()
if [ $TPM -eq 1 ]; then
	mkdir -p "$RUN/tpm"
	swtpm socket --tpm2 --tpmstate dir="$RUN/tpm" \
		--ctrl type=unixio,path="$RUN/swtpm.sock" \
		--terminate \
		--log file="$RUN/swtpm.log",level=1 &
	SWTPM_PID=$!
	for _ in $(seq 50); do
		[ -S "$RUN/swtpm.sock" ] && break
		sleep 0.1
	done
	[ -S "$RUN/swtpm.sock" ] || die "swtpm did not start: $(cat "$RUN/swtpm.log" 2>/dev/null)"
	# shellcheck disable=SC2054 # commas are part of the option values
	TPM_ARGS=(-chardev "socket,id=chrtpm,path=$RUN/swtpm.sock"
		-tpmdev emulator,id=tpm0,chardev=chrtpm
		-device tpm-tis,tpmdev=tpm0)
fi

CCID_ARGS=()
if [ -n "$CCID_SOCK" ]; then
	[ -S "$CCID_SOCK" ] || die "--ccid $CCID_SOCK: no socket there (start the card emulator first)"
	# shellcheck disable=SC2054 # commas are part of the option values
	CCID_ARGS=(-device qemu-xhci,id=xhci
		-device usb-ccid,id=ccid,bus=xhci.0
		-chardev "socket,id=ccidcard,path=$CCID_SOCK"
		-device ccid-card-passthru,id=ccid-card,chardev=ccidcard)
fi
# The guest's network: user networking with restrict=on isolates it (no
# packet is routed to the host or further, the host's 10.0.2.2 answers
# nothing); the guestfwd rules, which restrict=on leaves working, are the
# only ways out, one per port, each to one loopback service.  A command
# per connection rather than a chardev: a chardev connects once, when
# QEMU starts, and a service that is down then or restarts later would
# never be reached again.
NET_ARGS=()
if [ -n "$NET_PORTS" ]; then
	netdev=user,id=net0,restrict=on,net=10.0.2.0/24
	for p in ${NET_PORTS//,/ }; do
		netdev+=",guestfwd=tcp:10.0.2.100:$p-cmd:socat STDIO TCP:127.0.0.1:$p"
	done
	# shellcheck disable=SC2054 # commas are part of the option values
	NET_ARGS=(-netdev "$netdev" -device virtio-net-pci,netdev=net0,romfile=)
fi
MONITOR_ARGS=()
if [ -n "$MONITOR" ]; then
	rm -f "$MONITOR"
	MONITOR_ARGS=(-qmp "unix:$MONITOR,server=on,wait=off")
fi

# --- boot -----------------------------------------------------------------

say "booting $KERNEL (TCG, ${SMP} CPUs, ${MEM} MiB, timeout ${TIMEOUT}s): $*"
start=$(date +%s.%N)
# fd 3: where the console goes (not ">/dev/stdout": that would truncate
# a log file our caller redirected stdout to).
if [ $QUIET -eq 1 ]; then
	exec 3>"$RUN/console.log"
else
	exec 3>&1
fi
timeout --foreground -k 10 "$TIMEOUT" qemu-system-x86_64 \
	-accel tcg -cpu max -smp "$SMP" -m "$MEM" \
	-nographic -no-reboot -nodefaults \
	-chardev stdio,id=con,signal=on -serial chardev:con \
	-bios /usr/share/qemu/qboot.rom \
	-kernel "$KERNEL" -initrd "$INITRD" \
	-append "console=ttyS0 quiet panic=-1 8250.nr_uarts=1 no_timer_check" \
	-fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=root,mount_tag=hostroot \
	-fsdev "local,id=res,path=$RES,security_model=none,multidevs=remap" \
	-device virtio-9p-pci,fsdev=res,mount_tag=results \
	"${TPM_ARGS[@]}" "${CCID_ARGS[@]}" "${NET_ARGS[@]}" "${MONITOR_ARGS[@]}" \
	</dev/null 2>"$RUN/qemu.err" | sed -u 's/\r$//' >&3
qrc=${PIPESTATUS[0]}
end=$(date +%s.%N)
elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')

if [ -s "$RUN/qemu.err" ]; then
	say "qemu said:"
	sed 's/^/  /' "$RUN/qemu.err" >&2
fi

# --- verdict --------------------------------------------------------------

# Kernel messages that mean a kernel bug, anchored at the start of the
# message so that text merely mentioning them does not count.
KLOG_RE='^(WARNING:|BUG:|kernel BUG|Oops|general protection|[^ ]*KASAN|refcount_t:|UBSAN:|Kernel panic|INFO: task .* blocked for more than)'
klog=$RES/dmesg
[ -s "$klog" ] || klog=$RES/dmesg.live
: >"$RES/klog-issues"
if [ -s "$klog" ]; then
	sed -E 's/^\[ *[0-9]+\.[0-9]+\] //' "$klog" |
		grep -E -A 14 "$KLOG_RE" >"$RES/klog-issues"
fi
# A panic never reaches the log file: look at the console too.
if [ $QUIET -eq 1 ] && grep -q 'Kernel panic' "$RUN/console.log" 2>/dev/null; then
	grep -A 20 'Kernel panic' "$RUN/console.log" >>"$RES/klog-issues"
fi

boot=$(cat "$RES/boot-seconds" 2>/dev/null || echo '?')
if [ -s "$RES/status" ]; then
	status=$(cat "$RES/status")
elif [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
	say "TIMEOUT: the VM did not finish within ${TIMEOUT}s"
	status=124
else
	say "the VM stopped without a result (qemu exit $qrc)"
	status=125
fi
if [ "$status" != 0 ] && [ ! -s "$RES/status" ] && [ -s "$klog" ]; then
	say "last kernel messages:"
	tail -n 30 "$klog" | sed 's/^/  /' >&2
fi

if [ -s "$RES/klog-issues" ]; then
	say "KERNEL LOG NOT CLEAN:"
	sed 's/^/  /' "$RES/klog-issues" >&2
	[ "$status" != 0 ] || status=1
	echo dirty >"$RES/klog.status"
else
	echo clean >"$RES/klog.status"
fi

say "guest ready after ${boot}s, VM total ${elapsed}s, command status $(cat "$RES/status" 2>/dev/null || echo none), kernel log $(cat "$RES/klog.status")"
exit "$status"
