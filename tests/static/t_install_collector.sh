#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Host checks of the fleet collector host's installation (docs/install.md,
# "The collector host"), all in scratch directories; the real system is
# not touched:
#   - make install-collector DESTDIR=... puts every file where it belongs
#     with the right mode and lists exactly those files in its manifest;
#     make uninstall-collector removes them all; PREFIX reaches the unit;
#   - sysusers.d creates the bioflow-collector user, tmpfiles.d the spool
#     directory root:bioflow-collector 2750 (rsyslog's files there get
#     the group) in a scratch root;
#   - the unit: its own user, no capability, only its state directory
#     writable, the spool read-only; systemd-analyze security's score,
#     which docs/install.md records.
# Prints KTAP; exit status 0 only if every check passed.
#
# Tools (Debian): make, systemd.  Builds the collector first when it is
# missing.

set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$ROOT" || exit 1

. "$ROOT/tests/static/lib/ktap.sh"

PLAN=6
echo "KTAP version 1"
echo "1..$PLAN"

UNIT=packaging/systemd/bioflow-collector.service
[ -x build/bioflow-collector ] || make -s build/bioflow-collector >"$TMP/build.log" 2>&1

# ---- 1-2: install, manifest, uninstall
D=$TMP/d
make -s --no-print-directory install-collector DESTDIR="$D" >"$TMP/install.log" 2>&1
rc=$?
want="/usr/sbin/bioflow-collector 755
/usr/lib/systemd/system/bioflow-collector.service 644
/usr/lib/sysusers.d/bioflow-collector.conf 644
/usr/lib/tmpfiles.d/bioflow-collector.conf 644
/usr/share/man/man8/bioflow-collector.8 644
/usr/share/doc/bioflow-collector/examples/rsyslog-bioflow.conf 644
/usr/share/bioreader/install-manifest-collector 644"
bad=""
[ $rc -eq 0 ] || bad="make-status-$rc"
while read -r f m; do
	[ "$(stat -c '%a' "$D$f" 2>/dev/null)" = "$m" ] || bad="$bad $f"
done <<<"$want"
(cd "$D" && find . -type f | sed 's|^\.||' | sort) >"$TMP/files"
cut -d' ' -f1 <<<"$want" | sort >"$TMP/want"
sort "$D/usr/share/bioreader/install-manifest-collector" >"$TMP/manifest" 2>/dev/null
cmp -s "$TMP/files" "$TMP/want" || bad="$bad files-differ:$(comm -3 "$TMP/files" "$TMP/want" | tr -d '\t' | tr '\n' ' ')"
cmp -s "$TMP/manifest" "$TMP/want" || bad="$bad manifest-differs"
grep -qx 'ExecStart=/usr/sbin/bioflow-collector .*' "$D/usr/lib/systemd/system/bioflow-collector.service" ||
	bad="$bad unit-execstart"
[ -z "$bad" ] || diag_file "$TMP/install.log"
result "$([ -z "$bad" ]; echo $?)" \
	"make install-collector: every file, its mode, exactly those in the manifest" "${bad# }"
make -s --no-print-directory uninstall-collector DESTDIR="$D" >"$TMP/uninstall.log" 2>&1
left=$(find "$D" -type f)
result "$([ -z "$left" ]; echo $?)" "make uninstall-collector removes them all" "$left"

# ---- 3: PREFIX
make -s --no-print-directory install-collector DESTDIR="$TMP/p" PREFIX=/opt/bioreader \
	>"$TMP/install2.log" 2>&1
if grep -qx 'ExecStart=/opt/bioreader/sbin/bioflow-collector .*' \
	"$TMP/p/usr/lib/systemd/system/bioflow-collector.service" 2>/dev/null &&
   [ -x "$TMP/p/opt/bioreader/sbin/bioflow-collector" ]; then
	ok "PREFIX=/opt/bioreader reaches the program and the unit"
else
	diag_file "$TMP/install2.log"
	not_ok "PREFIX=/opt/bioreader reaches the program and the unit"
fi

# ---- 4: sysusers.d, tmpfiles.d in a scratch root
R=$TMP/root
make -s --no-print-directory install-collector DESTDIR="$R" >"$TMP/install3.log" 2>&1
if ! command -v systemd-sysusers >/dev/null || ! command -v systemd-tmpfiles >/dev/null; then
	not_ok "sysusers.d and tmpfiles.d: the user, the spool directory" "tool missing: systemd"
else
	mkdir -p "$R/etc"
	systemd-sysusers --root="$R" >"$TMP/su.log" 2>&1
	systemd-tmpfiles --root="$R" --create >"$TMP/tf.log" 2>&1
	gid=$(awk -F: '$1 == "bioflow-collector" { print $3 }' "$R/etc/group" 2>/dev/null)
	bad=""
	grep -q '^bioflow-collector:.*:/usr/sbin/nologin$' "$R/etc/passwd" 2>/dev/null ||
		bad="$bad user"
	[ -n "$gid" ] && [ "$(stat -c '%a %u %g' "$R/var/spool/bioflow" 2>/dev/null)" = "2750 0 $gid" ] ||
		bad="$bad spool:$(stat -c '%a:%u:%g' "$R/var/spool/bioflow" 2>&1)"
	[ "$(stat -c '%a %u' "$R/var/lib/bioflow-rsyslog" 2>/dev/null)" = "700 0" ] ||
		bad="$bad rsyslog-work"
	[ -z "$bad" ] || { diag_file "$TMP/su.log"; diag_file "$TMP/tf.log"; }
	result "$([ -z "$bad" ]; echo $?)" \
		"sysusers.d creates bioflow-collector; tmpfiles.d /var/spool/bioflow root:bioflow-collector 2750" \
		"${bad# }"
fi

# ---- 5-6: the unit
bad=""
for l in "User=bioflow-collector" "CapabilityBoundingSet=" "AmbientCapabilities=" \
	"NoNewPrivileges=yes" "ProtectSystem=strict" "ReadWritePaths=/var/lib/bioflow-collector" \
	"ReadOnlyPaths=/var/spool/bioflow" "StateDirectory=bioflow-collector" "PrivateDevices=yes" \
	"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" "MemoryDenyWriteExecute=yes" \
	"ConditionPathExists=/etc/bioflow/collector.conf"; do
	grep -qx "$l" "$UNIT" || bad="$bad '$l'"
done
[ "$(grep -c '^ReadWritePaths=' "$UNIT")" -eq 1 ] || bad="$bad more-ReadWritePaths"
result "$([ -z "$bad" ]; echo $?)" \
	"the unit: its own user, no capability, only its state directory writable" "${bad# }"
if ! command -v systemd-analyze >/dev/null; then
	not_ok "systemd-analyze security: the score docs/install.md records" "tool missing"
else
	systemd-analyze security --offline=true "$UNIT" >"$TMP/sec" 2>"$TMP/sec.err"
	score=$(sed -n 's/^.*Overall exposure level for bioflow-collector.service: \([0-9.]*\) .*$/\1/p' "$TMP/sec")
	if [ -n "$score" ] && grep -q "bioflow-collector.service: $score" docs/install.md &&
	   awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
		ok "systemd-analyze security: exposure $score (at most 2.0), as docs/install.md records"
	else
		diag_file "$TMP/sec.err"
		not_ok "systemd-analyze security: exposure '$score' (at most 2.0), as docs/install.md records"
	fi
fi

ktap_done
