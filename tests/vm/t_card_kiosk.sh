#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The kiosk transaction end to end, inside the test VM (card-guest.sh
# runs it after the transport tests): the ID card in QEMU's USB CCID
# reader, served by the card emulator's chip on the host, read by
# `bioctl card verify` (lib/kiosk) over libusb, its template verified
# against the simulated reader's scene by the driver, the verdict back.
#
#   - the card's owner in front of the reader -> MATCH; someone else
#     holding it -> NO_MATCH; a print of the owner -> ATTACK; and the
#     SESSION_START audit record carries the declaration (ICAO PA, the
#     CSCA's and the DS's certificate fingerprints);
#   - every bad card and every failure of the card path ends with its
#     exit status (10 refused, 11 not read) and NO session: the reader's
#     session counter does not move and no SESSION_START is recorded.
#
# The emulator is switched between documents and faults in-band (its
# test-control command, CLA 80 INS EC, sent with `bioctl card apdu`).
#
# Usage: t_card_kiosk.sh CHIP_DIR      (card-issue's directory)
# KTAP on stdout; exit 0 when every check passed.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export PATH="$ROOT/build:$PATH"
CHIP=${1:?card-issue directory}
# shellcheck source=/dev/null
. "$CHIP/env"
W=$(mktemp -d)
NAME=kioskcard
AUDIT_SYSFS=/sys/class/misc/bioreader-audit
DRAIN_PID=$W/drain.pid
NODE=
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n $*"; }
nok() { n=$((n + 1)); echo "not ok $n $*"; failed=1; }
check() { # check "description" command...
	local d=$1
	shift
	if "$@"; then ok "$d"; else nok "$d"; fi
}
diag() { sed 's/^/# /' "$@"; }

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	[ -n "$NODE" ] && bioctl sim del "$NAME" >/dev/null 2>&1
	[ -s "$DRAIN_PID" ] && kill -TERM "$(cat "$DRAIN_PID")" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

