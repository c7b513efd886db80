#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The fleet end to end, with the real pieces: a store written by the
# project's code (tests/interop/fwd_store.c: several epochs, small
# segments, a few hundred records), bioflow-forward reading it, the
# shipped collector/rsyslog-bioflow.conf (this test's paths, port,
# certificates and peer) in a real rsyslogd, and bioflow-collector
# ingesting rsyslog's spool and serving the witness that the forwarder
# asks to cosign.  Certificates are made here with openssl; loopback
# only.
#
#   1  everything arrives: the forwarder's status reaches witnessed ==
#      sealed; the collector's copy LOGS/<oid>/ verifies with the root
#      key and its segments and epochs are the appliance's byte for byte;
#      the records went in batches (spool lines carrying several)
#   2  the forwarder holds the witness's cosignature of the latest
#      checkpoint, and bioflow-verify --witness --cosigned accepts it
#   3  the store grows while forwarding: the new records arrive, cosigned
#   4  rsyslogd, bioflow-forward and bioflow-collector SIGKILLed while the
#      store grows, each started again: in the end the copy holds every
#      record exactly once (the appliance's segments byte for byte),
#      verifies, is not frozen, and the last checkpoint is cosigned
#   5  a rollback: the store replaced by an older copy of itself and the
#      forwarder restarted, with its state and with a fresh one: refused
#      (by the forwarder from its witnessed position; by the witness, which
#      holds more), said so in the status file, the collector's copy
#      unchanged
#   6  a cosignature taken before the rollback does not verify against
#      the rolled-back store (and does against the real one)
#
# Root (the forwarder drops to nobody).  SKIPs without rsyslogd and its
# imrelp and OpenSSL modules (Debian rsyslog, rsyslog-relp,
# rsyslog-openssl) or when not root.  About 30 s.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
B=$ROOT/build
CONF=$ROOT/collector/rsyslog-bioflow.conf
FWD=$B/bioflow-forward
COL=$B/bioflow-collector
VERIFY=$B/bioflow-verify
STORE_TOOL=$B/tests/interop/fwd_store
# fwd_store's store: its origin and segment size limit.
ORIGIN=fwd.example/appliance-7
SEGMAX=8192

. "$ROOT/tests/static/lib/ktap.sh"
. "$ROOT/tests/interop/lib/common.sh"
# shellcheck source=tests/interop/lib/fleet_setup.sh
. "$ROOT/tests/interop/lib/fleet_setup.sh"

PLAN=6
echo "KTAP version 1"
echo "1..$PLAN"
FLEET_WHAT="fleet test"

fleet_need_host
fleet_need_built "make user" "$FWD" "$COL" "$VERIFY" "$STORE_TOOL"

# KEEP_WORK=1: leave the work directory for a look.
fleet_workdir RS_PID FWD_PID COL_PID GROW

# --- the PKI: a fleet CA, rsyslog (collector.test), the witness
# (witness.test), the appliance (appliance.test); the witness's key ---------
fleet_pki
fleet_witness_vkey

# --- the appliance's store, read by nobody through its group ----------------
fleet_store
fleet_oid

fleet_ports RP WP

# --- the collector host: the shipped rsyslog configuration, instantiated ----
fleet_collector_host

# shellcheck source=tests/interop/lib/fleet.sh
. "$ROOT/tests/interop/lib/fleet.sh"
# start_fwd STATE: the forwarder, its log in $W/fwd.log.
start_fwd() { fwd_start "$1" "$RP" "$WP" "$W/fwd.log"; }
# cosig N: the forwarder's cosigned note of the checkpoint of size N.
cosig() { ls "$W/s/cosigs/$1"-*.note 2>/dev/null | tail -n 1; }

# --- 1: everything arrives ------------------------------------------------------
start_rsyslog || diags "$W/rsyslogd.log"
start_collector || diags "$W/collector.log"
new_state s
start_fwd s
N=$(sealed)
if wait_for 30 status_has s "witnessed $N" && status_has s "sealed $N" && copy_is_store &&
   [ "$("$STORE_TOOL" size "$COPY")" = "$N" ] && batched; then
	ok "all $N records arrive: witnessed == sealed, the collector's copy verifies and is the store byte for byte; in batches ($BATCHED)"
else
	diags "$W/s/status" "$W/diff.log" "$W/verify-copy.log" "$W/fwd.log" "$W/collector.log" \
		"$W/rsyslogd.log"
	echo "# spool: ${BATCHED:-no batches}"
	not_ok "all records arrive: witnessed == sealed, the collector's copy verifies and is the store byte for byte; in batches"
