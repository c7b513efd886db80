#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The installed system, inside the test VM (tests/pkg/t_deb.sh boots it
# with tests/vm/qemu/run.sh --installed after installing the Debian
# packages on the host, whose root file system the VM shares):
#   - the real systemd-udevd applies the packaged rules;
#   - bioreader_sim and bioreader load from the DKMS directory
#     (updates/dkms/), bioreader through the packaged modprobe.d line
#     (the simulator is bioreader-sim-dkms's, which t_deb.sh installs for
#     this run only: the production packages do not hold it);
#   - the audit node belongs to the bioflowd user (0600), a simulated
#     reader's session node to the kiosk group (0660), with its by-path
#     link and its systemd tag; a kiosk-group user may verify, another
#     user may not open the node;
#   - the daemon runs with the ExecStart command line of the installed
#     unit, its $NAME words expanded from the unit's EnvironmentFile= as
#     systemd does (PID 1 is not systemd here) on the VM's software TPM,
#     provisioned with the installed bioflow-provision, seals a
#     verification and stops cleanly; bioflow-verify passes on its store.
# The unit's sandboxing is not exercised here: systemd-analyze checks it
# on the host (tests/static/t_install.sh).
# Only installed programs are used (PATH has no build/).  Prints KTAP;
# exit status 0 only if every check passed.

set -u
. "$BR_ROOT/tests/static/lib/ktap.sh"

PLAN=15
echo "KTAP version 1"
echo "1..$PLAN"

KVER=$(uname -r)
DKMS_DIR=/lib/modules/$KVER/updates/dkms
AUDIT=/dev/bioreader-audit
AUDIT_SYSFS=/sys/class/misc/bioreader-audit
SIM=pkgtest
TCTI=device:/dev/tpmrm0
UDEVD_PID=
FLOW_PID=
NODE=
link=

cleanup() {
	[ -z "$FLOW_PID" ] || kill -KILL "$FLOW_PID" 2>/dev/null
	[ ! -d "/sys/kernel/config/bioreader_sim/$SIM" ] ||
		bioctl sim del "$SIM" >/dev/null 2>&1
	[ -z "$UDEVD_PID" ] || kill "$UDEVD_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

# stat_is PATH "OWNER GROUP MODE": diagnostics when it is not.
stat_is() {
	local got

	got=$(stat -c '%U %G %a' "$1" 2>&1)
	[ "$got" = "$2" ] && return 0
	echo "# $1: $got, want $2"
	return 1
}

# ---- 1: the installed programs, not the build's
# (dpkg's file lists read directly: dpkg-query -S reads all of them,
# which takes half a minute over 9p)
LISTS=/var/lib/dpkg/info
bad=""
for p in bioctl bioflowd bioflow-provision bioflow-verify; do
	w=$(command -v $p) || { bad="$bad $p:missing"; continue; }
	cat "$LISTS/bioflowd.list" "$LISTS/bioreader-tools.list" 2>/dev/null |
		grep -qx "$w" || bad="$bad $p:$w-not-packaged"
done
result "$([ -z "$bad" ]; echo $?)" "the programs on PATH are the packaged ones" "${bad# }"

# ---- 2: udevd
UDEVD=/lib/systemd/systemd-udevd
if [ -x "$UDEVD" ]; then
	t0=$(date +%s)
	"$UDEVD" --daemon >"$TMP/udevd.log" 2>&1
	UDEVD_PID=$(pidof systemd-udevd)
	t1=$(date +%s)
	# Coldplug of the subsystems that matter here (the audit node is
	# misc, the TPM's tpmrm); all of them would load a driver for every
	# emulated device first, 20 s under TCG.
	udevadm trigger --action=add --subsystem-match=misc \
		--subsystem-match=tpmrm --subsystem-match=bioreader >/dev/null 2>&1
	t2=$(date +%s)
	udevadm settle --timeout=120
	rc=$?
	echo "# udevd start $((t1 - t0))s, trigger $((t2 - t1))s, settle $(($(date +%s) - t2))s"
	[ -n "$UDEVD_PID" ] || rc=1
	[ $rc -eq 0 ] || diag_file "$TMP/udevd.log"
	result $rc "systemd-udevd runs; coldplug (trigger, settle) done"
else
	not_ok "systemd-udevd runs; coldplug (trigger, settle) done" "no $UDEVD"
fi

# ---- 3-4: the modules, from updates/dkms
grep -qw configfs /proc/filesystems || modprobe configfs
grep -q ' /sys/kernel/config ' /proc/mounts ||
	mount -t configfs configfs /sys/kernel/config
# from_dkms MODULE: modinfo resolves it in DKMS's directory and the
# loaded module is that file (same srcversion).
from_dkms() {
	local f

	f=$(modinfo -n "$1" 2>&1)
	# DKMS compresses as the kernel does (Debian's 6.12: .ko.xz).
	case "$f" in
	"$DKMS_DIR/$1.ko" | "$DKMS_DIR/$1.ko.xz" | "$DKMS_DIR/$1.ko.zst" | "$DKMS_DIR/$1.ko.gz") ;;
	*)
		echo "# modinfo -n $1: $f"
		return 1
		;;
	esac
	if [ "$(cat "/sys/module/$1/srcversion" 2>&1)" != "$(modinfo -F srcversion "$f")" ]; then
		echo "# /sys/module/$1/srcversion differs from $f's"
		return 1
	fi
}
ok_mod=1
modprobe bioreader_sim 2>&1 | sed 's/^/# /'
from_dkms bioreader_sim
rc=$?
[ $rc -eq 0 ] || ok_mod=0
result $rc "modprobe bioreader_sim loads $DKMS_DIR/bioreader_sim.ko*"

