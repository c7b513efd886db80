#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The scale-out collector configurations (docs/forwarding.md, "More than
# one collector"): collector/rsyslog-bioflow-kafka-front.conf (imrelp over
# TLS into omkafka) and collector/rsyslog-bioflow-kafka-back.conf (imkafka
# into the spool bioflow-collector reads).  No Kafka broker here (Debian 12
# has none): each file, with this test's paths and certificates in place of
# /etc/bioflow/collector/, /var/lib/bioflow-rsyslog and /var/spool/bioflow/,
# must pass `rsyslogd -N1` (rsyslog's own parameters, templates, rulesets,
# the certificate files), and the back end must start its Kafka consumer
# (librdkafka checks the consumer's properties when it creates it) with an
# unreachable broker.  Then what the design rests on, read from the
# files: the key is the oid and decides the partition, both sides name
# the same topic, the back end is in a consumer group and writes the spool
# exactly as the single collector's configuration does.  The same checks
# on broken copies must fail: a misspelled parameter in each file, and a
# consumer property librdkafka does not know.
#
# SKIPs without rsyslogd or its imrelp, OpenSSL, omkafka and imkafka
# modules (Debian rsyslog, rsyslog-relp, rsyslog-openssl, rsyslog-kafka).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
PROPS=$ROOT/build/tests/interop/kafka_props
FRONT=$ROOT/collector/rsyslog-bioflow-kafka-front.conf
BACK=$ROOT/collector/rsyslog-bioflow-kafka-back.conf
SINGLE=$ROOT/collector/rsyslog-bioflow.conf

. "$ROOT/tests/static/lib/ktap.sh"
. "$ROOT/tests/interop/lib/common.sh"

PLAN=10
echo "KTAP version 1"
echo "1..$PLAN"

