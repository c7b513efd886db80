#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Inside the debug-kernel VM: the ordinary guest suite, then a kmemleak
# scan after the modules are unloaded.  A leak whose trace names a
# bioreader symbol fails; other leaks (the kernel's own, at boot) are
# printed but not ours to fail on.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1

# KASAN, lockdep and kmemleak make everything several times slower:
# longer limits per program and per test case (tests/lib/ktap.h).
export PER_PROGRAM_TIMEOUT=${PER_PROGRAM_TIMEOUT:-600}
export KTAP_TIMEOUT_FACTOR=${KTAP_TIMEOUT_FACTOR:-5}

rc=0
bash tests/vm/guest-suite.sh || rc=$?

for d in /sys/kernel/config/bioreader_sim/*/; do
	[ -d "$d" ] || continue
	echo 0 >"$d/live" 2>/dev/null
	rmdir "$d" 2>/dev/null
done
modprobe -r bioreader_sim bioreader 2>/dev/null

KL=/sys/kernel/debug/kmemleak
if [ -w "$KL" ]; then
	# Two scans: kmemleak reports an object only when it stayed
	# unreferenced across a scan.
	echo scan >"$KL"
	sleep 5
	echo scan >"$KL"
	leaks=$(cat "$KL")
	n=$(grep -c '^unreferenced object' <<<"$leaks" || true)
	ours=$(awk 'function flush() { if (blk ~ /bioreader|sim_|br_|bio_/) print blk; blk="" }
		/^unreferenced object/ { flush(); blk=$0; next }
		{ blk = blk "\n" $0 }
		END { flush() }' <<<"$leaks")
	echo "# kmemleak: $n unreferenced objects in all"
	if [ -n "$ours" ]; then
		echo "not ok 1 kmemleak: leaks from bioreader"
		echo "$ours" | sed 's/^/# /'
		rc=1
	else
		echo "ok 1 kmemleak: no leak from bioreader"
	fi
else
	echo "ok 1 kmemleak # SKIP kernel without kmemleak"
fi
exit $rc
