#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs every test of the project and ends with exactly one summary line:
#   N passed, N failed, N skipped
# Exit status 0 iff nothing failed.
#
#   1. installs missing Debian packages (tools/install-deps.sh)
#   2. builds: userspace and the kernel modules (one result each)
#   3. unit tests, natively: build/tests/unit/test_*, the fuzz corpus
#      replays, the interoperability tests tests/interop/t_*.sh (the
#      audit log against Go's golang.org/x/mod/sumdb note and tlog; a
#      SKIP without golang-go and golang-golang-x-mod-dev), and the unit
#      tests and replays again under ASan/UBSan (make sanitize)
#   4. static checks: tests/static/*.sh
#   5. kernel checks: a W=1 C=1 (sparse) build that must be clean
#      (`make check-kernel-build`) against every supported kernel whose
#      headers are installed (`make print-kvers`: Debian 12's 6.1 always,
#      Debian's 6.12 and 6.12 PREEMPT_RT when present), one result each,
#      and checkpatch --strict clean (`make checkpatch`), one result
#   6. VM tests: tests/vm/guest-suite.sh in the QEMU bench
#      (tests/vm/qemu/run.sh), plus one result "kernel log clean", per
#      kernel as --kernels says:
#        ci (default)  the whole suite on the default kernel (6.1), and
#                      the smoke test (tests/vm/t_smoke.c: modules, a
#                      reader, a verification and an attack through
#                      bioflowd and the TPM, a reader unplugged
#                      mid-session, rmmod) on each other supported
#                      kernel with an image in /boot; results
#                      vm@KVER/...; under a minute per kernel (with
#                      their module builds and section 5's checks, the
#                      two 6.12 kernels add about five minutes to a run)
#        all           the whole suite on every one of them (the long
#                      lane: about four minutes more per kernel)
#        default       the default kernel only
#   6b. ID card over USB: tests/vm/card-suite.sh, one VM boot with a USB
#      CCID reader (QEMU usb-ccid) whose card is the VSCard emulator
#      (tests/emu/vscard-card) on the host: t_card_usb over libusb (the
#      reader unplugged mid-command at its end), a pcscd + libccid
#      cross-check, t_card_chip (ICAO documents from tests/emu/card-issue,
#      read and verified through lib/idcard); SKIPs when QEMU lacks usb-ccid
#   6c. fleet forwarding from the VM: tests/vm/fleet-suite.sh, one VM boot
#      with a network card that reaches only the host's rsyslog and
#      witness ports (run.sh --net): in the guest the driver, bioflowd
#      with the software TPM and bioflow-forward; on the host rsyslogd
#      with the shipped collector/rsyslog-bioflow.conf and
#      bioflow-collector with its witness, started only once the guest's
#      first sessions are sealed; the copy verifies, is the guest's store
#      byte for byte and its checkpoint is cosigned (about two minutes)
#   6d. the README's demo: tools/demo.sh --no-deps (the card issued, the
#      VM booted, the owner, an impostor and three attacks verified, the
#      audit log checked), one result from the demo's own check (about
#      two minutes)
#   7. Debian packages: tests/pkg/t_deb.sh builds, installs (dpkg -i,
#      DKMS), boots the VM on the installed system, removes and purges
#      them (root; it changes the machine for a few minutes, then
#      restores it)
#
# Every program prints KTAP.  Counted are the leaf results (`ok` /
# `not ok` lines without subtests); `ok ... # SKIP` is a skip; a program
# that exits non-zero without any `not ok` counts as one failure.
#
# Usage: tests/run.sh [--unit] [--static] [--kernel] [--vm] [--card]
#                    [--vmfleet] [--demo] [--pkg] [--kernels ci|all|default] [-v]
#                    [--no-deps]
#   --unit/--static/--kernel/--vm/--card/--vmfleet/--demo/--pkg  run only these
#                   parts (the build always runs)
#   --kernels MODE  which kernels the VM tests run on (6., above)
#   -v              print every program's full output (default: failures only;
#                   the VM's console is always shown live)
#   --no-deps       do not run tools/install-deps.sh
# Logs: build/test-logs/.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT" || exit 1

