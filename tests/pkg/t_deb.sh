#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The Debian packages, end to end, on a throwaway machine (root; CI):
#   - dpkg-buildpackage -us -uc -b in a scratch copy of the tree gives
#     bioreader-dkms, bioflowd, bioreader-tools, bioreader-sim-dkms and
#     bioflow-collector at MODULE_VERSION, with the files each should
#     hold; the production packages (the first three, and the collector
#     host's) hold no simulator source and a bioflowd without test hooks,
#     and an appliance's hold no collector; lintian reports no errors and
#     no warnings but those docs/install.md lists; the tree stays clean;
#   - dpkg -i installs the three production packages: files, users,
#     directories; DKMS builds the driver for the kernel the VM boots
#     (make print-kver; dkms install -k when the postinst built for other
#     kernels only) and no simulator module exists for any kernel; then
#     dpkg -i bioreader-sim-dkms, and modinfo -k finds both modules in
#     updates/dkms/; dpkg -i bioflow-collector: its user, its spool
#     directory (root:bioflow-collector 2750), its unit not enabled, the
#     installed program's sandbox kills a forbidden call;
#   - DKMS has both modules built and installed for every supported
#     kernel whose headers are installed (make print-kvers: Debian's 6.1,
#     6.12 and 6.12-rt), with the right vermagic;
#   - the VM boots with the installed modules and programs
#     (tests/vm/qemu/run.sh --installed, tests/pkg/guest-installed.sh:
#     udevd, node permissions, the daemon by the unit's command line with
#     the TPM, a verification, bioflow-verify), as a KTAP subtest, on the
#     default kernel and again on Debian's 6.12;
#   - dpkg -r, then dpkg -P (all five): modules, DKMS state, module index
#     entries and files are gone;
#   - the machine is left as found (users, groups and directories the
#     packages created are removed again, also when a step fails).
# Refuses (fails) when any of the packages is installed already: it
# would remove them.  Missing tools fail, they do not skip.  Prints KTAP;
# exit status 0 only if every check passed.
#
# Tools (Debian): dpkg-dev, debhelper, dh-dkms, lintian, dkms, kmod,
# qemu-system-x86, swtpm (tools/install-deps.sh).

set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$ROOT" || exit 1

. "$ROOT/tests/static/lib/ktap.sh"

PROD=(bioreader-dkms bioflowd bioreader-tools)	# an appliance's
SIMPKG=bioreader-sim-dkms			# demos and tests only
COLPKG=bioflow-collector			# the fleet collector host's
PKGS=("${PROD[@]}" "$SIMPKG" "$COLPKG")
VERSION=$(sed -n 's/^MODULE_VERSION("\(.*\)");$/\1/p' kernel/bioreader_main.c)
KVER=$(make -s --no-print-directory print-kver 2>/dev/null)
DKMS_DIR=/lib/modules/$KVER/updates/dkms
STOP=""	# set when the remaining steps cannot run: they fail with it
INSTALLED=0
T0=$(date +%s)

PLAN=22
echo "KTAP version 1"
echo "1..$PLAN"

# DKMS signs what it builds; without a key it makes one in /var/lib/dkms.
# A throwaway key here keeps the machine as it was (dkms creates it).
export mok_signing_key=$TMP/mok.key mok_certificate=$TMP/mok.der

# step NAME: false (and a failed result) when an earlier step stopped us.
step() {
	[ -z "$STOP" ] && return 0
	not_ok "$1" "$STOP"
	return 1
}

diag_tail() {
	sed 's/^/# /' "$1" | tail -n "${2:-30}"
}

secs() { echo "$(($(date +%s) - $1))s"; }