# ctl TEXT: a command to the card emulator, in-band.
ctl() {
	local hex len

	hex=$(printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n')
	len=$(printf '%02X' $((${#hex} / 2)))
	bioctl card apdu "80EC0000$len$hex" >"$W/ctl.out" 2>&1 &&
		grep -q '^90 00$' "$W/ctl.out"
}

# card DOC: put DOC's card in the reader (the emulator pulls the card
# 250 ms after answering and inserts DOC's 500 ms later) and wait for it.
card() {
	ctl "load $1" || return 1
	sleep 1.2
}

mrz_of() { # the BAC key of document $1 into file $2 (never printed)
	(. "$CHIP/docs/$1/info" && printf '%s\n' "$MRZ_INFO") >"$2"
}

sessions() { cat "/sys/class/bioreader/${NODE#/dev/}/stats/sessions"; }

starts() { # SESSION_START records in the audit drain so far
	bioctl audit show "$W/audit.bin" 2>/dev/null | grep -c 'type=SESSION_START'
}

# verify LABEL DOC_FOR_MRZ [bioctl options]: bioctl card verify, its
# output in $W/LABEL.out and its exit status in $W/LABEL.rc.
verify() {
	local label=$1 mrzdoc=$2

	shift 2
	mrz_of "$mrzdoc" "$W/$label.mrz"
	timeout -k 5 120 bioctl card verify -d "$NODE" -o kiosk-7 \
		--csca "$CARD_CSCA_DIR" --crl "$CARD_CRL_DIR" --mrz "$W/$label.mrz" \
		--card-wait 8000 --timeout 20000 "$@" >"$W/$label.out" 2>&1
	echo $? >"$W/$label.rc"
}

rc_of() { cat "$W/$1.rc"; }

echo "KTAP version 1"
echo "1..42"

# --- the reader, the audit consumer -----------------------------------------
grep -qw configfs /proc/filesystems || modprobe configfs
grep -q ' /sys/kernel/config ' /proc/mounts ||
	mount -t configfs configfs /sys/kernel/config
modprobe bioreader_sim && modprobe bioreader
echo "$(cat /proc/sys/kernel/random/boot_id)" >/sys/module/bioreader/parameters/boot_id 2>/dev/null
setsid bioctl audit drain --out "$W/audit.bin" --pidfile "$DRAIN_PID" \
	</dev/null >/dev/null 2>"$W/drain.err" &
for _ in $(seq 200); do
	[ "$(cat $AUDIT_SYSFS/consumer 2>/dev/null)" = 1 ] && break
	sleep 0.05
done
out=$(bioctl sim new $NAME --width 160 --height 120 --fps 30)
NODE=$(echo "$out" | sed -n 's/.*node \(\/dev\/bioreader[0-9]*\).*/\1/p')
if [ -z "$NODE" ] || [ "$(cat $AUDIT_SYSFS/consumer 2>/dev/null)" != 1 ]; then
	echo "Bail out! no simulated reader or no audit consumer"
	diag "$W/drain.err"
	exit 1
fi
A=$(. "$CHIP/docs/genuine/info" && echo "$IDENTITY")
B=$(. "$CHIP/docs/second/info" && echo "$IDENTITY")
modprobe xhci_pci 2>/dev/null
bioctl card info --wait 20000 --no-power >/dev/null 2>&1

# --- the three outcomes -------------------------------------------------------
check "the genuine card of person $A is in the reader" card genuine
bioctl sim scene $NAME "person $A" >/dev/null
s0=$(sessions)
verify match genuine
check "person $A with their own card -> MATCH (exit 0)" test "$(rc_of match)" = 0
[ "$(rc_of match)" = 0 ] || diag "$W/match.out"
check "one session started for it" test "$(sessions)" = $((s0 + 1))
csca_fp=$(openssl x509 -in "$CARD_CSCA_DIR/csca.pem" -outform DER | sha256sum | cut -c1-64)
check "bioctl prints the CSCA's certificate fingerprint" \
	grep -q "issuer (CSCA) certificate sha256 $csca_fp" "$W/match.out"
ds_fp=$(sed -n 's/.*signer (DS) certificate sha256 *\([0-9a-f]\{64\}\).*/\1/p' "$W/match.out")
check "bioctl prints the DS's certificate fingerprint" test ${#ds_fp} = 64
check "no personal data in the output (document number, name, dates)" \
	bash -c "! grep -qiE '$(. "$CHIP/docs/genuine/info" && echo "$DOC_NUMBER|ERIKSSON|$BIRTH")' '$W/match.out'"

bioctl sim scene $NAME "person $B" >/dev/null
verify nomatch genuine
check "person $B holding $A's card -> NO_MATCH (exit 3)" test "$(rc_of nomatch)" = 3

bioctl sim scene $NAME "print $A flat matte" >/dev/null
verify attack genuine
check "a print of person $A with $A's card -> ATTACK (exit 4)" test "$(rc_of attack)" = 4
grep -q "attack class: printed photo" "$W/attack.out" ||
	diag "$W/attack.out"

check "the second person's card matches the second person" card second
bioctl sim scene $NAME "person $B" >/dev/null
verify second second
check "person $B with their own card -> MATCH" test "$(rc_of second)" = 0

check "a card with a passport-sized photo in DG2" card genuine-photo
bioctl sim scene $NAME "person $A" >/dev/null
verify photo genuine-photo
check "its template is found after the 18 KB image -> MATCH" test "$(rc_of photo)" = 0

# --- the audit record of the sessions ------------------------------------------
sleep 0.5
bioctl audit show "$W/audit.bin" >"$W/audit.txt" 2>&1
sid=$(sed -n 's/^session: \([0-9]*\).*/\1/p' "$W/match.out")
line=$(grep 'type=SESSION_START' "$W/audit.txt" | grep " session=$sid " | head -n 1)
check "the MATCH session's SESSION_START record is in the audit log" test -n "$line"
check "it declares ICAO Passive Authentication, BAC, CRL checked" \
	bash -c "grep -q 'ref_source=icao-pa ref_flags=0x5 ' <<<'$line'"
check "it carries the CSCA's fingerprint" \
	bash -c "grep -q 'ref_issuer_sha256=$csca_fp' <<<'$line'"
check "it carries the DS's fingerprint" \
	bash -c "[ -n '$ds_fp' ] && grep -q 'ref_signer_sha256=$ds_fp' <<<'$line'"
[ -n "$line" ] && echo "# $line" | cut -c1-400

# --- bad cards: refused (exit 10), no session ----------------------------------
bioctl sim scene $NAME "person $A" >/dev/null
s0=$(sessions)
k0=$(starts)
refused() { # refused DOC WHAT: the card DOC is refused with exit 10
	local doc=$1 label=refused-$1

	shift
	if ! card "$doc"; then
		nok "$* -> refused, no session (the emulator did not load $doc)"
		return
	fi
	verify "$label" "$doc"
	if [ "$(rc_of "$label")" = 10 ]; then
		ok "$* -> refused (exit 10)"
	else
		nok "$* -> refused (exit 10)"
		diag "$W/$label.out"
	fi
}
refused dg2-altered "DG2 altered after signing"
refused sod-forged "SOD signature forged"
refused ds-expired "Document Signer expired"
refused ds-revoked "Document Signer revoked (CRL)"
refused unknown-csca "Document Signer of an unknown CSCA"
refused sod-truncated "EF.SOD truncated"
refused sod-garbage "EF.SOD garbage"
refused dg1-other "DG1 of another document than the MRZ"

# wrong MRZ: the genuine card, the second person's MRZ
card genuine
verify wrongmrz second
check "wrong MRZ for the card (BAC fails) -> refused (exit 10)" test "$(rc_of wrongmrz)" = 10
grep -q "basic access control" "$W/wrongmrz.out" || diag "$W/wrongmrz.out"

# chip faults on the genuine card
fault() { # fault NAME RC WHAT
	local f=$1 want=$2 label=fault-${1%% *}

	shift 2
	card genuine && ctl "fault $f" || { nok "$* (the emulator refused the fault)"; return; }
	verify "$label" genuine
	if [ "$(rc_of "$label")" = "$want" ]; then
		ok "$* -> exit $want, no session"
	else
		nok "$* -> exit $want, no session (got $(rc_of "$label"))"
		diag "$W/$label.out"
	fi
}
fault wrong-mac 10 "a protected response with a wrong MAC"
fault truncate 10 "a protected response cut in half"
fault 6982 10 "READ BINARY answered 6982"
fault 6a82 10 "SELECT of a file answered 6A82"
fault "file-short 0102" 10 "DG2 shorter than its TLV says"
fault bad-cryptogram 10 "the chip's BAC cryptogram for another challenge"

# a card that stops answering: the first command of the read is answered
# only after 8 s, past the reader client's 5 s timeout
card genuine
ctl "silence 8000"
verify silent genuine --card-wait 0
check "a card that stops answering -> not read (exit 11)" test "$(rc_of silent)" = 11
grep -q "in time" "$W/silent.out" || diag "$W/silent.out"
sleep 4

# the card pulled mid-read (and put back 2 s later)
card genuine
ctl "remove-after 12 2000"
verify pulled genuine --card-wait 0
check "the card pulled mid-read -> not read (exit 11)" test "$(rc_of pulled)" = 11
grep -q "card" "$W/pulled.out" || diag "$W/pulled.out"
sleep 2.5

check "no session started by any bad card or failed read" test "$(sessions)" = "$s0"
check "no SESSION_START recorded for any of them" test "$(starts)" = "$k0"

# no card at all within the wait: the card goes out and the next one
# comes in only 6 s later
ctl "load genuine 6000"
sleep 0.6
verify nocard genuine --card-wait 1000
check "no card inserted in time -> exit 11" test "$(rc_of nocard)" = 11
grep -q "no card" "$W/nocard.out" || diag "$W/nocard.out"
sleep 5.5
verify after genuine
check "the next card after all of that verifies again -> MATCH" test "$(rc_of after)" = 0

# no biometric reader: said as such, before any card reader is touched
mrz_of genuine "$W/nobio.mrz"
timeout -k 5 60 bioctl card verify -d /dev/bioreader-none -o kiosk-7 \
	--csca "$CARD_CSCA_DIR" --mrz "$W/nobio.mrz" --card-wait 0 >"$W/nobio.out" 2>&1
echo $? >"$W/nobio.rc"
check "no biometric reader -> error (exit 1), no session" \
	test "$(rc_of nobio)" = 1 -a "$(sessions)" = $((s0 + 1))
check "... reported as the biometric reader's node, not the card reader" \
	grep -q "^bioctl: /dev/bioreader-none: No such file" "$W/nobio.out"
diag "$W/nobio.out"

# the reader unplugged mid-read (last: it stays unplugged)
if ctl "unplug-after 15 0"; then
	verify unplug genuine --card-wait 0
	check "the card reader unplugged mid-read -> exit 11" test "$(rc_of unplug)" = 11
	# The emulator first tells QEMU the reader is gone (VSCard
	# ReaderRemove, which drops the pending command), then device_del.
	check "... reported as the reader gone (unplugged)" \
		grep -q "reader gone" "$W/unplug.out"
	diag "$W/unplug.out"
	check "and no session for it" test "$(sessions)" = $((s0 + 1))
else
	ok "the card reader unplugged mid-read # SKIP the emulator has no QEMU monitor"
	ok "... reported as the reader gone (unplugged) # SKIP"
	ok "and no session for it # SKIP"
fi

echo "# t_card_kiosk: $n checks"
exit $failed
