# SPDX-License-Identifier: GPL-2.0-only
#
# The fleet tests' setup (t_fleet.sh, t_fleet_faults.sh, t_fleet_lag.sh,
# t_fleet_resend.sh), sourced after tests/static/lib/ktap.sh and
# lib/common.sh, once PLAN and FLEET_WHAT (what skip_all calls each test,
# e.g. "fleet test") are set.  The order a test calls them in: the host's
# checks, the work directory, the PKI, the appliance's store, ports, the
# collector host; then lib/fleet.sh for running the pieces.  Every step
# that cannot be done SKIPs the whole plan: the product is not at fault.

# skip_all REASON: every test of the plan SKIPped for REASON; ends the test.
skip_all() {
	local i
	for i in $(seq 1 "$PLAN"); do skip "$FLEET_WHAT $i" "$1"; done
	ktap_done
	exit
}

# fleet_need_host CMD...: rsyslogd with its RELP input and OpenSSL driver
# (their module directory in MODDIR), openssl, ss, sha256sum and each
# CMD, root (the forwarder and the collector drop to nobody) and the user
# nobody; SKIPs otherwise.
fleet_need_host() {
	MODDIR=$(dirname "$(ls /usr/lib/*/rsyslog/imrelp.so /usr/lib/rsyslog/imrelp.so 2>/dev/null |
		head -n 1)" 2>/dev/null)
	[ -n "$(missing rsyslogd openssl ss sha256sum "$@")" ] &&
		skip_all "no $(missing rsyslogd openssl ss sha256sum "$@")"
	[ -f "$MODDIR/imrelp.so" ] || skip_all "no rsyslog imrelp module (Debian rsyslog-relp)"
	[ -f "$MODDIR/lmnsd_ossl.so" ] || skip_all "no rsyslog OpenSSL driver (Debian rsyslog-openssl)"
	[ "$(id -u)" -eq 0 ] || skip_all "not root (the forwarder drops to nobody)"
	getent passwd nobody >/dev/null || skip_all "no user nobody"
}

# fleet_need_built HOW PROGRAM...: each PROGRAM is built, else SKIP with
# HOW, the make command that builds it.
fleet_need_built() {
	local how=$1 p
	shift
	for p in "$@"; do
		[ -x "$p" ] || skip_all "$p is not built ($how)"
	done
}

# fleet_workdir PIDVAR...: W, the work directory (ktap.sh's TMP, which
# nobody may enter: the daemons run as nobody), and a cleanup at exit
# that SIGKILLs the processes whose ids the variables PIDVAR hold (set
# here to empty) and removes W; KEEP_WORK=1 leaves W for a look.
fleet_workdir() {
	local v
	W=$TMP
	chmod 755 "$W"
	FLEET_PIDVARS="$*"
	for v in "$@"; do printf -v "$v" %s ""; done
	trap fleet_cleanup EXIT
	trap 'exit 143' TERM INT
	[ -z "${KEEP_WORK:-}" ] || trap - EXIT
}
fleet_cleanup() {
	local v p pids=
	for v in $FLEET_PIDVARS; do pids="$pids ${!v}"; done
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$TMP"
}

# fleet_pki: a fleet CA (W/ca.pem), rsyslog's certificate (collector.test),
# the witness's (witness.test) and the appliance's (appliance.test), keys
# readable by nobody; the witness's signing key W/wkey.pem.
fleet_pki() {
	(
		set -e
		test_ca "$W" ca
		test_cert "$W" ca rsyslog collector.test
		test_cert "$W" ca witness witness.test
		test_cert "$W" ca appliance appliance.test
		chmod 644 "$W"/*.key
		openssl genpkey -algorithm ed25519 -out "$W/wkey.pem" >/dev/null 2>&1
	) || skip_all "openssl could not make the test certificates"
}

# fleet_witness_vkey: the witness's verifier key, as the collector prints
# it, in W/witness.vkey and VKEY.
fleet_witness_vkey() {
	"$COL" --print-vkey --witness-key "$W/wkey.pem" --witness-name witness.test \
		>"$W/witness.vkey" 2>"$W/vkey.err" || {
		diag_file "$W/vkey.err"
		skip_all "bioflow-collector --print-vkey failed"
	}
	VKEY=$(cat "$W/witness.vkey")
}

# fleet_store: fwd_store's appliance store, W/st/store (STORE), 300
# records, its root key W/st/root.pem; readable by nobody through the
# store's group only (set-group-ID directories keep it so as it grows).
fleet_store() {
	mkdir -p "$W/st"
	"$STORE_TOOL" make "$W/st" 300 >"$W/make.log" 2>&1 || {
		diag_file "$W/make.log"
		skip_all "fwd_store make failed"
	}
	STORE=$W/st/store
	chmod 755 "$W/st"
	chgrp -R "$(id -gn nobody)" "$STORE"
	chmod -R g+rX,o-rwx "$STORE"
	find "$STORE" -type d -exec chmod g+s {} +
}

# fleet_oid: the appliance's id at the collector (OID, the first 16 hex
# digits of the SHA-256 of ORIGIN) and its copy there (COPY).
fleet_oid() {
	OID=$(printf '%s' "$ORIGIN" | sha256sum | cut -c1-16)
	COPY=$W/logs/$OID
}

# fleet_ports VAR...: a free port in each VAR, no two the same.
fleet_ports() {
	local v p ports=
	for v in "$@"; do
		p=$(free_port)
		while [[ " $ports " == *" $p "* ]]; do p=$(free_port); done
		ports="$ports $p"
		printf -v "$v" %s "$p"
	done
}

# listening PORT: something listens on TCP PORT.
listening() { ss -Htln "sport = :$1" | grep -q .; }

# fleet_collector_host: the collector host's directories (spool, rsyslog's
# work directory, the copies), the shipped rsyslog configuration (CONF)
# instantiated for this test in W/rsyslog.conf (port RP, peer
# appliance.test), and the appliance enrolled (its origin and root key).
fleet_collector_host() {
	local miss
	mkdir -p "$W/spool" "$W/rswork" "$W/logs" "$W/enroll/$OID"
	miss=$(shipped_rsyslog_conf "$CONF" "$W/rsyslog.conf" "$W/spool" "$W/rswork" "$W" "$RP" \
		appliance.test) ||
		skip_all "collector/rsyslog-bioflow.conf lacks a setting this test adapts ($miss)"
	echo "$ORIGIN" >"$W/enroll/$OID/origin"
	cp "$W/st/root.pem" "$W/enroll/$OID/root.pub.pem"
}
