#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The main job, inside the VM (tools/demo.sh boots the VM and runs this):
# load the modules, create a simulated reader, and verify against the ID
# card of person 42: person 42 (MATCH), an impostor (NO MATCH), then a
# print, a screen replay and a resin mask of person 42 (ATTACK, each with
# its class), a silicone mask of person 42 (INCONCLUSIVE: skin uncertain,
# refer to staff), and person 42 again, refused: five failed attempts
# locked the card out; print the verdicts and the reader's statistics,
# clean up.
# With CARD_DIR (tests/emu/card-issue's directory; demo.sh gives it when
# QEMU has the USB smart-card reader), the card is the emulated chip in
# the USB reader: `bioctl card verify` waits for it, reads it (BAC, Secure
# Messaging), proves it genuine (Passive Authentication against the test
# CSCA) and hands its template to the reader, every time.  Without, the
# card's template is a file (`bioctl template`, `bioctl verify`).
#
# Usage: demo-guest.sh [CARD_DIR]
# The audit consumer is the daemon bioflowd with the TPM root signer
# when a TPM is present: at the end it is stopped, its log verified with
# bioflow-verify and the latest checkpoint printed.  Without a TPM, or if
# bioflowd cannot start, `bioctl audit drain` stands in (and says so).
# Exit 0 when every verdict is the expected one and the log verifies.

set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CARD=${1:-}
export PATH="$ROOT/build:$PATH"
NAME=demo
WORK=$(mktemp -d)
AUDIT_DEV=/dev/bioreader-audit
AUDIT_SYSFS=/sys/class/misc/bioreader-audit
DRAIN_PID=$WORK/audit-drain.pid
TPM_DEV=/dev/tpmrm0
TCTI=device:$TPM_DEV
STORE=$WORK/bioflow
ROOT_PUB=$WORK/root.pub.pem
FLOW=0		# 1: bioflowd is the audit consumer
FLOW_PID=
NODE=

say() { printf '\n== %s\n' "$*"; }
# Show a command as one could type it (arguments with spaces quoted), run it.
run() {
	local a line='$'

	for a in "$@"; do
		case $a in
		*' '*) line="$line \"$a\"" ;;
		*) line="$line $a" ;;
		esac
	done
	printf '%s\n' "$line"
	"$@"
}

drain_running() {
	[ -s "$DRAIN_PID" ] && kill -0 "$(cat "$DRAIN_PID")" 2>/dev/null
}

drain_stop() {
	local _

	drain_running || return 0
	kill -TERM "$(cat "$DRAIN_PID")" 2>/dev/null
	for _ in $(seq 100); do
		drain_running || return 0
		sleep 0.05
	done
}

drain_start() {
	printf '$ %s\n' "bioctl audit drain --out $WORK/audit.bin &"
	setsid bioctl audit drain --out "$WORK/audit.bin" --pidfile "$DRAIN_PID" \
		</dev/null >/dev/null 2>"$WORK/audit-drain.err" &
	for _ in $(seq 200); do
		drain_running &&
			[ "$(cat "$AUDIT_SYSFS/consumer" 2>/dev/null)" = 1 ] && return 0
		sleep 0.05
	done
	echo "the audit consumer did not start:" >&2
	cat "$WORK/audit-drain.err" >&2
	return 1
}

# The audit daemon with the TPM root signer (docs/bioflowd.md, docs/tpm.md).
flow_start() {
	local user=bioflowd rc

	echo "The audit daemon bioflowd takes them: it seals them into a signed,"
	echo "append-only log whose root key lives in the TPM."
	run bioflow-provision --tcti "$TCTI" --out-pubkey "$ROOT_PUB" --auth-file "$WORK/tpm-root.auth"
	rc=$?
	if [ $rc -eq 4 ]; then
		echo "(the TPM root exists already: provisioning it again for a new authorization file)"
		run bioflow-provision --tcti "$TCTI" --out-pubkey "$ROOT_PUB" --auth-file "$WORK/tpm-root.auth" --force
		rc=$?
	fi
	[ $rc -eq 0 ] || return 1
	# the packaged bioflowd user, else nobody (the worker never runs as root)
	getent passwd bioflowd >/dev/null || user=nobody
	printf '$ %s\n' "bioflowd --tpm $TCTI --tpm-auth $WORK/tpm-root.auth --user $user --store $STORE &"
	setsid bioflowd --tpm "$TCTI" --tpm-auth "$WORK/tpm-root.auth" --user "$user" --store "$STORE" \
		</dev/null >/dev/null 2>"$WORK/bioflowd.log" &
	FLOW_PID=$!
	for _ in $(seq 300); do
		if ! kill -0 "$FLOW_PID" 2>/dev/null; then
			sed 's/^/  /' "$WORK/bioflowd.log" >&2
			FLOW_PID=
			return 1
		fi
		if [ "$(cat "$AUDIT_SYSFS/consumer" 2>/dev/null)" = 1 ] &&
			grep -q 'running:' "$WORK/bioflowd.log"; then
			FLOW=1
			sed 's/^/  /' "$WORK/bioflowd.log"
			return 0
		fi
		sleep 0.05
	done
	echo "bioflowd did not attach to $AUDIT_DEV:" >&2
	sed 's/^/  /' "$WORK/bioflowd.log" >&2
	flow_stop
	return 1
}

