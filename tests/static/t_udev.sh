#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Static checks of udev/60-bioreader.rules and udev/bioreader.sysusers,
# on the host, without any reader present:
#   - every rule line is well-formed (keys, operators, quoting, values),
#     by a parser of our own, and udev's own parser (udevadm test, run in
#     a private mount namespace so that nothing is installed) reports
#     nothing about the file;
#   - systemd-sysusers accepts the sysusers file, and every user and group
#     the rules name is one it creates;
#   - evaluating the rules for the device names the driver creates gives
#     the intended owner, group, mode, systemd tag and wanted unit.
# The real udevd applying the rules in the VM is tested elsewhere.
# Prints KTAP; exit status 0 only if every check passed.
#
# Tools (Debian): udevadm (udev), systemd-sysusers (systemd), unshare
# and mount (util-linux/mount), gawk or mawk.  Nothing is installed here.

set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RULES=$ROOT/udev/60-bioreader.rules
SYSUSERS=$ROOT/udev/bioreader.sysusers

. "$ROOT/tests/static/lib/ktap.sh"

# ---- A udev rules parser and evaluator, for the subset of udev(7) that
# ---- rules for a character device use.
#
# mode=check: report every malformed line on stdout ("FILE:LINE: what").
# mode=names: print "user NAME" / "group NAME" for OWNER= and GROUP=.
# mode=eval:  evaluate the rules for one device (-v action= subsystem=
#             kernel=) and print the result as KEY=VALUE lines.  IMPORT of
#             the path_id builtin sets ID_PATH to a plausible platform path.
read -r -d '' AWK_RULES <<'AWK'
function fail(msg) { print FILENAME ":" line_no ": " msg; bad = 1 }

function glob_re(g,    alts, i, k, c, re, out) {
	k = split(g, alts, "|")
	out = ""
	for (i = 1; i <= k; i++) {
		re = ""
		g = alts[i]
		while (length(g)) {
			c = substr(g, 1, 1); g = substr(g, 2)
			if (c == "*") re = re ".*"
			else if (c == "?") re = re "."
			else if (c == "[") {
				if (substr(g, 1, 1) == "!") { re = re "[^"; g = substr(g, 2) }
				else re = re "["
				while (length(g) && substr(g, 1, 1) != "]") {
					re = re substr(g, 1, 1); g = substr(g, 2)
				}
				re = re "]"; g = substr(g, 2)
			} else if (index(".+()^$\\{}", c)) re = re "\\" c
			else re = re c
		}
		out = out (i > 1 ? "|" : "") re
	}
	return "^(" out ")$"
}

# Split one logical line into pairs; returns the count, 0 on error.
function parse(s, r,    np, m, key, attr, op, val) {
	np = 0
	while (1) {
		sub(/^[ \t]+/, "", s)
		if (s == "") break
		if (np > 0) {
			if (substr(s, 1, 1) != ",") { fail("missing comma before: " s); return 0 }
			s = substr(s, 2); sub(/^[ \t]+/, "", s)
		}
		if (!match(s, /^[A-Z_]+/)) { fail("expected a key at: " s); return 0 }
		key = substr(s, 1, RLENGTH); s = substr(s, RLENGTH + 1)
		attr = ""
		if (substr(s, 1, 1) == "{") {
			if (!match(s, /^\{[^}]+\}/)) { fail("unterminated {attribute} after " key); return 0 }
			attr = substr(s, 2, RLENGTH - 2); s = substr(s, RLENGTH + 1)
		}
		sub(/^[ \t]+/, "", s)
		if (match(s, /^(==|!=|\+=|-=|:=|=)/)) {
			op = substr(s, 1, RLENGTH); s = substr(s, RLENGTH + 1)
		} else { fail("expected an operator after " key); return 0 }
		sub(/^[ \t]+/, "", s)
		if (!match(s, /^"[^"]*"/)) { fail("value of " key " is not a quoted string"); return 0 }
		val = substr(s, 2, RLENGTH - 2); s = substr(s, RLENGTH + 1)
		if (!check_pair(key, attr, op, val)) return 0
		np++
		K[r, np] = key; A[r, np] = attr; O[r, np] = op; V[r, np] = val
	}
	return np
}

