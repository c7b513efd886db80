#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Fleet forwarding on loopback (docs/forwarding.md), with the real pieces:
# stores written by the store library (bench/fleet_store.c), bioflow-forward,
# the shipped collector/rsyslog-bioflow.conf in a real rsyslogd (RELP over
# TLS, certificates made here) and bioflow-collector with its witness.
# Root (the forwarder and the collector drop to nobody).
#
#   bash bench/fleet-forward.sh [RECORDS] [APPLIANCES] [RECORDS_EACH]
#
#   1  throughput: RECORDS (50,000) sealed records, forwarder started ->
#      the forwarder holds the witness's cosignature of the last checkpoint
#      (the collector's copy durable and holding every record, checked);
#      against the reference measured in the same run: the same encoded
#      messages of a store alike (records batched as the forwarder
#      batches them) sent by librelp's client alone
#      (tests/interop/relp_send) to the same rsyslogd, until all are in
#      rsyslog's output file; and, for comparison, the same records one a
#      message (the single form).  CPU seconds of each process from
#      /proc/PID/stat.
#   2  a fleet: APPLIANCES (20) forwarders, each its own origin, store of
#      RECORDS_EACH (5,000) records and state, started together, to one
#      rsyslogd and one collector, with the forwarder's default
#      --poll-ms and --witness-ms
#   3  latency: a store growing at LAT_RATE records/s (1,000) for LAT_SECS
#      (10) s, a group commit every LAT_COMMIT_MS (10) ms, while it is
#      forwarded: p50/p99/max from a record's commit returning to the
#      forwarder holding the cosignature of a checkpoint that covers it
#      (the file's mtime)
#
# Each store: a group commit (a checkpoint) every BATCH (32) records.
# The forwarder runs with its defaults, or --poll-ms FWD_POLL_MS,
# --witness-ms FWD_WITNESS_MS and --batch-records FWD_BATCH_RECORDS when
# set; the reference batches records as --batch-records does (1024 unless
# FWD_BATCH_RECORDS is set).  The collector reads its spool every
# COL_INTERVAL_MS (100).  PARTS="1 2 3" runs those parts only (1 needs the
# reference, which always runs).  Scratch under BENCH_LOG_DIR (/var/tmp).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
B=$ROOT/build
CONF=$ROOT/collector/rsyslog-bioflow.conf
FWD=$B/bioflow-forward
COL=$B/bioflow-collector
STORE_TOOL=$B/bench/fleet_store
SIZE_TOOL=$B/tests/interop/fwd_store
RELP=$B/tests/interop/relp_send

RECORDS=${1:-50000}
APPLIANCES=${2:-20}
EACH=${3:-5000}
BATCH=${BATCH:-32}
FWD_POLL_MS=${FWD_POLL_MS:-}
FWD_WITNESS_MS=${FWD_WITNESS_MS:-}
FWD_BATCH_RECORDS=${FWD_BATCH_RECORDS:-}
# The forwarder's options: only those set (else its defaults).
FWD_OPTS=()
[ -z "$FWD_POLL_MS" ] || FWD_OPTS+=(--poll-ms "$FWD_POLL_MS")
[ -z "$FWD_WITNESS_MS" ] || FWD_OPTS+=(--witness-ms "$FWD_WITNESS_MS")
[ -z "$FWD_BATCH_RECORDS" ] || FWD_OPTS+=(--batch-records "$FWD_BATCH_RECORDS")
REF_BATCH=${FWD_BATCH_RECORDS:-1024}
COL_INTERVAL_MS=${COL_INTERVAL_MS:-100}
LAT_RATE=${LAT_RATE:-1000}
LAT_SECS=${LAT_SECS:-10}
LAT_COMMIT_MS=${LAT_COMMIT_MS:-10}
PARTS=${PARTS:-1 2 3}

. "$ROOT/tests/interop/lib/common.sh"

skip() { echo "fleet_forward: skipped: $1"; exit 0; }
MODDIR=$(dirname "$(ls /usr/lib/*/rsyslog/imrelp.so /usr/lib/rsyslog/imrelp.so 2>/dev/null |
	head -n 1)" 2>/dev/null)
