#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The forwarder (bioflow-forward) against a real rsyslog: imrelp over TLS
# with mutual certificates made here with openssl (a test CA, the
# collector "collector.test", the appliance "appliance.test", the
# witness "witness.test"; a rogue CA and a collector certificate it
# issued under the same name; an appliance "other.test"), writing
# %msg% to one file per oid.  The store is written by the project's code
# (tests/interop/fwd_store.c: several epochs and segments, records of
# both sizes), and fwd_store check decodes every line the collector
# wrote with bfl_fwd_decode and compares it with the store's bytes.  The
# witness is tests/interop/fwd_witness.c, a stub that answers 409, 503,
# 403 and 200 as the test tells it and says 503 until the collector's
# file holds the checkpoint.
#
#   1-4    everything arrives, exactly once, in store order, each item the
#          store's bytes, records in batches (lines carrying several
#          records); the status file (RELP messages fewer than records);
#          the store untouched and the forwarder running as the
#          unprivileged user; cosigned
#   5      the collector down at start (rsyslog 3 s later): all arrive;
#          with --batch-records 1, one record a message (no batch line)
#   6      the store grows while rsyslog is SIGKILLed mid-stream and
#          started again: all arrive (duplicates allowed), cosigned to
#          the end
#   7      the forwarder SIGKILLed mid-stream and started again: it
#          resends from its durable position, nothing lost
#   8-10   the witness: 409 (resend from its size), 503 retried, 200
#          stored as STATE/cosigs/S-E.note and the position; a
#          cosignature that does not verify is refused; 403 retried
#   11-14  refused with a clear error and nothing written: a wrong
#          collector name, a CA that does not trust the collector, an
#          appliance the collector does not permit; and RELP in clear to
#          the TLS port is not accepted
#   15-17  the sandbox: a forbidden system call kills it; it never runs
#          as root; usage errors
#
# Root (the forwarder drops to nobody).  SKIPs without rsyslogd and its
# imrelp module (Debian rsyslog, rsyslog-relp, rsyslog-openssl) or when
# not root.  About 40 s.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
B=$ROOT/build
FWD=$B/bioflow-forward
STORE_TOOL=$B/tests/interop/fwd_store
WITNESS=$B/tests/interop/fwd_witness

. "$ROOT/tests/static/lib/ktap.sh"
. "$ROOT/tests/interop/lib/common.sh"

PLAN=17
echo "KTAP version 1"
echo "1..$PLAN"

skip_all() {
	local i
	for i in $(seq 1 $PLAN); do skip "forwarding test $i" "$1"; done
	ktap_done
	exit
}

