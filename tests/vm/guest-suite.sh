#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The VM test suite, run inside the test VM as root (tests/vm/qemu/run.sh
# -- tests/vm/guest-suite.sh): loads the modules, runs every
# build/tests/vm/t_* program in a fixed order and prints their KTAP
# output, each preceded by "# program: NAME".  Exits non-zero if any
# program failed; never stops at the first failure.
#
# Usage: guest-suite.sh [NAME...]   (default: all programs)

set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/build/tests/vm
PER_PROGRAM_TIMEOUT=${PER_PROGRAM_TIMEOUT:-120}

# Fixed order: discovery first, module unloading last.
ORDER="t_info t_verdicts t_session t_parallel t_badioctl t_privilege
       t_ratelimit t_noleak t_inject t_sameframes t_quality t_remove t_audit
       t_rmmod"

log() { echo "# suite: $*"; }

setup() {
	if ! grep -qw configfs /proc/filesystems; then
		modprobe configfs || log "modprobe configfs failed"
	fi
	if ! grep -q ' /sys/kernel/config ' /proc/mounts; then
		mount -t configfs configfs /sys/kernel/config ||
			log "cannot mount configfs"
	fi
	modprobe bioreader_sim || { log "modprobe bioreader_sim failed"; return 1; }
	# bioreader cannot read the kernel's boot id itself: it is given
	# (docs/audit-records.md).  The drain also sets it when it is empty.
	modprobe bioreader boot_id="$(cat /proc/sys/kernel/random/boot_id)" ||
		{ log "modprobe bioreader failed"; return 1; }
	return 0
}

# The audit consumer.  Without one the driver releases no verdict (fail
# closed), so a background `bioctl audit drain` runs during the suite,
# appending every record to $DRAIN_OUT and acknowledging it.  Programs
# that unload bioreader stop and restart it (tests/vm/lib/brvm.h).
DRAIN_PID=/run/bioreader-audit-drain.pid
DRAIN_OUT=/tmp/bioreader-audit.bin
AUDIT_SYSFS=/sys/class/misc/bioreader-audit

drain_running() {
	[ -s "$DRAIN_PID" ] && kill -0 "$(cat "$DRAIN_PID")" 2>/dev/null
}

drain_start() {
	local _
	drain_running && return 0
	rm -f "$DRAIN_PID"
	setsid "$ROOT/build/bioctl" audit drain --out "$DRAIN_OUT" \
		--pidfile "$DRAIN_PID" </dev/null >/dev/null \
		2>>/tmp/bioreader-audit-drain.err &
	for _ in $(seq 200); do
		drain_running && [ "$(cat "$AUDIT_SYSFS/consumer" 2>/dev/null)" = 1 ] &&
			return 0
		sleep 0.05
	done
	log "the audit drain did not attach: $(tail -n 3 /tmp/bioreader-audit-drain.err 2>/dev/null)"
	return 1
}

drain_stop() {
	local _
	drain_running || return 0
	kill -TERM "$(cat "$DRAIN_PID")" 2>/dev/null
	for _ in $(seq 200); do
		drain_running || return 0
		sleep 0.05
	done
	log "the audit drain did not stop"
	return 1
}

# Remove simulated readers left behind by a program that crashed.
cleanup_instances() {
	local d
	for d in /sys/kernel/config/bioreader_sim/*/; do
		[ -d "$d" ] || continue
		echo 0 > "$d/live" 2>/dev/null
		rmdir "$d" 2>/dev/null && log "removed leftover instance $(basename "$d")"
	done
}

if [ $# -gt 0 ]; then
	ORDER="$*"
fi
# Programs present but not in the list still run, after the list.
for p in "$BIN"/t_*; do
	[ -x "$p" ] || continue
	n=$(basename "$p")
	case " $(echo $ORDER) " in
	*" $n "*) ;;
	*) [ $# -gt 0 ] || ORDER="$ORDER $n" ;;
	esac
done

failed=0
failed_list=""
setup || failed=1
for name in $ORDER; do
	echo "# program: $name"
	prog=$BIN/$name
	if [ ! -x "$prog" ]; then
		echo "not ok 1 $name: program missing ($prog)"
		failed=$((failed + 1))
		failed_list="$failed_list $name"
		continue
	fi
	# the previous program may have unloaded a module or crashed
	setup >/dev/null 2>&1
	cleanup_instances
	drain_start
	start=$(date +%s)
	timeout -k 10 "$PER_PROGRAM_TIMEOUT" "$prog"
	rc=$?
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "not ok 999 $name: timed out after ${PER_PROGRAM_TIMEOUT}s"
	fi
	log "$name exited $rc after $(( $(date +%s) - start ))s"
	if [ $rc -ne 0 ]; then
		failed=$((failed + 1))
		failed_list="$failed_list $name"
	fi
done
cleanup_instances
drain_stop
if [ -s "$DRAIN_OUT" ]; then
	log "audit records drained: $("$ROOT/build/bioctl" audit show "$DRAIN_OUT" | wc -l)"
fi

if [ $failed -ne 0 ]; then
	log "FAILED:$failed_list"
	exit 1
fi
log "all programs passed"
exit 0