[ "$(id -u)" -eq 0 ] || skip "needs root (the forwarder and the collector drop to nobody)"
getent passwd nobody >/dev/null || skip "needs the user nobody"
command -v rsyslogd >/dev/null && [ -f "$MODDIR/imrelp.so" ] && [ -f "$MODDIR/lmnsd_ossl.so" ] ||
	skip "needs rsyslogd with imrelp and its OpenSSL driver (rsyslog-relp, rsyslog-openssl)"
for p in "$FWD" "$COL" "$STORE_TOOL" "$SIZE_TOOL" "$RELP"; do
	[ -x "$p" ] || skip "$p is not built (make user)"
done

W=$(mktemp -d "${BENCH_LOG_DIR:-/var/tmp}/fleet-forward.XXXXXX")
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

TCK=$(getconf CLK_TCK)
now() { date +%s.%N; }
# cpu PID: the process's user + system CPU time so far, in clock ticks.
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
cpu_sum() { awk '{ s += $14 + $15 } END { print s + 0 }' $(printf '/proc/%s/stat ' "$@"); }
# secs TICKS: in seconds.
secs() { awk -v t="$1" -v k="$TCK" 'BEGIN { printf "%.2f", t / k }'; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
oid() { printf '%s' "$1" | sha256sum | cut -c1-16; }
listening() { ss -Htln "sport = :$1" | grep -q .; }

# --- the PKI, the witness's key ------------------------------------------------
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

RP=$(free_port)
WP=$(free_port)
while [ "$WP" = "$RP" ]; do WP=$(free_port); done
mkdir -p "$W/spool" "$W/rswork" "$W/logs" "$W/enroll"
miss=$(shipped_rsyslog_conf "$CONF" "$W/rsyslog.conf" "$W/spool" "$W/rswork" "$W" "$RP" \
	appliance.test) || { echo "fleet_forward: the rsyslog configuration lacks $miss"; exit 1; }

# make_store DIR ORIGIN N: a store, enrolled at the collector, readable by nobody.
make_store() {
	local o
	mkdir -p "$1" && "$STORE_TOOL" make "$1" "$2" "$3" "$BATCH" || exit 1
	chmod -R a+rX "$1"
	o=$(oid "$2")
	mkdir -p "$W/enroll/$o"
	echo "$2" >"$W/enroll/$o/origin"
	cp "$1/root.pem" "$W/enroll/$o/root.pub.pem"
}
start_rsyslog() {
	rsyslogd -n -f "$W/rsyslog.conf" -i "$W/rsyslog.pid" -M "$MODDIR" >>"$W/rsyslogd.log" 2>&1 &
	RS_PID=$!
	PIDS+=("$RS_PID")
	wait_for 10 listening "$RP" || { echo "fleet_forward: rsyslogd did not start"; exit 1; }
}
# The collector runs as nobody, as it would as its own user
# (tests/interop/lib/fleet.sh): the spool read through its directory's
# group, the copies its own, its keys its own and mode 0600.
start_collector() {
	local g
	g=$(id -gn nobody)
	chgrp -R "$g" "$W/spool" && chmod g+rxs "$W/spool" && chmod -R g+r "$W/spool" || exit 1
	chown -R nobody "$W/logs"
	install -o nobody -m 600 "$W/wkey.pem" "$W/col-wkey.pem"
	install -o nobody -m 600 "$W/witness.key" "$W/col-witness.key"
	"$COL" --no-syslog --user nobody --interval "$COL_INTERVAL_MS" --spool "$W/spool" \
		--logs "$W/logs" --enroll "$W/enroll" --witness-listen "127.0.0.1:$WP" \
		--witness-key "$W/col-wkey.pem" --witness-name witness.test --ca "$W/ca.pem" \
		--cert "$W/witness.pem" --key "$W/col-witness.key" >>"$W/collector.log" 2>&1 &
	COL_PID=$!
	PIDS+=("$COL_PID")
	wait_for 10 listening "$WP" || { echo "fleet_forward: the collector did not start"; exit 1; }
}
# start_fwd STORE STATE [more options]: FWD_PID.
start_fwd() {
	local st=$1 state=$2
	shift 2
	mkdir -p "$state" && chown nobody "$state"
	"$FWD" --store "$st" --state "$state" --user nobody \
		--ca "$W/ca.pem" --cert "$W/appliance.pem" --key "$W/appliance.key" \
		--collector "127.0.0.1:$RP" --collector-name collector.test \
		--witness "127.0.0.1:$WP" --witness-name witness.test \
		--witness-key "$W/witness.vkey" "$@" >>"$W/fwd.log" 2>&1 &
	FWD_PID=$!
	PIDS+=("$FWD_PID")
}
# cosigned STATE N: the mtime of the forwarder's cosignature of size N, if any.
cosigned() {
	local f
	f=$(ls "$1/cosigs/$2"-*.note 2>/dev/null | head -n 1)
	[ -n "$f" ] && stat -c %.9Y "$f"
}

echo "== fleet forwarding, $(uname -m), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(rsyslogd -v | head -n 1 | awk '{ print $1, $2 }'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "forwarder options: ${FWD_OPTS[*]:-(defaults)}"

# --- reference: librelp alone, the same messages --------------------------------
make_store "$W/ref" bench.example/reference "$RECORDS"
make_store "$W/one" bench.example/appliance-0 "$RECORDS"
rm -rf "$W/enroll/$(oid bench.example/reference)"
"$RELP" lines "$W/ref/store" "$REF_BATCH" >"$W/ref.lines" || exit 1
"$RELP" lines "$W/ref/store" >"$W/ref1.lines" || exit 1
start_rsyslog
REF_OUT=$W/spool/$(oid bench.example/reference).log
TIMEFORMAT='%U %S'
# ref LINES-FILE: librelp's client alone sends them; sets REF_S, REF_RATE
# and prints a line.
ref() {
	local lines n0 t0 t1 rs0 rs1 snd_cpu
	lines=$(wc -l <"$1")
	n0=$(cat "$REF_OUT" 2>/dev/null | wc -l)
	rs0=$(cpu "$RS_PID")
	t0=$(now)
	{ time "$RELP" send 127.0.0.1 "$RP" "$W/ca.pem" "$W/appliance.pem" "$W/appliance.key" \
		collector.test <"$1" 2>"$W/relp.log"; } 2>"$W/relp.time" || { cat "$W/relp.log"; exit 1; }
	snd_cpu=$(awk -v k="$TCK" '{ printf "%.0f", ($1 + $2) * k }' "$W/relp.time")
	# Every 10 ms (wait_for's 100 ms is too coarse for a run of a second).
	for _ in $(seq 1 12000); do
		[ "$(wc -l <"$REF_OUT" 2>/dev/null || echo 0)" -ge $((n0 + lines)) ] && break
		sleep 0.01
	done
	[ "$(wc -l <"$REF_OUT" 2>/dev/null || echo 0)" -ge $((n0 + lines)) ] ||
		{ echo "fleet_forward: rsyslog wrote $(($(wc -l <"$REF_OUT") - n0)) of $lines lines"; exit 1; }
	t1=$(now)
	rs1=$(cpu "$RS_PID")
	REF_S=$(calc %.3f "$t1 - $t0")
	REF_RATE=$(calc %.0f "$RECORDS / $REF_S")
	echo "reference$2: librelp client alone, $lines messages ($RECORDS records) to rsyslogd's output: $REF_S s, $REF_RATE records/s, $(calc %.0f "$lines / $REF_S") messages/s; CPU s: sender $(secs "$snd_cpu"), rsyslogd $(secs $((rs1 - rs0)))"
}
ref "$W/ref1.lines" " (one record a message)"
REF1_RATE=$REF_RATE
ref "$W/ref.lines" " (batches of up to $REF_BATCH records, as the forwarder sends)"

want() { case " $PARTS " in *" $1 "*) return 0;; esac; return 1; }
# --- 1: throughput --------------------------------------------------------------
start_collector
if want 1; then
rs0=$(cpu "$RS_PID")
col0=$(cpu "$COL_PID")
t0=$(now)
start_fwd "$W/one/store" "$W/one/state" "${FWD_OPTS[@]}"
wait_for 300 cosigned "$W/one/state" "$RECORDS" >/dev/null ||
	{ echo "fleet_forward: not cosigned in time"; tail "$W/one/state/status" "$W/fwd.log"; exit 1; }
