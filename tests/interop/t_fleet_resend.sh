#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Records the collector lost after RELP acknowledged them, with the real
# pieces as in t_fleet.sh: a store written by tests/interop/fwd_store.c,
# bioflow-forward (--resend-after-ms 1500), the shipped
# collector/rsyslog-bioflow.conf in a real rsyslogd, and
# bioflow-collector with its witness.  Loopback only; certificates made
# here with openssl.
#
#   1  the collector stopped, the store grown, everything sent and in
#      rsyslog's spool (acknowledged), then the spool cut back to what
#      the collector had ingested (the records are lost on the collector
#      host, the RELP connection stays), the collector started: the
#      witness answers 503, the forwarder resends from the witnessed
#      position after 1.5 s of it and says so in its log and status
#      (resends 1 or more); every record at the collector exactly once
#      (the copy is the store byte for byte), it verifies, not frozen,
#      cosigned
#   2  then the store grows while the collector ingests normally: every
#      record arrives, cosigned, and no resend is made (the 503s of a
#      normal ingest are far below the bound)
#   3  a collector that never ingests (the spool path made a directory,
#      rsyslog holds the records in its queue): over 10 s of 503s the
#      forwarder resends 2 or 3 times, not more (the wait doubles: 1.5,
#      3, 6 s)
#   4  a witness that answers 1.5 s after each request
#      (tests/interop/fwd_witness.c --slow-ms 1500) while the store grows
#      for 3 s: the sending does not wait for it (rsyslog's spool never
#      stops growing for 1 s or more during the growth, and all is
#      cosigned in the end); a forwarder that waits for each answer
#      stops sending for 1.5 s at each
#   5  --resend-after-ms takes 100 to 3600000: 99 and 3600001 are usage
#      errors (exit 2)
#
# Fails on a forwarder without the resend: 1 never gets the cosignature.
# Root (the forwarder drops to nobody).  SKIPs without rsyslogd and its
# imrelp and OpenSSL modules (Debian rsyslog, rsyslog-relp,
# rsyslog-openssl) or when not root.  About 40 s.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
B=$ROOT/build
CONF=$ROOT/collector/rsyslog-bioflow.conf
FWD=$B/bioflow-forward
COL=$B/bioflow-collector
VERIFY=$B/bioflow-verify
STORE_TOOL=$B/tests/interop/fwd_store
WITNESS=$B/tests/interop/fwd_witness
ORIGIN=fwd.example/appliance-7
SEGMAX=8192

. "$ROOT/tests/static/lib/ktap.sh"
. "$ROOT/tests/interop/lib/common.sh"
# shellcheck source=tests/interop/lib/fleet_setup.sh
. "$ROOT/tests/interop/lib/fleet_setup.sh"

PLAN=5
echo "KTAP version 1"
echo "1..$PLAN"
FLEET_WHAT="fleet resend test"

fleet_need_host truncate
fleet_need_built "make user" "$FWD" "$COL" "$VERIFY" "$STORE_TOOL" "$WITNESS"

fleet_workdir RS_PID FWD_PID COL_PID GROW WIT_PID

# --- the PKI, as t_fleet.sh's -----------------------------------------------------
fleet_pki
fleet_witness_vkey

# --- the appliance's store, read by nobody through its group ----------------
fleet_store
fleet_oid
SPOOL=$W/spool/$OID.log

fleet_ports RP WP

# --- the collector host: the shipped rsyslog configuration, instantiated ----
fleet_collector_host

# shellcheck source=tests/interop/lib/fleet.sh
. "$ROOT/tests/interop/lib/fleet.sh"
start_fwd() { fwd_start "$1" "$RP" "$WP" "$W/fwd-$1.log" --resend-after-ms 1500; }
spool_size() { stat -c %s "$SPOOL" 2>/dev/null || echo 0; }
resends() { sed -n 's/^resends //p' "$W/s/status" 2>/dev/null; }
# settled: the forwarder sent everything sealed, and the spool stopped growing.
settled() {
	local a
	status_has s "sent $(sealed)" || return 1
	a=$(spool_size)
	sleep 0.5
	[ "$a" = "$(spool_size)" ] && [ "$a" -gt "$S0" ]
}

