#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Host checks of the appliance installation (docs/install.md), all in
# scratch directories; the real system is not touched:
#   - modinfo of both modules: description, author, license, version, and
#     a description for every parameter;
#   - make install DESTDIR=... puts every file where it belongs with the
#     right mode, lists exactly those files in its manifest, and the
#     staged tree works for depmod and modprobe (the modprobe.d install
#     line passes this boot's id); make uninstall removes them all;
#   - the product, not the test bench: make install installs no simulator
#     and a bioflowd without test hooks (build/tests/bioflowd-hooks, the
#     test build, has them), and refuses a daemon that has them; make
#     install-sim installs the simulator alone;
#   - PREFIX reaches the systemd unit; sysusers.d and tmpfiles.d create
#     the daemon's user and directories in a scratch root;
#   - the unit's hardening and its systemd-analyze security score, which
#     docs/install.md records;
#   - make sign with a throwaway key: signer shown by modinfo, signature
#     verifies with openssl, signing again replaces the signature;
#   - DKMS (when the dkms package is installed): dkms add and build of
#     make dkms-source (the driver alone, no simulator source) and of make
#     dkms-source-sim (the simulator alone) against Debian's headers, in a
#     private tree.
# Prints KTAP; exit status 0 only if every check passed.
#
# Tools (Debian): make, kmod, openssl, systemd, dkms (optional).  Builds
# the modules and programs first when they are missing.

set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1

. "$ROOT/tests/static/lib/ktap.sh"

# Diagnostics of long logs: their last 40 lines.
diag_file() {
	sed 's/^/# /' "$1" | tail -n 40
}

KVER=$(make -s --no-print-directory print-kver)
KDIR=$(make -s --no-print-directory print-kdir)
VERSION=$(sed -n 's/^MODULE_VERSION("\(.*\)");$/\1/p' kernel/bioreader_main.c)
UNIT=packaging/systemd/bioflowd.service

PLAN=29
echo "KTAP version 1"
echo "1..$PLAN"

# Build what install needs, if missing (tests/run.sh has built it).
need=""
for f in kernel/bioreader.ko kernel/bioreader_sim.ko; do [ -f $f ] || need="$need modules"; done
for f in bioctl bioflow-verify bioflow-provision bioflowd tests/bioflowd-hooks; do
	[ -x build/$f ] || need="$need user"
done
if [ -n "$need" ]; then
	echo "# building:$(echo "$need" | tr ' ' '\n' | sort -u | tr '\n' ' ')"
	make -s $(echo "$need" | tr ' ' '\n' | sort -u) >"$TMP/build.log" 2>&1 ||
		diag_file "$TMP/build.log"
fi

# ---- 1-2: modinfo
for m in bioreader bioreader_sim; do
	bad=""
	for k in description author license version; do
		v=$(modinfo -F $k kernel/$m.ko 2>/dev/null)
		[ -n "$v" ] || bad="$bad no-$k"
	done
	[ "$(modinfo -F version kernel/$m.ko 2>/dev/null)" = "$VERSION" ] || bad="$bad version!=$VERSION"
	# every "parm:" line is "name:description[ (type)]"
	while read -r p; do
		case "$p" in
		*:?*) ;;
		*) bad="$bad undocumented-parm:${p%%:*}" ;;
		esac
	done < <(modinfo -F parm kernel/$m.ko 2>/dev/null)
	result "$([ -z "$bad" ]; echo $?)" "modinfo $m: description, author, license, version $VERSION, documented parameters" "${bad# }"
done
if [ -n "$(modinfo -F parm kernel/bioreader.ko | grep '^boot_id:.')" ]; then
	ok "modinfo bioreader documents boot_id"
else
	not_ok "modinfo bioreader documents boot_id"
fi

# ---- 4-10: make install into a staging directory
STAGE=$TMP/stage
make -s --no-print-directory install DESTDIR="$STAGE" PREFIX=/usr >"$TMP/install.log" 2>&1
rc=$?
[ $rc -eq 0 ] || diag_file "$TMP/install.log"
result $rc "make install DESTDIR=... PREFIX=/usr"

