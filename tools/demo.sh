#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The main job, from a fresh machine: install what is missing (Debian
# packages), build the modules and tools, issue a test ID card (a test
# PKI and a card of simulated person 42, tests/emu/card-issue), start the
# card emulator behind QEMU's USB smart-card reader, boot the test VM and
# run tools/demo-guest.sh in it: the card is inserted when the kiosk asks
# for it, read and proven genuine; then verify the card's owner and an
# impostor, show a printed photo, a screen replay and a resin mask refused
# as attacks, a silicone mask referred to staff and the card then locked
# out, print the verdicts and the statistics, verify the audit log.
#
# Usage: tools/demo.sh [--no-deps]
# Exit status: that of the demo in the VM (1 also if the kernel log shows
# a kernel warning or bug).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT" || exit 1

DEPS=1
case "${1:-}" in
--no-deps) DEPS=0 ;;
-h | --help)
	sed -n '3,12p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
"") ;;
*)
	echo "demo.sh: unknown option $1" >&2
	exit 2
	;;
esac

step() { printf '\n=== %s\n' "$*"; }

if [ $DEPS -eq 1 ]; then
	step "dependencies"
	bash tools/install-deps.sh || exit 1
fi

step "build"
make -j"$(nproc 2>/dev/null || echo 2)" || { echo "demo: build failed" >&2; exit 1; }

CARD=$ROOT/build/demo-card	# where the guest sees it too (read-only)
RUN=$(mktemp -d "${TMPDIR:-/tmp}/bioreader-demo.XXXXXX") || exit 1
EMU_PID=
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	[ -z "$EMU_PID" ] || kill "$EMU_PID" 2>/dev/null
	rm -rf "$RUN"
}
trap cleanup EXIT
CCID=()
if qemu-system-x86_64 -device help 2>/dev/null | grep -q '"ccid-card-passthru"'; then
	step "issue a test ID card and start the card emulator"
	rm -rf "$CARD"
	build/tests/emu/card-issue --out "$CARD" >/dev/null || exit 1
	echo "test PKI (country UT) and the card of simulated person 42 in $CARD"
	echo "(made now with OpenSSL: a CSCA, a Document Signer, a signed document)"
	mkfifo "$RUN/control"
	# No card in the reader yet: it goes in when the kiosk asks for it.
	build/tests/emu/vscard-card --socket "$RUN/card.sock" \
		--chip "$CARD/docs/genuine-photo" --no-card --control "$RUN/control" \
		--log "$RUN/emulator.log" &
	EMU_PID=$!
	for _ in $(seq 50); do
		[ -S "$RUN/card.sock" ] && break
		sleep 0.1
	done
	CCID=(--ccid "$RUN/card.sock")
else
	echo "demo: this QEMU has no USB smart-card reader (usb-ccid): the card is a file" >&2
fi

step "boot the VM and run the demo (tools/demo-guest.sh)"
# The guest's output shows here as it happens; when the kiosk asks for
# the card, the customer puts it in (the emulator's "insert").
inserted=0
bash tests/vm/qemu/run.sh "${CCID[@]}" -- tools/demo-guest.sh "${CCID[@]:+$CARD}" |
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		*"insert the ID card"*)
			if [ $inserted -eq 0 ] && [ -p "$RUN/control" ]; then
				inserted=1
				sleep 2
				echo insert >"$RUN/control"
				printf '%s\n' "[the customer puts the ID card into the reader]"
			fi
			;;
		esac
	done
rc=${PIPESTATUS[0]}
echo
if [ $rc -eq 0 ]; then
	echo "demo: done"
else
	echo "demo: FAILED (status $rc)"
fi
exit $rc
