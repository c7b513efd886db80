# SPDX-License-Identifier: GPL-2.0-only
#
# The fleet tests' pieces (t_fleet.sh, t_fleet_faults.sh, t_fleet_lag.sh,
# t_fleet_resend.sh), sourced after their setup (lib/fleet_setup.sh):
# rsyslogd with the instantiated shipped configuration, the collector
# with its witness, the forwarder and its state directories, stopping and
# killing, and the checks that the collector's copy is the store.  Uses
# the callers' W, RP, WP, MODDIR, COL, FWD, SEGMAX, STORE, STORE_TOOL,
# COPY, VERIFY, VKEY, OID; sets RS_PID, COL_PID, FWD_PID and CS.

start_rsyslog() {
	rsyslogd -n -f "$W/rsyslog.conf" -i "$W/rsyslog.pid" -M "$MODDIR" >>"$W/rsyslogd.log" 2>&1 &
	RS_PID=$!
	wait_for 10 listening "$RP"
}
# The collector drops to nobody as it would to its own user: it reads the
# spool through the spool directory's group (set-group-ID, so that
# rsyslog's files get it), writes only the copies, and its keys are its
# own, mode 0600.
start_collector() {
	local g
	g=$(id -gn nobody)
	chgrp -R "$g" "$W/spool" && chmod g+rxs "$W/spool" && chmod -R g+r "$W/spool"
	chown -R nobody "$W/logs"
	install -o nobody -m 600 "$W/wkey.pem" "$W/col-wkey.pem"
	install -o nobody -m 600 "$W/witness.key" "$W/col-witness.key"
	"$COL" --no-syslog --user nobody --segment-max-bytes "$SEGMAX" --interval 100 \
		--spool "$W/spool" --logs "$W/logs" --enroll "$W/enroll" \
		--witness-listen "127.0.0.1:$WP" --witness-key "$W/col-wkey.pem" \
		--witness-name witness.test --ca "$W/ca.pem" --cert "$W/witness.pem" \
		--key "$W/col-witness.key" >>"$W/collector.log" 2>&1 &
	COL_PID=$!
	wait_for 10 listening "$WP"
}
# fwd_start STATE COLLECTOR_PORT WITNESS_PORT LOG [OPTION...]: the
# forwarder as nobody, its state in W/STATE, the appliance's certificate,
# polling the store every 50 ms and asking the witness every 100 ms, with
# the test's own OPTIONs; its output appended to LOG.
fwd_start() {
	local st=$1 cport=$2 wport=$3 log=$4
	shift 4
	"$FWD" --store "$STORE" --state "$W/$st" --user nobody --poll-ms 50 \
		--ca "$W/ca.pem" --cert "$W/appliance.pem" --key "$W/appliance.key" \
		--collector "127.0.0.1:$cport" --collector-name collector.test \
		--witness "127.0.0.1:$wport" --witness-name witness.test \
		--witness-key "$W/witness.vkey" --witness-ms 100 "$@" >>"$log" 2>&1 &
	FWD_PID=$!
}
# new_state NAME: an empty forwarder state directory $W/NAME.
new_state() {
	rm -rf "${W:?}/$1"
	mkdir "$W/$1" && chown nobody "$W/$1"
}
stop_pid() {
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
kill9() {
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
sealed() { "$STORE_TOOL" size "$STORE"; }
status_has() { grep -qx "$2" "$W/$1/status" 2>/dev/null; }
# copy_is_store: the collector's copy verifies with the root key, is not
# frozen, and its segments and epochs are the appliance's byte for byte
# (the mirror's promise with the same segment size limit; the checkpoint
# file is the copy's own, written as checkpoints arrive).
copy_is_store() {
	[ ! -e "$COPY/FROZEN" ] &&
	"$VERIFY" --root-key "$W/st/root.pem" "$COPY" >"$W/verify-copy.log" 2>&1 &&
	diff -r "$STORE/segments" "$COPY/segments" >"$W/diff.log" 2>&1 &&
	diff -r "$STORE/epochs" "$COPY/epochs" >>"$W/diff.log" 2>&1
}
# copy_size: the records in the collector's copy (0 before it exists).
copy_size() { "$STORE_TOOL" size "$COPY" 2>/dev/null || echo 0; }
# all_there STATE N: witnessed == sealed == N, the copy holds N records and
# is the store, the forwarder's cosignature of size N (in CS) verifies.
CS=
all_there() {
	local st=$1 n=$2
	CS=
	wait_for 40 status_has "$st" "witnessed $n" && status_has "$st" "sealed $n" &&
	copy_is_store && [ "$(copy_size)" = "$n" ] &&
	CS=$(ls "$W/$st/cosigs/$n"-*.note 2>/dev/null | tail -n 1) && [ -n "$CS" ] &&
	"$VERIFY" --root-key "$W/st/root.pem" --witness "$VKEY" --cosigned "$CS" "$STORE" \
		>"$W/verify-cs.log" 2>&1
}
# batched: rsyslog's spool for the appliance holds records in batches,
# some lines carrying several (fwd_store check's counts, in BATCHED).
# Uses OID.
batched() {
	BATCHED=$("$STORE_TOOL" check "$STORE" "$W/spool/$OID.log" 2>/dev/null | tail -n 1 |
		grep -o 'lines [0-9]* .*\|batches [0-9]* records-in-batches [0-9]* largest [0-9]*$')
	echo "$BATCHED" | grep -q "records-in-batches [1-9][0-9]* largest \([2-9]\|[1-9][0-9][0-9]*\)$"
}
# diags FILE...: the last lines of each as KTAP diagnostics.
diags() {
	local f
	for f in "$@"; do
		[ -f "$f" ] || continue
		echo "# --- ${f#"$W"/}"
		tail -n 12 "$f" | diag_file /dev/stdin
	done
}