fi
# The rollback of test 5: this store, as it is now.
cp -a "$STORE" "$W/old-store"

# --- 2: the cosignature ---------------------------------------------------------
cs=$(cosig "$N")
if [ -n "$cs" ] && grep -q "^— witness.test " "$cs" &&
   "$VERIFY" --root-key "$W/st/root.pem" --witness "$VKEY" --cosigned "$cs" "$STORE" \
	>"$W/verify-cs.log" 2>&1 &&
   ! "$VERIFY" --root-key "$W/st/root.pem" --witness "$VKEY" --cosigned "$W/witness.vkey" "$STORE" \
	>/dev/null 2>&1; then
	ok "the forwarder holds the witness's cosignature of size $N; bioflow-verify --witness --cosigned passes"
else
	ls -l "$W/s/cosigs" 2>&1 | diag_file /dev/stdin
	diags "$W/verify-cs.log"
	not_ok "the forwarder holds the witness's cosignature of the latest checkpoint; bioflow-verify --witness --cosigned passes"
fi

# --- 3: the store grows while forwarding ------------------------------------------
"$STORE_TOOL" grow "$W/st" 14 6 50 >"$W/grow.log" 2>&1
grow_rc=$?
N2=$(sealed)
cs=
if [ $grow_rc -eq 0 ] && [ "$N2" -gt "$N" ] && wait_for 30 status_has s "witnessed $N2" &&
   copy_is_store && [ "$("$STORE_TOOL" size "$COPY")" = "$N2" ] && cs=$(cosig "$N2") &&
   [ -n "$cs" ] &&
   "$VERIFY" --root-key "$W/st/root.pem" --witness "$VKEY" --cosigned "$cs" "$STORE" \
	>"$W/verify-cs.log" 2>&1; then
	ok "the store grows from $N to $N2 while forwarding: all arrive, cosigned"
else
	echo "# grow exit $grow_rc, sealed $N2, cosig ${cs:-none}"
	diags "$W/grow.log" "$W/s/status" "$W/diff.log" "$W/verify-copy.log" "$W/verify-cs.log" \
		"$W/fwd.log" "$W/collector.log"
	not_ok "the store grows while forwarding: all arrive, cosigned"
fi

# --- 4: rsyslogd, the forwarder and the collector SIGKILLed mid-stream ----------
# The store grows for about 7 s (more under load); every kill below falls
# while it still grows (checked: a kill after it stopped would not test
# a restart mid-stream).
"$STORE_TOOL" grow "$W/st" 120 6 60 >>"$W/grow.log" 2>&1 &
GROW=$!
sleep 0.5
kill9 "$RS_PID"
sleep 0.3
start_rsyslog || diags "$W/rsyslogd.log"
sleep 0.4
kill9 "$COL_PID"
sleep 0.3
start_collector || diags "$W/collector.log"
sleep 0.4
kill9 "$FWD_PID"
fwd_at=$(sed -n '1s/^size //p' "$W/s/position")
midstream=no
kill -0 "$GROW" 2>/dev/null && midstream=yes
sleep 0.3
start_fwd s
# what the copy held when the collector started again
wait_for 5 [ "$(grep -c '^bioflow-collector: enrolled' "$W/collector.log")" -ge 2 ]
col_at=$(sed -n 's/^bioflow-collector: enrolled .*: \([0-9]*\) records.*/\1/p' "$W/collector.log" |
	tail -n 1)
wait "$GROW"
grow_rc=$?
GROW=
N3=$(sealed)
cs=
if [ $grow_rc -eq 0 ] && [ $midstream = yes ] && [ "$N3" -gt "$N2" ] &&
   [ "${col_at:-$N3}" -lt "$N3" ] &&
   [ "${fwd_at:-$N3}" -lt "$N3" ] && wait_for 40 status_has s "witnessed $N3" &&
   copy_is_store && [ "$("$STORE_TOOL" size "$COPY")" = "$N3" ] && cs=$(cosig "$N3") &&
   [ -n "$cs" ] &&
   "$VERIFY" --root-key "$W/st/root.pem" --witness "$VKEY" --cosigned "$cs" "$STORE" \
	>"$W/verify-cs.log" 2>&1; then
	ok "rsyslogd, bioflow-forward, bioflow-collector SIGKILLed and restarted while the store grows: all $N3 records at the collector exactly once (the collector restarted at $col_at, the forwarder at $fwd_at), verified, not frozen, cosigned"
