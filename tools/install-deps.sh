#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Install the Debian 12 packages that building and testing bioreader
# needs, and unpack checkpatch.pl from linux-source-6.1 into a cache.
# Idempotent: does nothing (quickly) when everything is there.
#
#   tools/install-deps.sh            install what is missing
#   tools/install-deps.sh --check    only list what is missing (exit 1 if any)
#
# Runs as root; as another user it uses sudo when sudo exists.
set -euo pipefail

PACKAGES=(
	# build
	build-essential kmod perl pkg-config libssl-dev sparse
	libtss2-dev
	linux-headers-amd64 linux-source-6.1 xz-utils
	# VM test bench
	qemu-system-x86 linux-image-amd64 busybox-static cpio
	swtpm swtpm-tools
	# the other supported kernels (bookworm-security): Debian's 6.12 and
	# its PREEMPT_RT flavour, to build against and boot in the VM
	linux-headers-6.12-amd64 linux-image-6.12-amd64
	linux-headers-6.12-rt-amd64 linux-image-6.12-rt-amd64
	# bioflowd (seccomp, io_uring, udev)
	libseccomp-dev liburing-dev libudev-dev
	# bioflow-forward (RELP over TLS: librelp and its OpenSSL driver),
	# and the collector side it is tested against
	# (tests/interop/t_forward_rsyslog.sh: rsyslogd with imrelp and TLS)
	librelp-dev rsyslog rsyslog-relp rsyslog-openssl
	# the fleet test from the VM: QEMU's guestfwd reaches the host's
	# rsyslog and witness through socat (tests/vm/fleet-suite.sh)
	socat
	# the scale-out configurations' omkafka and imkafka, checked with
	# rsyslogd -N1, and their Kafka properties with librdkafka
	# (tests/static/t_kafka_conf.sh, tests/interop/kafka_props.c)
	rsyslog-kafka librdkafka-dev
	# the ID-card reader (CCID over libusb), and the PC/SC stack the
	# card test cross-checks it against in the VM (tests/vm/card-suite.sh)
	libusb-1.0-0-dev pcscd libccid pcsc-tools
	# static checks (device tree, man pages, udev rules and sysusers)
	device-tree-compiler dt-schema man-db groff-base udev systemd
	# appliance installation test (tests/static/t_install.sh)
	dkms
	# Debian packages (debian/, tests/pkg/t_deb.sh)
	debhelper dh-dkms lintian
	# the audit log against Go's signed-note and tlog packages
	# (tests/interop/t_tlog_go.sh; built offline from Debian's sources)
	golang-go golang-golang-x-mod-dev
)

check_only=0
case "${1:-}" in
--check) check_only=1 ;;
-h | --help)
	sed -n '3,11p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
"") ;;
*)
	echo "install-deps: unknown option $1" >&2
	exit 2
	;;
esac

say() { echo "install-deps: $*"; }

if [ "$(id -u)" -eq 0 ]; then
	SUDO=()
	CACHE=${BR_CACHE:-/var/cache/bioreader}
elif command -v sudo >/dev/null 2>&1; then
	SUDO=(sudo)
	CACHE=${BR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bioreader}
else
	SUDO=()
	CACHE=${BR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bioreader}
fi

missing=()
for p in "${PACKAGES[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case "$st" in
	ii*) ;;
	*) missing+=("$p") ;;
	esac
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ $check_only -eq 1 ]; then
		say "missing: ${missing[*]}"
		exit 1
	fi
	if [ "$(id -u)" -ne 0 ] && [ ${#SUDO[@]} -eq 0 ]; then
		say "missing packages: ${missing[*]}" >&2
		say "not root and no sudo: install them as root" >&2
		exit 1
	fi
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
	"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y \
		--no-install-recommends "${missing[@]}"
	say "packages installed"
fi

# checkpatch.pl and the two data files it reads next to itself, from
# Debian's kernel source tarball (about 20 s to decompress, once).
tarball=$(ls /usr/src/linux-source-6.1.tar.xz 2>/dev/null || true)
dest=$CACHE/linux-source-6.1/scripts
if [ -n "$tarball" ]; then
	if [ ! -f "$dest/checkpatch.pl" ] || [ "$tarball" -nt "$dest/checkpatch.pl" ]; then
		if [ $check_only -eq 1 ]; then
			say "checkpatch.pl not unpacked yet"
			exit 1
		fi
		say "unpacking checkpatch.pl from $tarball into $CACHE"
		"${SUDO[@]}" mkdir -p "$CACHE"
		tmp=$("${SUDO[@]}" mktemp -d "$CACHE/unpack.XXXXXX")
		"${SUDO[@]}" tar -xJf "$tarball" -C "$tmp" \
			linux-source-6.1/scripts/checkpatch.pl \
			linux-source-6.1/scripts/spelling.txt \
			linux-source-6.1/scripts/const_structs.checkpatch
		"${SUDO[@]}" rm -rf "$CACHE/linux-source-6.1"
		"${SUDO[@]}" mv "$tmp/linux-source-6.1" "$CACHE/linux-source-6.1"
		"${SUDO[@]}" rmdir "$tmp"
		"${SUDO[@]}" touch "$dest/checkpatch.pl"
	fi
fi

# The VM bench boots the kernel that matches the headers.
kver=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null |
	sed -n 's/^.*linux-headers-\([^ ,]*-amd64\).*$/\1/p')
if [ -n "$kver" ] && [ ! -r "/boot/vmlinuz-$kver" ]; then
	say "warning: /boot/vmlinuz-$kver is missing or unreadable (linux-image-$kver?)" >&2
fi

[ $check_only -eq 1 ] || say "all dependencies present"