MOD=/lib/modules/$KVER/updates/bioreader
expect_files="
$MOD/bioreader.ko 644
/usr/sbin/bioctl 755
/usr/bin/bioflow-verify 755
/usr/sbin/bioflow-provision 755
/usr/sbin/bioflowd 755
/usr/sbin/bioflow-forward 755
/usr/lib/udev/rules.d/60-bioreader.rules 644
/usr/lib/sysusers.d/bioreader.conf 644
/usr/lib/tmpfiles.d/bioflowd.conf 644
/lib/modprobe.d/bioreader.conf 644
/usr/lib/systemd/system/bioflowd.service 644
/usr/lib/systemd/system/bioflow-forward.service 644
/usr/share/man/man4/bioreader.4 644
/usr/share/man/man8/bioctl.8 644
/usr/share/man/man8/bioflowd.8 644
/usr/share/man/man1/bioflow-verify.1 644
/usr/share/man/man8/bioflow-forward.8 644
/usr/share/bioreader/install-manifest 644"
bad=0
while read -r f mode; do
	[ -n "$f" ] || continue
	if [ ! -f "$STAGE$f" ]; then
		echo "# missing $f"; bad=1
	elif [ "$(stat -c %a "$STAGE$f")" != "$mode" ]; then
		echo "# $f: mode $(stat -c %a "$STAGE$f"), want $mode"; bad=1
	fi
done <<<"$expect_files"
result $bad "every file installed where it belongs, with its mode"

(cd "$STAGE" && find . -type f | sed 's|^\.||' | sort) >"$TMP/found"
sort "$STAGE/usr/share/bioreader/install-manifest" >"$TMP/manifest" 2>/dev/null
if [ -s "$TMP/manifest" ] && diff "$TMP/manifest" "$TMP/found" >"$TMP/diff"; then
	ok "the manifest lists exactly the files installed"
else
	diag_file "$TMP/diff"
	not_ok "the manifest lists exactly the files installed"
fi

# The product, not the test bench: no simulator, no test hook.  The
# hooks read BIOFLOWD_TEST_FAULT from the environment: a daemon without
# that name cannot be made to fault.  The test build must have it, or
# the check below would prove nothing.
MARK=BIOFLOWD_TEST_FAULT
bad=""
sims=$(cd "$STAGE" && find . -name 'bioreader_sim*' | tr '\n' ' ')
[ -z "$sims" ] || bad="$bad simulator:$sims"
grep -qa "$MARK" "$STAGE/usr/sbin/bioflowd" 2>/dev/null && bad="$bad installed-bioflowd-has-hooks"
grep -qa "$MARK" build/bioflowd 2>/dev/null && bad="$bad build/bioflowd-has-hooks"
grep -qa "$MARK" build/tests/bioflowd-hooks 2>/dev/null || bad="$bad test-build-has-no-hooks"
result "$([ -z "$bad" ]; echo $?)" \
	"make install: no simulator module, a bioflowd without test hooks (the test build has them)" "${bad# }"
make -s --no-print-directory check-release-daemon DAEMON_BIN=build/tests/bioflowd-hooks \
	>"$TMP/refuse.log" 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q 'test hooks' "$TMP/refuse.log" &&
   make -s --no-print-directory check-release-daemon >>"$TMP/refuse.log" 2>&1; then
	ok "make install refuses a bioflowd built with the test hooks"
else
	diag_file "$TMP/refuse.log"
	not_ok "make install refuses a bioflowd built with the test hooks"
fi

# depmod on the staged tree: our module is found and resolved.
if depmod -b "$STAGE" "$KVER" >"$TMP/depmod.log" 2>&1 &&
   grep -q "^updates/bioreader/bioreader.ko:" "$STAGE/lib/modules/$KVER/modules.dep" &&
   grep -q "platform:bioreader bioreader$" "$STAGE/lib/modules/$KVER/modules.alias"; then
	ok "depmod indexes the installed module and the platform alias"
else
	diag_file "$TMP/depmod.log"
	not_ok "depmod indexes the installed module and the platform alias"
fi

