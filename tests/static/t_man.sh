#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Static checks of the man pages in docs/man/: each one renders with
# "man --warnings" without a single diagnostic and fits 80 columns; the
# check itself is shown to catch a broken page; bioreader(4) names every
# ioctl, structure and verdict constant of uapi/linux/bioreader.h and every
# statistics file of the driver; bioctl(8) and "bioctl --help" name the
# same subcommands and options, and the daemon's, the verifier's, the
# provisioning tool's and the collector's pages the same options as their
# --help (once built).
# Prints KTAP; exit status 0 only if every check passed.
#
# Tools (Debian): man (man-db) and nroff/troff (groff-base).  Nothing is
# installed here.

set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MANDIR=$ROOT/docs/man
UAPI=$ROOT/uapi/linux/bioreader.h
PAGES="bioreader.4 bioctl.8 bioflowd.8 bioflow-verify.1 bioflow-provision.8 bioflow-forward.8 bioflow-collector.8"

. "$ROOT/tests/static/lib/ktap.sh"

# render PAGE OUT: the command the checks are defined by; diagnostics
# go to $TMP/err.
render() {
	LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
		man --warnings -E UTF-8 -l "$1" >"$2" 2>"$TMP/err"
}

TOOL=$(missing man nroff troff)

PLAN=$((2 * $(echo "$PAGES" | wc -w) + 3))
echo "KTAP version 1"
echo "1..$PLAN"

# 1..#pages: every page renders cleanly.
for page in $PAGES; do
	name="$page renders without warnings in 80 columns"
	if [ -n "$TOOL" ]; then
		not_ok "$name" "tool missing: $TOOL"
	elif [ ! -f "$MANDIR/$page" ]; then
		not_ok "$name" "no docs/man/$page"
	elif ! render "$MANDIR/$page" "$TMP/out"; then
		diag_file "$TMP/err"
		not_ok "$name" "man failed"
	elif [ -s "$TMP/err" ]; then
		diag_file "$TMP/err"
		not_ok "$name"
	elif awk 'length > 80 { bad = 1; print "# too wide: " $0 } END { exit !bad }' \
			"$TMP/out"; then
		not_ok "$name" "lines wider than 80 columns"
	else
		ok "$name"
	fi
done

# Negative control: an unknown macro and an undefined string must be
# reported, so that a silent renderer cannot pass the checks above.
name="the check reports a broken page"
if [ -n "$TOOL" ]; then
	not_ok "$name" "tool missing: $TOOL"
else
	printf '%s\n' '.TH BROKEN 1' '.SH NAME' 'broken \- test' \
		'.XX unknown macro' '.SH DESCRIPTION' 'text \*(zz' >"$TMP/broken.1"
	render "$TMP/broken.1" "$TMP/out"
	if [ "$(grep -c 'warning' "$TMP/err")" -ge 2 ]; then
		ok "$name"
	else
		diag_file "$TMP/err"
		not_ok "$name"
	fi
fi

# bioreader(4) against the uAPI header: every ioctl, structure and
# outcome/reason/attack/capability/policy/verdict/reference constant is
# named.
name="bioreader.4 names every ioctl, struct and constant of the uAPI"
if [ ! -f "$MANDIR/bioreader.4" ] || [ ! -f "$UAPI" ]; then
	not_ok "$name" "page or header missing"
