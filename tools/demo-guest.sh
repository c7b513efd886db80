#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The main job, inside the VM (tools/demo.sh boots the VM and runs this):
# load the modules, create a simulated reader, verify a genuine person
# and an impostor against an ID-card template, print the verdicts and
# the reader's statistics, clean up.  Exit 0 when the genuine person
# matched and the impostor did not.

set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$ROOT/build:$PATH"
NAME=demo
WORK=$(mktemp -d)
NODE=

say() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

cleanup() {
	if [ -n "$NODE" ]; then
		bioctl policy -d "$NODE" --set --allow-no-liveness off >/dev/null 2>&1
	fi
	if [ -d /sys/kernel/config/bioreader_sim/$NAME ]; then
		bioctl sim del $NAME >/dev/null
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v bioctl >/dev/null; then
	echo "bioctl not found (build the project first: make)" >&2
	exit 1
fi

say "Loading the driver and the reader simulator"
grep -qw configfs /proc/filesystems || modprobe configfs
grep -q ' /sys/kernel/config ' /proc/mounts ||
	mount -t configfs configfs /sys/kernel/config
run modprobe bioreader_sim || exit 1
run modprobe bioreader || exit 1

say "Creating a simulated reader"
bioctl sim del $NAME >/dev/null 2>&1
out=$(bioctl sim new $NAME --width 160 --height 120 --fps 30) || exit 1
echo "$out"
NODE=$(echo "$out" | sed -n 's/.*node \(\/dev\/bioreader[0-9]*\).*/\1/p')
[ -n "$NODE" ] || { echo "no reader node found" >&2; exit 1; }
run bioctl info -d "$NODE" || exit 1

say "The ID card: template of simulated person 42"
run bioctl template --identity 42 -o "$WORK/card-42.tpl" || exit 1

say "Person 42 looks at the reader; default policy"
echo "Liveness (presentation-attack detection) is not implemented yet."
echo "The default policy therefore refuses to report a match: expect INCONCLUSIVE."
run bioctl sim scene $NAME "person 42" >/dev/null
run bioctl verify -d "$NODE" -t "$WORK/card-42.tpl" -o kiosk-01 --timeout 3000
rc_default=$?

say "Administrator's choice: allow matching without liveness"
echo "This is an explicit administrator decision for this demonstration,"
echo "not a default: verdicts still say 'liveness: not evaluated'."
run bioctl policy -d "$NODE" --set --allow-no-liveness on || exit 1

say "Genuine: person 42 presents the card of person 42"
run bioctl verify -d "$NODE" -t "$WORK/card-42.tpl" -o kiosk-01 --timeout 3000
rc_genuine=$?

say "Impostor: person 7 presents the card of person 42"
run bioctl sim scene $NAME "person 7" >/dev/null
run bioctl verify -d "$NODE" -t "$WORK/card-42.tpl" -o kiosk-01 --timeout 3000
rc_impostor=$?

say "Reader statistics"
run bioctl stats -d "$NODE"

say "Cleaning up"
run bioctl policy -d "$NODE" --set --allow-no-liveness off >/dev/null
run bioctl sim del $NAME
NODE=

say "Summary"
ok=1
res() { # expected-exit got label
	if [ "$2" -eq "$1" ]; then
		printf '  %-44s ok\n' "$3"
	else
		printf '  %-44s UNEXPECTED (exit %s, wanted %s)\n' "$3" "$2" "$1"
		ok=0
	fi
}
res 5 $rc_default  "genuine, default policy -> INCONCLUSIVE"
res 0 $rc_genuine  "genuine, no-liveness allowed -> MATCH"
res 3 $rc_impostor "impostor -> NO MATCH"
if [ $ok -eq 1 ]; then
	echo "demo: verdicts as expected"
	exit 0
fi
echo "demo: FAILED"
exit 1