modprobe bioreader 2>&1 | sed 's/^/# /'
bad=0
from_dkms bioreader || bad=1
# the packaged modprobe.d install line gave it this boot's id
bid=$(cat /sys/module/bioreader/parameters/boot_id 2>&1)
if [ "$bid" != "$(cat /proc/sys/kernel/random/boot_id)" ]; then
	echo "# boot_id parameter: '$bid'"
	bad=1
fi
[ $bad -eq 0 ] || ok_mod=0
result $bad "modprobe bioreader loads $DKMS_DIR/bioreader.ko* with this boot's id (modprobe.d)"

# ---- 5: the audit node
udevadm settle --timeout=60
if [ -c "$AUDIT" ]; then
	stat_is "$AUDIT" "bioflowd bioflowd 600"
	result $? "udev: $AUDIT is bioflowd's, mode 0600"
else
	not_ok "udev: $AUDIT is bioflowd's, mode 0600" "no $AUDIT"
fi

# ---- 6-8: a simulated reader's session node
bioctl sim new "$SIM" --width 160 --height 120 --fps 30 >"$TMP/sim.log" 2>&1
diag_file "$TMP/sim.log"
NODE=$(sed -n 's/.*node \(\/dev\/bioreader[0-9]*\).*/\1/p' "$TMP/sim.log")
udevadm settle --timeout=60
if [ -n "$NODE" ] && [ -c "$NODE" ]; then
	stat_is "$NODE" "root kiosk 660"
	result $? "udev: $NODE is group kiosk, mode 0660"
	udevadm info -q property -n "$NODE" >"$TMP/props" 2>&1
	idp=$(sed -n 's/^ID_PATH=//p' "$TMP/props")
	link=/dev/bioreader/by-path/$idp
	if [ -n "$idp" ] && [ -L "$link" ] && [ "$(readlink -f "$link")" = "$NODE" ]; then
		ok "udev: $link -> $NODE"
	else
		diag_file "$TMP/props"
		not_ok "udev: /dev/bioreader/by-path/ID_PATH -> $NODE" "ID_PATH '$idp'"
	fi
	if grep -q '^TAGS=.*:systemd:' "$TMP/props" &&
		grep -qx 'SYSTEMD_WANTS=bioflowd.service' "$TMP/props"; then
		ok "udev: $NODE tagged for systemd, wants bioflowd.service"
	else
		diag_file "$TMP/props"
		not_ok "udev: $NODE tagged for systemd, wants bioflowd.service"
	fi
else
	not_ok "udev: session node is group kiosk, mode 0660" "no reader node"
	not_ok "udev: /dev/bioreader/by-path/ID_PATH -> the node" "no reader node"
	not_ok "udev: the node is tagged for systemd, wants bioflowd.service" "no reader node"
fi

