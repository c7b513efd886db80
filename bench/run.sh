#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs every benchmark with its reference measured in the same run and
# prints the ratios; docs/benchmarks.md records the results and this
# command.  Builds first if needed.
#
#   bash bench/run.sh [SECONDS_PER_MEASUREMENT]
#   (bench_log and bench_daemon make their scratch stores under
#   BENCH_LOG_DIR, default /var/tmp; bench_daemon runs bioflowd, so only
#   as root, with its own defaults: bench/bench_daemon.c; so does
#   bench/fleet-forward.sh, rsyslogd, the forwarder and the collector on
#   loopback, under BENCH_LOG_DIR too, and bench/ack-to-cosigned.sh, the
#   same with bioflowd in front; the verdict
#   latency and card insert -> template run in the QEMU VM,
#   bench/vm-verdict.sh and bench/vm-card.sh, also as root)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
make -s user >/dev/null
secs=${1:-2}
echo "== $(uname -m), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
build/bench/bench_frame 640 480 "$secs"
# Worst case: the closest face the simulator renders, the largest box.
build/bench/bench_frame 640 480 "$secs" "person 42 dist=30"
build/bench/bench_frame 320 240 "$secs"
build/bench/bench_log -d "${BENCH_LOG_DIR:-/var/tmp}" -b 1024 -s "$secs"
if [ "$(id -u)" -eq 0 ]; then
	build/bench/bench_daemon -d "${BENCH_LOG_DIR:-/var/tmp}"
	bash bench/fleet-forward.sh
	bash bench/ack-to-cosigned.sh
else
	echo "bench_daemon: skipped: needs root (bioflowd starts as root and drops to \"nobody\")"
	echo "fleet_forward: skipped: needs root (bioflow-forward drops to \"nobody\")"
	echo "ack_to_cosigned: skipped: needs root (bioflowd and bioflow-forward drop to \"nobody\")"
fi
if [ "$(id -u)" -eq 0 ] && command -v qemu-system-x86_64 >/dev/null; then
	bash bench/vm-verdict.sh 10 3
	bash bench/vm-card.sh 10 50
else
	echo "vm_verdict: skipped: needs root and qemu-system-x86_64 (bench/vm-verdict.sh)"
	echo "vm_card: skipped: needs root and qemu-system-x86_64 (bench/vm-card.sh)"
fi