# SIGTERM: the daemon seals and acknowledges what it read, then exits 0.
flow_stop() {
	local _

	[ -n "$FLOW_PID" ] || return 0
	kill -TERM "$FLOW_PID" 2>/dev/null
	for _ in $(seq 400); do
		kill -0 "$FLOW_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$FLOW_PID" 2>/dev/null; then
		kill -KILL "$FLOW_PID" 2>/dev/null
		FLOW_PID=
		return 1
	fi
	wait "$FLOW_PID" 2>/dev/null
	local rc=$?
	FLOW_PID=
	return $rc
}

cleanup() {
	if [ -d /sys/kernel/config/bioreader_sim/$NAME ]; then
		bioctl sim del $NAME >/dev/null
	fi
	drain_stop
	flow_stop
	rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v bioctl >/dev/null; then
	echo "bioctl not found (build the project first: make)" >&2
	exit 1
fi

say "Loading the driver and the reader simulator"
grep -qw configfs /proc/filesystems || modprobe configfs
grep -q ' /sys/kernel/config ' /proc/mounts ||
	mount -t configfs configfs /sys/kernel/config
run modprobe bioreader_sim || exit 1
run modprobe bioreader || exit 1

if [ -e "$AUDIT_DEV" ]; then
	say "Attaching an audit consumer"
	echo "The driver fails closed: it starts no session and releases no verdict"
	echo "unless a consumer takes its audit records."
	if [ -e "$TPM_DEV" ] && command -v bioflowd >/dev/null &&
		command -v bioflow-provision >/dev/null; then
		flow_start || echo "bioflowd could not start: falling back to 'bioctl audit drain'"
	else
		echo "No TPM ($TPM_DEV) or no bioflowd: falling back to 'bioctl audit drain'"
	fi
	if [ $FLOW -eq 0 ]; then
		echo "The audit drain stands in for the audit daemon: it keeps the records"
		echo "in a plain file, with no signed log."
		drain_start || exit 1
	fi
fi

say "Creating a simulated reader"
bioctl sim del $NAME >/dev/null 2>&1
out=$(bioctl sim new $NAME --width 160 --height 120 --fps 30) || exit 1
echo "$out"
NODE=$(echo "$out" | sed -n 's/.*node \(\/dev\/bioreader[0-9]*\).*/\1/p')
[ -n "$NODE" ] || { echo "no reader node found" >&2; exit 1; }
run bioctl info -d "$NODE" || exit 1

if [ -n "$CARD" ]; then
	say "The ID card: the chip of simulated person 42's card, in a USB reader"
	modprobe xhci_pci 2>/dev/null
	run bioctl card info --wait 20000 --no-power || exit 1
	# The MRZ printed on the card (the BAC key): in a kiosk an OCR reads
	# it; it is personal data, so bioctl takes it from a file.
	(. "$CARD/docs/genuine-photo/info" && printf '%s\n' "$MRZ_INFO") >"$WORK/mrz"
	echo
	echo "bioctl card verify reads the card every time: Basic Access Control with"
	echo "the MRZ, EF.COM, EF.SOD, DG1 and DG2 under Secure Messaging, Passive"
	echo "Authentication against the test country's CSCA ($CARD/csca), DG1"
	echo "against the MRZ; then the template in DG2 goes to the reader, with the"
	echo "CSCA's and the Document Signer's fingerprints for the audit record."
else
	say "The ID card: template of simulated person 42"
	run bioctl template --identity 42 -o "$WORK/card-42.tpl" || exit 1
fi
echo
echo "Every check below presents this card; only what stands in front of"
echo "the reader changes. The policy is the default one: security level"
echo "medium, where liveness checks over 14 face frames that the face"
echo "follows a random illumination pattern drawn for the session."

# verify LABEL SCENE: show SCENE to the reader, verify it against the card;
# the exit status and the verdict text go to $WORK/LABEL.rc and .out.
verify() {
	run bioctl sim scene $NAME "$2" || exit 1
	if [ -n "$CARD" ]; then
		run bioctl card verify -d "$NODE" -o kiosk-01 --csca "$CARD/csca" \
			--crl "$CARD/crl" --mrz "$WORK/mrz" --card-wait 120000 \
			| tee "$WORK/$1.out"
	else
		run bioctl verify -d "$NODE" -t "$WORK/card-42.tpl" -o kiosk-01 \
			| tee "$WORK/$1.out"
	fi
	echo "${PIPESTATUS[0]}" >"$WORK/$1.rc"
}

say "Genuine: person 42 presents the card of person 42"
verify genuine "person 42"

say "Impostor: person 7 presents the card of person 42"
verify impostor "person 7"

say "Print attack: a printed photo of person 42"
echo "The simulator gives every artefact the face embedding of person 42,"
echo "so it matches the card: only liveness can stop it. A print is flat:"
echo "it lacks the depth relief of a face."
verify print "print 42 flat matte"

say "Replay attack: a phone replays a recording of person 42"
echo "The recording comes from an earlier genuine session at a reader, so"
echo "the screen shows that session's illumination pattern, not this one's."
verify replay "replay 42 phone session"

say "Mask attack: someone wears a resin mask of person 42"
echo "A mask has the relief of a face, but resin does not reflect"
echo "near-infrared light the way skin does (940 nm against 850 nm)."
verify mask "mask 42 resin"

say "Silicone mask: someone wears a silicone mask of person 42"
echo "Silicone reflects near-infrared light much as skin under heavy makeup"
echo "does: the reader cannot tell the two apart. It verifies no one, calls"
echo "no one an attacker, and asks the kiosk to refer the customer to staff;"
echo "the attempt counts as a failed one, like the impostor and the attacks."
verify silicone "mask 42 silicone"

say "Locked out: person 42 presents the card of person 42 again"
echo "Five failed attempts on this card (the impostor, the print, the replay"
echo "and the two masks) reach the policy's limit: the driver refuses every"
echo "session with this card for five minutes, even its owner's."
verify locked "person 42"

say "Reader statistics"
run bioctl stats -d "$NODE"

say "Cleaning up"
run bioctl sim del $NAME
NODE=
drain_stop

flow_ok=1
if [ $FLOW -eq 1 ]; then
	say "The audit log"
	# every record is in the kernel's hands until the daemon acknowledges
	# it; wait until it has (at most a few seconds), then stop it
	for _ in $(seq 100); do
		[ "$(cat "$AUDIT_SYSFS/acked" 2>/dev/null)" = \
		  "$(( $(cat "$AUDIT_SYSFS/next_seq" 2>/dev/null || echo 1) - 1 ))" ] && break
		sleep 0.05
	done
	printf '$ %s\n' "kill -TERM \$(pidof bioflowd)"
	if flow_stop; then
		echo "bioflowd stopped: everything it read is sealed and acknowledged"
	else
		echo "bioflowd did not stop cleanly:"
		flow_ok=0
	fi
	sed 's/^/  /' "$WORK/bioflowd.log" | tail -n 4
	echo
	run bioflow-verify -q --root-key "$ROOT_PUB" "$STORE" || flow_ok=0
	echo
	echo "The latest checkpoint ($STORE/checkpoint), signed by the epoch key"
	echo "that the TPM root key certified:"
	run cat "$STORE/checkpoint" || flow_ok=0
fi

say "Summary"
ok=1
# res LABEL EXIT CLASS-LINE DESCRIPTION: the verify of LABEL exited with
# EXIT and printed CLASS-LINE (a whole line of its output, or "").
res() {
	local rc out

	rc=$(cat "$WORK/$1.rc" 2>/dev/null || echo "?")
	out=$(cat "$WORK/$1.out" 2>/dev/null)
	if [ "$rc" = "$2" ] && { [ -z "$3" ] || grep -qxF "$3" <<<"$out"; } &&
		grep -qxF "liveness: evaluated" <<<"$out"; then
		printf '  %-52s ok\n' "$4"
	else
		printf '  %-52s UNEXPECTED (exit %s, wanted %s)\n' "$4" "$rc" "$2"
		ok=0
	fi
}
res genuine 0 "" "person 42 -> MATCH, liveness evaluated"
res impostor 3 "" "person 7 with 42's card -> NO MATCH"
res print 4 "attack class: printed photo" "print of 42 -> ATTACK (printed photo)"
res replay 4 "attack class: screen replay" "screen replay of 42 -> ATTACK (screen replay)"
res mask 4 "attack class: mask" "resin mask of 42 -> ATTACK (mask)"
res silicone 5 \
	"verdict: INCONCLUSIVE (skin uncertain (heavy makeup or a mask): refer to staff)" \
	"silicone mask of 42 -> INCONCLUSIVE (refer to staff)"
# No session, so no verdict: the exit status alone (8: locked out).
if [ "$(cat "$WORK/locked.rc" 2>/dev/null)" = 8 ]; then
	printf '  %-52s ok\n' "person 42 after 5 failures -> locked out"
else
	printf '  %-52s UNEXPECTED (exit %s, wanted 8)\n' \
		"person 42 after 5 failures -> locked out" \
		"$(cat "$WORK/locked.rc" 2>/dev/null || echo "?")"
	ok=0
fi
if [ $FLOW -eq 1 ]; then
	if [ $flow_ok -eq 1 ]; then
		printf '  %-52s ok\n' "audit log sealed by bioflowd (TPM root), verified"
	else
		printf '  %-52s FAILED\n' "audit log sealed by bioflowd (TPM root), verified"
		ok=0
	fi
else
	printf '  %-52s %s\n' "audit log" "drain fallback (no signed log)"
fi
if [ $ok -eq 1 ]; then
	echo "demo: verdicts as expected"
	exit 0
fi
echo "demo: FAILED"
exit 1
