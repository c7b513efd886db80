#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# End to end on loopback: from a record's acknowledgement to its source
# ("acknowledged to the kernel": the daemon's group commit is durable)
# to the record being durable at the collector and cosigned by its
# witness, with the real pieces chained: bioflowd (release build, its
# sandboxed worker, --audit-socket fed by tests/interop/audit_feed.c with
# the driver's acknowledgement protocol) -> its store -> bioflow-forward
# -> rsyslogd with the shipped collector/rsyslog-bioflow.conf (RELP over
# TLS, certificates made here) -> bioflow-collector and its witness ->
# the cosignature back at the forwarder (STATE/position).  Root (the
# daemon's worker and the forwarder drop to nobody).
#
#   bash bench/ack-to-cosigned.sh [RATE] [SECONDS]      # 1000 10
#
# audit_feed makes RATE records/s available for SECONDS; for each record
# it notes when its acknowledgement arrives, and reads the forwarder's
# position file every millisecond: a record's latency is from its
# acknowledgement to the first position whose size covers it.
# Reference, same run: the acknowledgement latency itself (record made
# available -> acknowledged), the part a verdict waits for; the ratio of
# the p99s says what forwarding adds on top of it.  Afterwards the store
# must verify and hold seq i at leaf i (the mapping the latencies use).
#
# The forwarder runs with --poll-ms FWD_POLL_MS (50) and --witness-ms
# FWD_WITNESS_MS (100), given explicitly (its defaults are not this
# benchmark's business), the collector with --interval COL_INTERVAL_MS
# (100), bioflowd with its default group commit (5 ms).  Scratch under
# BENCH_LOG_DIR (/var/tmp; the stores are fsynced, so not a tmpfs).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
B=$ROOT/build
CONF=$ROOT/collector/rsyslog-bioflow.conf
DAEMON=$B/bioflowd
FWD=$B/bioflow-forward
COL=$B/bioflow-collector
VERIFY=$B/bioflow-verify
FEED=$B/tests/interop/audit_feed

RATE=${1:-1000}
SECS=${2:-10}
FWD_POLL_MS=${FWD_POLL_MS:-50}
FWD_WITNESS_MS=${FWD_WITNESS_MS:-100}
COL_INTERVAL_MS=${COL_INTERVAL_MS:-100}
ORIGIN=bench.example/ack-to-cosigned

. "$ROOT/tests/interop/lib/common.sh"

skip() { echo "ack_to_cosigned: skipped: $1"; exit 0; }
MODDIR=$(dirname "$(ls /usr/lib/*/rsyslog/imrelp.so /usr/lib/rsyslog/imrelp.so 2>/dev/null |
	head -n 1)" 2>/dev/null)
[ "$(id -u)" -eq 0 ] || skip "needs root (the daemon's worker and the forwarder drop to nobody)"
command -v rsyslogd >/dev/null && [ -f "$MODDIR/imrelp.so" ] && [ -f "$MODDIR/lmnsd_ossl.so" ] ||
	skip "needs rsyslogd with imrelp and its OpenSSL driver (rsyslog-relp, rsyslog-openssl)"
for p in "$DAEMON" "$FWD" "$COL" "$VERIFY" "$FEED"; do
	[ -x "$p" ] || skip "$p is not built (make)"
done

