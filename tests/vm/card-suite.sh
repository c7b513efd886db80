#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The ID-card reader test, host side: generates a test card's files and,
# with tests/emu/card-issue, a test PKI and ICAO documents (under
# build/card-test/: files/ and chip/, docs/idcard.md says what is where),
# starts the VSCard card emulator (build/tests/emu/vscard-card) on a Unix
# socket, boots the test VM once with a USB CCID reader on that socket
# and QEMU's QMP monitor on another (tests/vm/qemu/run.sh --ccid
# --monitor) and runs tests/vm/card-guest.sh in it: t_card_usb over
# libusb (at its end the reader is unplugged mid-command and plugged in
# again, QEMU's device_del and device_add, which the emulator asks for),
# the same file through pcscd + libccid, then t_card_chip (the
# documents, read and verified through lib/idcard).  Prints KTAP (the
# guest's, then "ok/not ok" for the emulator); SKIPs when QEMU lacks
# usb-ccid or ccid-card-passthru.  Build first (make).
#
# Usage: tests/vm/card-suite.sh [--kver KVER] [--out DIR] [-q]
# Exit status: run.sh's (0 when everything passed or was skipped).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
# shellcheck source=tests/vm/lib/suite_opts.sh
. "$ROOT/tests/vm/lib/suite_opts.sh"
suite_options card-suite "$0" "$@"

if ! qemu-system-x86_64 -device help 2>/dev/null | grep -q '"usb-ccid"' ||
	! qemu-system-x86_64 -device help 2>/dev/null | grep -q '"ccid-card-passthru"'; then
	echo "KTAP version 1"
	echo "1..1"
	echo "ok 1 card over USB # SKIP this QEMU has no usb-ccid / ccid-card-passthru"
	exit 0
fi
EMU=$ROOT/build/tests/emu/vscard-card
ISSUE=$ROOT/build/tests/emu/card-issue
for p in "$EMU" "$ISSUE" "$ROOT/build/tests/vm/t_card_usb" "$ROOT/build/tests/vm/t_card_chip"; do
	[ -x "$p" ] || { echo "card-suite: $p missing (make)" >&2; exit 2; }
done

# The card's files, where the guest sees them too (the host's root is
# the guest's, read-only): EF.COM, DG1, DG2 (a few KB), EF.SOD, fixed
# contents so that a failure can be replayed.
FILES=$ROOT/build/card-test/files
rm -rf "$FILES"
mkdir -p "$FILES"
gen() { openssl enc -aes-128-ctr -nosalt -pass "pass:bioreader-card-$1" \
	-in /dev/zero 2>/dev/null | head -c "$2" >"$FILES/$1"; }
gen 011E 24
gen 0101 93
gen 0102 4321
gen 011D 1800

# The test PKI and the documents, made now (new keys every run): the
# trust store in chip/csca and chip/crl, the documents in chip/docs/NAME.
CHIP=$ROOT/build/card-test/chip
rm -rf "$CHIP"
"$ISSUE" --out "$CHIP" >/dev/null || { echo "card-suite: card-issue failed" >&2; exit 2; }

RUN=$(mktemp -d "${TMPDIR:-/tmp}/bioreader-card.XXXXXX") || exit 1
[ -n "$OUT" ] || OUT=$RUN/out
mkdir -p "$OUT"
EMU_PID=
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	if [ -n "$EMU_PID" ]; then
		kill "$EMU_PID" 2>/dev/null
		wait "$EMU_PID" 2>/dev/null
	fi
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

: >"$OUT/emulator.log"
"$EMU" --socket "$RUN/card.sock" --files "$FILES" --control "$RUN/control" \
	--docs "$CHIP/docs" --qemu-monitor "$RUN/qmp.sock" \
	--t0-chain --test-control --log "$OUT/emulator.log" &
EMU_PID=$!
for _ in $(seq 50); do
	[ -S "$RUN/card.sock" ] && break
	sleep 0.1
done
[ -S "$RUN/card.sock" ] || { echo "card-suite: the emulator did not start" >&2; exit 125; }

bash "$ROOT/tests/vm/qemu/run.sh" --no-tpm --timeout 900 --out "$OUT" \
	--ccid "$RUN/card.sock" --monitor "$RUN/qmp.sock" "${RUNARGS[@]}" -- \
	"bash tests/vm/card-guest.sh $FILES 0102 $CHIP"
rc=$?

echo "# program: emulator"
echo "KTAP version 1"
echo "1..1"
if kill -0 "$EMU_PID" 2>/dev/null; then
	echo "ok 1 the card emulator is still running after the VM"
else
	echo "not ok 1 the card emulator is still running after the VM"
	rc=1
fi
echo "# emulator: $(grep -c ' APDU ' "$OUT/emulator.log") APDUs answered (log: $OUT/emulator.log)"
exit $rc