t1=$(cosigned "$W/one/state" "$RECORDS")
fwd1=$(cpu "$FWD_PID")
rs1=$(cpu "$RS_PID")
col1=$(cpu "$COL_PID")
copy=$("$SIZE_TOOL" size "$W/logs/$(oid bench.example/appliance-0)")
[ "$copy" = "$RECORDS" ] || { echo "fleet_forward: the copy holds $copy of $RECORDS records"; exit 1; }
kill "$FWD_PID"
wait "$FWD_PID" 2>/dev/null
wait_for 5 grep -qx "witnessed $RECORDS" "$W/one/state/status"
grep -qx "witnessed $RECORDS" "$W/one/state/status" && grep -qx "sealed $RECORDS" "$W/one/state/status" ||
	{ echo "fleet_forward: status:"; cat "$W/one/state/status"; exit 1; }
FWD_S=$(calc %.3f "$t1 - $t0")
FWD_RATE=$(calc %.0f "$RECORDS / $FWD_S")
echo "forwarding: $RECORDS records sealed -> durable and cosigned at the collector: $FWD_S s, $FWD_RATE records/s; CPU s: forwarder $(secs "$fwd1"), rsyslogd $(secs $((rs1 - rs0))), collector $(secs $((col1 - col0)))"
echo "forwarding / reference (batches): $(calc %.2f "$FWD_RATE / $REF_RATE"); forwarding / reference (one record a message): $(calc %.2f "$FWD_RATE / $REF1_RATE"); RELP messages $(sed -n 's/^relp-messages //p' "$W/one/state/status") for $(sed -n 's/^relp-records //p' "$W/one/state/status") records"
echo "per 1,000 records, CPU ms: forwarder $(calc %.1f "$fwd1 / $TCK * 1000000 / $RECORDS"), rsyslogd $(calc %.1f "($rs1 - $rs0) / $TCK * 1000000 / $RECORDS"), collector $(calc %.1f "($col1 - $col0) / $TCK * 1000000 / $RECORDS")"
fi

