#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The forwarder's lag as records in the log, with the real pieces:
# bioflowd (its release build) sealing records from an audit source
# (tests/interop/audit_feed.c, bioflowd --audit-socket) and watching the
# forwarder's status (--forward-status), bioflow-forward reading that
# store, the shipped collector/rsyslog-bioflow.conf in a real rsyslogd
# and bioflow-collector with its witness.  Loopback only.
#
#   1  while the collector runs: forwarding keeps up, no lag record
#   2  the collector (and with it the witness) stopped while bioflowd
#      seals: the lag passes --forward-lag-records, bioflowd logs it
#   3  the collector back: the forwarder catches up, bioflowd logs that
#   4  the sealed store (bioflowd stopped) holds exactly one "forwarding
#      behind" record, then one "forwarding within bounds", and verifies
#   5  the forwarder delivers them too: the collector's copy holds both,
#      verifies and is the store byte for byte
#
# Root (the daemon's worker and the forwarder drop to nobody).  SKIPs
# without rsyslogd and its imrelp and OpenSSL modules or when not root.
# About 60 s.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
B=$ROOT/build
CONF=$ROOT/collector/rsyslog-bioflow.conf
DAEMON=${BIOFLOWD:-$B/bioflowd}
FWD=$B/bioflow-forward
COL=$B/bioflow-collector
VERIFY=$B/bioflow-verify
FEED=$B/tests/interop/audit_feed
STORE_TOOL=$B/tests/interop/fwd_store
ORIGIN=lag.example/appliance-3
SEGMAX=$((64 << 20))
RATE=200
SECS=30
BOUND=400

. "$ROOT/tests/static/lib/ktap.sh"
. "$ROOT/tests/interop/lib/common.sh"
# shellcheck source=tests/interop/lib/fleet_setup.sh
. "$ROOT/tests/interop/lib/fleet_setup.sh"

PLAN=5
echo "KTAP version 1"
echo "1..$PLAN"
FLEET_WHAT="fleet lag test"

fleet_need_host
fleet_need_built make "$DAEMON" "$FWD" "$COL" "$VERIFY" "$FEED" "$STORE_TOOL"

fleet_workdir RS_PID FWD_PID COL_PID FEED_PID D_PID

fleet_pki
fleet_witness_vkey

# --- the appliance: a software root key, bioflowd's store ------------------------
mkdir -p "$W/st"
"$FEED" key "$W/st" >"$W/key.log" 2>&1 || { diag_file "$W/key.log"; skip_all "audit_feed key failed"; }
STORE=$W/st/store
fleet_oid

fleet_ports RP WP

fleet_collector_host

# shellcheck source=tests/interop/lib/fleet.sh
. "$ROOT/tests/interop/lib/fleet.sh"
# The forwarder's poll and witness intervals are given, not its defaults.
start_fwd() { fwd_start fs "$RP" "$WP" "$W/fwd.log"; }
dlog() { grep -c "$1" "$W/bioflowd.log" 2>/dev/null; }
logged() { [ "$(dlog "$1")" -ge "$2" ]; }
lag() { sed -n 's/^lag-records //p' "$W/fs/status" 2>/dev/null; }
witnessed_over() { [ "$(sed -n 's/^witnessed //p' "$W/fs/status" 2>/dev/null)" -gt "$1" ] 2>/dev/null; }

# --- 1: forwarding keeps up ------------------------------------------------------
start_rsyslog || diags "$W/rsyslogd.log"
start_collector || diags "$W/collector.log"
AUDIT_FEED_HOLD=1 "$FEED" serve "$W/audit.sock" "$RATE" "$SECS" >"$W/feed.log" 2>&1 &
FEED_PID=$!
wait_for 5 [ -S "$W/audit.sock" ]
# A seconds bound of 5: under a steady load of records the lag is rarely
# zero when the status is written, so a lag-seconds counted from when it
# was last zero would pass 5 s during test 1; the age of the oldest record
# not yet cosigned stays well under it (docs/bioflowd.md, "Forwarding lag").
"$DAEMON" --root-key "$W/st/root.key" --store "$STORE" --audit-socket "$W/audit.sock" \
	--user nobody --origin "$ORIGIN" --forward-status "$W/fs/status" \
	--forward-lag-records "$BOUND" --forward-lag-seconds 5 \
	--forward-silent-seconds 20 --forward-check-ms 200 2>>"$W/bioflowd.log" &