# The simulator, for demos and integration tests: make install-sim.
make -s --no-print-directory install-sim DESTDIR="$STAGE" PREFIX=/usr >"$TMP/install-sim.log" 2>&1
rc=$?
got=$(cd "$STAGE" && find . -newer "$STAGE/usr/share/bioreader/install-manifest" -type f \
	-not -path "./lib/modules/$KVER/modules.*" | sed 's|^\.||' | sort | tr '\n' ' ')
want="$MOD/bioreader_sim.ko /usr/share/bioreader/install-manifest-sim "
if [ $rc -eq 0 ] && [ "$got" = "$want" ] &&
   [ "$(sort "$STAGE/usr/share/bioreader/install-manifest-sim" | tr '\n' ' ')" = "$want" ]; then
	ok "make install-sim: the simulator module and its manifest, nothing else"
else
	diag_file "$TMP/install-sim.log"
	echo "# installed: $got"
	not_ok "make install-sim: the simulator module and its manifest, nothing else"
fi
# bioreader_sim needs configfs, which the kernel's own tree provides.
dep=$(modinfo -F depends "$STAGE$MOD/bioreader_sim.ko")
if depmod -b "$STAGE" "$KVER" >"$TMP/depmod.log" 2>&1 &&
   grep -q "^updates/bioreader/bioreader_sim.ko:" "$STAGE/lib/modules/$KVER/modules.dep" &&
   [ "$dep" = configfs ] &&
   modprobe -S "$KVER" --show-depends configfs >/dev/null 2>&1; then
	ok "depmod indexes bioreader_sim; its dependency (configfs) resolves for $KVER"
else
	diag_file "$TMP/depmod.log"
	not_ok "depmod indexes bioreader_sim; its dependency (configfs) resolves for $KVER" "depends='$dep'"
fi

# modprobe reads the staged modprobe.d: it runs the install line.
modprobe -d "$STAGE" -S "$KVER" -C "$STAGE/lib/modprobe.d" -n -v bioreader \
	>"$TMP/mp" 2>&1
if grep -q '^install /sbin/modprobe --ignore-install bioreader boot_id=\$(cat /proc/sys/kernel/random/boot_id)' "$TMP/mp"; then
	ok "modprobe bioreader runs the modprobe.d install line"
else
	diag_file "$TMP/mp"
	not_ok "modprobe bioreader runs the modprobe.d install line"
