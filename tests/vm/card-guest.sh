#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The ID-card tests inside the test VM (run by tests/vm/card-suite.sh,
# which starts the card emulator on the host and boots the VM with a USB
# CCID reader): loads the USB host controller, runs build/tests/vm/
# t_card_usb against the reader, reads the same file through pcscd +
# libccid (scriptor) and checks it is the same bytes, then, with
# CHIP_DIR (card-issue's directory), t_card_chip reads and verifies its
# documents.  KTAP, each program preceded by "# program: NAME".
#
# Usage: card-guest.sh FILES_DIR [FID [CHIP_DIR]]
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FILES=${1:?files directory}
FID=${2:-0102}
CHIP=${3:-}
# what the programs find the emulator's files and documents by
export BR_CARD_FILES=$FILES BR_CARD_FID=$FID
[ -z "$CHIP" ] || export BR_CARD_CHIP=$CHIP
failed=0

# Debian builds usbcore, xhci_hcd and xhci_pci as modules; with no udev
# daemon in the VM nothing loads them on its own.
modprobe xhci_pci || echo "# card-guest: modprobe xhci_pci failed"

echo "# program: t_card_usb"
timeout -k 5 180 "$ROOT/build/tests/vm/t_card_usb"
rc=$?
echo "# suite: t_card_usb exited $rc"
[ $rc -eq 0 ] || failed=1

# --- the same file through PC/SC ------------------------------------------
pcsc_crosscheck() {
	echo "# program: pcsc_crosscheck"
	echo "KTAP version 1"
	echo "1..2"
	if ! command -v pcscd >/dev/null || ! command -v scriptor >/dev/null ||
	[ ! -e /usr/lib/pcsc/drivers/ifd-ccid.bundle ]; then
	echo "ok 1 pcscd sees the reader # SKIP pcscd, libccid or pcsc-tools missing"
	echo "ok 2 pcscd reads the same bytes # SKIP pcscd, libccid or pcsc-tools missing"
	echo "# suite: pcsc_crosscheck exited 0"
	return 0
	fi
	mkdir -p /run/pcscd
	pcscd -f -e >/tmp/pcscd.log 2>&1 &
	pcscd_pid=$!
	size=$(stat -c %s "$FILES/$FID")
	apdus=/tmp/card-apdus
	{
	echo "00 A4 04 0C 07 A0 00 00 02 47 10 01"
	echo "00 A4 02 0C 02 ${FID:0:2} ${FID:2:2}"
	off=0
	while [ "$off" -lt "$size" ]; do
		n=$((size - off))
		[ $n -le 224 ] || n=224
		printf '00 B0 %02X %02X %02X\n' $((off >> 8)) $((off & 255)) "$n"
		off=$((off + n))
	done
	} >"$apdus"
	out=/tmp/card-scriptor.out
	ok=0
	for _ in $(seq 40); do
	if timeout 30 scriptor "$apdus" >"$out" 2>/tmp/card-scriptor.err; then
		ok=1
		break
	fi
	sleep 0.5
	done
	if [ $ok -eq 1 ]; then
	echo "ok 1 pcscd sees the reader and the card (scriptor)"
	else
	echo "not ok 1 pcscd sees the reader and the card (scriptor)"
	sed 's/^/# /' /tmp/card-scriptor.err | tail -n 5
	tail -n 20 /tmp/pcscd.log | sed 's/^/# pcscd: /'
	fi
	# The responses: "< XX XX ... : text", the bytes possibly over several
	# lines; the READ BINARY answers (3rd on) less SW1 SW2, concatenated.
	awk '
	/^< / { inresp = 1; buf = ""; sub(/^< /, "") }
	inresp {
		line = $0
		done = index(line, " : ")
		if (done) line = substr(line, 1, done - 1)
		buf = buf " " line
		if (done) {
			n++
			m = split(buf, b, " ")
			if (n >= 3) for (i = 1; i <= m - 2; i++) printf "%s", b[i]
			inresp = 0
		}
	}
	' "$out" >/tmp/card-pcsc.hex
	want=$(od -An -v -tx1 "$FILES/$FID" | tr -d ' \n' | tr a-f A-F)
	if [ $ok -eq 1 ] && [ "$(cat /tmp/card-pcsc.hex)" = "$want" ]; then
	echo "ok 2 pcscd + libccid read the same $size bytes as the emulator serves"
	else
	echo "not ok 2 pcscd + libccid read the same $size bytes as the emulator serves"
	echo "# got $(wc -c </tmp/card-pcsc.hex) hex digits, want ${#want}"
	head -n 8 "$out" | sed 's/^/# /'
	failed=1
	fi
	kill "$pcscd_pid" 2>/dev/null
	wait "$pcscd_pid" 2>/dev/null
	echo "# suite: pcsc_crosscheck exited $((1 - ok))"
	[ $ok -eq 1 ] || failed=1
}
pcsc_crosscheck

# --- the ICAO documents (chip mode) ----------------------------------------
if [ -n "$CHIP" ]; then
	echo "# program: t_card_chip"
	timeout -k 5 300 "$ROOT/build/tests/vm/t_card_chip"
	rc=$?
	echo "# suite: t_card_chip exited $rc"
	[ $rc -eq 0 ] || failed=1

	# Last: it ends by unplugging the reader.
	echo "# program: t_card_kiosk"
	timeout -k 5 600 bash "$ROOT/tests/vm/t_card_kiosk.sh" "$CHIP"
	rc=$?
	echo "# suite: t_card_kiosk exited $rc"
	[ $rc -eq 0 ] || failed=1
fi
exit $failed