D_PID=$!
new_state fs
if ! wait_for 10 [ -f "$STORE/log-info" ] || ! kill -0 "$D_PID" 2>/dev/null; then
	# bioflowd did not start (an option it does not know, say): no
	# point waiting for what it would do
	diags "$W/bioflowd.log"
	for i in $(seq 1 $PLAN); do not_ok "fleet lag test $i: bioflowd did not start"; done
	ktap_done
	exit
fi
start_fwd
if wait_for 30 witnessed_over 600 &&
   sleep 7 && [ "$(dlog 'forwarding behind')" = 0 ] && [ "$(dlog 'forwarder silent')" = 0 ]; then
	ok "forwarding keeps up for 10 s (lag $(lag) records, $(sed -n 's/^lag-seconds //p' "$W/fs/status") s): no lag record"
else
	diags "$W/fs/status" "$W/bioflowd.log" "$W/fwd.log" "$W/collector.log"
	not_ok "forwarding keeps up for 10 s: no lag record"
fi

# --- 2: the collector stopped -----------------------------------------------------
stop_pid "$COL_PID"
COL_PID=
if wait_for 20 logged 'forwarding behind' 1; then
	ok "collector stopped: lag $(lag) records, past $BOUND: bioflowd logs forwarding behind"
else
	diags "$W/fs/status" "$W/bioflowd.log" "$W/fwd.log"
	not_ok "collector stopped: bioflowd logs forwarding behind"
fi

# --- 3: the collector back --------------------------------------------------------
start_collector || diags "$W/collector.log"
if wait_for 40 logged 'within its bounds again' 1 && [ "$(dlog 'forwarding behind')" = 1 ]; then
	ok "collector back: the forwarder catches up (lag $(lag)), bioflowd logs it once"
else
	diags "$W/fs/status" "$W/bioflowd.log" "$W/fwd.log" "$W/collector.log"
	not_ok "collector back: the forwarder catches up, bioflowd logs it once"
fi

# --- 4: the sealed store ------------------------------------------------------------
# every record acknowledged, then the daemon stopped, then the source
wait_for 60 grep -q "^records $((RATE * SECS)) " "$W/feed.log"
stop_pid "$D_PID"
D_PID=
kill "$FEED_PID" 2>/dev/null
wait "$FEED_PID"
feed_rc=$?
FEED_PID=
"$FEED" events "$STORE" >"$W/events" 2>&1
grep -v "daemon started" "$W/events" | cut -d' ' -f2- | cut -d: -f1 >"$W/fwd-events"
if [ $feed_rc -eq 0 ] && [ "$(cat "$W/fwd-events" | tr '\n' '|')" = "forwarding behind|forwarding within bounds|" ] &&
   "$VERIFY" --root-key "$W/st/root.pem" "$STORE" >"$W/verify.log" 2>&1; then
	ok "the store holds one forwarding-behind record, then one within-bounds record, and verifies"
else
	echo "# audit_feed exit $feed_rc"
	diags "$W/feed.log" "$W/events" "$W/verify.log" "$W/bioflowd.log"
	not_ok "the store holds one forwarding-behind record, then one within-bounds record, and verifies"
fi

# --- 5: forwarded ---------------------------------------------------------------------
N=$(sealed)
if wait_for 30 status_has fs "witnessed $N" && wait_for 10 copy_is_store &&
   "$FEED" events "$COPY" >"$W/copy-events" 2>&1 && diff -q "$W/events" "$W/copy-events" >/dev/null; then
	ok "the collector's copy holds both records, verifies and is the store ($N records)"
else
	diags "$W/fs/status" "$W/copy-events" "$W/diff.log" "$W/verify-copy.log" "$W/collector.log"
	not_ok "the collector's copy holds both records, verifies and is the store"
fi
stop_pid "$FWD_PID"
FWD_PID=
stop_pid "$COL_PID"
COL_PID=
stop_pid "$RS_PID"
RS_PID=
ktap_done