fi
# What that line runs: this boot's id, and command-line options kept.
line=$(sed -n 's/^install bioreader //p' "$STAGE/lib/modprobe.d/bioreader.conf")
line=${line//\$CMDLINE_OPTS/audit_queue_len=64}
line=${line//\/sbin\/modprobe/echo}
got=$(sh -c "$line" 2>&1)
want="--ignore-install bioreader boot_id=$(cat /proc/sys/kernel/random/boot_id) audit_queue_len=64"
if [ "$got" = "$want" ]; then
	ok "the install line passes this boot's id and the given options"
else
	echo "# got:  $got"
	echo "# want: $want"
	not_ok "the install line passes this boot's id and the given options"
fi

# ---- 11: uninstall
rm -f "$STAGE/lib/modules/$KVER"/modules.*
make -s --no-print-directory uninstall DESTDIR="$STAGE" PREFIX=/usr >"$TMP/uninstall.log" 2>&1
rc=$?
left=$(cd "$STAGE" && find . -type f | sort | tr '\n' ' ')
make -s --no-print-directory uninstall-sim DESTDIR="$STAGE" PREFIX=/usr >>"$TMP/uninstall.log" 2>&1
rc=$((rc | $?))
left2=$(cd "$STAGE" && find . -type f | head -n 5)
if [ $rc -eq 0 ] && [ "$left" = "./lib/modules/$KVER/updates/bioreader/bioreader_sim.ko ./usr/share/bioreader/install-manifest-sim " ] &&
   [ -z "$left2" ] && [ ! -d "$STAGE$MOD" ]; then
	ok "make uninstall removes the product's files, make uninstall-sim the simulator's"
else
	diag_file "$TMP/uninstall.log"
	echo "# left after uninstall: $left; after uninstall-sim: $left2"
	not_ok "make uninstall removes the product's files, make uninstall-sim the simulator's"
fi

# ---- 12-14: PREFIX, sysusers.d, tmpfiles.d
ROOT2=$TMP/root2
make -s --no-print-directory install DESTDIR="$ROOT2" PREFIX=/opt/bioreader >"$TMP/install2.log" 2>&1
if grep -qx 'ExecStart=/opt/bioreader/sbin/bioflowd .*' "$ROOT2/usr/lib/systemd/system/bioflowd.service" 2>/dev/null &&
   [ -x "$ROOT2/opt/bioreader/sbin/bioflowd" ] &&
   [ -f "$ROOT2/opt/bioreader/share/bioreader/install-manifest" ]; then
	ok "PREFIX=/opt/bioreader reaches the programs, manifest and unit"
else
	diag_file "$TMP/install2.log"
	not_ok "PREFIX=/opt/bioreader reaches the programs, manifest and unit"
fi
if ! command -v systemd-sysusers >/dev/null || ! command -v systemd-tmpfiles >/dev/null; then
	not_ok "sysusers.d creates the daemon's user" "tool missing: systemd"
	not_ok "tmpfiles.d creates the unit's ReadWritePaths" "tool missing: systemd"
else
	mkdir -p "$ROOT2/etc"
	systemd-sysusers --root="$ROOT2" >"$TMP/su.log" 2>&1
	if grep -q '^bioflowd:' "$ROOT2/etc/passwd" 2>/dev/null &&
	   grep -q '^kiosk:' "$ROOT2/etc/group" 2>/dev/null; then
		ok "sysusers.d creates the daemon's user"
	else
		diag_file "$TMP/su.log"
		not_ok "sysusers.d creates the daemon's user"
	fi
	systemd-tmpfiles --root="$ROOT2" --create >"$TMP/tf.log" 2>&1
	uid=$(awk -F: '$1 == "bioflowd" { print $3 }' "$ROOT2/etc/passwd" 2>/dev/null)
	bad=0
	for d in $(sed -n 's/^ReadWritePaths=\([^-].*\)$/\1/p' "$UNIT"); do
		[ -d "$ROOT2$d" ] || { echo "# $d not created"; bad=1; }
	done
	[ "$(stat -c '%a %u' "$ROOT2/var/lib/bioflow" 2>/dev/null)" = "750 $uid" ] ||
		{ echo "# /var/lib/bioflow: $(stat -c '%a %u' "$ROOT2/var/lib/bioflow" 2>&1), want 750 $uid"; bad=1; }
	[ "$(stat -c '%a %u' "$ROOT2/var/lib/bioflow-root" 2>/dev/null)" = "700 0" ] ||
		{ echo "# /var/lib/bioflow-root not 0700 root"; bad=1; }
	[ $bad -eq 0 ] || diag_file "$TMP/tf.log"
	result $bad "tmpfiles.d creates the unit's ReadWritePaths"
fi

# ---- 15-18: the unit
bad=""
want_lines="
CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_SYS_CHROOT CAP_CHOWN CAP_FOWNER CAP_DAC_READ_SEARCH
NoNewPrivileges=yes
ProtectSystem=strict
PrivateNetwork=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
DevicePolicy=closed
RestrictAddressFamilies=AF_UNIX AF_NETLINK
SystemCallArchitectures=native"
while read -r l; do
	[ -z "$l" ] || grep -qxF "$l" "$UNIT" || bad="$bad [$l]"
done <<<"$want_lines"
devs=$(sed -n 's/^DeviceAllow=\([^ ]*\).*/\1/p' "$UNIT" | sort | tr '\n' ' ')
[ "$devs" = "/dev/bioreader-audit /dev/tpmrm0 " ] || bad="$bad DeviceAllow=$devs"
grep -q '^ExecStart=/usr/sbin/bioflowd ' "$UNIT" || bad="$bad ExecStart"
result "$([ -z "$bad" ]; echo $?)" "unit: capability set, sandboxing and device list" "${bad# }"

# Forwarding's lag: /etc/bioflow/forward.conf sets BIOFLOWD_FORWARD_ARGS for
# bioflowd.service (docs/deployment.md); systemd splits an unquoted $VAR into
# words, as the shell does here.  The path must be the forwarder unit's
# StateDirectory's status file, and bioflowd must know the option.
bad=
FUNIT=packaging/systemd/bioflow-forward.service
grep -qx 'EnvironmentFile=-/etc/bioflow/forward.conf' "$UNIT" || bad="$bad EnvironmentFile"
exec_line=$(sed -n 's/^ExecStart=//p' "$UNIT")
case "$exec_line" in *' $BIOFLOWD_FORWARD_ARGS') ;; *) bad="$bad ExecStart-args" ;; esac
conf=$(grep -o 'BIOFLOWD_FORWARD_ARGS="[^"]*"' docs/deployment.md | head -n 1)
sdir=$(sed -n 's/^StateDirectory=//p' "$FUNIT")
words=$(eval "$conf"; for w in $BIOFLOWD_FORWARD_ARGS; do printf '%s\n' "$w"; done)
[ "$words" = "$(printf -- '--forward-status\n/var/lib/%s/status' "$sdir")" ] ||
	bad="$bad deployment.md:[$conf] state:$sdir"
