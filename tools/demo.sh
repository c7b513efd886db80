#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The main job, from a fresh machine: install what is missing (Debian
# packages), build the modules and tools, boot the test VM and run
# tools/demo-guest.sh in it: create a simulated reader, verify a genuine
# person and an impostor, show a printed photo, a screen replay and a mask
# refused as attacks, print the verdicts and the statistics.
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
	sed -n '3,11p' "$0" | sed 's/^# \{0,1\}//'
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

step "boot the VM and run the demo (tools/demo-guest.sh)"
bash tests/vm/qemu/run.sh -- tools/demo-guest.sh
rc=$?
echo
if [ $rc -eq 0 ]; then
	echo "demo: done"
else
	echo "demo: FAILED (status $rc)"
fi
exit $rc