start_rsyslog || diags "$W/rsyslogd.log"
start_collector || diags "$W/collector.log"

# --- 1: records lost after RELP acknowledged them ------------------------------------
new_state s
start_fwd s
N0=$(sealed)
wait_for 30 status_has s "witnessed $N0"
sleep 0.5
S0=$(spool_size)
stop_pid "$COL_PID"
COL_PID=
"$STORE_TOOL" grow "$W/st" 10 6 50 >"$W/grow.log" 2>&1
grow_rc=$?
N1=$(sealed)
wait_for 20 settled
S1=$(spool_size)
truncate -s "$S0" "$SPOOL"
start_collector || diags "$W/collector.log"
r=0
if [ $grow_rc -eq 0 ] && [ "$S1" -gt "$S0" ] && [ "$N1" -gt "$N0" ] && all_there s "$N1" &&
   r=$(resends) && [ "${r:-0}" -ge 1 ] &&
   grep -q "answered 503 (not ingested) for [0-9.]* s at $N0 records: the collector lost records; resending from $N0" \
	"$W/fwd-s.log"; then
	ok "$((N1 - N0)) records in rsyslog's spool (acknowledged) cut from it before the collector ingested them: the forwarder resent from $N0 after the witness's 503s ($r resends): every record at the collector exactly once, the copy verifies, not frozen, cosigned"
else
	echo "# grow exit $grow_rc, sealed $N0 -> $N1, spool $S0 -> $S1 cut to $S0, copy $(copy_size), resends ${r:-none}, cosig ${CS:-none}"
	diags "$COPY/FROZEN" "$W/s/status" "$W/diff.log" "$W/verify-copy.log" "$W/verify-cs.log" \
		"$W/fwd-s.log" "$W/collector.log"
	not_ok "records lost on the collector host after RELP acknowledged them: resent, every record there exactly once, verified, cosigned"
fi

# --- 2: a normal ingest makes no resend ----------------------------------------------
r1=$(resends)
"$STORE_TOOL" grow "$W/st" 30 4 50 >"$W/grow2.log" 2>&1
grow_rc=$?
N2=$(sealed)
if [ $grow_rc -eq 0 ] && [ "$N2" -gt "$N1" ] && all_there s "$N2" && [ "$(resends)" = "$r1" ]; then
	ok "the store grew from $N1 to $N2 while the collector ingested: every record there, cosigned, no resend (resends $r1, the longest run of 503s $(sed -n 's/^witness-not-yet-longest-seconds //p' "$W/s/status") s)"
else
	echo "# grow exit $grow_rc, sealed $N1 -> $N2, copy $(copy_size), resends $r1 -> $(resends), cosig ${CS:-none}"
	diags "$W/s/status" "$W/fwd-s.log" "$W/collector.log"
	not_ok "a normal ingest: every record there, cosigned, no resend"
fi

# --- 3: a collector that never ingests: resends with a doubling wait ---------------------
stop_pid "$COL_PID"
COL_PID=
mv "$SPOOL" "$SPOOL.saved"
mkdir "$SPOOL"
start_collector || diags "$W/collector.log"
r2=$(resends)
"$STORE_TOOL" grow "$W/st" 2 4 50 >"$W/grow3.log" 2>&1
sleep 10
r3=$(resends)
made=$(( ${r3:-0} - ${r2:-0} ))
if [ "$made" -ge 2 ] && [ "$made" -le 3 ] && grep -q "resend $((r2 + 2)), the next after 6 s" "$W/fwd-s.log"; then
	ok "a collector that never ingests: $made resends in 10 s of 503s, the wait doubling"