function check_pair(key, attr, op, val,    is_match) {
	is_match = (op == "==" || op == "!=")
	if (!(key in KNOWN)) { fail("unknown key " key); return 0 }
	if (attr != "" && !(key in WITH_ATTR)) { fail(key " takes no {attribute}"); return 0 }
	if (attr == "" && (key in NEEDS_ATTR)) { fail(key " needs an {attribute}"); return 0 }
	if (is_match && (key in ASSIGN_ONLY)) { fail(key " cannot be matched (" op ")"); return 0 }
	if (!is_match && (key in MATCH_ONLY)) { fail(key " cannot be assigned (" op ")"); return 0 }
	if (!is_match && (key in SINGLE) && op != "=" && op != ":=") {
		fail("operator " op " is invalid for " key); return 0
	}
	if ((key == "LABEL" || key == "GOTO" || key == "IMPORT") && op != "=") {
		fail("operator " op " is invalid for " key); return 0
	}
	if (key == "MODE" && !is_match && val !~ /^0[0-7][0-7][0-7]$/) {
		fail("MODE is not a 4-digit octal mode: " val); return 0
	}
	if ((key == "OWNER" || key == "GROUP") && val !~ /^[a-z_][a-z0-9_-]*$/) {
		fail(key " is not a user/group name: " val); return 0
	}
	if (key == "IMPORT" && attr !~ /^(program|builtin|file|db|cmdline|parent)$/) {
		fail("unknown IMPORT type " attr); return 0
	}
	return 1
}

BEGIN {
	split("ACTION DEVPATH KERNEL KERNELS NAME SYMLINK SUBSYSTEM SUBSYSTEMS " \
	      "DRIVER DRIVERS ATTR ATTRS SYSCTL ENV CONST TAG TAGS TEST PROGRAM " \
	      "RESULT OWNER GROUP MODE SECLABEL RUN LABEL GOTO IMPORT OPTIONS", t, " ")
	for (i in t) KNOWN[t[i]] = 1
	split("ACTION DEVPATH KERNEL KERNELS SUBSYSTEM SUBSYSTEMS DRIVER DRIVERS " \
	      "ATTRS CONST TAGS TEST PROGRAM RESULT", t, " ")
	for (i in t) MATCH_ONLY[t[i]] = 1
	split("OWNER GROUP MODE SECLABEL RUN LABEL GOTO IMPORT OPTIONS", t, " ")
	for (i in t) ASSIGN_ONLY[t[i]] = 1
	split("OWNER GROUP MODE NAME", t, " ")
	for (i in t) SINGLE[t[i]] = 1
	split("ATTR ATTRS SYSCTL ENV CONST TEST IMPORT RUN SECLABEL", t, " ")
	for (i in t) WITH_ATTR[t[i]] = 1
	split("ATTR ATTRS SYSCTL ENV CONST SECLABEL", t, " ")
	for (i in t) NEEDS_ATTR[t[i]] = 1
	nr = 0; cont = ""
}