parts=()
VERBOSE=0
DEPS=1
KERNELS=ci
while [ $# -gt 0 ]; do
	case "$1" in
	--unit | --static | --kernel | --vm | --card | --vmfleet | --demo | --pkg) parts+=("${1#--}") ;;
	--kernels)
		KERNELS=${2:-}
		case "$KERNELS" in
		ci | all | default) ;;
		*)
			echo "run.sh: --kernels ci|all|default" >&2
			exit 2
			;;
		esac
		shift
		;;
	-v | --verbose) VERBOSE=1 ;;
	--no-deps) DEPS=0 ;;
	-h | --help)
		sed -n '3,66p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "run.sh: unknown option $1 (see --help)" >&2
		exit 2
		;;
	esac
	shift
done
[ ${#parts[@]} -gt 0 ] || parts=(unit static kernel vm card vmfleet demo pkg)
want() {
	local p
	for p in "${parts[@]}"; do [ "$p" = "$1" ] && return 0; done
	return 1
}

LOGS=$ROOT/build/test-logs
rm -rf "$LOGS"
mkdir -p "$LOGS"
SUMMARY=$LOGS/summary
: >"$SUMMARY"
PASS=0
FAIL=0
SKIP=0
T0=$(date +%s)

section() { printf '\n=== %s\n' "$*"; }
elapsed() { echo "$(($(date +%s) - T0))s"; }

# count_ktap FILE -> "pass fail skip notok" over the leaf results.
count_ktap() {
	awk '
	function depth(s) { match(s, /^[ \t]*/); return RLENGTH }
	/^[ \t]*(not )?ok [0-9]+/ {
		d = depth($0)
		line = substr($0, d + 1)
		bad = (line ~ /^not ok/)
		skip = (line ~ /#[ \t]*(SKIP|skip|TODO|todo)/)
		kids = 0; kidfail = 0
		for (k in cnt) if (k + 0 > d) { kids += cnt[k]; kidfail += nfail[k]; delete cnt[k]; delete nfail[k] }
		if (kids == 0) {
			if (skip) s++
			else if (bad) { f++; nb++ }
			else p++
		} else if (bad && kidfail == 0 && !skip) {
			f++; nb++
		}
		cnt[d]++
		if (bad) nfail[d]++
		next
	}
	/^[ \t]*Bail out!/ { f++; nb++ }
	END { printf "%d %d %d %d\n", p, f, s, nb }
	' "$1"
}

# record NAME LOG STATUS: count a program's results, print its progress line.
record() {
	local name=$1 log=$2 rc=$3 p f s nb
	read -r p f s nb < <(count_ktap "$log")
	if [ "$rc" -ne 0 ] && [ "$nb" -eq 0 ]; then
		f=$((f + 1))
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
		# No KTAP at all and a zero exit: nothing was tested.
		f=1
		echo "not ok - $name printed no results" >>"$log"
	fi
	PASS=$((PASS + p))
	FAIL=$((FAIL + f))
	SKIP=$((SKIP + s))
	if [ $VERBOSE -eq 1 ]; then
		sed 's/^/    /' "$log"
	elif [ "$f" -gt 0 ]; then
		grep -E '^[ \t]*(not ok|Bail out!)|^[ \t]*# ' "$log" | grep -v '# totals' |
			tail -n 40 | sed 's/^/    /'
	fi
	printf '%-40s %s passed, %s failed, %s skipped (%s)\n' "$name" "$p" "$f" "$s" "$(elapsed)" |
		tee -a "$SUMMARY"
}

# result NAME STATUS LOG: a single ok / not ok for a non-KTAP step.
result() {
	local name=$1 rc=$2 log=$3
	if [ "$rc" -eq 0 ]; then
		echo "ok 1 $name" >>"$log"
	else
		echo "not ok 1 $name" >>"$log"
	fi
	record "$name" "$log" 0
}

# run_prog NAME LOG TIMEOUT CMD...: run a KTAP program and record it.
run_prog() {
	local name=$1 log=$2 to=$3 rc
	shift 3
	timeout -k 10 "$to" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	[ $rc -ne 124 ] || echo "# $name: timed out after ${to}s" >>"$log"
	record "$name" "$log" $rc
}

# --- 1. dependencies ------------------------------------------------------
if [ $DEPS -eq 1 ]; then
	section "dependencies (tools/install-deps.sh)"
	bash tools/install-deps.sh || echo "install-deps failed; continuing with what is there"
fi

# --- kernels --------------------------------------------------------------
# The default kernel (`make print-kver`, Debian 12's 6.1) and the other
# supported kernels whose headers are installed (`make print-kvers`);
# the VM tests need an image too.
DEF_KVER=$(make -s --no-print-directory print-kver 2>/dev/null)
OTHER_KVERS=()
while read -r k; do
	[ -n "$k" ] && [ "$k" != "$DEF_KVER" ] && OTHER_KVERS+=("$k")
done < <(make -s --no-print-directory print-kvers 2>/dev/null)
# VM_RUNS: "KVER MODE" lines, MODE full or smoke.
VM_RUNS=("$DEF_KVER full")
if [ "$KERNELS" != default ]; then
	for k in "${OTHER_KVERS[@]}"; do
		if [ "$KERNELS" = all ]; then
			VM_RUNS+=("$k full")
		else
			VM_RUNS+=("$k smoke")
		fi
	done
fi

# --- 2. build -------------------------------------------------------------
section "build"
JOBS=$(nproc 2>/dev/null || echo 2)
echo "make user (log: build/test-logs/build-user.log)"
make -k -j"$JOBS" user >"$LOGS/build-user.log" 2>&1
rc=$?
[ $rc -eq 0 ] || grep -E 'error|Error|undefined reference' "$LOGS/build-user.log" | head -n 30
result "build: userspace" $rc "$LOGS/build-user.ktap"
if want kernel || want vm || want card || want vmfleet || want demo; then
	echo "make modules (log: build/test-logs/build-modules.log)"
	make -j"$JOBS" modules >"$LOGS/build-modules.log" 2>&1
	rc=$?
	[ $rc -eq 0 ] || grep -E 'error|Error|undefined' "$LOGS/build-modules.log" | head -n 30
	result "build: kernel modules" $rc "$LOGS/build-modules.ktap"
fi
# The other kernels' modules, for their VM runs (the bench would build
# them itself; here a failure is a result of its own).
if want vm; then
	for run in "${VM_RUNS[@]:1}"; do
		k=${run%% *}
		[ -r "/boot/vmlinuz-$k" ] || continue
		echo "make modules-kver KVER=$k (log: build/test-logs/build-modules-$k.log)"
		make -j"$JOBS" modules-kver KVER="$k" >"$LOGS/build-modules-$k.log" 2>&1
		rc=$?
		[ $rc -eq 0 ] || grep -E 'error|Error|undefined' "$LOGS/build-modules-$k.log" | head -n 30
		result "build: kernel modules for $k" $rc "$LOGS/build-modules-$k.ktap"
	done
fi

# --- 3. unit tests --------------------------------------------------------
if want unit; then
	section "unit tests (native)"
	mkdir -p "$LOGS/unit"
	found=0
	for t in build/tests/unit/test_*; do
		[ -x "$t" ] || continue
		found=1
		run_prog "unit/$(basename "$t")" "$LOGS/unit/$(basename "$t").log" 300 "$t"
	done
	[ $found -eq 1 ] || echo "(no unit tests built)"

	section "fuzz corpus replay (tests/fuzz/corpus)"
	for t in build/tests/fuzz/replay_*; do
		[ -x "$t" ] || continue
		n=${t##*/replay_}
		run_prog "fuzz/$n" "$LOGS/unit/fuzz-$n.log" 300 "$t" "tests/fuzz/corpus/$n"
	done

	# Independent implementations of the standards the audit log
	# follows, checking the project's output and checked by its verifier.
	section "interoperability (tests/interop/t_*.sh)"
	for t in tests/interop/t_*.sh; do
		[ -f "$t" ] || continue
		n=$(basename "$t" .sh)
		run_prog "interop/$n" "$LOGS/unit/interop-$n.log" 300 bash "$t"
	done

	# The same programs under AddressSanitizer and UBSan: a sanitizer
	# report aborts the program, which counts as a failure.
	section "unit tests and corpus replay under ASan/UBSan"
	echo "make sanitize (log: build/test-logs/build-sanitize.log)"
	make -k -j"$JOBS" sanitize >"$LOGS/build-sanitize.log" 2>&1
	rc=$?
	[ $rc -eq 0 ] || grep -E 'error|Error|undefined reference' "$LOGS/build-sanitize.log" | head -n 30
	result "build: sanitizer programs" $rc "$LOGS/build-sanitize.ktap"
	for t in build/san/tests/unit/test_*; do
		[ -x "$t" ] || continue
		run_prog "asan/$(basename "$t")" "$LOGS/unit/asan-$(basename "$t").log" 600 "$t"
	done
	for t in build/san/tests/fuzz/replay_*; do
		[ -x "$t" ] || continue
		n=${t##*/replay_}
		run_prog "asan/fuzz/$n" "$LOGS/unit/asan-fuzz-$n.log" 600 "$t" "tests/fuzz/corpus/$n"
	done
fi

# --- 4. static checks -----------------------------------------------------
if want static; then
	section "static checks"
	mkdir -p "$LOGS/static"
	found=0
	for t in tests/static/*.sh; do
		[ -f "$t" ] || continue
		found=1
		n=$(basename "$t" .sh)
		run_prog "static/$n" "$LOGS/static/$n.log" 300 bash "$t"
	done
	[ $found -eq 1 ] || echo "(no static checks)"
fi

# --- 5. kernel checks -----------------------------------------------------
if want kernel; then
	section "kernel checks (W=1 C=1 per kernel, checkpatch --strict)"
	for k in "$DEF_KVER" "${OTHER_KVERS[@]}"; do
		echo "make check-kernel-build KVER=$k: fresh W=1 C=1 build (about a minute)"
		make check-kernel-build KVER="$k" >"$LOGS/check-kernel-$k.log" 2>&1
		rc=$?
		if [ $rc -ne 0 ]; then
			grep -iE '(warning|error):|not clean|failed' "$LOGS/check-kernel-$k.log" | head -n 40
		else
			tail -n 1 "$LOGS/check-kernel-$k.log"
		fi
		result "kernel $k: W=1 C=1 clean" $rc "$LOGS/check-kernel-$k.ktap"
	done
	make checkpatch >"$LOGS/checkpatch.log" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		grep -iE '(warning|error|check):|not clean|no checkpatch' "$LOGS/checkpatch.log" | head -n 40
	else
		tail -n 1 "$LOGS/checkpatch.log"
	fi
	# Without checkpatch.pl `make checkpatch` says so and succeeds: that
	# is not a pass.
	grep -q 'no checkpatch.pl found' "$LOGS/checkpatch.log" && rc=1
	result "kernel: checkpatch --strict clean" $rc "$LOGS/checkpatch.ktap"
fi

# record_programs DIR PREFIX LOG...: split a guest suite's output at its
# "# program: NAME" lines into DIR/prog-NAME.log and record each program
# as PREFIX/NAME, with the status the suite logged for it ("# suite: NAME
# exited RC").  Status 1 if the output named no program.
record_programs() {
	local dir=$1 pre=$2 prog prc

	shift 2
	rm -f "$dir/programs"
	awk -v dir="$dir" '
		/^# program: / { name = $3; gsub(/[^A-Za-z0-9_.-]/, "_", name); file = dir "/prog-" name ".log"; order[++n] = name; next }
		file != "" { print > file }
		END { for (i = 1; i <= n; i++) print order[i] > (dir "/programs") }
	' "$@" 2>/dev/null
	[ -s "$dir/programs" ] || return 1
	while read -r prog; do
		prc=$(sed -n "s/^# suite: $prog exited \([0-9]*\).*/\1/p" \
			"$dir/prog-$prog.log" | tail -n 1)
		record "$pre/$prog" "$dir/prog-$prog.log" "${prc:-0}"
	done <"$dir/programs"
}

# --- 6. VM tests ----------------------------------------------------------

# vm_run KVER MODE: the suite (MODE full) or the smoke test (smoke) in the
# VM on kernel KVER; results named vm/... for the default kernel and
# vm@KVER/... for the others, logs in build/test-logs/vm[-KVER]/.
vm_run() {
	local kver=$1 mode=$2 pre dir rc out gstat before prog prc p f s nb
	local cmd=(tests/vm/guest-suite.sh)

	if [ "$kver" = "$DEF_KVER" ]; then
		pre=vm
		dir=$LOGS/vm
	else
		pre=vm@$kver
		dir=$LOGS/vm-$kver
	fi
	[ "$mode" = full ] || cmd+=(t_smoke)
	mkdir -p "$dir"
	if [ ! -r "/boot/vmlinuz-$kver" ]; then
		echo "ok 1 $pre: no /boot/vmlinuz-$kver (linux-image of that kernel) # SKIP" >"$dir/skip.ktap"
		record "$pre" "$dir/skip.ktap" 0
		return
	fi
	section "VM tests on $kver ($mode: ${cmd[*]})"
	if [ ! -f tests/vm/guest-suite.sh ]; then
		echo "not ok 1 vm suite: tests/vm/guest-suite.sh is missing" >"$dir/suite.ktap"
		record "$pre/suite" "$dir/suite.ktap" 1
		return
	fi
	bash tests/vm/qemu/run.sh --kver "$kver" --out "$dir" -- "${cmd[@]}"
	rc=$?
	echo
	out=$dir/output.log
	[ -f "$out" ] || : >"$out"
	# The guest command's own status (run.sh also fails for a dirty
	# kernel log, which is counted on its own below).
	gstat=$(cat "$dir/status" 2>/dev/null) || gstat=
	before=$FAIL
	if record_programs "$dir" "$pre" "$out"; then
		# Whatever the suite printed before the first program.
		awk '/^# program: /{exit} {print}' "$out" >"$dir/preamble.log"
		read -r p f s nb < <(count_ktap "$dir/preamble.log")
		[ $((p + f + s)) -eq 0 ] || record "$pre/suite setup" "$dir/preamble.log" 0
	else
		record "$pre/suite" "$out" "${gstat:-0}"
	fi
	if [ -z "$gstat" ]; then
		echo "# no status came back from the VM (run.sh exit $rc: timeout or crash)" >"$dir/exit.log"
		result "$pre: the VM run completed" 1 "$dir/exit.log"
	elif [ "$gstat" -ne 0 ] && [ "$FAIL" -eq "$before" ]; then
		echo "# the suite exited with status $gstat" >"$dir/exit.log"
		result "$pre: suite exit status" 1 "$dir/exit.log"
	fi
	if [ -f "$dir/klog.status" ]; then
		[ "$(cat "$dir/klog.status")" = clean ]
		result "$pre: kernel log clean" $? "$dir/klog.ktap"
	else
		result "$pre: kernel log clean (no kernel log came back)" 1 "$dir/klog.ktap"
	fi
}

if want vm; then
	for run in "${VM_RUNS[@]}"; do
		vm_run "${run%% *}" "${run#* }"
	done
fi

# --- 6b. ID card over USB -------------------------------------------------
# One boot of the default kernel with a USB CCID reader whose card is the
# VSCard emulator on the host (tests/vm/card-suite.sh); it SKIPs when QEMU
# lacks usb-ccid.  Results card/PROGRAM, logs in build/test-logs/card/.
if want card; then
	section "ID card over USB (tests/vm/card-suite.sh: emulator, usb-ccid, libusb, pcscd)"
	dir=$LOGS/card
	mkdir -p "$dir"
	timeout -k 10 600 bash tests/vm/card-suite.sh --kver "$DEF_KVER" --out "$dir" -q \
		>"$dir/suite.log" 2>&1
	rc=$?
	if ! record_programs "$dir" card "$dir/output.log" "$dir/suite.log"; then
		# a SKIP (no usb-ccid) or a failure before the VM
		record "card/suite" "$dir/suite.log" $rc
	fi
	if [ -f "$dir/klog.status" ]; then
		[ "$(cat "$dir/klog.status")" = clean ]
		result "card: kernel log clean" $? "$dir/klog.ktap"
	fi
fi

# --- 6c. fleet forwarding from the VM ------------------------------------
# One boot of the default kernel with a network card that reaches the
# host's rsyslog and witness (tests/vm/fleet-suite.sh).  Results
# vmfleet/PROGRAM (the guest's fleet_guest, the host's fleet_host), logs
# in build/test-logs/vmfleet/.
if want vmfleet; then
	section "fleet forwarding from the VM (tests/vm/fleet-suite.sh: guest appliance, host rsyslog and collector)"
	dir=$LOGS/vmfleet
	mkdir -p "$dir"
	timeout -k 10 900 bash tests/vm/fleet-suite.sh --kver "$DEF_KVER" --out "$dir" -q \
		>"$dir/suite.log" 2>"$dir/suite.err"
	rc=$?
	if ! record_programs "$dir" vmfleet "$dir/output.log" "$dir/suite.log"; then
		# a SKIP, or a failure before the VM
		cat "$dir/suite.err" >>"$dir/suite.log"
		record "vmfleet/suite" "$dir/suite.log" $rc
	fi
	if [ -f "$dir/klog.status" ]; then
		[ "$(cat "$dir/klog.status")" = clean ]
		result "vmfleet: kernel log clean" $? "$dir/klog.ktap"
	fi
fi

# --- 6d. the README's demo -------------------------------------------------
# tools/demo.sh, the first command of the README, as a newcomer runs it
# (its dependencies are in place by now): one result, the demo's own
# check that every verdict is the expected one, the audit log verifies
# and the kernel log is clean.  Log: build/test-logs/demo/demo.log.
if want demo; then
	section "the README's demo (tools/demo.sh)"
	mkdir -p "$LOGS/demo"
	timeout -k 10 900 bash tools/demo.sh --no-deps >"$LOGS/demo/demo.log" 2>&1 </dev/null
	rc=$?
	[ $rc -eq 0 ] || tail -n 40 "$LOGS/demo/demo.log"
	result "demo: tools/demo.sh, every verdict as expected, the audit log verified" $rc \
		"$LOGS/demo/demo.ktap"
fi

# --- 7. Debian packages --------------------------------------------------
if want pkg; then
	section "Debian packages (tests/pkg/t_deb.sh: build, install, VM, remove)"
	mkdir -p "$LOGS/pkg"
	run_prog "pkg/t_deb" "$LOGS/pkg/t_deb.log" 1800 bash tests/pkg/t_deb.sh
fi

section "summary ($(elapsed))"
grep -v ' 0 failed' "$SUMMARY" | sed 's/^/FAILED: /'
echo "logs: $LOGS"
if [ "$SKIP" -gt 0 ]; then
	echo "$PASS passed, $FAIL failed, $SKIP skipped"
else
	echo "$PASS passed, $FAIL failed"
fi
[ "$FAIL" -eq 0 ]
