#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Faults in the fleet, with the real pieces as in t_fleet.sh: a store
# written by the project's code (tests/interop/fwd_store.c), bioflow-forward,
# the shipped collector/rsyslog-bioflow.conf in a real rsyslogd, and
# bioflow-collector with its witness.  Loopback only; certificates made
# here with openssl.
#
#   1  a network cut: the forwarder reaches rsyslog's RELP port through
#      tests/interop/tcp_relay.c; stalled (no byte forwarded, the
#      connection held) for 3 s while the store grows: the collector's
#      copy does not grow meanwhile (the cut is real)
#   2  then resumed, and every connection reset (RST) four times while the
#      store still grows: in the end every record at the collector exactly
#      once (the copy holds the appliance's record count, its segments are
#      the appliance's byte for byte), it verifies with the root key, is not
#      frozen, and the last checkpoint is cosigned; the records went in
#      batches (spool lines carrying several)
#   3  the forwarder SIGKILLed 100 times at random moments (20-200 ms
#      apart) while the store grows, started again each time, the kills
#      hitting it at work (its witnessed position or the collector's copy
#      moved between kills): every record at the collector exactly once,
#      the copy verifies, cosigned
#   4  rsyslog with an expired certificate: the forwarder refuses it, says
#      so (expired) in its log and status, and nothing reaches the spool
#   5  the witness with an expired certificate: refused too, said so, no
#      cosignature taken
#   6  a collector that accepts the connection and never answers (the
#      relay stalled before the forwarder connects: the TLS handshake gets
#      no reply): the forwarder gives up within its timeout and says why,
#      and once the relay resumes every record arrives and is cosigned
#
# Root (the forwarder drops to nobody).  SKIPs without rsyslogd and its
# imrelp and OpenSSL modules (Debian rsyslog, rsyslog-relp,
# rsyslog-openssl) or when not root.  About 90 s.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
B=$ROOT/build
CONF=$ROOT/collector/rsyslog-bioflow.conf
FWD=$B/bioflow-forward
COL=$B/bioflow-collector
VERIFY=$B/bioflow-verify
STORE_TOOL=$B/tests/interop/fwd_store
RELAY=$B/tests/interop/tcp_relay
ORIGIN=fwd.example/appliance-7
SEGMAX=8192

. "$ROOT/tests/static/lib/ktap.sh"
. "$ROOT/tests/interop/lib/common.sh"
# shellcheck source=tests/interop/lib/fleet_setup.sh
. "$ROOT/tests/interop/lib/fleet_setup.sh"

PLAN=6
echo "KTAP version 1"
echo "1..$PLAN"
FLEET_WHAT="fleet fault test"

fleet_need_host
fleet_need_built "make user" "$FWD" "$COL" "$VERIFY" "$STORE_TOOL" "$RELAY"

fleet_workdir RS_PID RS2_PID FWD_PID COL_PID COL2_PID RELAY_PID GROW