{
	line = $0
	if (cont == "") line_no = FNR
	if (line ~ /\\$/) { cont = cont substr(line, 1, length(line) - 1) " "; next }
	line = cont line; cont = ""
	if (line ~ /^[ \t]*(#|$)/) next
	nr++
	LINE[nr] = line_no
	NP[nr] = parse(line, nr)
	if (NP[nr] == 0 && !bad) fail("empty rule")
	for (i = 1; i <= NP[nr]; i++) {
		if (K[nr, i] == "LABEL") LABELS[V[nr, i]] = nr
		if (K[nr, i] == "GOTO") GOTOS[V[nr, i]] = line_no
	}
}

function actual(key, attr) {
	if (key == "ACTION") return action
	if (key == "KERNEL") return kernel
	if (key == "SUBSYSTEM") return subsystem
	if (key == "ENV") return ENVV[attr]
	return "\001unsupported"
}

function subst(s,    m, name) {
	while (match(s, /\$env\{[^}]+\}/)) {
		name = substr(s, RSTART + 5, RLENGTH - 6)
		s = substr(s, 1, RSTART - 1) ENVV[name] substr(s, RSTART + RLENGTH)
	}
	return s
}

function evaluate(    r, i, ok, v, hit, target, ne, ev, kv) {
	OWNER = "root"; GROUP = "root"; MODE = "0600"; TAGS = ""; LINKS = ""
	matched = ""
	# the device's properties before the rules (-v env="KEY=VALUE ...")
	ne = split(env, ev, " ")
	for (i = 1; i <= ne; i++)
		if (index(ev[i], "=")) ENVV[substr(ev[i], 1, index(ev[i], "=") - 1)] = substr(ev[i], index(ev[i], "=") + 1)
	for (r = 1; r <= nr; r++) {
		ok = 1
		for (i = 1; i <= NP[r] && ok; i++) {
			if (O[r, i] != "==" && O[r, i] != "!=") continue
			v = actual(K[r, i], A[r, i])
			if (v == "\001unsupported") { ok = 0; break }
			hit = (v ~ glob_re(V[r, i]))
			if (O[r, i] == "!=") hit = !hit
			ok = hit
		}
		if (!ok) continue
		for (i = 1; i <= NP[r]; i++)
			if (K[r, i] != "LABEL" && O[r, i] != "==" && O[r, i] != "!=") {
				matched = matched " " LINE[r]
				break
			}
		target = ""
		for (i = 1; i <= NP[r]; i++) {
			if (O[r, i] == "==" || O[r, i] == "!=") continue
			if (K[r, i] == "OWNER") OWNER = V[r, i]
			else if (K[r, i] == "GROUP") GROUP = V[r, i]
			else if (K[r, i] == "MODE") MODE = V[r, i]
			else if (K[r, i] == "TAG") TAGS = TAGS " " V[r, i]
			else if (K[r, i] == "SYMLINK") LINKS = LINKS " " subst(V[r, i])
			else if (K[r, i] == "ENV" && O[r, i] == "+=")
				ENVV[A[r, i]] = ENVV[A[r, i]] (ENVV[A[r, i]] == "" ? "" : " ") subst(V[r, i])
			else if (K[r, i] == "ENV") ENVV[A[r, i]] = subst(V[r, i])
			else if (K[r, i] == "IMPORT" && A[r, i] == "builtin" && V[r, i] == "path_id")
				ENVV["ID_PATH"] = "platform-bioreader.0"
			else if (K[r, i] == "GOTO") target = V[r, i]
		}
		if (target != "") r = LABELS[target]
	}
	print "OWNER=" OWNER
	print "GROUP=" GROUP
	print "MODE=" MODE
	print "TAGS=" substr(TAGS, 2)
	print "SYMLINKS=" substr(LINKS, 2)
	print "SYSTEMD_WANTS=" ENVV["SYSTEMD_WANTS"]
	print "MATCHED_LINES=" substr(matched, 2)
}

END {
	if (cont != "") fail("file ends in a line continuation")
	for (g in GOTOS)
		if (!(g in LABELS)) { line_no = GOTOS[g]; fail("GOTO without LABEL " g) }
	if (mode == "check") exit bad
	if (mode == "names") {
		for (r = 1; r <= nr; r++)
			for (i = 1; i <= NP[r]; i++) {
				if (K[r, i] == "OWNER") print "user " V[r, i]
				if (K[r, i] == "GROUP") print "group " V[r, i]
			}
		exit bad
	}
	if (mode == "eval") evaluate()
	exit bad
}
AWK

PLAN=16
echo "KTAP version 1"
echo "1..$PLAN"

AWK=$(missing awk >/dev/null || echo awk)

# 1: syntax, our parser.
if [ -z "$AWK" ]; then
	not_ok "rules parse (keys, operators, quoting, values)" "tool missing: awk"
elif awk -v mode=check "$AWK_RULES" "$RULES" >"$TMP/out" 2>&1; then
	ok "rules parse (keys, operators, quoting, values)"
else
	diag_file "$TMP/out"
	not_ok "rules parse (keys, operators, quoting, values)"
fi

# 2: the parser is not a rubber stamp: a broken copy is refused.
if [ -n "$AWK" ]; then
	sed -e '0,/GROUP="kiosk"/s//GRUOP="kiosk"/' -e 's/MODE="0600"/MODE=="0600"/' \
		"$RULES" >"$TMP/broken.rules"
	awk -v mode=check "$AWK_RULES" "$TMP/broken.rules" >"$TMP/out" 2>&1
	if [ "$(grep -c 'broken.rules:' "$TMP/out")" -eq 2 ]; then
		ok "rules parser rejects a broken copy"
	else
		diag_file "$TMP/out"
		not_ok "rules parser rejects a broken copy"
	fi
else
	not_ok "rules parser rejects a broken copy" "tool missing: awk"
fi

# 3: the sysusers file, by systemd-sysusers itself, run into a scratch
# root (which also gives the passwd/group lines test 5 needs).
if t=$(missing systemd-sysusers); then
	not_ok "sysusers file accepted by systemd-sysusers" "tool missing: $t"
else
	mkdir -p "$TMP/root/etc"
	if systemd-sysusers --root="$TMP/root" "$SYSUSERS" >"$TMP/out" 2>&1 &&
	   ! grep -qv '^Creating \(group\|user\) ' "$TMP/out"; then
		ok "sysusers file accepted by systemd-sysusers"
	else
		diag_file "$TMP/out"
		not_ok "sysusers file accepted by systemd-sysusers"
	fi
fi

# 4: every OWNER/GROUP of the rules is created by the sysusers file.
# Read the sysusers file directly: "g NAME" creates a group, "u NAME"
# a user and, unless its ID column names another group, a group NAME.
awk '
	/^[ \t]*(#|$)/ { next }
	$1 == "g" { print "group " $2 }
	$1 == "u" { print "user " $2
		    if ($3 !~ /:/) print "group " $2
		    else { split($3, id, ":"); if (id[2] !~ /^[0-9]+$/) print "group " id[2] } }
' "$SYSUSERS" | sort -u >"$TMP/created"
if [ -n "$AWK" ] && awk -v mode=names "$AWK_RULES" "$RULES" | sort -u >"$TMP/used" &&
   [ -s "$TMP/used" ]; then
	comm -23 "$TMP/used" "$TMP/created" >"$TMP/out"
	if [ ! -s "$TMP/out" ]; then
		ok "users and groups of the rules come from the sysusers file"
	else
		sed 's/^/# not created: /' "$TMP/out"
		not_ok "users and groups of the rules come from the sysusers file"
	fi
else
	not_ok "users and groups of the rules come from the sysusers file" \
		"no OWNER/GROUP found"
fi

# 5: udev's own parser.  udevadm test reads every rules directory,
# including /run/udev/rules.d; in a private mount namespace a tmpfs on
# /run and passwd/group copies with the sysusers entries added make it
# parse our file and resolve its names without touching the host.  An
# installed copy (the bioflowd package) is overridden by ours in /run.
UDEV_NAME="udevd's parser accepts the rules (udevadm test)"
if t=$(missing udevadm unshare mount); then
	not_ok "$UDEV_NAME" "tool missing: $t"
elif [ "$(id -u)" -ne 0 ]; then
	skip "$UDEV_NAME" "needs root for a private mount namespace"
elif [ ! -s "$TMP/root/etc/passwd" ]; then
	not_ok "$UDEV_NAME" "no users from systemd-sysusers"
elif [ ! -e /sys/devices/virtual/mem/null ]; then
	skip "$UDEV_NAME" "no sysfs"
else
	cat /etc/passwd "$TMP/root/etc/passwd" >"$TMP/passwd"
	cat /etc/group "$TMP/root/etc/group" >"$TMP/group"
	cat >"$TMP/ns.sh" <<'NS'
set -e
mount -t tmpfs bioreader-test /run
mkdir -p /run/udev/rules.d
cp "$1" /run/udev/rules.d/60-bioreader.rules
mount --bind "$2" /etc/passwd
mount --bind "$3" /etc/group
udevadm test --action=add /sys/devices/virtual/mem/null 2>&1 |
	grep -F 60-bioreader.rules
NS
	if unshare -m bash "$TMP/ns.sh" "$RULES" "$TMP/passwd" "$TMP/group" \
			>"$TMP/out" 2>&1; then
		if grep -q '^Reading rules file: .*60-bioreader.rules$' "$TMP/out" &&
		   ! grep -qvE '^(Reading rules file:|Skipping overridden file )' "$TMP/out"; then
			ok "$UDEV_NAME"
		else
			diag_file "$TMP/out"
			not_ok "$UDEV_NAME"
		fi
	elif grep -qi 'permission\|not permitted\|cannot change root filesystem propagation' \
			"$TMP/out"; then
		# The last one: / is not a mount point (a chroot), so the
		# namespace's mounts cannot be made private; running with
		# propagation unchanged could leak them to the host.
		diag_file "$TMP/out"
		skip "$UDEV_NAME" "no private mount namespace here"
	else
		diag_file "$TMP/out"
		not_ok "$UDEV_NAME"
	fi
fi

# 6-13: what the rules give each node.
# eval ACTION SUBSYSTEM KERNEL: the rules' result for that device.
evaluate() {
	awk -v mode=eval -v action="$1" -v subsystem="$2" -v kernel="$3" \
		-v env="${EVAL_ENV:-}" "$AWK_RULES" "$RULES"
}

# expect NAME ACTION SUBSYSTEM KERNEL KEY=VALUE...
expect() {
	local name=$1 kv bad=0

	shift
	if [ -z "$AWK" ]; then
		not_ok "$name" "tool missing: awk"
		return
	fi
	evaluate "$1" "$2" "$3" >"$TMP/eval" 2>&1
	shift 3
	for kv in "$@"; do
		if ! grep -qxF "$kv" "$TMP/eval"; then
			echo "# want $kv"
			bad=1
		fi
	done
	[ $bad -eq 0 ] || diag_file "$TMP/eval"
	result $bad "$name"
}

expect "/dev/bioreader0: root:kiosk 0660, tagged for systemd, wants bioflowd" \
	add bioreader bioreader0 \
	OWNER=root GROUP=kiosk MODE=0660 TAGS=systemd \
	SYSTEMD_WANTS=bioflowd.service \
	SYMLINKS=bioreader/by-path/platform-bioreader.0

expect "/dev/bioreader12: same as bioreader0" \
	add bioreader bioreader12 \
	OWNER=root GROUP=kiosk MODE=0660 TAGS=systemd \
	SYSTEMD_WANTS=bioflowd.service

expect "change event keeps the reader's permissions" \
	change bioreader bioreader3 OWNER=root GROUP=kiosk MODE=0660

expect "/dev/bioreader-audit: bioflowd:bioflowd 0600, not a reader" \
	add bioreader bioreader-audit \
	OWNER=bioflowd GROUP=bioflowd MODE=0600 TAGS= SYSTEMD_WANTS=

expect "audit node as a misc device: bioflowd:bioflowd 0600" \
	add misc bioreader-audit OWNER=bioflowd GROUP=bioflowd MODE=0600

expect "remove events are left alone" \
	remove bioreader bioreader0 GROUP=root MODE=0600 TAGS= SYSTEMD_WANTS=
expect "other names and subsystems are left alone" \
	add bioreader bioreader MATCHED_LINES=
expect "a bioreader0 in another subsystem is left alone" \
	add video4linux bioreader0 MATCHED_LINES=

EVAL_ENV="DEVTYPE=usb_device ID_USB_INTERFACES=:0b0000:"
expect "a USB smart-card reader (CCID): root:kiosk 0660" \
	add usb 1-1 OWNER=root GROUP=kiosk MODE=0660 TAGS=
EVAL_ENV="DEVTYPE=usb_device ID_USB_INTERFACES=:030101:030102:"
expect "another USB device (a keyboard) is left alone" \
	add usb 1-2 MATCHED_LINES=
EVAL_ENV="DEVTYPE=usb_interface ID_USB_INTERFACES=:0b0000:"
expect "a CCID reader's interface (not the device node) is left alone" \
	add usb 1-1:1.0 MATCHED_LINES=
EVAL_ENV=

ktap_done