W=$(mktemp -d "${BENCH_LOG_DIR:-/var/tmp}/ack-to-cosigned.XXXXXX")
chmod 755 "$W"
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
fail() { echo "ack_to_cosigned: $*"; tail -n 5 "$W"/*.log 2>/dev/null; exit 1; }
listening() { ss -Htln "sport = :$1" | grep -q .; }

(
	set -e
	test_ca "$W" ca
	test_cert "$W" ca rsyslog collector.test
	test_cert "$W" ca witness witness.test
	test_cert "$W" ca appliance appliance.test
	chmod 644 "$W"/*.key
	openssl genpkey -algorithm ed25519 -out "$W/wkey.pem" >/dev/null 2>&1
) || skip "openssl could not make the test certificates"
"$COL" --print-vkey --witness-key "$W/wkey.pem" --witness-name witness.test >"$W/witness.vkey" ||
	exit 1
mkdir -p "$W/st"
"$FEED" key "$W/st" || exit 1
STORE=$W/st/store
OID=$(printf '%s' "$ORIGIN" | sha256sum | cut -c1-16)

RP=$(free_port)
WP=$(free_port)
while [ "$WP" = "$RP" ]; do WP=$(free_port); done
mkdir -p "$W/spool" "$W/rswork" "$W/logs" "$W/enroll/$OID" "$W/state"
chown nobody "$W/state"
miss=$(shipped_rsyslog_conf "$CONF" "$W/rsyslog.conf" "$W/spool" "$W/rswork" "$W" "$RP" \
	appliance.test) || fail "the rsyslog configuration lacks $miss"
echo "$ORIGIN" >"$W/enroll/$OID/origin"
cp "$W/st/root.pem" "$W/enroll/$OID/root.pub.pem"

echo "== ack -> cosigned, $(uname -m), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(rsyslogd -v | head -n 1 | awk '{ print $1, $2 }')"

rsyslogd -n -f "$W/rsyslog.conf" -i "$W/rsyslog.pid" -M "$MODDIR" >>"$W/rsyslogd.log" 2>&1 &
PIDS+=($!)
wait_for 10 listening "$RP" || fail "rsyslogd did not start"
"$COL" --no-syslog --interval "$COL_INTERVAL_MS" --spool "$W/spool" \
	--logs "$W/logs" --enroll "$W/enroll" --witness-listen "127.0.0.1:$WP" \
	--witness-key "$W/wkey.pem" --witness-name witness.test --ca "$W/ca.pem" \
	--cert "$W/witness.pem" --key "$W/witness.key" >>"$W/collector.log" 2>&1 &
PIDS+=($!)
wait_for 10 listening "$WP" || fail "the collector did not start"

"$FEED" serve "$W/audit.sock" "$RATE" "$SECS" "$W/state/position" >"$W/feed.out" 2>"$W/feed.log" &
FEED_PID=$!
PIDS+=("$FEED_PID")
wait_for 5 [ -S "$W/audit.sock" ] || fail "audit_feed did not start"
"$DAEMON" --root-key "$W/st/root.key" --store "$STORE" --audit-socket "$W/audit.sock" \
	--user nobody --origin "$ORIGIN" 2>>"$W/bioflowd.log" &
D_PID=$!
PIDS+=("$D_PID")
wait_for 10 [ -f "$STORE/log-info" ] || fail "bioflowd did not create its store"
"$FWD" --store "$STORE" --state "$W/state" --user nobody \
	--ca "$W/ca.pem" --cert "$W/appliance.pem" --key "$W/appliance.key" \
	--collector "127.0.0.1:$RP" --collector-name collector.test \
	--witness "127.0.0.1:$WP" --witness-name witness.test \
	--witness-key "$W/witness.vkey" --poll-ms "$FWD_POLL_MS" --witness-ms "$FWD_WITNESS_MS" \
	>>"$W/fwd.log" 2>&1 &
PIDS+=($!)

wait "$FEED_PID" || fail "audit_feed failed"
# The source has closed (the worker ended with it): stop the daemon; the
# store's state is judged by the verifier.
kill "$D_PID"
wait "$D_PID"
"$FEED" leafmap "$STORE" $((RATE * SECS)) || fail "the store does not hold seq i at leaf i"
"$VERIFY" --root-key "$W/st/root.pem" "$STORE" >"$W/verify.log" 2>&1 || fail "the store does not verify"
cat "$W/feed.out"
echo "(bioflowd default group commit; forwarder --poll-ms $FWD_POLL_MS --witness-ms $FWD_WITNESS_MS; collector --interval $COL_INTERVAL_MS; store verified, seq i at leaf i)"