IMRELP=$(ls /usr/lib/*/rsyslog/imrelp.so 2>/dev/null | head -n 1)
[ -n "$(missing rsyslogd openssl ss)" ] && skip_all "no $(missing rsyslogd openssl ss)"
[ -n "$IMRELP" ] || skip_all "no rsyslog imrelp module (Debian rsyslog-relp)"
ls /usr/lib/*/rsyslog/lmnsd_ossl.so >/dev/null 2>&1 || skip_all "no rsyslog OpenSSL driver (Debian rsyslog-openssl)"
[ "$(id -u)" -eq 0 ] || skip_all "not root (the forwarder drops to nobody)"
getent passwd nobody >/dev/null || skip_all "no user nobody"
for p in "$FWD" "$STORE_TOOL" "$WITNESS"; do
	[ -x "$p" ] || skip_all "$p is not built (make user)"
done

W=$TMP
chmod 755 "$W"
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
# KEEP_WORK=1: leave the work directory (and what runs) for a look.
[ -z "${KEEP_WORK:-}" ] || trap - EXIT

# --- the PKI ----------------------------------------------------------------
(
	set -e
	test_ca "$W" ca
	test_ca "$W" rogue
	test_cert "$W" ca collector collector.test
	test_cert "$W" ca appliance appliance.test
	test_cert "$W" ca witness witness.test
	test_cert "$W" ca other other.test
	test_cert "$W" rogue rogue-collector collector.test
	chmod 644 "$W"/*.key
) || skip_all "openssl could not make the test certificates"

# --- the store: read by nobody through its group ----------------------------
mkdir -p "$W/st"
"$STORE_TOOL" make "$W/st" 300 >"$W/make.log" 2>&1 || {
	diag_file "$W/make.log"
	skip_all "fwd_store make failed"
}
STORE=$W/st/store
GRP=$(id -gn nobody)
chmod 755 "$W/st"
chgrp -R "$GRP" "$STORE"
chmod -R g+rX,o-rwx "$STORE"
find "$STORE" -type d -exec chmod g+s {} +

new_state() {
	rm -rf "$W/$1"
	mkdir "$W/$1" && chown nobody "$W/$1"
}

# start_rsyslog TAG PORT [CERT [PEER]]: imrelp on 127.0.0.1:PORT with TLS,
# its certificate CERT (collector), permitting the appliance PEER
# (appliance.test); what it receives in $W/out-TAG/<oid>.log.
start_rsyslog() {
	local tag=$1 port=$2 cert=${3:-collector} peer=${4:-appliance.test} i
	mkdir -p "$W/rs-$tag" "$W/out-$tag"
	cat >"$W/rs-$tag.conf" <<EOF
global(workDirectory="$W/rs-$tag" maxMessageSize="64k")
module(load="imrelp" tls.tlslib="openssl")
input(type="imrelp" port="$port" address="127.0.0.1" maxDataSize="64k"
      tls="on" tls.cacert="$W/ca.pem" tls.mycert="$W/$cert.pem"
      tls.myprivkey="$W/$cert.key" tls.authmode="name"
      tls.permittedpeer=["$peer"] ruleset="bioflow")
template(name="raw" type="string" string="%msg%\n")
template(name="spool" type="string" string="$W/out-$tag/%\$.oid%.log")
ruleset(name="bioflow") {
  if \$msg startswith "bioflow1 " then {
    set \$.oid = field(\$msg, 32, 2);
    action(type="omfile" dynaFile="spool" template="raw")
  }
  stop
}
EOF
	rm -f "$W/rs-$tag.pid"
	rsyslogd -n -f "$W/rs-$tag.conf" -i "$W/rs-$tag.pid" >>"$W/rs-$tag.log" 2>&1 &
	RS_PID=$!
	PIDS+=($RS_PID)
	for i in $(seq 1 50); do
		ss -Htln "sport = :$port" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

stop_pid() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# start_fwd TAG STATE ARGS...: the forwarder in the background, its log
# in $W/fwd-TAG.log.
start_fwd() {
	local tag=$1 state=$2
	shift 2
	"$FWD" --store "$STORE" --state "$W/$state" --user nobody --poll-ms 50 \
		--ca "$W/ca.pem" --cert "$W/appliance.pem" --key "$W/appliance.key" \
		"$@" >>"$W/fwd-$tag.log" 2>&1 &
	FWD_PID=$!
	PIDS+=($FWD_PID)
}

sealed() { "$STORE_TOOL" size "$STORE"; }
status_has() { grep -qx "$2" "$W/$1/status" 2>/dev/null; }
out_file() { ls "$W/out-$1"/*.log 2>/dev/null | head -n 1; }
# all_arrived TAG: every item of the store is in the collector's file.
all_arrived() {
	local f
	f=$(out_file "$1")
	[ -n "$f" ] && "$STORE_TOOL" check "$STORE" "$f" >"$W/check-$1.txt" 2>&1
}
start_witness() {
	rm -f "$W/wport"
	"$WITNESS" --port-file "$W/wport" --cert "$W/witness.pem" --key "$W/witness.key" \
		--ca "$W/ca.pem" --log "$W/witness-$1.log" --vkey-out "$W/witness.vkey" \
		"${@:2}" >>"$W/witness-$1.err" 2>&1 &
	WIT_PID=$!
	PIDS+=($WIT_PID)
	wait_for 5 test -s "$W/wport"
	WPORT=$(cat "$W/wport")
}
witness_args() {
	echo --witness "127.0.0.1:$WPORT" --witness-name witness.test \
		--witness-key "$W/witness.vkey" --witness-ms 100
}

# --- 1-4: everything, exactly, in order ---------------------------------------
P=$(free_port)
find "$STORE" -type f -exec sha256sum {} + | sort >"$W/store.sum"
start_rsyslog a "$P" || diag_file "$W/rs-a.log"
start_witness a --spool "$W/out-a"
new_state s-a
start_fwd a s-a --collector "127.0.0.1:$P" --collector-name collector.test $(witness_args)
wait_for 15 status_has s-a "witnessed 300"
f=$(out_file a)
# Batches: every record in a batch line, some of several records.
if [ -n "$f" ] && "$STORE_TOOL" check "$STORE" "$f" exact >"$W/check-a.txt" 2>&1 &&
   grep -q " records-in-batches 300 largest \([2-9]\|[1-9][0-9]\)" "$W/check-a.txt"; then
	ok "every item reaches rsyslog exactly once, in store order, records in batches ($(cat "$W/check-a.txt"))"
else
	diag_file "$W/check-a.txt"
	diag_file "$W/fwd-a.log"
	not_ok "every item reaches rsyslog exactly once, in store order, records in batches"
fi
msgs=$(sed -n 's/^relp-messages //p' "$W/s-a/status" 2>/dev/null)
if status_has s-a "sealed 300" && status_has s-a "sent 300" && status_has s-a "witnessed 300" &&
   status_has s-a "lag-records 0" && status_has s-a "collector 127.0.0.1 connected" &&
   status_has s-a "relp-records 300" && [ "${msgs:-300}" -lt 300 ]; then
	ok "STATE/status: sealed, sent, witnessed 300, no lag, connected, 300 records in $msgs messages"
else
	diag_file "$W/s-a/status"
	not_ok "STATE/status: sealed, sent, witnessed 300, no lag, connected, fewer messages than records"
fi
uid=$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$FWD_PID/status" 2>/dev/null)
nob=$(id -u nobody)
find "$STORE" -type f -exec sha256sum {} + | sort >"$W/store.sum2"
if [ "$uid" = "$nob$nob$nob$nob" ] && cmp -s "$W/store.sum" "$W/store.sum2"; then
	ok "runs as nobody (real, effective, saved, fs uid) and leaves the store untouched"
else
	echo "# uids $uid, nobody $nob"
	diff "$W/store.sum" "$W/store.sum2" | diag_file /dev/stdin
	not_ok "runs as nobody (real, effective, saved, fs uid) and leaves the store untouched"
fi
cs=$(ls "$W/s-a/cosigs" 2>/dev/null | tail -n 1)
if [ -n "$cs" ] && head -n 1 "$W/s-a/position" | grep -qx "size 300" &&
   grep -q "^— witness.test/w1 " "$W/s-a/cosigs/$cs" &&
   [ "$(tail -n +2 "$W/s-a/position")" = "$(cat "$W/s-a/cosigs/$cs")" ]; then
	ok "cosigned: STATE/cosigs/$cs holds the checkpoint and the witness's line; position 300"
else
	ls -l "$W/s-a" "$W/s-a/cosigs" | diag_file /dev/stdin
	not_ok "cosigned: STATE/cosigs/S-E.note and the position"
fi
stop_pid "$FWD_PID"
stop_pid "$WIT_PID"
stop_pid "$RS_PID"

# --- 5: the collector down at start -------------------------------------------
P=$(free_port)
new_state s-b
# One record a message (--batch-records 1, for collectors before batches):
# the single form only.
start_fwd b s-b --collector "127.0.0.1:$P" --collector-name collector.test --batch-records 1
sleep 3
start_rsyslog b "$P"
if wait_for 15 all_arrived b && grep -q " batches 0 records-in-batches 0 " "$W/check-b.txt"; then
	ok "collector down at start, up 3 s later: everything arrives; --batch-records 1: no batch ($(cat "$W/check-b.txt"))"
else
	diag_file "$W/check-b.txt" 2>/dev/null
	tail -n 5 "$W/fwd-b.log" | diag_file /dev/stdin
	not_ok "collector down at start, up 3 s later: everything arrives; --batch-records 1: no batch"
fi
stop_pid "$FWD_PID"
stop_pid "$RS_PID"

# --- 6: a growing store, rsyslog SIGKILLed mid-stream ---------------------------
P=$(free_port)
start_rsyslog c "$P"
start_witness c --spool "$W/out-c"
new_state s-c
start_fwd c s-c --collector "127.0.0.1:$P" --collector-name collector.test $(witness_args)
"$STORE_TOOL" grow "$W/st" 40 6 60 >"$W/grow-c.log" 2>&1 &
GROW=$!
sleep 1.2
kill -9 "$RS_PID"
wait "$RS_PID" 2>/dev/null
sleep 1
start_rsyslog c "$P"
wait "$GROW"
grow_rc=$?
N=$(sealed)
if [ $grow_rc -eq 0 ] && wait_for 20 status_has s-c "witnessed $N" && all_arrived c; then
	ok "rsyslog SIGKILLed while the store grows, restarted: all $N records arrive, cosigned to the end ($(cat "$W/check-c.txt"))"
else
	echo "# grow exit $grow_rc, sealed $N"
	diag_file "$W/check-c.txt" 2>/dev/null
	diag_file "$W/s-c/status"
	tail -n 8 "$W/fwd-c.log" | diag_file /dev/stdin
	not_ok "rsyslog SIGKILLed while the store grows, restarted: all records arrive, cosigned"
fi
stop_pid "$FWD_PID"

# --- 7: the forwarder SIGKILLed mid-stream ---------------------------------------
"$STORE_TOOL" grow "$W/st" 30 6 60 >"$W/grow-d.log" 2>&1 &
GROW=$!
start_fwd c s-c --collector "127.0.0.1:$P" --collector-name collector.test $(witness_args)
sleep 1
kill -9 "$FWD_PID"
wait "$FWD_PID" 2>/dev/null
pos=$(sed -n '1s/^size //p' "$W/s-c/position")
sleep 0.5
start_fwd c s-c --collector "127.0.0.1:$P" --collector-name collector.test $(witness_args)
wait "$GROW"
N=$(sealed)
if wait_for 20 status_has s-c "witnessed $N" && all_arrived c &&
   grep -q "from the witnessed position $pos\$" "$W/fwd-c.log"; then
	ok "forwarder SIGKILLed mid-stream, restarted: resends from its position $pos, all $N arrive ($(cat "$W/check-c.txt"))"
else
	echo "# position at the kill: $pos, sealed $N"
	diag_file "$W/check-c.txt" 2>/dev/null
	tail -n 8 "$W/fwd-c.log" | diag_file /dev/stdin
	not_ok "forwarder SIGKILLed mid-stream, restarted: resends from its position, nothing lost"
fi
stop_pid "$FWD_PID"
stop_pid "$WIT_PID"
stop_pid "$RS_PID"
N=$(sealed)

# --- 8-10: the witness's answers ----------------------------------------------
P=$(free_port)
start_rsyslog d "$P"
start_witness d --claim 100 --busy 2 --spool "$W/out-d"
new_state s-d
start_fwd d s-d --collector "127.0.0.1:$P" --collector-name collector.test $(witness_args) -v
wait_for 15 status_has s-d "witnessed $N"
wl=$W/witness-d.log
if [ "$(sed -n 1p "$wl")" = "old 0 size $N proof 0 status 409" ] &&
   grep -q "^old 100 size [0-9]* proof [1-9][0-9]* status 503" "$wl" &&
   [ "$(grep -c ' status 503' "$wl")" -ge 2 ] &&
   grep -q "^old 100 size [0-9]* proof [1-9][0-9]* status 200" "$wl" &&
   all_arrived d && grep -q "restarts [1-9][0-9]* at \([0-9,]*,\)*100\(,\| \|$\)" "$W/check-d.txt" &&
   head -n 1 "$W/s-d/position" | grep -qx "size $N"; then
	ok "witness: 409 with 100 resends from leaf 100 with old 100, 503 is retried, 200 is stored ($(tr '\n' ';' <"$wl"))"
else
	diag_file "$wl"
	diag_file "$W/check-d.txt" 2>/dev/null
	tail -n 8 "$W/fwd-d.log" | diag_file /dev/stdin
	not_ok "witness: 409 resends from its size, 503 retried, 200 stored"
fi
stop_pid "$FWD_PID"
stop_pid "$WIT_PID"

start_witness e --bad-sig 1 --refuse 2
new_state s-e
start_fwd e s-e --collector "127.0.0.1:$P" --collector-name collector.test $(witness_args)
wait_for 20 status_has s-e "witnessed $N"
if grep -q "a cosignature by witness.test/w1 does not verify" "$W/fwd-e.log" &&
   [ "$(grep -c ' status 200' "$W/witness-e.log")" -ge 2 ] &&
   [ "$(ls "$W/s-e/cosigs" | wc -l)" -eq 1 ] && status_has s-e "witnessed $N"; then
	ok "a cosignature that does not verify with --witness-key is refused, the next one stored"
else
	diag_file "$W/witness-e.log"
	tail -n 8 "$W/fwd-e.log" | diag_file /dev/stdin
	not_ok "a cosignature that does not verify with --witness-key is refused, the next one stored"
fi
if [ "$(grep -c 'status 403' "$W/witness-e.log")" -eq 2 ] &&
   grep -q "refused the checkpoint of size $N: HTTP status 403: refused by the test" "$W/fwd-e.log" &&
   kill -0 "$FWD_PID" 2>/dev/null; then
	ok "403 from the witness: logged, retried with back-off, the forwarder carries on"
else
	diag_file "$W/witness-e.log"
	tail -n 8 "$W/fwd-e.log" | diag_file /dev/stdin
	not_ok "403 from the witness: logged, retried with back-off, the forwarder carries on"
fi
stop_pid "$FWD_PID"
stop_pid "$WIT_PID"
stop_pid "$RS_PID"

# --- 11-14: refused connections ------------------------------------------------
# refused TAG WHAT PATTERN CERT PEER NAME: nothing written in 3 s, the
# forwarder alive and its log matching PATTERN.
refused() {
	local tag=$1 what=$2 pat=$3 cert=$4 peer=$5 name=$6
	P=$(free_port)
	start_rsyslog "$tag" "$P" "$cert" "$peer"
	new_state "s-$tag"
	start_fwd "$tag" "s-$tag" --collector "127.0.0.1:$P" --collector-name "$name"
	sleep 3
	if [ -z "$(ls -A "$W/out-$tag")" ] && kill -0 "$FWD_PID" 2>/dev/null &&
	   grep -q -- "$pat" "$W/fwd-$tag.log" && grep -q "last-error .*$pat" "$W/s-$tag/status"; then
		ok "$what: refused, nothing written ($(grep -m1 -o -- "$pat.\{0,60\}" "$W/fwd-$tag.log"))"
	else
		ls -l "$W/out-$tag" | diag_file /dev/stdin
		tail -n 4 "$W/fwd-$tag.log" | diag_file /dev/stdin
		not_ok "$what: refused with a clear error, nothing written"
	fi
	stop_pid "$FWD_PID"
	stop_pid "$RS_PID"
}
refused f "the collector's certificate lacks the name pinned" "does not carry the name given with --collector-name" \
	collector appliance.test other.test
refused g "a CA that does not trust the collector" "does not verify with the --ca certificates" \
	rogue-collector appliance.test collector.test
refused h "an appliance the collector does not permit" "does it permit this appliance's certificate" \
	collector someone-else.test collector.test

# RELP in clear to the TLS port: an open and one syslog message.
P=$(free_port)
start_rsyslog i "$P"
line=$(head -n 1 "$(out_file a)")
msg="<110>1 - - bioflow-forward - - - $line"
offer=$'relp_version=0\nrelp_software=test\ncommands=syslog'
# (in a subshell that ignores SIGPIPE: rsyslog drops the connection)
(
	trap '' PIPE
	exec 3<>"/dev/tcp/127.0.0.1/$P" &&
	printf '1 open %d %s\n2 syslog %d %s\n' "${#offer}" "$offer" "${#msg}" "$msg" >&3
	sleep 1
	exec 3>&-
) 2>/dev/null
sleep 1
if [ -z "$(ls -A "$W/out-i")" ]; then
	ok "RELP in clear to the TLS port: nothing accepted"
else
	not_ok "RELP in clear to the TLS port: nothing accepted"
fi
stop_pid "$RS_PID"

# --- 15-17: sandbox and usage ----------------------------------------------------
( "$FWD" --sandbox-test ) >"$W/sbx.log" 2>&1
rc=$?
if [ $rc -eq 159 ]; then
	ok "--sandbox-test: a forbidden system call (ptrace) is killed by SIGSYS"
else
	diag_file "$W/sbx.log"
	not_ok "--sandbox-test: killed by SIGSYS" "exit $rc"
fi
"$FWD" --store "$STORE" --state "$W/s-a" --user root --collector 127.0.0.1:1 \
	--collector-name c --ca "$W/ca.pem" --cert "$W/appliance.pem" --key "$W/appliance.key" \
	>"$W/root.log" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "does not run as root" "$W/root.log"; then
	ok "--user root is refused"
else
	diag_file "$W/root.log"
	not_ok "--user root is refused" "exit $rc"
fi
bad=""
"$FWD" >/dev/null 2>&1; [ $? -eq 2 ] || bad="$bad no-args"
"$FWD" --collector x --collector-name c --ca a --cert b --key k >/dev/null 2>&1; [ $? -eq 2 ] || bad="$bad not-host-port"
"$FWD" --collector 127.0.0.1:1 --collector-name c --ca a --cert b --key k --witness 127.0.0.1:2 \
	>/dev/null 2>&1; [ $? -eq 2 ] || bad="$bad witness-without-name"
# Batch bounds: 1..1024 records, 8192..61440 bytes (what a collector decodes).
for o in "--batch-records 0" "--batch-records 1025" "--batch-bytes 8191" "--batch-bytes 61441"; do
	# shellcheck disable=SC2086
	"$FWD" $o --collector 127.0.0.1:1 --collector-name c --ca a --cert b --key k \
		>/dev/null 2>&1; [ $? -eq 2 ] || bad="$bad ${o// /=}"
done
"$FWD" --help | grep -q -- "--witness-key" || bad="$bad help"
"$FWD" --help | grep -q -- "--batch-records" || bad="$bad help-batch"
result "$([ -z "$bad" ]; echo $?)" "usage errors exit 2 (batch bounds too); --help" "${bad# }"

ktap_done