skip_all() {
	local i
	for i in $(seq 1 $PLAN); do skip "kafka configuration $i" "$1"; done
	
# --- 9, 10: librdkafka's verdict on the Kafka properties -------------------
# props FILE: its confParam and topicConfParam values as kafka_props lines
# ("global NAME=VALUE", "topic NAME=VALUE"); comment lines skipped.
props() {
	awk '/^[ \t]*#/ { next }
	     /topicConfParam=\[/ { mode = "topic" }
	     /confParam=\[/ { mode = "global" }
	     mode != "" {
		line = $0
		while (match(line, /"[^"]*"/)) {
			print mode, substr(line, RSTART + 1, RLENGTH - 2)
			line = substr(line, RSTART + RLENGTH)
		}
		if ($0 ~ /\]/) mode = ""
	     }' "$1"
}
if [ ! -x "$PROPS" ]; then
	skip "librdkafka takes both files' Kafka properties" "$PROPS is not built (make; librdkafka-dev)"
	skip "librdkafka refuses producer properties that contradict each other" "no $PROPS"
else
	props "$W/front.conf" >"$W/front.props"
	props "$W/back.conf" >"$W/back.props"
	: >"$W/props.out"
	: >"$W/bad-props.out"
	if grep -q '^topic acks=all$' "$W/front.props" &&
	   grep -q '^global enable.idempotence=true$' "$W/front.props" &&
	   grep -q '^global partition.assignment.strategy=' "$W/back.props" &&
	   "$PROPS" producer <"$W/front.props" >"$W/props.out" 2>&1 &&
	   "$PROPS" consumer <"$W/back.props" >>"$W/props.out" 2>&1; then
		ok "librdkafka takes the front's $(wc -l <"$W/front.props") producer and the back end's $(wc -l <"$W/back.props") consumer properties and creates both"
	else
		diag_file "$W/front.props"
		diag_file "$W/props.out"
		not_ok "librdkafka takes both files' Kafka properties and creates the producer and the consumer"
	fi
	sed 's/^topic acks=all$/topic acks=1/' "$W/front.props" >"$W/bad.props"
	if grep -q '^topic acks=1$' "$W/bad.props" &&
	   ! "$PROPS" producer <"$W/bad.props" >"$W/bad-props.out" 2>&1 &&
	   grep -q 'enable.idempotence' "$W/bad-props.out"; then
		ok "librdkafka refuses producer properties that contradict each other (acks=1 with idempotence)"
	else
		diag_file "$W/bad-props.out"
		not_ok "librdkafka refuses producer properties that contradict each other"
	fi
fi
ktap_done
	exit
}
MODDIR=$(dirname "$(ls /usr/lib/*/rsyslog/omkafka.so /usr/lib/rsyslog/omkafka.so 2>/dev/null |
	head -n 1)" 2>/dev/null)
[ -n "$(missing rsyslogd openssl)" ] && skip_all "no $(missing rsyslogd openssl)"
for m in omkafka imkafka imrelp lmnsd_ossl; do
	[ -f "$MODDIR/$m.so" ] || skip_all "no rsyslog module $m (Debian rsyslog-kafka, rsyslog-relp, rsyslog-openssl)"
done

W=$TMP
mkdir -p "$W/work" "$W/spool"
(
	set -e
	test_ca "$W" ca
	test_cert "$W" ca rsyslog collector.test
	test_cert "$W" ca kafka-client collector.test
	cp "$W/ca.pem" "$W/kafka-ca.pem"
) || skip_all "openssl could not make the test certificates"

# local FILE OUT: FILE with this test's paths; each replaced path must have
# been there.
local_conf() {
	grep -q '/etc/bioflow/collector/' "$1" && grep -q '/var/lib/bioflow-rsyslog' "$1" || return 1
	sed -e "s|/etc/bioflow/collector/|$W/|g" -e "s|/var/lib/bioflow-rsyslog|$W/work|g" \
		-e "s|/var/spool/bioflow/|$W/spool/|g" "$1" >"$2"
}
# check FILE: rsyslogd -N1 accepts it (its output in FILE.out).
check() { rsyslogd -N1 -f "$1" -M "$MODDIR" >"$1.out" 2>&1; }
# consumer FILE: the back end starts with the brokers replaced by an
# unreachable one, and within 3 s says nothing about its Kafka handle or
# its activation (librdkafka refuses unknown or bad properties there).
consumer() {
	sed 's|"kafka-[0-9]*\.fleet\.example:9093"|"127.0.0.1:1"|g' "$1" >"$1.run"
	timeout 3 rsyslogd -n -f "$1.run" -M "$MODDIR" -i "$W/rsyslogd.pid" >"$1.out" 2>&1
	! grep -Eq 'imkafka: error|activation of module imkafka failed|error during parsing' "$1.out"
}

# --- 1, 2: the files as shipped ------------------------------------------
for f in front back; do
	src=$FRONT
	[ $f = front ] || src=$BACK
	if local_conf "$src" "$W/$f.conf" && check "$W/$f.conf"; then
		ok "rsyslogd -N1 accepts collector/${src##*/}"
	else
		diag_file "$W/$f.conf.out" 2>/dev/null
		not_ok "rsyslogd -N1 accepts collector/${src##*/}"
	fi
done

# --- 3: the back end's consumer starts --------------------------------------
if [ -f "$W/back.conf" ] && consumer "$W/back.conf"; then
	ok "the back end's Kafka consumer starts (librdkafka takes its properties)"
else
	diag_file "$W/back.conf.out"
	not_ok "the back end's Kafka consumer starts (librdkafka takes its properties)"
fi

# --- 4: the partition key is the oid ---------------------------------------
# The key template is MSG's second field (the oid), used as a dynamic key,
# with librdkafka's partitioner of the key (partitions.auto), and only
# bioflow1 messages with a 16-hex-digit oid reach the action.  Compared
# with every blank removed.
norm() { tr -d ' \t\n' <"$1"; }
if norm "$FRONT" | grep -qF 'template(name="bioflow-kafka-key"type="list"){property(name="msg"field.number="2"field.delimiter="32")}' &&
   norm "$FRONT" | grep -qF 'key="bioflow-kafka-key"dynaKey="on"' &&
   norm "$FRONT" | grep -qF 'partitions.auto="on"' &&
   norm "$FRONT" | grep -qF 'ifre_match($msg,"^bioflow1[0-9a-f]{16}")then{action(type="omkafka"'; then
	ok "the front collectors key every item by its oid, which picks its partition"
else
	not_ok "the front collectors key every item by its oid, which picks its partition"
fi

# --- 5: one topic, one consumer group ----------------------------------------
ft=$(norm "$FRONT" | grep -o 'topic="[^"]*"' | sort -u)
bt=$(norm "$BACK" | grep -o 'topic="[^"]*"' | sort -u)
if [ -n "$ft" ] && [ "$ft" = "$bt" ] && [ "$(echo "$ft" | wc -l)" -eq 1 ] &&
   norm "$BACK" | grep -q 'consumergroup="bioflow-collector"'; then
	ok "front and back end name one topic ($ft); the back end is the consumer group bioflow-collector"
else
	echo "# front: ${ft:-none}; back: ${bt:-none}"
	not_ok "front and back end name one topic; the back end is a consumer group"
fi

# --- 6: the back end writes the spool as the single collector does ---------
# From the spool file template to the end of the bioflow ruleset, without
# the comments.
spool_part() {
	awk '/^template\(name="bioflow-spool-file"/ { on = 1 }
	     on && !/^[ \t]*#/ { print }
	     on && /^ruleset\(/ { rs = 1 }
	     rs && /^}/ { exit }' "$1"
}
spool_part "$SINGLE" >"$W/single.part"
spool_part "$BACK" >"$W/back.part"
if [ -s "$W/single.part" ] && diff -u "$W/single.part" "$W/back.part" >"$W/part.diff"; then
	ok "the back end's spool template and ruleset are collector/rsyslog-bioflow.conf's, line for line"
else
	diag_file "$W/part.diff"
	not_ok "the back end's spool template and ruleset are collector/rsyslog-bioflow.conf's"
fi

# --- 7, 8: broken copies are refused ---------------------------------------
sed 's/dynaKey="on"/dynKey="on"/' "$W/front.conf" >"$W/bad-front.conf"
sed 's/consumergroup=/consumergrp=/' "$W/back.conf" >"$W/bad-back.conf"
if grep -q dynKey "$W/bad-front.conf" && grep -q consumergrp "$W/bad-back.conf" &&
   ! check "$W/bad-front.conf" && grep -q "parameter 'dynKey' not known" "$W/bad-front.conf.out" &&
   ! check "$W/bad-back.conf" && grep -q "parameter 'consumergrp' not known" "$W/bad-back.conf.out"; then
	ok "rsyslogd -N1 refuses a misspelled parameter in each file"
else
	diag_file "$W/bad-front.conf.out" 2>/dev/null
	diag_file "$W/bad-back.conf.out" 2>/dev/null
	not_ok "rsyslogd -N1 refuses a misspelled parameter in each file"
fi
sed 's/partition.assignment.strategy=cooperative-sticky/partition.assignment.strategy=sticky-ish/' \
	"$W/back.conf" >"$W/bad-prop.conf"
if grep -q sticky-ish "$W/bad-prop.conf" && ! consumer "$W/bad-prop.conf" &&
   grep -q 'Unsupported partition.assignment.strategy' "$W/bad-prop.conf.out"; then
	ok "a consumer property librdkafka does not take stops the back end's consumer"
else
	diag_file "$W/bad-prop.conf.out"
	not_ok "a consumer property librdkafka does not take stops the back end's consumer"
fi

# --- 9, 10: librdkafka's verdict on the Kafka properties -------------------
# props FILE: its confParam and topicConfParam values as kafka_props lines
# ("global NAME=VALUE", "topic NAME=VALUE"); comment lines skipped.
props() {
	awk '/^[ \t]*#/ { next }
	     /topicConfParam=\[/ { mode = "topic" }
	     /confParam=\[/ { mode = "global" }
	     mode != "" {
		line = $0
		while (match(line, /"[^"]*"/)) {
			print mode, substr(line, RSTART + 1, RLENGTH - 2)
			line = substr(line, RSTART + RLENGTH)
		}
		if ($0 ~ /\]/) mode = ""
	     }' "$1"
}
if [ ! -x "$PROPS" ]; then
	skip "librdkafka takes both files' Kafka properties" "$PROPS is not built (make; librdkafka-dev)"
	skip "librdkafka refuses producer properties that contradict each other" "no $PROPS"
else
	props "$W/front.conf" >"$W/front.props"
	props "$W/back.conf" >"$W/back.props"
	: >"$W/props.out"
	: >"$W/bad-props.out"
	if grep -q '^topic acks=all$' "$W/front.props" &&
	   grep -q '^global enable.idempotence=true$' "$W/front.props" &&
	   grep -q '^global partition.assignment.strategy=' "$W/back.props" &&
	   "$PROPS" producer <"$W/front.props" >"$W/props.out" 2>&1 &&
	   "$PROPS" consumer <"$W/back.props" >>"$W/props.out" 2>&1; then
		ok "librdkafka takes the front's $(wc -l <"$W/front.props") producer and the back end's $(wc -l <"$W/back.props") consumer properties and creates both"
	else
		diag_file "$W/front.props"
		diag_file "$W/props.out"
		not_ok "librdkafka takes both files' Kafka properties and creates the producer and the consumer"
	fi
	sed 's/^topic acks=all$/topic acks=1/' "$W/front.props" >"$W/bad.props"
	if grep -q '^topic acks=1$' "$W/bad.props" &&
	   ! "$PROPS" producer <"$W/bad.props" >"$W/bad-props.out" 2>&1 &&
	   grep -q 'enable.idempotence' "$W/bad-props.out"; then
		ok "librdkafka refuses producer properties that contradict each other (acks=1 with idempotence)"
	else
		diag_file "$W/bad-props.out"
		not_ok "librdkafka refuses producer properties that contradict each other"
	fi
fi
ktap_done