# --- 2: a fleet -----------------------------------------------------------------
if want 2; then
for i in $(seq 1 "$APPLIANCES"); do
	make_store "$W/f$i" "bench.example/appliance-$i" "$EACH"
done
sleep 0.5
rs0=$(cpu "$RS_PID")
col0=$(cpu "$COL_PID")
FLEET=()
t0=$(now)
for i in $(seq 1 "$APPLIANCES"); do
	start_fwd "$W/f$i/store" "$W/f$i/state" "${FWD_OPTS[@]}"
	FLEET+=("$FWD_PID")
done
all_cosigned() {
	[ "$(ls "$W"/f*/state/cosigs 2>/dev/null | grep -c "^$EACH-")" -ge "$APPLIANCES" ]
}
wait_for 600 all_cosigned || {
	echo "fleet_forward: the fleet was not all cosigned in time"
	grep -h '^witnessed' "$W"/f*/state/status | sort | uniq -c
	exit 1
}
fc=$(cpu_sum "${FLEET[@]}")
rs1=$(cpu "$RS_PID")
col1=$(cpu "$COL_PID")
seen=$(now)
t1=$(stat -c %.9Y "$W"/f*/state/cosigs/"$EACH"-*.note | sort -n | tail -n 1)
# The same processes idle (every record cosigned), for 2 s.
sleep 2
fi2=$(cpu_sum "${FLEET[@]}")
rs2=$(cpu "$RS_PID")
col2=$(cpu "$COL_PID")
for p in "${FLEET[@]}"; do kill "$p" 2>/dev/null; done
for p in "${FLEET[@]}"; do wait "$p" 2>/dev/null; done
bad=0
for i in $(seq 1 "$APPLIANCES"); do
	[ "$("$SIZE_TOOL" size "$W/logs/$(oid "bench.example/appliance-$i")")" = "$EACH" ] || bad=$((bad + 1))