build/bioflowd --help 2>&1 | grep -q -- '--forward-status FILE' || bad="$bad bioflowd-option"
result "$([ -z "$bad" ]; echo $?)" \
	"unit: forward.conf's BIOFLOWD_FORWARD_ARGS reaches bioflowd, naming the forwarder's status" \
	"${bad# }"

if ! command -v systemd-analyze >/dev/null; then
	not_ok "systemd-analyze security accepts the unit" "tool missing: systemd-analyze"
	not_ok "docs/install.md records the unit's exposure score" "tool missing: systemd-analyze"
else
	systemd-analyze security --offline=true "$UNIT" >"$TMP/sec" 2>"$TMP/sec.err"
	score=$(sed -n 's/^.*Overall exposure level for bioflowd.service: \([0-9.]*\) .*$/\1/p' "$TMP/sec")
	if [ -n "$score" ] && [ ! -s "$TMP/sec.err" ] &&
	   awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }'; then
		ok "systemd-analyze security: exposure $score (at most 2.5), no unit warnings"
	else
		diag_file "$TMP/sec.err"
		not_ok "systemd-analyze security: exposure '$score' (at most 2.5), no unit warnings"
	fi
	if [ -n "$score" ] && grep -q "exposure level.*: $score" docs/install.md &&
	   grep -qF 'systemd-analyze security --offline=true packaging/systemd/bioflowd.service' docs/install.md; then
		ok "docs/install.md records the unit's exposure score ($score) and the command"
	else
		not_ok "docs/install.md records the unit's exposure score ($score) and the command"
	fi
fi
if grep -q 'mokutil --import' docs/install.md 2>/dev/null; then
	ok "docs/install.md documents MOK enrolment"
else
	not_ok "docs/install.md documents MOK enrolment"
fi

# ---- 19-22: make sign with a throwaway key
SIGN_OK=0
if ! command -v openssl >/dev/null; then
	not_ok "throwaway signing key" "tool missing: openssl"
else
	openssl req -new -x509 -newkey rsa:2048 -nodes -days 1 -utf8 -sha256 \
		-subj "/CN=bioreader throwaway signing key/" \
		-keyout "$TMP/signing.pem" -out "$TMP/signing.crt" \
		>"$TMP/openssl.log" 2>&1
	result $? "throwaway signing key (openssl req)"
	[ -s "$TMP/signing.pem" ] && SIGN_OK=1
