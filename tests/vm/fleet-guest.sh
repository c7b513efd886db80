#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The appliance's half of the fleet test from the VM (run in the guest by
# tests/vm/fleet-suite.sh, which boots the VM with run.sh --net and keeps
# the collector's half on the host).  The guest reaches the host's rsyslog
# (RELP over TLS) and witness (HTTPS) only through QEMU's forwarding
# address $BR_NET_HOST; it meets the host script in the exchange
# directory $BR_RESULTS/fleet (the results share), where the host put the
# certificates (pki/) and the witness's verifier key:
#
#   1  bioflowd with the TPM root signer is the audit consumer, and
#      bioflow-forward (as nobody) follows its store
#   2  the collector is down: sessions run and are sealed (each one
#      SESSION_START and VERDICT, two records), the forwarder says the
#      collector is disconnected and nothing is witnessed: the records pile
#      up.  Then the guest writes "phase1" (and the root public key and
#      origin for the enrolment) and the host starts rsyslog and the
#      collector, and writes "collector-up"
#   3  everything that piled up arrives: the forwarder's witnessed size
#      reaches the sealed size; and the guest reaches nothing else of the
#      host (the host's 10.0.2.2, another port of $BR_NET_HOST)
#   4  more sessions with the collector up: the store grows by two records
#      each and all of them are witnessed
#   5  the reader removed, bioflowd stops cleanly (SIGTERM), its store
#      verifies here and the forwarder gets all of it witnessed; the
#      store, the forwarder's cosigned checkpoints and the counts go to the
#      exchange directory for the host's checks
#
# KTAP, preceded by "# program: fleet_guest".
#
# Usage: fleet-guest.sh RELP_PORT WITNESS_PORT [SESSIONS_DOWN [SESSIONS_UP]]
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RP=${1:?RELP port}
WP=${2:?witness port}
N1=${3:-3}
N2=${4:-3}
X=${BR_RESULTS:?not in the test VM}/fleet
HOST=${BR_NET_HOST:?no network (run.sh --net)}
PKI=$X/pki
ORIGIN=fleet-vm.test/kiosk-1
AUDIT=/sys/class/misc/bioreader-audit
TCTI=device:/dev/tpmrm0
W=/tmp/fleet
STORE=$W/store
ST=$W/fwd
NAME=fleet
FLOW_PID=
FWD_PID=
NODE=

. "$ROOT/tests/static/lib/ktap.sh"
PLAN=5
echo "# program: fleet_guest"
echo "KTAP version 1"
echo "1..$PLAN"

