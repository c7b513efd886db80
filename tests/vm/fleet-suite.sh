#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Fleet forwarding from the VM to a collector on the host.  The appliance
# runs in the test VM (tests/vm/fleet-guest.sh: the driver, bioflowd with
# the software TPM, bioflow-forward); the collector runs here: a real
# rsyslogd with the shipped collector/rsyslog-bioflow.conf (imrelp, TLS,
# this run's port, certificates and permitted peer) and bioflow-collector
# with its witness, both on 127.0.0.1.  The VM has a network card that
# reaches exactly these two ports (tests/vm/qemu/run.sh --net).  The
# collector is down when the guest starts: the guest's first sessions pile
# up; when the guest says so (the exchange directory OUT/fleet/, in the
# results share) the appliance is enrolled and rsyslog and the collector
# start.  After the VM:
#
#   1  the collector's copy of the appliance's log verifies with
#      bioflow-verify --root-key (the key the guest's TPM made) and is not
#      frozen
#   2  every sealed record arrived exactly once: the copy's segments and
#      epoch certificates are the guest's store byte for byte, and its
#      record count is the guest's, two records a session run (the guest
#      checks each phase's growth, this the whole)
#   3  the forwarder's cosigned checkpoint of the final size verifies with
#      bioflow-verify --witness VKEY --cosigned against the copy and the
#      guest's store, and the witness holds that size
#
# Prints KTAP: the guest's (in OUT/output.log, "# program: fleet_guest")
# and this script's ("# program: fleet_host").  Root (the forwarder in the
# guest drops to nobody); SKIPs without rsyslogd's imrelp and OpenSSL
# modules or socat.  About two minutes under TCG.  Build first (make).
#
# Usage: tests/vm/fleet-suite.sh [--kver KVER] [--out DIR] [-q]
# Exit status: 0 when everything passed or was skipped.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
B=$ROOT/build
CONF=$ROOT/collector/rsyslog-bioflow.conf
COL=$B/bioflow-collector
VERIFY=$B/bioflow-verify
SEGMAX=67108864		# bioflowd's segment size limit, the collector's default
# shellcheck source=tests/vm/lib/suite_opts.sh
. "$ROOT/tests/vm/lib/suite_opts.sh"
suite_options fleet-suite "$0" "$@"

. "$ROOT/tests/static/lib/ktap.sh"
. "$ROOT/tests/interop/lib/common.sh"

PLAN=3
skip_all() {
	echo "# program: fleet_host"
	echo "KTAP version 1"
	echo "1..$PLAN"
	local i
	for i in $(seq 1 $PLAN); do skip "fleet from the VM $i" "$1"; done
	ktap_done
	exit 0
}
MODDIR=$(dirname "$(ls /usr/lib/*/rsyslog/imrelp.so /usr/lib/rsyslog/imrelp.so 2>/dev/null |
	head -n 1)" 2>/dev/null)
[ -n "$(missing rsyslogd openssl ss socat sha256sum)" ] &&
	skip_all "no $(missing rsyslogd openssl ss socat sha256sum)"
[ -f "$MODDIR/imrelp.so" ] || skip_all "no rsyslog imrelp module (Debian rsyslog-relp)"
[ -f "$MODDIR/lmnsd_ossl.so" ] || skip_all "no rsyslog OpenSSL driver (Debian rsyslog-openssl)"
[ "$(id -u)" -eq 0 ] || skip_all "not root (the forwarder in the guest drops to nobody)"
for p in "$COL" "$VERIFY" "$B/bioflowd" "$B/bioflow-forward" "$B/bioctl"; do
	[ -x "$p" ] || { echo "fleet-suite: $p missing (make)" >&2; exit 2; }
done