# ---- 9-10: the daemon, by the installed unit's command line
UNIT=$(grep '/bioflowd\.service$' "$LISTS/bioflowd.list" 2>/dev/null | head -n 1)
EXEC=$(sed -n 's/^ExecStart=//p' "$UNIT" 2>/dev/null)
PUB=$(sed -n 's/^ConditionPathExists=\(.*\.pem\)$/\1/p' "$UNIT" 2>/dev/null | head -n 1)
AUTH=$(echo "$EXEC" | sed -n 's/.*--tpm-auth \([^ ]*\).*/\1/p')
STORE=$(echo "$EXEC" | sed -n 's/.*--store \([^ ]*\).*/\1/p')
echo "# unit $UNIT: ExecStart=$EXEC"
flow_ok=0
# The TPM root, whose public key is the unit's start condition.
if [ -z "$EXEC" ] || [ -z "$PUB" ] || [ -z "$STORE" ] || [ -z "$AUTH" ]; then
	not_ok "bioflow-provision: TPM root key, public key and authorization at the unit's paths" "unit '$UNIT' unreadable"
else
	mkdir -p "$(dirname "$PUB")" "$(dirname "$AUTH")"
	bioflow-provision --tcti "$TCTI" --out-pubkey "$PUB" --auth-file "$AUTH" >"$TMP/prov.log" 2>&1
	rc=$?
	[ -s "$PUB" ] && stat_is "$AUTH" "root root 600" || rc=1
	[ $rc -eq 0 ] || diag_file "$TMP/prov.log"
	result $rc "bioflow-provision: TPM root key, public key at $PUB, authorization $AUTH (root, 0600)"
fi
# unit_env NAME: NAME's value from the unit's EnvironmentFile= lines (a
# leading "-": the file may be absent), the last assignment winning, one
# level of double or single quotes removed, as systemd reads them.
unit_env() {
	local f v=
	while read -r f; do
		f=${f#-}
		[ -r "$f" ] || continue
		v=$(sed -n "s/^[[:space:]]*$1=//p" "$f" | tail -n 1)
		v=${v#\"} v=${v%\"} v=${v#\'} v=${v%\'}
	done <<<"$(sed -n 's/^EnvironmentFile=//p' "$UNIT")"
	printf '%s' "$v"
}
# systemd's ExecStart: an unquoted word "$NAME" becomes NAME's value split
# at whitespace (no words when unset); anything else must be plain words.
argv=()
plain=1
set -f
for w in $EXEC; do
	case "$w" in
	\$[A-Za-z_]*)
		var=${w#\$}
		case "$var" in *[!A-Za-z0-9_]*) plain=0 ;; esac
		read -ra more <<<"$(unit_env "$var")"
		argv+=("${more[@]}")
		;;
	*) argv+=("$w") ;;
	esac
