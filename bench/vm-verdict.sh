#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Verdict latency with the audit daemon at its defaults against a
# consumer that acknowledges on read, measured in the same VM run
# (bench/vm_verdict.c says what and how).  Boots the QEMU test bench
# with a software TPM; root, after `make`.
#
#   bash bench/vm-verdict.sh [SESSIONS_PER_ROUND [ROUNDS]] [-- run.sh options]
#   e.g. bash bench/vm-verdict.sh 10 3 -- --kver 6.1.0-57-amd64
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
args=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	args+=("$1")
	shift
done
[ "${1:-}" != -- ] || shift
make -s user >/dev/null
make -s modules >/dev/null
out=$(mktemp -d "${TMPDIR:-/tmp}/vm-verdict.XXXXXX")
trap 'rm -rf "$out"' EXIT
rc=0
bash tests/vm/qemu/run.sh -q --out "$out" "$@" -- \
	"modprobe bioreader_sim && modprobe bioreader boot_id=\$(cat /proc/sys/kernel/random/boot_id) && build/bench/vm_verdict ${args[*]}" ||
	rc=$?
cat "$out/output.log" 2>/dev/null
exit $rc