W=$TMP
# The collector drops to nobody (tests/interop/lib/fleet.sh start_collector)
# and must reach its keys, the spool and the copies under W.
chmod 755 "$W"
[ -n "$OUT" ] || OUT=$W/out
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd -P)
X=$OUT/fleet
rm -rf "$X"
mkdir -p "$X/pki"
chmod 755 "$OUT" "$X" "$X/pki"
RS_PID='' COL_PID='' VM_PID=''
cleanup() {
	local p
	for p in $VM_PID $RS_PID $COL_PID; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# --- the PKI (where the guest reads it too): a fleet CA, rsyslog
# (collector.test), the witness (witness.test), the appliance
# (appliance.test); the witness's key and its verifier key ------------------
P=$X/pki
(
	set -e
	test_ca "$P" ca
	test_cert "$P" ca rsyslog collector.test
	test_cert "$P" ca witness witness.test
	test_cert "$P" ca appliance appliance.test
	chmod 644 "$P"/*.key
	# where tests/interop/lib/fleet.sh's start_collector looks
	cp "$P"/ca.pem "$P"/witness.pem "$P"/witness.key "$W/"
	openssl genpkey -algorithm ed25519 -out "$W/wkey.pem" >/dev/null 2>&1
) || skip_all "openssl could not make the test certificates"
"$COL" --print-vkey --witness-key "$W/wkey.pem" --witness-name witness.test \
	>"$X/witness.vkey" 2>"$W/vkey.err" || skip_all "bioflow-collector --print-vkey failed"
VKEY=$(cat "$X/witness.vkey")

RP=$(free_port)
WP=$(free_port)
while [ "$WP" = "$RP" ]; do WP=$(free_port); done
listening() { ss -Htln "sport = :$1" | grep -q .; }

mkdir -p "$W/spool" "$W/rswork" "$W/logs" "$W/enroll" "$W/st"
miss=$(shipped_rsyslog_conf "$CONF" "$W/rsyslog.conf" "$W/spool" "$W/rswork" "$P" "$RP" \
	appliance.test) || skip_all "collector/rsyslog-bioflow.conf lacks a setting this test adapts ($miss)"
# shellcheck source=tests/interop/lib/fleet.sh
. "$ROOT/tests/interop/lib/fleet.sh"

# --- the VM, the collector down ------------------------------------------
bash "$ROOT/tests/vm/qemu/run.sh" --timeout 600 --out "$OUT" --net "$RP,$WP" "${RUNARGS[@]}" -- \
	"bash tests/vm/fleet-guest.sh $RP $WP" >&2 &
VM_PID=$!

# The guest's sessions are sealed and piling up: enrol it, start the
# collector's side.
up=0
phase1_or_gone() { [ -e "$X/phase1" ] || ! kill -0 "$VM_PID" 2>/dev/null; }
if wait_for 400 phase1_or_gone && [ -e "$X/phase1" ]; then
	ORIGIN=$(cat "$X/origin")
	OID=$(printf '%s' "$ORIGIN" | sha256sum | cut -c1-16)
	mkdir -p "$W/enroll/$OID"
	echo "$ORIGIN" >"$W/enroll/$OID/origin"
	cp "$X/root.pem" "$W/enroll/$OID/root.pub.pem"
	cp "$X/root.pem" "$W/st/root.pem"
	if start_rsyslog && start_collector; then
		up=1
		: >"$X/collector-up"
	fi
fi
wait "$VM_PID"
rc=$?
VM_PID=

echo "# program: fleet_host"
echo "KTAP version 1"
echo "1..$PLAN"
[ $up -eq 1 ] || {
	diags "$W/rsyslogd.log" "$W/collector.log"
	echo "# the guest never said its first sessions were sealed, or the collector did not start"
}
OID=${OID:-none}
COPY=$W/logs/$OID
STORE=$X/store
FINAL=$(sed -n 's/^records //p' "$X/counts" 2>/dev/null)
BASE=$(sed -n 's/^base //p' "$X/counts" 2>/dev/null)
SESS=$(sed -n 's/^sessions //p' "$X/counts" 2>/dev/null)
UPSZ=$(sed -n 's/^sealed-up //p' "$X/counts" 2>/dev/null)
# The collector reads the spool every 100 ms: give it the last items.
wait_for 10 [ "$("$B/tests/interop/fwd_store" size "$COPY" 2>/dev/null)" = "${FINAL:-x}" ]
copy_n=$("$B/tests/interop/fwd_store" size "$COPY" 2>/dev/null)

# --- 1: the copy verifies ----------------------------------------------------
if [ ! -e "$COPY/FROZEN" ] &&
   "$VERIFY" --root-key "$W/st/root.pem" "$COPY" >"$W/verify-copy.log" 2>&1; then
	ok "the collector's copy of the guest's log verifies with its TPM root key ($copy_n records), not frozen"
else
	diags "$COPY/FROZEN" "$W/verify-copy.log" "$W/collector.log" "$W/rsyslogd.log"
	not_ok "the collector's copy of the guest's log verifies with its TPM root key, not frozen"
fi

# --- 2: every record exactly once, as many as the sessions made -------------
if [ -n "$FINAL" ] && [ "$copy_n" = "$FINAL" ] && [ -n "$UPSZ" ] &&
   [ $((UPSZ - BASE)) -eq $((2 * SESS)) ] && copy_is_store; then
	ok "every sealed record at the collector exactly once: the copy is the guest's store byte for byte, $FINAL records ($BASE before, two for each of $SESS sessions, then the rest of the run)"
else
	echo "# copy ${copy_n:-?} records, the guest's store ${FINAL:-?}; base ${BASE:-?}, sessions ${SESS:-?}, sealed after them ${UPSZ:-?}"
	diags "$W/diff.log" "$W/verify-copy.log"
	not_ok "every sealed record at the collector exactly once, as many as the sessions made"
fi

# --- 3: the witness's cosignature -------------------------------------------
cs=$(ls "$X/fwd/cosigs/$FINAL"-*.note 2>/dev/null | tail -n 1)
if [ -n "$cs" ] &&
   "$VERIFY" --root-key "$W/st/root.pem" --witness "$VKEY" --cosigned "$cs" "$COPY" \
	>"$W/verify-cs.log" 2>&1 &&
   "$VERIFY" --root-key "$W/st/root.pem" --witness "$VKEY" --cosigned "$cs" "$STORE" \
	>>"$W/verify-cs.log" 2>&1 &&
   [ "$(sed -n '2p' "$COPY/witness/latest" 2>/dev/null)" = "$FINAL" ]; then
	ok "the forwarder's cosigned checkpoint of size $FINAL verifies (--witness --cosigned) against the copy and the guest's store; the witness holds $FINAL"
else
	ls -l "$X/fwd/cosigs" 2>&1 | diag_file /dev/stdin
	diags "$W/verify-cs.log" "$X/fwd/status"
	not_ok "the forwarder's cosigned checkpoint of the final size verifies against the copy; the witness holds it"
fi
stop_pid "$COL_PID"
stop_pid "$RS_PID"
COL_PID= RS_PID=
ktap_done || exit 1
exit "$rc"
