#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The debug-kernel lane: the VM suite on a kernel with KASAN, lockdep
# (PROVE_LOCKING), kmemleak, UBSAN and object debugging, which Debian's
# stock kernel has not.  Too slow for every CI run (the kernel build takes
# about 20-40 minutes on two cores, once); run it before calling kernel work
# done:
#
#   bash tests/debug-kernel/run.sh            # build if needed, then test
#   bash tests/debug-kernel/run.sh --build    # only build (and cache) the kernel
#
# The kernel is built from Debian's linux-source-6.1 with
# x86_64_defconfig + kvm_guest.config + bioreader-debug.config (this
# directory) in $BR_CACHE/debug-kernel (default /var/cache/bioreader),
# outside the clone, and reused while the config fragment is unchanged.
# Its modules are installed under /lib/modules/<release> and its image as
# /boot/vmlinuz-<release> so that the ordinary VM bench can boot it.
#
# After the suite, a kmemleak scan runs in the guest; a leak whose trace
# names bioreader fails the lane, as does any line the bench's kernel-log
# check catches (KASAN, lockdep's "WARNING: possible ...", UBSAN, BUG).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
HERE=$ROOT/tests/debug-kernel
CACHE=${BR_CACHE:-/var/cache/bioreader}/debug-kernel
SRC=$CACHE/src/linux-source-6.1
OUT=$CACHE/build
FRAG=$HERE/bioreader-debug.config
ONLY_BUILD=0
[ "${1:-}" = "--build" ] && ONLY_BUILD=1

say() { printf 'debug-kernel: %s\n' "$*"; }

bash "$ROOT/tools/install-deps.sh"
pkgs=()
for p in linux-source-6.1 flex bison bc libelf-dev libssl-dev cpio; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		pkgs+=("$p")
done
if [ ${#pkgs[@]} -gt 0 ]; then
	say "installing ${pkgs[*]}"
	apt-get install -y -q --no-install-recommends "${pkgs[@]}"
fi

mkdir -p "$CACHE/src" "$OUT"
if [ ! -f "$SRC/Makefile" ]; then
	say "unpacking linux-source-6.1 into $CACHE/src (once)"
	tar -C "$CACHE/src" -xf /usr/src/linux-source-6.1.tar.xz
fi

stamp=$(cat "$FRAG" | sha256sum | cut -c1-16)
if [ ! -f "$OUT/.bioreader-stamp" ] || [ "$(cat "$OUT/.bioreader-stamp")" != "$stamp" ]; then
	say "configuring (x86_64_defconfig + kvm_guest.config + $(basename "$FRAG"))"
	make -s -C "$SRC" O="$OUT" x86_64_defconfig
	"$SRC/scripts/kconfig/merge_config.sh" -m -O "$OUT" "$OUT/.config" \
		"$SRC/kernel/configs/kvm_guest.config" "$FRAG" >/dev/null
	make -s -C "$SRC" O="$OUT" olddefconfig
	for opt in KASAN PROVE_LOCKING DEBUG_KMEMLEAK UBSAN 9P_FS REGMAP_MMIO CONFIGFS_FS; do
		grep -q "^CONFIG_$opt=y" "$OUT/.config" || { say "CONFIG_$opt did not stick"; exit 1; }
	done
	rm -f "$OUT/.bioreader-built"
fi
if [ ! -f "$OUT/.bioreader-built" ]; then
	say "building the kernel (long; log: $OUT/build.log)"
	make -C "$SRC" O="$OUT" -j"$(nproc)" bzImage modules >"$OUT/build.log" 2>&1 || {
		tail -n 30 "$OUT/build.log"; exit 1; }
	echo "$stamp" >"$OUT/.bioreader-stamp"
	touch "$OUT/.bioreader-built"
fi
REL=$(cat "$OUT/include/config/kernel.release")
if [ ! -f "/boot/vmlinuz-$REL" ] || ! cmp -s "$OUT/arch/x86/boot/bzImage" "/boot/vmlinuz-$REL"; then
	say "installing $REL (modules under /lib/modules/$REL, /boot/vmlinuz-$REL)"
	make -s -C "$SRC" O="$OUT" modules_install >/dev/null
	cp "$OUT/arch/x86/boot/bzImage" "/boot/vmlinuz-$REL"
fi
[ $ONLY_BUILD -eq 1 ] && { say "kernel $REL ready"; exit 0; }

say "building the modules against $REL"
make -C "$ROOT" -s KDIR="$OUT" KVER="$REL" clean >/dev/null
make -C "$ROOT" -s KDIR="$OUT" KVER="$REL" all

say "running the VM suite on $REL"
rc=0
bash "$ROOT/tests/vm/qemu/run.sh" --kver "$REL" --mem 2048 --timeout 2400 -- \
	tests/debug-kernel/guest.sh || rc=$?
# Leave the tree built for the stock kernel again.
make -C "$ROOT" -s clean >/dev/null
make -C "$ROOT" -s all >/dev/null || true
say "exit status $rc"
exit $rc