cleanup() {
	[ -z "$FWD_PID" ] || kill "$FWD_PID" 2>/dev/null
	[ -z "$FLOW_PID" ] || kill "$FLOW_PID" 2>/dev/null
	[ ! -d "/sys/kernel/config/bioreader_sim/$NAME" ] || bioctl sim del "$NAME" >/dev/null 2>&1
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

# wait_for SECONDS CMD...: until CMD succeeds (every 0.2 s).
wait_for() {
	local end=$((SECONDS + $1))

	shift
	while [ $SECONDS -lt $end ]; do
		"$@" && return 0
		sleep 0.2
	done
	"$@"
}
st() { sed -n "s/^$1 //p" "$ST/status" 2>/dev/null; }
acked_all() {
	[ "$(cat "$AUDIT/acked" 2>/dev/null)" = "$(($(cat "$AUDIT/next_seq" 2>/dev/null || echo 1) - 1))" ]
}
sealed_is() { [ "$(st sealed)" = "$1" ]; }
witnessed_is() { [ "$(st witnessed)" = "$1" ] && sealed_is "$1"; }
# settled: every record the kernel made is durable, and the forwarder's
# sealed size (its status file is rewritten every second) stays the same
# over two rewrites; prints it.
settled() {
	local s prev='' end=$((SECONDS + 30))

	wait_for 20 acked_all || return 1
	while [ $SECONDS -lt $end ]; do
		sleep 2.2
		s=$(st sealed)
		[ -n "$s" ] && [ "$s" = "$prev" ] && { echo "$s"; return 0; }
		prev=$s
	done
	return 1
}
# sessions N: N verifications of person 42 against their template, each a
# MATCH; the count of those that were.
sessions() {
	local _ m=0

	for _ in $(seq "$1"); do
		bioctl verify -d "$NODE" -t "$W/card-42.tpl" -o kiosk-01 >"$W/verify.out" 2>&1 &&
			m=$((m + 1))
	done
	echo "$m"
}
fail_all() {
	while [ $n -lt $PLAN ]; do not_ok "$1"; done
	ktap_done
	exit 1
}
diags() {
	local f

	for f in "$@"; do
		[ -f "$f" ] || continue
		echo "# --- $f"
		tail -n 12 "$f" | sed 's/^/# /'
	done
}

# --- 1: the daemon and the forwarder -------------------------------------
mkdir -p "$W" "$ST"
chown nobody "$ST"
setup() {
	modprobe bioreader_sim && modprobe bioreader || return 1
	bioflow-provision --tcti "$TCTI" --out-pubkey "$W/root.pem" \
		--auth-file "$W/tpm-root.auth" >"$W/provision.log" 2>&1
	case $? in
	0) ;;
	4) bioflow-provision --tcti "$TCTI" --out-pubkey "$W/root.pem" \
		--auth-file "$W/tpm-root.auth" --force >>"$W/provision.log" 2>&1 || return 1 ;;
	*) return 1 ;;
	esac
	setsid bioflowd --tpm "$TCTI" --tpm-auth "$W/tpm-root.auth" --user nobody \
		--store "$STORE" --origin "$ORIGIN" </dev/null >/dev/null 2>"$W/bioflowd.log" &
	FLOW_PID=$!
	wait_for 30 grep -q 'running:' "$W/bioflowd.log" || return 1
	[ "$(cat "$AUDIT/consumer")" = 1 ] || return 1
	bioctl sim new "$NAME" --width 160 --height 120 --fps 30 >"$W/sim.out" || return 1
	NODE=$(sed -n 's/.*node \(\/dev\/bioreader[0-9]*\).*/\1/p' "$W/sim.out")
	[ -n "$NODE" ] && bioctl template --identity 42 -o "$W/card-42.tpl" >/dev/null &&
		bioctl sim scene "$NAME" "person 42" >/dev/null || return 1
	bioflow-forward --store "$STORE" --state "$ST" --user nobody --poll-ms 100 \
		--ca "$PKI/ca.pem" --cert "$PKI/appliance.pem" --key "$PKI/appliance.key" \
		--collector "$HOST:$RP" --collector-name collector.test \
		--witness "$HOST:$WP" --witness-name witness.test \
		--witness-key "$X/witness.vkey" --witness-ms 200 >"$W/fwd.log" 2>&1 &
	FWD_PID=$!
	wait_for 10 grep -qs '^sealed ' "$ST/status"
}
if setup; then
	ok "bioflowd (TPM root signer) is the audit consumer; bioflow-forward follows its store as nobody"
else
	diags "$W/provision.log" "$W/bioflowd.log" "$W/sim.out" "$W/fwd.log"
	fail_all "bioflowd and bioflow-forward start"
fi

# --- 2: the collector down: the records pile up --------------------------
BASE=$(settled)
m=$(sessions "$N1")
S1=$(settled)
if [ -n "$BASE" ] && [ "$m" = "$N1" ] && [ "$S1" = $((BASE + 2 * N1)) ] &&
   [ "$(st witnessed)" = 0 ] && grep -q "^collector .* disconnected" "$ST/status" &&
   kill -0 "$FWD_PID" 2>/dev/null; then
	ok "the collector down: $N1 sessions sealed ($BASE + $((2 * N1)) = $S1 records), nothing witnessed, the forwarder says disconnected"
else
	echo "# base ${BASE:-?}, $m of $N1 sessions matched, sealed ${S1:-?}"
	diags "$ST/status" "$W/verify.out" "$W/fwd.log"
	not_ok "the collector down: sessions sealed, nothing witnessed, the forwarder says disconnected"
