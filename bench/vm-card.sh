#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Card insert -> template ready, over QEMU's USB CCID reader and the card
# emulator's chip (bench/vm_card.c says what and how): makes a test PKI
# and a card with a passport-sized DG2 (tests/emu/card-issue, document
# genuine-photo), starts the emulator on the host, boots the QEMU test
# bench with the reader and runs build/bench/vm_card in it.  Root, after
# `make`.
#
#   bash bench/vm-card.sh [ROUNDS [RTT_SAMPLES]] [-- run.sh options]
#   e.g. bash bench/vm-card.sh 10 50
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd -P)
ROUNDS=${1:-10}
RTT=${2:-50}
[ $# -lt 1 ] || shift
[ $# -lt 1 ] || [ "$1" = -- ] || shift
[ "${1:-}" != -- ] || shift
make -s user >/dev/null
make -s modules >/dev/null
if ! qemu-system-x86_64 -device help 2>/dev/null | grep -q '"usb-ccid"'; then
	echo "vm_card: skipped: this QEMU has no usb-ccid"
	exit 0
fi
# Where the guest sees it too (the host's root is the guest's, read-only).
CARD=$ROOT/build/bench-card
rm -rf "$CARD"
build/tests/emu/card-issue --out "$CARD" >/dev/null
(. "$CARD/docs/genuine-photo/info" && printf '%s\n' "$MRZ_INFO") >"$CARD/mrz"
run=$(mktemp -d "${TMPDIR:-/tmp}/vm-card.XXXXXX")
emu=
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	[ -z "$emu" ] || kill "$emu" 2>/dev/null || true
	rm -rf "$run" "$CARD"
}
trap cleanup EXIT
build/tests/emu/vscard-card --socket "$run/card.sock" --chip "$CARD/docs/genuine-photo" \
	--log "$run/emulator.log" &
emu=$!
for _ in $(seq 50); do
	[ -S "$run/card.sock" ] && break
	sleep 0.1
done
rc=0
bash tests/vm/qemu/run.sh -q --no-tpm --out "$run/out" --ccid "$run/card.sock" "$@" -- \
	"modprobe xhci_pci && build/bench/vm_card --csca $CARD/csca --crl $CARD/crl --mrz $CARD/mrz --rounds $ROUNDS --rtt $RTT" ||
	rc=$?
grep -v '^\[' "$run/out/output.log" 2>/dev/null | grep -v '^$' || true
exit $rc