fi
if [ $SIGN_OK -eq 1 ]; then
	mkdir -p "$TMP/sign"
	cp kernel/bioreader.ko kernel/bioreader_sim.ko "$TMP/sign/"
	# the unsigned image of each, to check the signature against
	for m in bioreader bioreader_sim; do
		cp "$TMP/sign/$m.ko" "$TMP/sign/$m.unsigned"
		if [ "$(tail -c 28 "$TMP/sign/$m.ko" | head -c 27 | tr -d '\0')" = "~Module signature appended~" ]; then
			echo "# kernel/$m.ko is signed already"
		fi
	done
	make -s --no-print-directory sign KEY="$TMP/signing.pem" CERT="$TMP/signing.crt" \
		SIGN_MODULES="$TMP/sign/bioreader.ko $TMP/sign/bioreader_sim.ko" \
		>"$TMP/sign.log" 2>&1
	rc=$?
	bad=0
	for m in bioreader bioreader_sim; do
		s=$(modinfo -F signer "$TMP/sign/$m.ko" 2>/dev/null)
		h=$(modinfo -F sig_hashalgo "$TMP/sign/$m.ko" 2>/dev/null)
		k=$(modinfo -F sig_key "$TMP/sign/$m.ko" 2>/dev/null)
		if [ "$s" != "bioreader throwaway signing key" ] || [ "$h" != sha256 ] || [ -z "$k" ]; then
			echo "# $m: signer='$s' sig_hashalgo='$h' sig_key='$k'"; bad=1
		fi
	done
	[ $rc -eq 0 ] && [ $bad -eq 0 ] || diag_file "$TMP/sign.log"
	result $((rc | bad)) "make sign: modinfo shows signer, sig_key, sig_hashalgo sha256"

	# The appended PKCS#7 is a detached signature over the unsigned module.
	bad=0
	for m in bioreader bioreader_sim; do
		f=$TMP/sign/$m.ko
		size=$(stat -c %s "$f")
		usize=$(stat -c %s "$TMP/sign/$m.unsigned")
		siglen=$((size - usize - 12 - 28))
		tail -c +$((usize + 1)) "$f" | head -c $siglen >"$TMP/sign/$m.p7"
		openssl cms -verify -binary -inform DER -in "$TMP/sign/$m.p7" \
			-content "$TMP/sign/$m.unsigned" -certfile "$TMP/signing.crt" \
			-nointern -noverify -out /dev/null >"$TMP/cms.log" 2>&1 ||
			{ diag_file "$TMP/cms.log"; bad=1; }
	done
	result $bad "the signature verifies against the certificate (openssl cms)"

	cp "$TMP/sign/bioreader.ko" "$TMP/sign/once.ko"
	make -s --no-print-directory sign KEY="$TMP/signing.pem" CERT="$TMP/signing.crt" \
		SIGN_MODULES="$TMP/sign/bioreader.ko" >"$TMP/sign2.log" 2>&1
	rc=$?
	if [ $rc -eq 0 ] &&
	   [ "$(stat -c %s "$TMP/sign/bioreader.ko")" = "$(stat -c %s "$TMP/sign/once.ko")" ] &&
	   [ "$(grep -ac 'Module signature appended' "$TMP/sign/bioreader.ko")" = 1 ]; then
		ok "signing a signed module replaces its signature"
	else
		diag_file "$TMP/sign2.log"
		not_ok "signing a signed module replaces its signature"
	fi
else
	not_ok "make sign: modinfo shows signer, sig_key, sig_hashalgo sha256" "no key"
	not_ok "the signature verifies against the certificate (openssl cms)" "no key"
	not_ok "signing a signed module replaces its signature" "no key"
fi

# ---- 23-24: DKMS, in a private source and dkms tree
make -s --no-print-directory dkms-source DESTDIR="$TMP/dkms" >"$TMP/dkmssrc.log" 2>&1
make -s --no-print-directory dkms-source-sim DESTDIR="$TMP/dkms" >>"$TMP/dkmssrc.log" 2>&1
SRC=$TMP/dkms/usr/src/bioreader-$VERSION
SIMSRC=$TMP/dkms/usr/src/bioreader-sim-$VERSION
if [ -f "$SRC/dkms.conf" ] && [ -f "$SRC/Kbuild" ] && [ -f "$SRC/kernel/Kbuild" ] &&
   [ -f "$SRC/uapi/linux/bioreader.h" ] && [ -f "$SRC/kernel/bioreader_main.c" ] &&
   grep -qx "PACKAGE_VERSION=\"$VERSION\"" "$SRC/dkms.conf"; then
	ok "make dkms-source: sources and dkms.conf (version $VERSION)"
