# SPDX-License-Identifier: GPL-2.0-only
#
# Shell helpers shared by the interoperability tests (tests/interop/t_*.sh).
# Sourced, not run.

# free_port: a TCP port below the ephemeral range that no socket uses.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 12000))
		ss -Htan "( sport = :$p or dport = :$p )" | grep -q . || { echo $p; return; }
	done
}

# wait_for SECONDS CMD...: until CMD succeeds (every 0.1 s); 1 if it never does.
wait_for() {
	local t=$1 i
	shift
	for i in $(seq 1 $((t * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# test_ca DIR NAME: a self-signed P-256 test CA, DIR/NAME.pem and DIR/NAME.key.
test_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1/$2.key" -out "$1/$2.pem" -days 2 -subj "/CN=test $2" >/dev/null 2>&1
}

# test_cert DIR CA NAME CN: DIR/NAME.pem (CN and subjectAltName DNS:CN, for
# servers and clients) and DIR/NAME.key, issued by DIR/CA.pem.
test_cert() {
	local d=$1 ca=$2 n=$3 cn=$4
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/$n.key" \
		-out "$d/$n.csr" -subj "/CN=$cn" >/dev/null 2>&1 &&
	printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$cn" >"$d/$n.ext" &&
	openssl x509 -req -in "$d/$n.csr" -CA "$d/$ca.pem" -CAkey "$d/$ca.key" -CAcreateserial \
		-out "$d/$n.pem" -days 2 -extfile "$d/$n.ext" >/dev/null 2>&1
}

# shipped_rsyslog_conf CONF OUT SPOOL WORK PKI PORT PEER: the shipped
# collector/rsyslog-bioflow.conf (CONF) with this test's spool and work
# directories, certificate directory (PKI/ca.pem, rsyslog.pem,
# rsyslog.key), port and permitted peer, written to OUT.  Each replacement
# must have happened: otherwise it names the setting missing and returns 1.
shipped_rsyslog_conf() {
	local conf=$1 out=$2 spool=$3 work=$4 pki=$5 port=$6 peer=$7 want
	sed -e "s|/var/spool/bioflow/|$spool/|" \
		-e "s|/var/lib/bioflow-rsyslog|$work|" \
		-e "s|/etc/bioflow/collector/|$pki/|g" \
		-e "s|port=\"2514\"|port=\"$port\"|" \
		-e "s|tls.permittedPeer=\[.*\]|tls.permittedPeer=[\"$peer\"]|" \
		"$conf" >"$out" || return 1
	for want in "$spool/" "$work" "$pki/ca.pem" "port=\"$port\"" "\"$peer\"]"; do
		grep -qF "$want" "$out" || { echo "$want"; return 1; }
	done
}

# test_cert_expired DIR CA NAME CN: like test_cert, but valid only for a
# day in 2020: expired.  `openssl x509 -days` cannot go back in time and
# OpenSSL 3.0's x509 has no -not_before/-not_after, so `openssl ca` with
# -startdate/-enddate issues it, from a throwaway database in DIR/NAME.ca/.
test_cert_expired() {
	local d=$1 ca=$2 n=$3 cn=$4 db=$1/$3.ca
	mkdir -p "$db" && : >"$db/index" && echo 01 >"$db/serial" &&
	cat >"$db/ca.cnf" <<-CNF &&
	[ca]
	default_ca = test
	[test]
	database = $db/index
	new_certs_dir = $db
	serial = $db/serial
	default_md = sha256
	policy = any
	x509_extensions = ext
	[any]
	commonName = supplied
	[ext]
	subjectAltName = DNS:$cn
	extendedKeyUsage = serverAuth,clientAuth
	CNF
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/$n.key" \
		-out "$d/$n.csr" -subj "/CN=$cn" >/dev/null 2>&1 &&
	openssl ca -batch -config "$db/ca.cnf" -cert "$d/$ca.pem" -keyfile "$d/$ca.key" \
		-in "$d/$n.csr" -out "$d/$n.pem" -notext -startdate 20200101000000Z \
		-enddate 20200102000000Z >/dev/null 2>&1 &&
	! openssl x509 -in "$d/$n.pem" -noout -checkend 0 >/dev/null 2>&1
}