else
	echo "# grow exit $grow_rc, killed mid-stream: $midstream, sealed $N3, the collector restarted at ${col_at:-?}, the forwarder at ${fwd_at:-?}, copy $("$STORE_TOOL" size "$COPY" 2>&1), cosig ${cs:-none}"
	diags "$COPY/FROZEN" "$W/s/status" "$W/diff.log" "$W/verify-copy.log" "$W/verify-cs.log" \
		"$W/fwd.log" "$W/collector.log" "$W/rsyslogd.log"
	not_ok "rsyslogd, bioflow-forward, bioflow-collector SIGKILLed and restarted: every record at the collector exactly once"
fi
LATE_CS=$cs

# --- 5: a rollback ----------------------------------------------------------------
stop_pid "$FWD_PID"
FWD_PID=
sleep 0.3
copy_sum() {
	(cd "$COPY" && find . -path ./collector -prune -o -type f ! -name status -print0 |
		sort -z | xargs -0 sha256sum)
}
copy_sum >"$W/copy.sum"
mv "$STORE" "$W/real-store"
cp -a "$W/old-store" "$STORE"
OLDN=$(sealed)
# With its state: it knows the witness holds more.
start_fwd s
wait_for 10 grep -q "^last-error .*rolled back" "$W/s/status"
stop_pid "$FWD_PID"
grep "^last-error" "$W/s/status" >"$W/err-state.txt" 2>/dev/null
# With a fresh state: the witness answers with the size it holds.
new_state s2
start_fwd s2
wait_for 15 grep -q "^last-error the witness holds $N3 records, more than the $OLDN sealed" \
	"$W/s2/status" 2>/dev/null
sleep 0.5
copy_sum >"$W/copy.sum2"
if [ "$OLDN" -lt "$N3" ] && grep -q "rolled back" "$W/err-state.txt" &&
   grep -q "^last-error the witness holds $N3 records, more than the $OLDN sealed here: the store was rolled back" "$W/s2/status" &&
   ! status_has s2 "witnessed $OLDN" && [ -z "$(ls -A "$W/s2/cosigs" 2>/dev/null)" ] &&
   cmp -s "$W/copy.sum" "$W/copy.sum2" && [ ! -e "$COPY/FROZEN" ]; then
	ok "the store rolled back from $N3 to $OLDN: refused by the forwarder's state and by the witness ($(sed 's/^last-error //' "$W/s2/status" | grep -m1 -o '^the witness holds.\{0,60\}')), the collector's copy unchanged"
else
	diags "$W/err-state.txt" "$W/s2/status" "$W/fwd.log" "$W/collector.log"
	diff "$W/copy.sum" "$W/copy.sum2" | diag_file /dev/stdin
	not_ok "the store rolled back: refused (the status says so), the collector's copy unchanged"
fi
stop_pid "$FWD_PID"
FWD_PID=

# --- 6: a cosignature from before the rollback ----------------------------------------
"$VERIFY" --root-key "$W/st/root.pem" --witness "$VKEY" --cosigned "$LATE_CS" "$STORE" \
	>"$W/verify-rb.log" 2>&1
rb=$?
"$VERIFY" --root-key "$W/st/root.pem" --witness "$VKEY" --cosigned "$LATE_CS" "$W/real-store" \
	>"$W/verify-real.log" 2>&1
real=$?
"$VERIFY" --root-key "$W/st/root.pem" "$STORE" >"$W/verify-alone.log" 2>&1
alone=$?
if [ -n "$LATE_CS" ] && [ $rb -ne 0 ] && [ $real -eq 0 ] && [ $alone -eq 0 ]; then
	ok "the rolled-back store verifies alone but fails bioflow-verify --witness --cosigned with the cosignature of size $N3 ($(grep -m1 -o 'truncated.\{0,40\}\|witness[a-z-]*' "$W/verify-rb.log"))"
else
	echo "# rolled back: exit $rb; the real store: exit $real; alone: exit $alone"
	diags "$W/verify-rb.log" "$W/verify-real.log" "$W/verify-alone.log"
	not_ok "the rolled-back store fails bioflow-verify --witness --cosigned with a cosignature from before"
fi

stop_pid "$COL_PID"
stop_pid "$RS_PID"
COL_PID= RS_PID=
ktap_done