# --- the PKI, as t_fleet.sh's, and the same names expired -------------------
fleet_pki
mkdir -p "$W/exp"
(
	set -e
	cp "$W/ca.pem" "$W/ca.key" "$W/exp/"
	test_cert_expired "$W/exp" ca rsyslog collector.test
	test_cert_expired "$W/exp" ca witness witness.test
	chmod 644 "$W"/exp/*.key
) || skip_all "openssl could not make the test certificates"
fleet_witness_vkey

# --- the appliance's store, read by nobody through its group ----------------
fleet_store
fleet_oid

# Ports: rsyslog, the witness, the relay, the expired rsyslog, the expired witness.
fleet_ports RP WP XP EP EWP

# --- the collector host: the shipped rsyslog configuration, instantiated ----
fleet_collector_host
mkdir -p "$W/exp/spool" "$W/exp/rswork" "$W/exp/logs"
miss=$(shipped_rsyslog_conf "$CONF" "$W/exp/rsyslog.conf" "$W/exp/spool" "$W/exp/rswork" \
	"$W/exp" "$EP" appliance.test) || skip_all "collector/rsyslog-bioflow.conf lacks $miss"

# shellcheck source=tests/interop/lib/fleet.sh
. "$ROOT/tests/interop/lib/fleet.sh"
# start_fwd STATE COLLECTOR_PORT WITNESS_PORT: the forwarder, its log in $W/fwd-STATE.log.
start_fwd() { fwd_start "$1" "$2" "$3" "$W/fwd-$1.log"; }

start_rsyslog || diags "$W/rsyslogd.log"
start_collector || diags "$W/collector.log"
"$RELAY" "$XP" "$RP" 2>"$W/relay.log" &
RELAY_PID=$!
wait_for 5 listening "$XP" || diags "$W/relay.log"

# --- 1, 2: a network cut ------------------------------------------------------------
new_state s
start_fwd s "$XP" "$WP"
N0=$(sealed)
wait_for 30 status_has s "witnessed $N0"
"$STORE_TOOL" grow "$W/st" 70 6 100 >"$W/grow.log" 2>&1 &
GROW=$!
sleep 1
kill -USR1 "$RELAY_PID"
sleep 1
stall_copy0=$(copy_size) stall_sealed0=$(sealed)
sleep 2
stall_copy1=$(copy_size) stall_sealed1=$(sealed)
kill -USR2 "$RELAY_PID"
if [ "$stall_sealed1" -gt "$stall_sealed0" ] && [ "$stall_copy1" = "$stall_copy0" ] &&
   [ "$stall_copy0" -lt "$stall_sealed0" ] && grep -qx stall "$W/relay.log"; then
	ok "the relay stalled for 3 s: the store grew from $stall_sealed0 to $stall_sealed1 records, the collector's copy stayed at $stall_copy0"
else
	echo "# during the stall: sealed $stall_sealed0 -> $stall_sealed1, copy $stall_copy0 -> $stall_copy1"
	diags "$W/relay.log" "$W/s/status"
	not_ok "the relay stalled: the collector's copy does not grow while the store does"
fi
sleep 1
for i in 1 2 3 4; do
	kill -HUP "$RELAY_PID"
	sleep 1.2
done
wait "$GROW"
grow_rc=$?
GROW=
N1=$(sealed)
resets=$(grep -c '^reset [1-9]' "$W/relay.log")
if [ $grow_rc -eq 0 ] && [ "$N1" -gt "$stall_sealed1" ] && [ "$resets" -ge 2 ] &&
   all_there s "$N1" && batched; then
	ok "a stall of 3 s and $resets connection resets (RST) while the store grew to $N1: every record at the collector exactly once, the copy verifies, not frozen, cosigned; in batches ($BATCHED)"
else
	echo "# grow exit $grow_rc, sealed $N1, copy $(copy_size), resets that hit a connection $resets, cosig ${CS:-none}, spool ${BATCHED:-no batches}"
	diags "$COPY/FROZEN" "$W/relay.log" "$W/s/status" "$W/diff.log" "$W/verify-copy.log" \
		"$W/verify-cs.log" "$W/fwd-s.log" "$W/collector.log"
	not_ok "a network cut (stall, resets): every record at the collector exactly once, verified, cosigned"
fi
stop_pid "$FWD_PID"
FWD_PID=

# --- 3: the forwarder SIGKILLed 100 times ----------------------------------------------
# The store grows until the kills are over: commits of 2 records every 80 ms.
rm -f "$W/stop-grow"
(
	while [ ! -e "$W/stop-grow" ]; do
		"$STORE_TOOL" grow "$W/st" 14 2 80 >>"$W/grow2.log" 2>&1 || exit 1
	done
) &
GROW=$!
kills=0 positions= copies= at90=
for i in $(seq 1 100); do
	start_fwd s "$RP" "$WP"
	sleep "$(printf '0.%03d' $((20 + RANDOM % 180)))"
	kill -0 "$FWD_PID" 2>/dev/null && kill -9 "$FWD_PID" 2>/dev/null && kills=$((kills + 1))
	wait "$FWD_PID" 2>/dev/null
	positions="$positions $(sed -n '1s/^size //p' "$W/s/position" 2>/dev/null)"
	copies="$copies $(copy_size)"
	[ "$i" -ne 90 ] || at90=$(sealed)
done
FWD_PID=
at100=$(sealed)
# The kills hit forwarders at work: between kills the witnessed position
# moved, or (on a loaded machine, where a forwarder rarely lives until its
# cosignature) the collector's copy grew.
moves=$(echo $positions | tr ' ' '\n' | uniq | wc -l)
cmoves=$(echo $copies | tr ' ' '\n' | uniq | wc -l)
touch "$W/stop-grow"
start_fwd s "$RP" "$WP"
wait "$GROW"
grow_rc=$?
GROW=
N2=$(sealed)
if [ $grow_rc -eq 0 ] && [ "$kills" -eq 100 ] && [ "$at100" -gt "$at90" ] &&
   { [ "$moves" -ge 3 ] || [ "$cmoves" -ge 3 ]; } &&
   [ "$N2" -gt "$N1" ] && all_there s "$N2"; then
	ok "the forwarder SIGKILLed 100 times while the store grew from $N1 to $N2 (between kills its witnessed position moved $((moves - 1)) times, the copy grew $((cmoves - 1)) times): every record at the collector exactly once, the copy verifies, not frozen, cosigned"
else
	echo "# grow exit $grow_rc (sealed at kill 90: $at90, at kill 100: $at100), kills $kills, positions$positions, copies$copies, sealed $N2, copy $(copy_size), cosig ${CS:-none}"
	# The last forwarder: alive, and where it waits (a stuck one).
	if kill -0 "$FWD_PID" 2>/dev/null; then
		echo "# the last forwarder (pid $FWD_PID) runs; waits in $(cat /proc/"$FWD_PID"/wchan 2>/dev/null), state $(awk '/^State/{print $2}' /proc/"$FWD_PID"/status 2>/dev/null)"
		cat /proc/"$FWD_PID"/stack 2>/dev/null | head -n 8 | diag_file /dev/stdin
	else
		wait "$FWD_PID"
		echo "# the last forwarder (pid $FWD_PID) is gone: exit status $?"
	fi
	diags "$COPY/FROZEN" "$W/s/status" "$W/diff.log" "$W/verify-copy.log" "$W/verify-cs.log" \
		"$W/fwd-s.log" "$W/collector.log"
	not_ok "the forwarder SIGKILLed 100 times: every record at the collector exactly once, verified, cosigned"
fi
stop_pid "$FWD_PID"
FWD_PID=

# --- 4: rsyslog with an expired certificate -------------------------------------------
rsyslogd -n -f "$W/exp/rsyslog.conf" -i "$W/exp/rsyslog.pid" -M "$MODDIR" \
	>>"$W/exp/rsyslogd.log" 2>&1 &
RS2_PID=$!
wait_for 10 listening "$EP" || diags "$W/exp/rsyslogd.log"
new_state se
start_fwd se "$EP" "$WP"
sleep 3
pat="certificate has expired"
if kill -0 "$FWD_PID" 2>/dev/null && [ -z "$(ls -A "$W/exp/spool")" ] &&
   grep -q "connecting to the collector.*$pat" "$W/fwd-se.log" &&
   grep -q "^last-error connecting to the collector.*$pat" "$W/se/status" &&
   status_has se "collector 127.0.0.1 disconnected"; then
	ok "rsyslog with an expired certificate: refused, nothing in its spool ($(grep -m1 -o "the collector was not authenticated: [^(]*" "$W/se/status"))"
else
	ls -l "$W/exp/spool" | diag_file /dev/stdin
	diags "$W/se/status" "$W/fwd-se.log"
	not_ok "rsyslog with an expired certificate: refused with a clear error, nothing in its spool"
fi
stop_pid "$FWD_PID"
stop_pid "$RS2_PID"
FWD_PID= RS2_PID=

# --- 5: the witness with an expired certificate ---------------------------------------
mkdir -p "$W/exp/espool" "$W/exp/logs"
# run as nobody, as start_collector does (lib/fleet.sh)
chown nobody "$W/exp/logs"
install -o nobody -m 600 "$W/wkey.pem" "$W/exp/col-wkey.pem"
install -o nobody -m 600 "$W/exp/witness.key" "$W/exp/col-witness.key"
"$COL" --no-syslog --user nobody --segment-max-bytes $SEGMAX --interval 100 \
	--spool "$W/exp/espool" --logs "$W/exp/logs" --enroll "$W/enroll" \
	--witness-listen "127.0.0.1:$EWP" --witness-key "$W/exp/col-wkey.pem" \
	--witness-name witness.test --ca "$W/ca.pem" --cert "$W/exp/witness.pem" \
	--key "$W/exp/col-witness.key" >>"$W/exp/collector.log" 2>&1 &
COL2_PID=$!
wait_for 10 listening "$EWP" || diags "$W/exp/collector.log"
new_state sw
start_fwd sw "$RP" "$EWP"
sleep 3
pat="the witness's certificate is not accepted for the name witness.test: certificate has expired"
if kill -0 "$FWD_PID" 2>/dev/null && grep -q "$pat" "$W/fwd-sw.log" &&
   grep -q "^last-error .*$pat" "$W/sw/status" && status_has sw "witnessed 0" &&
   [ -z "$(ls -A "$W/sw/cosigs" 2>/dev/null)" ] && [ ! -e "$W/exp/logs/$OID/witness/latest" ]; then
	ok "the witness with an expired certificate: refused, no cosignature taken ($(grep -m1 -o "witness 127.*" "$W/sw/status" | cut -c1-160))"
else
	diags "$W/sw/status" "$W/fwd-sw.log" "$W/exp/collector.log"
	not_ok "the witness with an expired certificate: refused with a clear error, no cosignature"
fi
stop_pid "$FWD_PID"
stop_pid "$COL2_PID"
FWD_PID= COL2_PID=

# --- 6: a peer that accepts the connection and never answers ----------------------------
# The relay stalled: the kernel completes the TCP handshake (its listen
# queue), nothing answers the TLS handshake.  The forwarder gives up with
# the reason and connects once the relay resumes.
new_state sh
kill -USR1 "$RELAY_PID"
start_fwd sh "$XP" "$WP"
pat="no TLS handshake within"
wait_for 60 grep -qs "^last-error connecting to the collector.*$pat" "$W/sh/status"
hung=$(grep -o "$pat [0-9]* s" "$W/sh/status" 2>/dev/null)
kill -USR2 "$RELAY_PID"
N3=$(sealed)
if [ -n "$hung" ] && kill -0 "$FWD_PID" 2>/dev/null && all_there sh "$N3"; then
	ok "a collector that accepts and never answers: the forwarder gives up ($hung), then sends once it answers: every record there, cosigned"
else
	echo "# the reason in the status: ${hung:-none}"
	diags "$W/sh/status" "$W/fwd-sh.log" "$W/relay.log"
	not_ok "a collector that accepts and never answers: the forwarder gives up with the reason, then sends once it answers"
fi
stop_pid "$FWD_PID"
stop_pid "$COL_PID"
stop_pid "$RS_PID"
stop_pid "$RELAY_PID"
FWD_PID= COL_PID= RS_PID= RELAY_PID=
ktap_done