fi
# The host's turn: enrol this appliance, start rsyslog and the collector.
cp "$W/root.pem" "$X/root.pem"
echo "$ORIGIN" >"$X/origin"
: >"$X/phase1"

# --- 3: everything that piled up arrives; nothing else is reachable -----
wait_for 120 test -e "$X/collector-up"
up=$?
t0=$SECONDS
wait_for 120 witnessed_is "$S1"
arrived=$?
echo "# witnessed $(st witnessed) of $S1 $((SECONDS - t0)) s after the host said the collector was up"
# The host's rsyslog listens on every address: through 10.0.2.2 (the host
# in QEMU's user network) it would be reachable without restrict=on.
reach() { timeout 5 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }
other=0
reach 10.0.2.2 "$RP" && other=1
reach 10.0.2.2 "$WP" && other=1
reach "$HOST" 22 && other=1
reach "$HOST" $((RP + 1)) && other=1
if [ $up -eq 0 ] && [ $arrived -eq 0 ] && [ $other -eq 0 ] && reach "$HOST" "$RP"; then
	ok "the collector started: all $S1 records that piled up are witnessed; the host's 10.0.2.2 and other ports are unreachable"
else
	echo "# collector-up $up, witnessed $(st witnessed) of $(st sealed), other host services reachable: $other"
	diags "$ST/status" "$W/fwd.log"
	not_ok "the collector started: everything that piled up is witnessed; nothing else reachable"
fi

# --- 4: more sessions, the collector up ----------------------------------
m=$(sessions "$N2")
S2=$(settled)
if [ "$m" = "$N2" ] && [ "$S2" = $((S1 + 2 * N2)) ] && wait_for 60 witnessed_is "$S2"; then
	ok "$N2 more sessions with the collector up: $S1 + $((2 * N2)) = $S2 records, all witnessed"
else
	echo "# $m of $N2 sessions matched, sealed ${S2:-?}, witnessed $(st witnessed)"
	diags "$ST/status" "$W/verify.out" "$W/fwd.log"
	not_ok "more sessions with the collector up: the store grows by two records each, all witnessed"
fi

# --- 5: stop, verify, hand over ------------------------------------------
# The reader goes (READER_REMOVED), the daemon stops (it seals what it
# read); the forwarder sends the rest, then stops too.
bioctl sim del "$NAME" >/dev/null 2>&1
wait_for 20 acked_all
kill -TERM "$FLOW_PID" 2>/dev/null
wait "$FLOW_PID"
frc=$?
FLOW_PID=
bioflow-verify --json --root-key "$W/root.pem" "$STORE" >"$W/verify.json" 2>"$W/verify.err"
vrc=$?
FINAL=$(grep -o '"records":[0-9]*' "$W/verify.json" | cut -d: -f2)
wait_for 60 witnessed_is "${FINAL:-x}"
wrc=$?
kill "$FWD_PID" 2>/dev/null
wait "$FWD_PID" 2>/dev/null
FWD_PID=
rm -rf "$X/store" "$X/fwd"
cp -r "$STORE" "$X/store" && mkdir -p "$X/fwd" && cp -r "$ST/cosigs" "$ST/status" "$X/fwd/" &&
	printf 'base %s\nsessions %s\nsealed-down %s\nsealed-up %s\nrecords %s\n' \
		"$BASE" $((N1 + N2)) "$S1" "$S2" "$FINAL" >"$X/counts"
hand=$?
if [ $frc -eq 0 ] && [ $vrc -eq 0 ] && [ -n "$FINAL" ] && [ $wrc -eq 0 ] && [ $hand -eq 0 ]; then
	ok "bioflowd stopped cleanly; its store of $FINAL records verifies and is all witnessed; handed to the host"
else
	echo "# bioflowd exit $frc, bioflow-verify exit $vrc, records ${FINAL:-?}, witnessed $(st witnessed), hand-over $hand"
	diags "$W/bioflowd.log" "$W/verify.err"
	not_ok "bioflowd stops cleanly; its store verifies; handed to the host"
fi
: >"$X/done"
ktap_done