else
	echo "# resends $r2 -> $r3"
	diags "$W/s/status" "$W/fwd-s.log" "$W/collector.log"
	not_ok "a collector that never ingests: 2 or 3 resends in 10 s, the wait doubling"
fi
stop_pid "$FWD_PID"
stop_pid "$COL_PID"
FWD_PID= COL_PID=

# --- 4: a slow witness does not stall the sending ----------------------------------------
# rsyslog's spool back (the records it queued are written), a fresh state, the
# witness stub answering 1.5 s late.
stop_pid "$RS_PID"
RS_PID=
rmdir "$SPOOL" 2>/dev/null
rm -f "$SPOOL" "$SPOOL.saved"
start_rsyslog || diags "$W/rsyslogd.log"
rm -f "$W/wport5"
"$WITNESS" --port-file "$W/wport5" --cert "$W/witness.pem" --key "$W/witness.key" \
	--ca "$W/ca.pem" --log "$W/witness5.log" --vkey-out "$W/witness5.vkey" --slow-ms 1500 \
	>>"$W/witness5.err" 2>&1 &
WIT_PID=$!
wait_for 5 test -s "$W/wport5"
new_state s5
"$FWD" --store "$STORE" --state "$W/s5" --user nobody --poll-ms 50 \
	--ca "$W/ca.pem" --cert "$W/appliance.pem" --key "$W/appliance.key" \
	--collector "127.0.0.1:$RP" --collector-name collector.test \
	--witness "127.0.0.1:$(cat "$W/wport5")" --witness-name witness.test \
	--witness-key "$W/witness5.vkey" --witness-ms 100 >>"$W/fwd-s5.log" 2>&1 &
FWD_PID=$!
N5=$(sealed)
wait_for 30 status_has s5 "sent $N5"
"$STORE_TOOL" grow "$W/st" 60 5 50 >"$W/grow5.log" 2>&1 &
GROW=$!
# The longest time the spool did not grow while the store was growing.
last=$(spool_size) since=$EPOCHREALTIME stall=0 samples=0
while kill -0 "$GROW" 2>/dev/null; do
	sleep 0.05
	now=$EPOCHREALTIME
	cur=$(spool_size)
	samples=$((samples + 1))
	if [ "$cur" != "$last" ]; then
		last=$cur since=$now
	else
		d=$(awk -v a="$since" -v b="$now" 'BEGIN { printf "%d", (b - a) * 1000 }')
		[ "$d" -le "$stall" ] || stall=$d
	fi
done
wait "$GROW"
grow_rc=$?
GROW=
N6=$(sealed)
if [ $grow_rc -eq 0 ] && [ "$samples" -ge 20 ] && [ "$stall" -lt 1000 ] &&
   wait_for 30 status_has s5 "witnessed $N6"; then
	ok "a witness answering 1.5 s late while the store grew from $N5 to $N6: rsyslog's spool stood still for $stall ms at most ($samples samples), then all cosigned"
else
	echo "# grow exit $grow_rc, sealed $N5 -> $N6, $samples samples, the spool stood still for up to $stall ms"
	diags "$W/s5/status" "$W/fwd-s5.log" "$W/witness5.err"
	not_ok "a slow witness: the sending goes on while its answer is awaited"
fi
stop_pid "$FWD_PID"
stop_pid "$WIT_PID"
stop_pid "$RS_PID"
FWD_PID= WIT_PID= RS_PID=

# --- 5: the bounds of --resend-after-ms ---------------------------------------------
bad=
for v in 99 3600001; do
	"$FWD" --resend-after-ms $v --collector 127.0.0.1:1 --collector-name c --ca a --cert b \
		--key k >/dev/null 2>&1
	[ $? -eq 2 ] || bad="$bad $v"
done
"$FWD" --help | grep -q -- "--resend-after-ms" || bad="$bad help"
result "$([ -z "$bad" ]; echo $?)" "--resend-after-ms 99 and 3600001 are usage errors; --help names it" "${bad# }"
ktap_done
