#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Forwarding through a real rsyslog: the configuration shipped for the
# fleet collector (collector/rsyslog-bioflow.conf, with this test's
# paths, port and peers) in an rsyslogd started here, fed over RELP with
# TLS by librelp's client (tests/interop/relp_send.c) with certificates
# made here by openssl(1), loopback only.
#
#   1. the configuration passes rsyslogd -N1
#   2. rsyslogd starts and listens
#   3. every message of a multi-epoch store (tests/interop/interop_store)
#      is in SPOOL/<oid>.log exactly, byte for byte, in order
#   4. a message carrying the largest item (16 KiB) arrives whole, and
#      so does the largest batch of records (BFL_FWD_BATCH_MSG_MAX)
#   5. other messages (not bioflow1, a bad oid field, a path in it) are
#      dropped: no other file in the spool
#   6. a client whose certificate names no permitted peer delivers nothing
#   7. bioflow-collector rebuilds the store from rsyslog's spool:
#      bioflow-verify passes on the copy, which is the store byte for byte
#
# Prints KTAP; one SKIP when rsyslogd, its imrelp or OpenSSL driver, or
# openssl is missing (Debian: rsyslog, rsyslog-relp, rsyslog-openssl).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
. "$ROOT/tests/interop/lib/common.sh"
B=$ROOT/build
CONF=$ROOT/collector/rsyslog-bioflow.conf
MODDIR=/usr/lib/x86_64-linux-gnu/rsyslog
N=7

skip_all() {
	printf 'KTAP version 1\n1..1\nok 1 rsyslog forwarding # SKIP %s\n' "$1"
	exit 0
}

RSYSLOGD=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
[ -x "$RSYSLOGD" ] || skip_all "no rsyslogd (Debian package rsyslog)"
command -v openssl >/dev/null || skip_all "no openssl"
MODDIR=$(dirname "$(ls /usr/lib/*/rsyslog/imrelp.so /usr/lib/rsyslog/imrelp.so 2>/dev/null | head -n 1)" 2>/dev/null)
[ -f "$MODDIR/imrelp.so" ] || skip_all "no imrelp (Debian package rsyslog-relp)"
[ -f "$MODDIR/lmnsd_ossl.so" ] || skip_all "no OpenSSL driver (Debian package rsyslog-openssl)"

echo "KTAP version 1"
echo "1..$N"
num=0
fails=0
ok() { num=$((num + 1)); echo "ok $num $1"; }
not_ok() { num=$((num + 1)); fails=$((fails + 1)); echo "not ok $num $1"; }
check() { if [ "$1" -eq 0 ]; then ok "$2"; else not_ok "$2"; fi; }
diag() { sed 's/^/# /' "$@"; }
finish() {
	while [ $num -lt $N ]; do not_ok "${1:-not run}"; done
	exit $((fails > 0))
}

for p in "$B/tests/interop/relp_send" "$B/tests/interop/interop_store" \
	"$B/bioflow-collector" "$B/bioflow-verify"; do
	[ -x "$p" ] || { not_ok "$p is not built (make user)"; finish "not built"; }
done