else
	{
		sed -n 's/^#define \(BIOREADER_IOC_[A-Z_]*\)[ \t]\+_IO.*/\1/p' "$UAPI"
		sed -n 's/^struct \(bioreader_[a-z_]*\) {.*/\1/p' "$UAPI" |
			grep -v '_hdr$'
		sed -n 's/^#define \(BIOREADER_\(CAP\|FEAT\|STATE\|SECLEVEL\|POLICY\|OUTCOME\|VERDICT\|REF\)_[A-Z_0-9]*\)[ \t].*/\1/p' \
			"$UAPI" | grep -v '_ALL$\|_SIZE_VER0$'
		# REASON_* and ATTACK_* may be listed by their short names.
		sed -n 's/^#define \(BIOREADER_\(REASON\|ATTACK\)_[A-Z_]*\)[ \t].*/\1/p' \
			"$UAPI"
	} | sort -u >"$TMP/names"
	# The page as rendered text (hyphenation is off in our pages).
	man_text=$(LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$MANDIR/bioreader.4" \
		2>/dev/null || cat "$MANDIR/bioreader.4")
	: >"$TMP/absent"
	while read -r id; do
		short=${id#BIOREADER_REASON_}
		short=${short#BIOREADER_ATTACK_}
		printf '%s\n' "$man_text" |
			grep -qE -- "(^|[^A-Za-z0-9_])($id|$short)([^A-Za-z0-9_]|\$)" ||
			echo "$id" >>"$TMP/absent"
	done <"$TMP/names"
	if [ ! -s "$TMP/names" ]; then
		not_ok "$name" "nothing found in the header"
	elif [ -s "$TMP/absent" ]; then
		sed 's/^/# not in bioreader.4: /' "$TMP/absent"
		not_ok "$name"
	else
		echo "# $(wc -l <"$TMP/names") names checked"
		ok "$name"
	fi
fi

# bioreader(4) against the driver's sysfs statistics.
name="bioreader.4 lists every stats file of the driver"
SYSFS_C=$ROOT/kernel/bioreader_sysfs.c
if [ ! -f "$SYSFS_C" ]; then
	skip "$name" "kernel/bioreader_sysfs.c not written yet"
else
	# Attribute names: the argument of the attribute-defining macro
	# invocations at file level (DEVICE_ATTR_RO(state); and the like).
	sed -n 's/^\(static \)\?[A-Z][A-Z_]*(\([a-z][a-z_0-9]*\));$/\2/p' \
		"$SYSFS_C" | sort -u >"$TMP/attrs"
	: >"$TMP/absent"
	while read -r a; do
		grep -qw -- "$a" "$MANDIR/bioreader.4" || echo "$a" >>"$TMP/absent"
	done <"$TMP/attrs"
	if [ ! -s "$TMP/attrs" ]; then
		skip "$name" "no attribute names recognised in bioreader_sysfs.c"
	elif [ -s "$TMP/absent" ]; then
		sed 's/^/# not in bioreader.4: /' "$TMP/absent"
		not_ok "$name"
	else
		ok "$name"
	fi
fi

# bioctl(8) against "bioctl --help": same subcommands, same long options.
name="bioctl.8 and bioctl --help agree on commands and options"
BIOCTL=$ROOT/build/bioctl
if [ ! -x "$BIOCTL" ]; then
	skip "$name" "build/bioctl not built"
else
	"$BIOCTL" --help >"$TMP/help" 2>&1
	grep -o -- '--[a-z][a-z-]*' "$TMP/help" | sort -u >"$TMP/help_opts"
	sed 's/\\-/-/g' "$MANDIR/bioctl.8" |
		grep -o -- '--[a-z][a-z-]*' | sort -u >"$TMP/man_opts"
	for c in info verify policy stats sim template; do
		grep -qw -- "$c" "$TMP/help" && echo "$c"
	done >"$TMP/help_cmds"
	for c in info verify policy stats sim template; do
		grep -q "^\.SY \"bioctl $c" "$MANDIR/bioctl.8" && echo "$c"
	done >"$TMP/man_cmds"
	# --help itself need not be in the page's synopsis.
	comm -3 "$TMP/help_opts" "$TMP/man_opts" | grep -v -- '--help$' \
		>"$TMP/diff"
	comm -3 "$TMP/help_cmds" "$TMP/man_cmds" >>"$TMP/diff"
	if [ -s "$TMP/help_opts" ] && [ ! -s "$TMP/diff" ]; then
		ok "$name"
	else
		echo "# left: only in --help; right: only in bioctl.8"
		diag_file "$TMP/diff"
		not_ok "$name"
	fi
fi

# The other programs' pages against their --help: every option --help
# defines (a line of its own) is in the page's synopsis or OPTIONS, and
# every option the page gives there exists.  Only those parts of the page
# count, and --help's prose is not a definition: both may name other
# programs' options.
for prog in bioflowd:8 bioflow-verify:1 bioflow-provision:8 bioflow-forward:8 bioflow-collector:8; do
	page=${prog%%:*}.${prog#*:}
	bin=$ROOT/build/${prog%%:*}
	name="$page and ${prog%%:*} --help name the same options"
	if [ ! -x "$bin" ]; then
		skip "$name" "build/${prog%%:*} not built"
		continue
	fi
	"$bin" --help >"$TMP/help" 2>&1
	grep -o -- '--[a-z][a-z-]*' "$TMP/help" | sort -u >"$TMP/help_all"
	sed -n -E 's/^[[:space:]]+(-[a-zA-Z], )?(--[a-z][a-z-]*).*/\2/p' "$TMP/help" |
		grep -vx -- '--help' | sort -u >"$TMP/help_def"
	awk '/^\.SH/ { sec = $2 } sec == "SYNOPSIS" || (sec == "OPTIONS" && prev == ".TP") { print } { prev = $0 }' \
		"$MANDIR/$page" | sed 's/\\-/-/g' |
		grep -o -- '--[a-z][a-z-]*' | sort -u >"$TMP/man_opts"
	{
		comm -23 "$TMP/help_def" "$TMP/man_opts" | sed 's/^/not in the page: /'
		comm -13 "$TMP/help_all" "$TMP/man_opts" | sed 's/^/not in --help: /'
	} >"$TMP/diff"
	if [ -s "$TMP/help_def" ] && [ ! -s "$TMP/diff" ]; then
		ok "$name"
	else
		diag_file "$TMP/diff"
		not_ok "$name"
	fi
done

# The pages the issue asks for are all here and cross-reference.
name="SEE ALSO references of the pages exist"
: >"$TMP/absent"
for page in $PAGES; do
	[ -f "$MANDIR/$page" ] || continue
	sed -n '/^\.SH SEE ALSO/,/^\.SH/p' "$MANDIR/$page" |
		sed -n 's/^\.BR \(bio[a-z\\-]*\) (\([0-9]\)).*/\1.\2/p' |
		sed 's/\\-/-/g' | while read -r ref; do
			[ -f "$MANDIR/$ref" ] || echo "$page -> $ref"
		done >>"$TMP/absent"
done
if [ -s "$TMP/absent" ]; then
	sed 's/^/# missing page: /' "$TMP/absent"
	not_ok "$name"
else
	ok "$name"
fi

ktap_done