# What the test may change on the machine, to compare before and after.
snapshot() {
	local u

	for u in bioflowd kiosk bioflow-forward bioflow-collector; do
		getent passwd "$u" | cut -d: -f1,3 | sed 's/^/user /'
		getent group "$u" | cut -d: -f1,3 | sed 's/^/group /'
	done
	ls -d /usr/src/bioreader-* /var/lib/dkms/bioreader /var/lib/dkms/bioreader-sim \
		/var/lib/dkms/mok.* \
		/etc/bioflow /var/lib/bioflow /var/lib/bioflow-root \
		/var/spool/bioflow /var/lib/bioflow-collector /var/lib/bioflow-rsyslog \
		/lib/modules/*/updates/dkms/bioreader* \
		/var/lib/systemd/deb-systemd-helper-*/*bioflow* \
		/etc/systemd/system/*/bioflow*.service 2>/dev/null
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='pkg ${Package} ${db:Status-Abbrev}\n' "$p" 2>/dev/null
	done
	sha256sum "/lib/modules/$KVER/modules.dep" "/lib/modules/$KVER/modules.alias" 2>/dev/null
}

# Undo what the packages leave behind by design (system users, state
# directories) and whatever a failed step left; only what was not there
# before the test.
cleanup() {
	local p

	if [ $INSTALLED -eq 1 ]; then
		dpkg -P "${PKGS[@]}" >>"$TMP/cleanup.log" 2>&1
		for p in bioreader bioreader-sim; do
			if dkms status -m $p 2>/dev/null | grep -q .; then
				dkms remove -m $p -v "$VERSION" --all >>"$TMP/cleanup.log" 2>&1
			fi
		done
		for p in /usr/src/bioreader-"$VERSION" /var/lib/dkms/bioreader \
			/usr/src/bioreader-sim-"$VERSION" /var/lib/dkms/bioreader-sim \
			/etc/bioflow /var/lib/bioflow /var/lib/bioflow-root \
			/var/spool/bioflow /var/lib/bioflow-collector /var/lib/bioflow-rsyslog \
			/var/lib/dkms/mok.key /var/lib/dkms/mok.pub; do
			grep -qxF "$p" "$TMP/before" || rm -rf "$p"
		done
		grep -q '^user bioflowd:' "$TMP/before" ||
			userdel bioflowd >>"$TMP/cleanup.log" 2>&1
		if getent group bioflowd >/dev/null && ! grep -q '^group bioflowd:' "$TMP/before"; then
			groupdel bioflowd >>"$TMP/cleanup.log" 2>&1
		fi
		grep -q '^group kiosk:' "$TMP/before" ||
			groupdel kiosk >>"$TMP/cleanup.log" 2>&1
		for p in bioflow-forward bioflow-collector; do
			grep -q "^user $p:" "$TMP/before" ||
				userdel "$p" >>"$TMP/cleanup.log" 2>&1
			if getent group "$p" >/dev/null && ! grep -q "^group $p:" "$TMP/before"; then
				groupdel "$p" >>"$TMP/cleanup.log" 2>&1
			fi
		done
		INSTALLED=0
	fi
}
trap 'cleanup; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

# ---- 1: tools, root
need=""
[ "$(id -u)" -eq 0 ] || need="$need root"
for t in dpkg-buildpackage dh dh_dkms lintian dkms modinfo depmod \
	qemu-system-x86_64 swtpm make; do
	command -v "$t" >/dev/null || need="$need $t"
done
[ -n "$KVER" ] || need="$need kernel-headers(make print-kver)"
if [ -z "$need" ]; then
	ok "tools present (dpkg-dev, debhelper, dh-dkms, lintian, dkms, qemu, swtpm), root"
else
	STOP="missing:$need (tools/install-deps.sh)"
	not_ok "tools present (dpkg-dev, debhelper, dh-dkms, lintian, dkms, qemu, swtpm), root" "$STOP"
fi

# ---- 2: a machine without the packages
snapshot >"$TMP/before"
if step "none of the packages installed, no bioreader in DKMS"; then
	if grep -q '^pkg [^ ]* [^u]' "$TMP/before" ||
		dkms status -m bioreader 2>/dev/null | grep -q . ||
		dkms status -m bioreader-sim 2>/dev/null | grep -q . ||
		ls -d /usr/src/bioreader-* >/dev/null 2>&1; then
		grep '^pkg' "$TMP/before" | sed 's/^/# /'
		STOP="bioreader packages or DKMS sources present before the test"
		not_ok "none of the packages installed, no bioreader in DKMS" "$STOP"
	else
		ok "none of the packages installed, no bioreader in DKMS"
	fi
fi

# ---- 3-6: build in a scratch copy
SRC=$TMP/src/bioreader-$VERSION
if step "dpkg-buildpackage -us -uc -b: the five packages at $VERSION"; then
	t=$(date +%s)
	mkdir -p "$SRC"
	# The source files only: git's list when this is a clone, else the
	# tree without build products.
	if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$ROOT" ls-files -z --cached --others --exclude-standard |
			while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
			tar -C "$ROOT" --null -T - -cf - | tar -C "$SRC" -xf -
	else
		tar -C "$ROOT" --exclude=./.git --exclude=./build --exclude=./debian/build \
			--exclude='*.ko' --exclude='*.o' --exclude='*.mod*' \
			--exclude='.*.cmd' -cf - . | tar -C "$SRC" -xf -
	fi
	(cd "$SRC" && dpkg-buildpackage -us -uc -b) >"$TMP/build.log" 2>&1
	rc=$?
	bad=""
	for p in bioreader-dkms_${VERSION}_all bioflowd_${VERSION}_amd64 \
		bioreader-tools_${VERSION}_amd64 bioreader-sim-dkms_${VERSION}_all \
		bioflow-collector_${VERSION}_amd64; do
		[ -f "$TMP/src/$p.deb" ] || bad="$bad $p.deb"
	done
	[ -z "$bad" ] || rc=1
	[ $rc -eq 0 ] || diag_tail "$TMP/build.log"
	echo "# build: $(secs "$t")"
	if [ $rc -eq 0 ] && [ -z "$bad" ]; then
		ok "dpkg-buildpackage -us -uc -b: the five packages at $VERSION"
	else
		STOP="the packages did not build"
		not_ok "dpkg-buildpackage -us -uc -b: the five packages at $VERSION" "status $rc, missing:$bad"
	fi
fi
DEBS=("$TMP/src/bioreader-dkms_${VERSION}_all.deb" "$TMP/src/bioflowd_${VERSION}_amd64.deb"
	"$TMP/src/bioreader-tools_${VERSION}_amd64.deb")
SIMDEB=$TMP/src/bioreader-sim-dkms_${VERSION}_all.deb
COLDEB=$TMP/src/bioflow-collector_${VERSION}_amd64.deb

if step "each package holds its files"; then
	want="
bioreader-dkms usr/src/bioreader-$VERSION/dkms.conf
bioreader-dkms usr/src/bioreader-$VERSION/Kbuild
bioreader-dkms usr/src/bioreader-$VERSION/kernel/bioreader_main.c
bioreader-dkms usr/src/bioreader-$VERSION/uapi/linux/bioreader.h
bioreader-dkms lib/modprobe.d/bioreader.conf
bioflowd usr/sbin/bioflowd
bioflowd usr/sbin/bioflow-provision
bioflowd usr/bin/bioflow-verify
bioflowd lib/systemd/system/bioflowd.service
bioflowd lib/udev/rules.d/60-bioreader.rules
bioflowd usr/lib/sysusers.d/bioreader.conf
bioflowd usr/lib/tmpfiles.d/bioflowd.conf
bioflowd usr/share/man/man8/bioflowd.8.gz
bioflowd usr/share/man/man1/bioflow-verify.1.gz
bioflowd usr/share/man/man8/bioflow-provision.8.gz
bioreader-tools usr/sbin/bioctl
bioreader-tools usr/share/man/man8/bioctl.8.gz
bioreader-tools usr/share/man/man4/bioreader.4.gz
bioreader-sim-dkms usr/src/bioreader-sim-$VERSION/dkms.conf
bioreader-sim-dkms usr/src/bioreader-sim-$VERSION/Kbuild
bioreader-sim-dkms usr/src/bioreader-sim-$VERSION/kernel/sim/sim_main.c
bioreader-sim-dkms usr/src/bioreader-sim-$VERSION/uapi/linux/bioreader.h
bioflow-collector usr/sbin/bioflow-collector
bioflow-collector lib/systemd/system/bioflow-collector.service
bioflow-collector usr/lib/sysusers.d/bioflow-collector.conf
bioflow-collector usr/lib/tmpfiles.d/bioflow-collector.conf
bioflow-collector usr/share/man/man8/bioflow-collector.8.gz
bioflow-collector usr/share/doc/bioflow-collector/examples/rsyslog-bioflow.conf"
	bad=""
	for p in "${PKGS[@]}"; do
		dpkg-deb -c "$TMP/src/${p}_${VERSION}_"*.deb | awk '{ print $6 }' |
			sed 's|^\./||' >"$TMP/$p.files"
	done
	while read -r p f; do
		[ -n "$p" ] || continue
		grep -qx "$f" "$TMP/$p.files" || bad="$bad $p:$f"
	done <<<"$want"
	# no module binaries (DKMS builds them), no make install manifest
	grep -h '\.ko$\|install-manifest' "$TMP"/*.files >"$TMP/extra"
	[ ! -s "$TMP/extra" ] || bad="$bad extra:$(tr '\n' ' ' <"$TMP/extra")"
	# the collector host's files in its own package only
	for p in "${PROD[@]}" "$SIMPKG"; do
		grep -h 'bioflow-collector\|rsyslog-bioflow' "$TMP/$p.files" >"$TMP/extra"
		[ ! -s "$TMP/extra" ] || bad="$bad $p:$(tr '\n' ' ' <"$TMP/extra")"
	done
	result "$([ -z "$bad" ]; echo $?)" "each package holds its files" "${bad# }"
fi

# The product, not the test bench: the production packages hold no
# simulator (source, module or DKMS entry) and a daemon without test
# hooks (they read BIOFLOWD_TEST_FAULT: the name is their mark).
PROD_NAME="the production packages: no simulator, a bioflowd without test hooks"
if step "$PROD_NAME"; then
	bad=""
	for p in "${PROD[@]}" "$COLPKG"; do
		grep -h 'bioreader_sim\|/kernel/sim/\|bioreader-sim' "$TMP/$p.files" >"$TMP/extra"
		[ ! -s "$TMP/extra" ] || bad="$bad $p:$(tr '\n' ' ' <"$TMP/extra")"
	done
	grep -q 'bioreader-sim-dkms' <(dpkg-deb -f "${DEBS[0]}" Depends Recommends) &&
		bad="$bad bioreader-dkms-pulls-the-simulator"
	mkdir -p "$TMP/x"
	for d in "${DEBS[@]}"; do dpkg-deb -x "$d" "$TMP/x"; done
	grep -v '^#' "$TMP/x/usr/src/bioreader-$VERSION/dkms.conf" 2>/dev/null |
		grep -q bioreader_sim && bad="$bad dkms.conf-builds-the-simulator"
	[ -x "$TMP/x/usr/sbin/bioflowd" ] || bad="$bad no-bioflowd"
	grep -qa BIOFLOWD_TEST_FAULT "$TMP/x/usr/sbin/bioflowd" 2>/dev/null &&
		bad="$bad packaged-bioflowd-has-test-hooks"
	result "$([ -z "$bad" ]; echo $?)" "$PROD_NAME" "${bad# }"
fi

if step "lintian: no errors, only the warnings docs/install.md lists"; then
	t=$(date +%s)
	lintian --pedantic "$TMP/src/bioreader_${VERSION}_amd64.changes" >"$TMP/lintian.log" 2>&1
	sed 's/^/# /' "$TMP/lintian.log"
	bad=""
	grep -q '^E: ' "$TMP/lintian.log" && bad="errors"
	while read -r tag; do
		[ -z "$tag" ] || grep -qF "$tag" docs/install.md || bad="$bad unlisted-warning:$tag"
	done < <(sed -n 's/^W: [^ ]*: \([^ ]*\).*/\1/p' "$TMP/lintian.log" | sort -u)
	echo "# lintian: $(secs "$t")"
	result "$([ -z "$bad" ]; echo $?)" "lintian: no errors, only the warnings docs/install.md lists" "${bad# }"
fi

# The package build ran in the copy: nothing of it in the tree.
junk=$(ls -d debian/tmp debian/build debian/files debian/.debhelper debian/*.debhelper* \
	debian/*.substvars debian/bioreader-dkms debian/bioflowd debian/bioreader-tools \
	debian/bioflow-collector debian/bioreader-sim-dkms \
	../bioreader_*.changes ../bioreader*_*.deb 2>/dev/null)
if [ -z "$junk" ]; then
	ok "the source tree holds no package build products"
else
	not_ok "the source tree holds no package build products" "$(tr '\n' ' ' <<<"$junk")"
fi

# ---- 7-10: install
if step "dpkg -i installs the three production packages"; then
	t=$(date +%s)
	INSTALLED=1
	dpkg -i "${DEBS[@]}" >"$TMP/install.log" 2>&1
	rc=$?
	diag_tail "$TMP/install.log" 12
	echo "# dpkg -i: $(secs "$t")"
	if [ $rc -eq 0 ]; then
		ok "dpkg -i installs the three production packages"
	else
		STOP="dpkg -i failed"
		not_ok "dpkg -i installs the three production packages" "status $rc"
	fi
fi

if step "installed: every packaged file, users bioflowd and kiosk, /var/lib/bioflow"; then
	bad=""
	for p in "${PROD[@]}"; do
		while read -r f; do
			[ -n "$f" ] || continue
			[ -e "/$f" ] || bad="$bad /$f"
		done <"$TMP/$p.files"
	done
	getent passwd bioflowd >/dev/null || bad="$bad user:bioflowd"
	getent group kiosk >/dev/null || bad="$bad group:kiosk"
	[ "$(stat -c '%U %a' /var/lib/bioflow 2>/dev/null)" = "bioflowd 750" ] ||
		bad="$bad /var/lib/bioflow"
	[ "$(stat -c '%U %a' /var/lib/bioflow-root 2>/dev/null)" = "root 700" ] ||
		bad="$bad /var/lib/bioflow-root"
	result "$([ -z "$bad" ]; echo $?)" \
		"installed: every packaged file, users bioflowd and kiosk, /var/lib/bioflow" "${bad# }"
fi

# dkms_installed NAME [KV]: DKMS has NAME/$VERSION installed for KV
# (default $KVER).
dkms_installed() {
	local st kv=${2:-$KVER}

	# (dkms status runs readelf, which warns about Debian 6.12's modules)
	st=$(dkms status -m "$1" -v "$VERSION" -k "$kv" 2>/dev/null)
	echo "# after the postinst: ${st:-nothing for $kv}"
	# The postinst builds for the running kernel and the newest one; the
	# VM's may be neither (e.g. a CI machine's kernel of another ABI).
	if ! grep -q ': installed' <<<"$st"; then
		echo "# dkms install -k $kv"
		dkms install -m "$1" -v "$VERSION" -k "$kv" >"$TMP/dkms-$1-$kv.log" 2>&1 ||
			diag_tail "$TMP/dkms-$1-$kv.log"
		st=$(dkms status -m "$1" -v "$VERSION" -k "$kv" 2>/dev/null)
	fi
	echo "# $st"
	grep -q "^$1/$VERSION, $kv, [^:]*: installed" <<<"$st"
}

if step "dkms status: bioreader/$VERSION installed for $KVER"; then
	if dkms_installed bioreader; then
		ok "dkms status: bioreader/$VERSION installed for $KVER"
	else
		STOP="DKMS did not install the modules for $KVER"
		not_ok "dkms status: bioreader/$VERSION installed for $KVER" "$STOP"
	fi
fi

# The production packages alone: there is no simulator to load.
ALONE="the production packages alone: no simulator module for any kernel"
if step "$ALONE"; then
	bad=""
	left=$(ls /lib/modules/*/updates/dkms/bioreader_sim.ko* 2>/dev/null)
	[ -z "$left" ] || bad="$bad $left"
	modinfo -k "$KVER" bioreader_sim >/dev/null 2>&1 && bad="$bad modinfo-finds-bioreader_sim"
	dkms status -m bioreader-sim 2>/dev/null | grep -q . && bad="$bad dkms-has-bioreader-sim"
	result "$([ -z "$bad" ]; echo $?)" "$ALONE" "${bad# }"
fi

# The simulator's package, for the VM below.
SIM_NAME="dpkg -i bioreader-sim-dkms: bioreader-sim/$VERSION installed for $KVER"
if step "$SIM_NAME"; then
	dpkg -i "$SIMDEB" >"$TMP/install-sim.log" 2>&1
	rc=$?
	diag_tail "$TMP/install-sim.log" 8
	[ $rc -eq 0 ] && dkms_installed bioreader-sim || rc=1
	for f in $(cat "$TMP/$SIMPKG.files"); do
		[ -e "/$f" ] || { echo "# missing /$f"; rc=1; }
	done
	if [ $rc -eq 0 ]; then
		ok "$SIM_NAME"
	else
		STOP="the simulator's package did not install"
		not_ok "$SIM_NAME" "$STOP"
	fi
fi

# The collector host's package: its user reads the spool through the
# spool directory's group; the unit is installed, not enabled; the
# installed program's seccomp allowlist kills (exit 128 + SIGSYS).
COL_NAME="dpkg -i bioflow-collector: user, spool directory root:bioflow-collector 2750, unit not enabled, sandbox kills"
if step "$COL_NAME"; then
	dpkg -i "$COLDEB" >"$TMP/install-col.log" 2>&1
	rc=$?
	diag_tail "$TMP/install-col.log" 8
	bad=""
	[ $rc -eq 0 ] || bad="$bad dpkg-status-$rc"
	for f in $(cat "$TMP/$COLPKG.files"); do
		[ -e "/$f" ] || bad="$bad /$f"
	done
	getent passwd bioflow-collector >/dev/null || bad="$bad user:bioflow-collector"
	[ "$(stat -c '%U %G %a' /var/spool/bioflow 2>/dev/null)" = "root bioflow-collector 2750" ] ||
		bad="$bad /var/spool/bioflow:$(stat -c '%U:%G:%a' /var/spool/bioflow 2>&1)"
	ls /etc/systemd/system/*.wants/bioflow-collector.service >/dev/null 2>&1 &&
		bad="$bad unit-enabled"
	/usr/sbin/bioflow-collector --sandbox-test >/dev/null 2>&1
	st=$?
	[ $st -eq 159 ] || bad="$bad sandbox-test-exit-$st"
	result "$([ -z "$bad" ]; echo $?)" "$COL_NAME" "${bad# }"
fi

if step "modinfo -k $KVER: both modules in $DKMS_DIR, version $VERSION"; then
	bad=""
	for m in bioreader bioreader_sim; do
		f=$(modinfo -k "$KVER" -n $m 2>&1)
		case "$f" in
		"$DKMS_DIR/$m.ko" | "$DKMS_DIR/$m.ko."[gxz]*) ;;
		*) bad="$bad $m:$f" ;;
		esac
		[ "$(modinfo -k "$KVER" -F version $m 2>/dev/null)" = "$VERSION" ] ||
			bad="$bad $m:version"
		[ "$(modinfo -k "$KVER" -F vermagic $m 2>/dev/null | cut -d' ' -f1)" = "$KVER" ] ||
			bad="$bad $m:vermagic"
	done
	result "$([ -z "$bad" ]; echo $?)" "modinfo -k $KVER: both modules in $DKMS_DIR, version $VERSION" "${bad# }"
fi

# Every supported kernel installed here: DKMS builds both modules for it.
KVERS=$(make -s --no-print-directory print-kvers 2>/dev/null)
ALL_NAME="DKMS: both modules built and installed for every kernel with headers ($(echo $KVERS))"
if step "$ALL_NAME"; then
	bad=""
	for kv in $KVERS; do
		for m in bioreader bioreader-sim; do
			dkms_installed $m "$kv" || bad="$bad $m@$kv"
		done
		for m in bioreader bioreader_sim; do
			[ "$(modinfo -k "$kv" -F vermagic $m 2>/dev/null | cut -d' ' -f1)" = "$kv" ] ||
				bad="$bad $m@$kv:vermagic"
		done
	done
	[ -n "$KVERS" ] || bad="no kernels (make print-kvers)"
	result "$([ -z "$bad" ]; echo $?)" "$ALL_NAME" "${bad# }"
fi

# vm_installed NAME DIR [run.sh options]: the installed system in the VM.
vm_installed() {
	local name=$1 dir=$2 t rc

	shift 2
	t=$(date +%s)
	bash tests/vm/qemu/run.sh -q --installed --timeout 600 --out "$TMP/$dir" "$@" \
		-- bash tests/pkg/guest-installed.sh >"$TMP/$dir.log" 2>&1
	rc=$?
	sed 's/^/    /' "$TMP/$dir/output.log" 2>/dev/null
	echo "# $(tail -n 1 "$TMP/$dir.log")"
	echo "# VM: $(secs "$t")"
	if [ -s "$TMP/$dir/klog-issues" ]; then
		echo "# kernel log not clean:"
		diag_tail "$TMP/$dir/klog-issues"
	fi
	[ $rc -eq 0 ] || diag_tail "$TMP/$dir.log" 15
	result $rc "$name" "run.sh status $rc"
}

# ---- the VM, on the installed system: the default kernel, then 6.12
VM_NAME="VM boots with the installed modules: udev, permissions, daemon by the unit, verification"
if step "$VM_NAME"; then
	vm_installed "$VM_NAME" vm
fi
K612=$(for kv in $KVERS; do case $kv in 6.12.*-amd64) [[ $kv == *-rt-* ]] || echo "$kv" ;; esac; done | head -n 1)
VM612_NAME="VM boots Debian's 6.12 (${K612:-not installed}) with the installed modules: the same checks"
if step "$VM612_NAME"; then
	if [ -z "$K612" ]; then
		not_ok "$VM612_NAME" "no 6.12 kernel headers installed (tools/install-deps.sh)"
	else
		vm_installed "$VM612_NAME" vm612 --kver "$K612"
	fi
fi

# ---- 12-16: remove, purge, as found
if [ $INSTALLED -eq 1 ]; then
	t=$(date +%s)
	dpkg -r "${PKGS[@]}" >"$TMP/remove.log" 2>&1
	rc=$?
	[ $rc -eq 0 ] || diag_tail "$TMP/remove.log"
	echo "# dpkg -r: $(secs "$t")"
	result $rc "dpkg -r removes the five packages"

	bad=""
	left=$(ls /lib/modules/*/updates/dkms/bioreader*.ko* 2>/dev/null)
	[ -z "$left" ] || bad="$bad modules:$(tr '\n' ' ' <<<"$left")"
	dkms status -m bioreader 2>/dev/null | grep -q . && bad="$bad dkms-status"
	dkms status -m bioreader-sim 2>/dev/null | grep -q . && bad="$bad dkms-status-sim"
	modinfo -k "$KVER" bioreader >/dev/null 2>&1 && bad="$bad modinfo-still-finds-bioreader"
	modinfo -k "$KVER" bioreader_sim >/dev/null 2>&1 && bad="$bad modinfo-still-finds-bioreader_sim"
	result "$([ -z "$bad" ]; echo $?)" \
		"after dpkg -r: no modules in updates/dkms, nothing in dkms status, depmod index updated" "${bad# }"

	bad=""
	for p in "${PKGS[@]}"; do
		while read -r f; do
			[ -f "/$f" ] && bad="$bad /$f"
		done <"$TMP/$p.files"
	done
	[ -d "/usr/src/bioreader-$VERSION" ] && bad="$bad /usr/src/bioreader-$VERSION"
	[ -d "/usr/src/bioreader-sim-$VERSION" ] && bad="$bad /usr/src/bioreader-sim-$VERSION"
	result "$([ -z "$bad" ]; echo $?)" "after dpkg -r: the packages' files are gone" "${bad# }"

	dpkg -P "${PKGS[@]}" >"$TMP/purge.log" 2>&1
	rc=$?
	for p in "${PKGS[@]}"; do
		st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)
		case "$st" in "" | un*) ;; *) echo "# $p: $st"; rc=1 ;; esac
	done
	[ $rc -eq 0 ] || diag_tail "$TMP/purge.log"
	result $rc "dpkg -P purges them: dpkg knows none of the five"
else
	not_ok "dpkg -r removes the five packages" "${STOP:-not installed}"
	not_ok "after dpkg -r: no modules in updates/dkms, nothing in dkms status, depmod index updated" "${STOP:-not installed}"
	not_ok "after dpkg -r: the packages' files are gone" "${STOP:-not installed}"
	not_ok "dpkg -P purges them: dpkg knows none of the five" "${STOP:-not installed}"
fi

cleanup
snapshot >"$TMP/after"
if diff "$TMP/before" "$TMP/after" >"$TMP/diff"; then
	ok "the machine is left as found (users, directories, DKMS, module index)"
else
	diag_tail "$TMP/diff"
	diag_tail "$TMP/cleanup.log" 10
	not_ok "the machine is left as found (users, directories, DKMS, module index)"
fi
echo "# total: $(secs "$T0")"

ktap_done