W=$(mktemp -d "${TMPDIR:-/tmp}/rsyslog-bioflow.XXXXXX") || exit 1
PID=
cleanup() {
	[ -z "$PID" ] || kill "$PID" 2>/dev/null
	[ -z "$PID" ] || wait "$PID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mkdir -p "$W/pki" "$W/spool" "$W/work" "$W/logs" "$W/enroll"

# Certificates: the fleet CA, rsyslog's (collector.test), an appliance
# (appliance-1, permitted) and another client of the same CA (intruder,
# not permitted).
(
	set -e
	cd "$W/pki"
	ec() {
		k=$1 cn=$2
		shift 2
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$k.key" -subj "/CN=$cn" "$@"
	}
	ec ca fleet-ca -x509 -days 2 -out ca.pem
	printf 'subjectAltName=DNS:collector.test\nextendedKeyUsage=serverAuth\n' >srv.ext
	ec rsyslog collector.test -out rsyslog.csr
	openssl x509 -req -in rsyslog.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile srv.ext -out rsyslog.pem
	for c in appliance-1 intruder; do
		printf 'subjectAltName=DNS:%s\nextendedKeyUsage=clientAuth\n' "$c" >"$c.ext"
		ec "$c" "$c" -out "$c.csr"
		openssl x509 -req -in "$c.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
			-extfile "$c.ext" -out "$c.pem"
	done
) >"$W/pki.log" 2>&1 || { diag "$W/pki.log"; not_ok "certificates"; finish "no certificates"; }

# A free loopback port.
PORT=
for _ in $(seq 1 20); do
	p=$((20000 + RANDOM % 20000))
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		PORT=$p
		break
	fi
done
[ -n "$PORT" ] || { not_ok "a free port"; finish "no port"; }

# The shipped configuration with this test's paths, port and peers; each
# replacement must have happened.
miss=$(shipped_rsyslog_conf "$CONF" "$W/rsyslog.conf" "$W/spool" "$W/work" "$W/pki" "$PORT" \
	appliance-1) || {
	not_ok "collector/rsyslog-bioflow.conf has the settings this test adapts ($miss)"
	finish "configuration"
}

# 1.
"$RSYSLOGD" -N1 -f "$W/rsyslog.conf" -M "$MODDIR" >"$W/check.log" 2>&1
rc=$?
[ $rc -eq 0 ] || diag "$W/check.log"
check $rc "collector/rsyslog-bioflow.conf passes rsyslogd -N1"

# 2.
"$RSYSLOGD" -n -f "$W/rsyslog.conf" -i "$W/rsyslog.pid" -M "$MODDIR" >"$W/rsyslogd.log" 2>&1 &
PID=$!
up=1
for _ in $(seq 1 100); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
		up=0
		break
	fi
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.1
done
[ $up -eq 0 ] || diag "$W/rsyslogd.log"
check $up "rsyslogd with the configuration starts and listens for RELP over TLS"
[ $up -eq 0 ] || finish "rsyslogd not running"

# The messages: a store's stream, the largest item (another log), junk.
mkdir -p "$W/a"
"$B/tests/interop/interop_store" make "$W/a" >/dev/null 2>"$W/make.log" || diag "$W/make.log"
"$B/tests/interop/relp_send" lines "$W/a/store" >"$W/expected" 2>>"$W/make.log"
"$B/tests/interop/relp_send" big bioflow.example/big >"$W/big" 2>>"$W/make.log"
"$B/tests/interop/relp_send" bigbatch bioflow.example/bigbatch >"$W/bigbatch" 2>>"$W/make.log"
origin=$(sed -n 's/^origin //p' "$W/a/store/log-info")
oid=$(printf '%s' "$origin" | sha256sum | cut -c1-16)
boid=$(printf '%s' bioflow.example/big | sha256sum | cut -c1-16)
bboid=$(printf '%s' bioflow.example/bigbatch | sha256sum | cut -c1-16)
nexp=$(wc -l <"$W/expected")
{
	echo "hello from an appliance"
	head -n 5 "$W/expected"
	echo "bioflow2 $oid rec 0 $origin AAAA"
	echo "bioflow1 ../../../tmp rec 0 $origin AAAA"
	echo "bioflow1 0123456789ABCDEF rec 0 $origin AAAA"
	tail -n +6 "$W/expected"
	cat "$W/big" "$W/bigbatch"
} >"$W/send"
send() {
	"$B/tests/interop/relp_send" send 127.0.0.1 "$PORT" "$W/pki/ca.pem" \
		"$W/pki/$1.pem" "$W/pki/$1.key" collector.test <"$2"
}
send appliance-1 "$W/send" >"$W/send.log" 2>&1 || diag "$W/send.log"

wait_lines() {
	local f=$1 n=$2
	for _ in $(seq 1 200); do
		[ -f "$f" ] && [ "$(wc -l <"$f")" -ge "$n" ] && return 0
		sleep 0.1
	done
	return 1
}
wait_lines "$W/spool/$oid.log" "$nexp"
wait_lines "$W/spool/$boid.log" 1
wait_lines "$W/spool/$bboid.log" 1
# 3.
if [ "$nexp" -gt 20 ] && cmp -s "$W/expected" "$W/spool/$oid.log"; then
	ok "all $nexp messages of the store are in SPOOL/<oid>.log byte for byte, in order"
else
	diag "$W/send.log"
	diag "$W/rsyslogd.log"
	cmp "$W/expected" "$W/spool/$oid.log" 2>&1 | diag
	not_ok "all messages of the store are in SPOOL/<oid>.log byte for byte, in order"
fi
# 4.
cmp -s "$W/big" "$W/spool/$boid.log" && cmp -s "$W/bigbatch" "$W/spool/$bboid.log" &&
	[ "$(wc -c <"$W/bigbatch")" -eq 61441 ]
check $? "the largest item (16 KiB, $(wc -c <"$W/big") bytes) and the largest batch ($(($(wc -c <"$W/bigbatch") - 1)) bytes) arrive whole"
# 5.
others=$(find "$W/spool" "$W/tmp" -mindepth 1 ! -name "$oid.log" ! -name "$boid.log" \
	! -name "$bboid.log" 2>/dev/null |
	head -n 5)
[ -z "$others" ] || echo "$others" | diag
[ -z "$others" ] && ! grep -qv '^bioflow1 ' "$W/spool/$oid.log"
check $? "other messages, an oid that is not 16 hex digits or is a path: dropped"

# 6.
before=$(cat "$W/spool/"*.log | wc -c)
head -n 3 "$W/expected" >"$W/few"
echo "bioflow1 fedcba9876543210 rec 0 intruder.example AAAA" >>"$W/few"
send intruder "$W/few" >"$W/intruder.log" 2>&1
sleep 1
after=$(cat "$W/spool/"*.log | wc -c)
[ "$before" -eq "$after" ] && [ ! -f "$W/spool/fedcba9876543210.log" ]
check $? "a client certificate naming no permitted peer: nothing written"

# 7.
mkdir -p "$W/enroll/$oid"
echo "$origin" >"$W/enroll/$oid/origin"
cp "$W/a/root.pem" "$W/enroll/$oid/root.pub.pem"
# Started as root, the collector drops to a user of its own (here nobody)
# and reads rsyslog's files (mode 0640) through the spool's group.
user=()
if [ "$(id -u)" -eq 0 ]; then
	user=(--user nobody)
	mkdir -p "$W/logs"
	chmod 711 "$W"
	chmod -R a+rX "$W/enroll" "$W/a"
	chgrp -R "$(id -gn nobody)" "$W/spool" && chmod -R g+rX "$W/spool"
	chown nobody "$W/logs"
fi
"$B/bioflow-collector" --once --no-syslog "${user[@]}" --segment-max-bytes 2048 \
	--spool "$W/spool" --logs "$W/logs" --enroll "$W/enroll" >"$W/collector.log" 2>&1 &&
	"$B/bioflow-verify" --root-key "$W/a/root.pem" "$W/logs/$oid" >"$W/verify.log" 2>&1 &&
	diff -r "$W/a/store/segments" "$W/logs/$oid/segments" >/dev/null &&
	diff -r "$W/a/store/epochs" "$W/logs/$oid/epochs" >/dev/null
rc=$?
[ $rc -eq 0 ] || diag "$W/collector.log" "$W/verify.log"
check $rc "bioflow-collector rebuilds the store from rsyslog's spool: bioflow-verify passes, byte for byte"
finish