done
[ $bad -eq 0 ] || { echo "fleet_forward: $bad copies incomplete"; exit 1; }
FL_S=$(calc %.3f "$t1 - $t0")
TOTAL=$((APPLIANCES * EACH))
echo "fleet: $APPLIANCES appliances x $EACH records = $TOTAL, all durable and cosigned: $FL_S s, $(calc %.0f "$TOTAL / $FL_S") records/s; CPU s: rsyslogd $(secs $((rs1 - rs0))), collector $(secs $((col1 - col0))), forwarders $(secs $fc) in all (read $(calc %.1f "$seen - $t1") s after the last cosignature)"
echo "fleet idle: 2 s after: CPU s: rsyslogd $(secs $((rs2 - rs1))), collector $(secs $((col2 - col1))), forwarders $(secs $((fi2 - fc))) in all"
fi

# --- 3: latency at a steady rate --------------------------------------------------
want 3 || exit 0
make_store "$W/lat" bench.example/latency "$BATCH"
start_fwd "$W/lat/store" "$W/lat/state" "${FWD_OPTS[@]}"
wait_for 30 cosigned "$W/lat/state" "$BATCH" >/dev/null || { echo "fleet_forward: latency store not cosigned"; exit 1; }
"$STORE_TOOL" grow "$W/lat" "$LAT_RATE" "$LAT_SECS" "$LAT_COMMIT_MS" "$W/lat.commits" || exit 1
LAST=$(tail -n 1 "$W/lat.commits" | cut -d' ' -f1)
wait_for 60 cosigned "$W/lat/state" "$LAST" >/dev/null || { echo "fleet_forward: the last commit was not cosigned"; exit 1; }
kill "$FWD_PID"
wait "$FWD_PID" 2>/dev/null
# Every cosigned size and when, then for each commit the first cosignature
# at or beyond its size; each record of the commit counts once.
for f in "$W/lat/state/cosigs/"*.note; do
	n=${f##*/}
	echo "${n%%-*} $(stat -c %.9Y "$f")"
done | sort -n >"$W/lat.cosigs"
awk -v first="$BATCH" '
	NR == FNR { cs[NR] = $1; ct[NR] = $2; nc = NR; next }
	{
		while (j < nc && cs[j + 1] < $1) j++
		if (j >= nc) next
		lat = (ct[j + 1] - $2 / 1e9) * 1000
		prev = (FNR == 1) ? first : psize
		for (k = prev; k < $1; k++) l[n++] = lat
		psize = $1
	}
	END { printf "%d", n; for (i = 0; i < n; i++) printf " %.3f", l[i]; print "" }
' "$W/lat.cosigs" "$W/lat.commits" | tr ' ' '\n' | tail -n +2 | sort -n >"$W/lat.ms"
NL=$(wc -l <"$W/lat.ms")
pct() { sed -n "$(( ( $1 * NL + 99 ) / 100 ))p" "$W/lat.ms"; }
echo "latency: $NL records at $LAT_RATE records/s (a commit every $LAT_COMMIT_MS ms), sealed -> cosignature at the forwarder, ms: p50 $(pct 50), p99 $(pct 99), max $(tail -n 1 "$W/lat.ms")"
wreq=$(grep -c . "$W/lat.cosigs")
echo "latency run: $wreq cosignatures in $LAT_SECS s ($(calc %.1f "$wreq / $LAT_SECS") witness requests/s answered 200)"
echo "(forwarder ${FWD_OPTS[*]:-defaults}; collector --interval $COL_INTERVAL_MS; a checkpoint every $BATCH records)"