else
	diag_file "$TMP/dkmssrc.log"
	not_ok "make dkms-source: sources and dkms.conf (version $VERSION)"
fi
# The driver's tree neither holds nor builds the simulator; the
# simulator's tree holds it and not the driver.
bad=""
[ ! -e "$SRC/kernel/sim" ] || bad="$bad driver-tree-has-kernel/sim"
grep -v '^#' "$SRC/dkms.conf" | grep -q 'bioreader_sim' && bad="$bad driver-dkms.conf-names-the-simulator"
[ "$(grep '^BUILT_MODULE_NAME' "$SRC/dkms.conf" | tr '\n' ' ')" = 'BUILT_MODULE_NAME[0]="bioreader" ' ] ||
	bad="$bad driver-dkms.conf-modules"
[ -f "$SIMSRC/kernel/sim/sim_main.c" ] || bad="$bad sim-tree-lacks-kernel/sim"
ls "$SIMSRC"/kernel/bioreader_*.c >/dev/null 2>&1 && bad="$bad sim-tree-has-the-driver"
grep -qx 'PACKAGE_NAME="bioreader-sim"' "$SIMSRC/dkms.conf" 2>/dev/null || bad="$bad sim-dkms.conf-name"
grep -qx "PACKAGE_VERSION=\"$VERSION\"" "$SIMSRC/dkms.conf" 2>/dev/null || bad="$bad sim-dkms.conf-version"
[ "$(grep '^BUILT_MODULE_NAME' "$SIMSRC/dkms.conf" 2>/dev/null | tr '\n' ' ')" = 'BUILT_MODULE_NAME[0]="bioreader_sim" ' ] ||
	bad="$bad sim-dkms.conf-modules"
result "$([ -z "$bad" ]; echo $?)" \
	"make dkms-source holds the driver alone, make dkms-source-sim the simulator alone" "${bad# }"

DKMS_NAME="dkms add/build of bioreader and bioreader-sim against $KVER headers"
if ! command -v dkms >/dev/null; then
	skip "$DKMS_NAME" "dkms not installed"
elif [ -z "$KDIR" ]; then
	not_ok "$DKMS_NAME" "no kernel headers"
else
	mkdir -p "$TMP/dkms/tree"
	# dkms signs what it builds; with its own default key it would create
	# /var/lib/dkms/mok.key, so give it the throwaway one (or none).
	export mok_signing_key=$TMP/signing.pem mok_certificate=$TMP/signing.crt
	[ $SIGN_OK -eq 1 ] || export sign_file=/nonexistent
	args=(--sourcetree "$TMP/dkms/usr/src" --dkmstree "$TMP/dkms/tree")
	{
		for p in bioreader bioreader-sim; do
			dkms add "${args[@]}" "$p/$VERSION" &&
			dkms build "${args[@]}" "$p/$VERSION" -k "$KVER" \
				--kernelsourcedir "$KDIR" || exit 1
		done
	} >"$TMP/dkms.log" 2>&1
	rc=$?
	unset mok_signing_key mok_certificate sign_file
	bad=0
	for pm in bioreader:bioreader bioreader-sim:bioreader_sim; do
		p=${pm%%:*} m=${pm#*:}
		out=$TMP/dkms/tree/$p/$VERSION/$KVER/$(uname -m)/module
		f=$(ls "$out/$m.ko"* 2>/dev/null | head -n 1)
		if [ -z "$f" ] || [ "$(modinfo -F vermagic "$f" | cut -d' ' -f1)" != "$KVER" ] ||
		   [ "$(modinfo -F version "$f")" != "$VERSION" ]; then
			echo "# $p: $m not built for $KVER"; bad=1
		fi
		# each tree builds its own module only
		others=$(ls "$out" 2>/dev/null | grep -v "^$m\.ko" | tr '\n' ' ')
		[ -z "$others" ] || { echo "# $p built also: $others"; bad=1; }
	done
	[ $rc -eq 0 ] && [ $bad -eq 0 ] || diag_file "$TMP/dkms.log"
	result $((rc | bad)) "$DKMS_NAME"
fi

ktap_done