done
set +f
case "$EXEC" in
*[\"\'\;\&\|\<\>\\{}]* | [-@:+!]*) plain=0 ;;
esac
if [ $plain -eq 0 ]; then
	# systemd quoting, ${NAME} or prefixes: not what this test reads
	not_ok "bioflowd runs by the unit's ExecStart, worker as bioflowd" "ExecStart not plain words"
	EXEC=
fi
echo "# bioflowd's command line: ${argv[*]}"
if [ -n "$EXEC" ] && [ -s "$PUB" ] && [ $ok_mod -eq 1 ]; then
	setsid "${argv[@]}" </dev/null >/dev/null 2>"$TMP/bioflowd.log" &
	FLOW_PID=$!
	for _ in $(seq 600); do
		kill -0 "$FLOW_PID" 2>/dev/null || break
		[ "$(cat "$AUDIT_SYSFS/consumer" 2>/dev/null)" = 1 ] &&
			grep -q 'running:' "$TMP/bioflowd.log" && break
		sleep 0.1
	done
	# the worker: the monitor's child, as the packaged user
	wuid=$(tr ' ' '\n' </proc/"$FLOW_PID"/task/*/children 2>/dev/null |
		while read -r c; do [ -z "$c" ] || stat -c %u "/proc/$c"; done |
		sort -u | tr '\n' ' ')
	if [ "$(cat "$AUDIT_SYSFS/consumer" 2>/dev/null)" = 1 ] &&
		[ "$wuid" = "$(id -u bioflowd 2>/dev/null) " ] &&
		stat_is "$STORE" "bioflowd bioflowd 750"; then
		flow_ok=1
		ok "bioflowd runs by the unit's ExecStart, worker as bioflowd"
	else
		diag_file "$TMP/bioflowd.log"
		not_ok "bioflowd runs by the unit's ExecStart, worker as bioflowd" "worker uid '$wuid'"
	fi
elif [ -n "$EXEC" ]; then
	not_ok "bioflowd runs by the unit's ExecStart, worker as bioflowd" "no root key or no modules"
else
	not_ok "bioflowd runs by the unit's ExecStart, worker as bioflowd" "no ExecStart"
fi

# ---- 11-12: verification by a kiosk-group user; another user is refused
bioctl template --identity 42 -o "$TMP/card.tpl" >/dev/null 2>&1
chmod 0755 "$TMP"
chmod 0644 "$TMP/card.tpl"
bioctl sim scene "$SIM" "person 42" >/dev/null 2>&1
as_user() {
	setpriv --reuid=nobody --regid=nogroup "$@"
}
if [ -n "$NODE" ] && [ $flow_ok -eq 1 ]; then
	as_user --groups=kiosk bioctl verify -d "$NODE" -t "$TMP/card.tpl" -o kiosk-01 \
		>"$TMP/verify.log" 2>&1
	rc=$?
	[ $rc -eq 0 ] || diag_file "$TMP/verify.log"
	result $rc "a kiosk-group user verifies person 42: MATCH (exit $rc)"
else
	not_ok "a kiosk-group user verifies person 42: MATCH" "no reader or no daemon"
fi
if [ -n "$NODE" ]; then
	as_user --clear-groups bioctl verify -d "$NODE" -t "$TMP/card.tpl" -o kiosk-01 \
		>"$TMP/refused.log" 2>&1
	rc=$?
	if [ $rc -eq 1 ] && grep -qi 'permission denied' "$TMP/refused.log"; then
		ok "a user outside the kiosk group cannot open $NODE"
	else
		diag_file "$TMP/refused.log"
		not_ok "a user outside the kiosk group cannot open $NODE" "exit $rc"
	fi
else
	not_ok "a user outside the kiosk group cannot open the node" "no reader"
fi

# ---- 13-14: stop the daemon (SIGTERM), verify its store
if [ $flow_ok -eq 1 ]; then
	# everything read must be acknowledged first (docs/bioflowd.md)
	for _ in $(seq 200); do
		[ "$(cat "$AUDIT_SYSFS/acked" 2>/dev/null)" = \
			"$(($(cat "$AUDIT_SYSFS/next_seq" 2>/dev/null || echo 1) - 1))" ] && break
		sleep 0.05
	done
	kill -TERM "$FLOW_PID"
	for _ in $(seq 300); do
		kill -0 "$FLOW_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$FLOW_PID" 2>/dev/null
	rc=$?
	FLOW_PID=
	[ $rc -eq 0 ] || diag_file "$TMP/bioflowd.log"
	result $rc "bioflowd stops on SIGTERM with status 0 (status $rc)"
	bioflow-verify --root-key "$PUB" "$STORE" >"$TMP/verify-log.txt" 2>&1
	rc=$?
	[ -s "$STORE/checkpoint" ] || rc=1
	[ $rc -eq 0 ] || diag_file "$TMP/verify-log.txt"
	result $rc "bioflow-verify passes on $STORE against the TPM root key"
else
	not_ok "bioflowd stops on SIGTERM with status 0" "daemon not running"
	not_ok "bioflow-verify passes on the store against the TPM root key" "daemon not running"
fi

# ---- 15: removing the reader
if [ -n "$NODE" ]; then
	bioctl sim del "$SIM" >/dev/null 2>&1
	udevadm settle --timeout=60
	if [ ! -e "$NODE" ] && [ ! -e "$link" ]; then
		ok "removing the reader removes $NODE and its link"
	else
		not_ok "removing the reader removes $NODE and its link"
	fi
else
	not_ok "removing the reader removes the node and its link" "no reader"
fi
echo "# the unit's sandboxing is checked on the host (systemd-analyze security, tests/static/t_install.sh)"

ktap_done
