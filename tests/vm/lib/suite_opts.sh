# SPDX-License-Identifier: GPL-2.0-only
#
# The options every host-side VM suite takes (tests/vm/card-suite.sh,
# tests/vm/fleet-suite.sh), sourced.  What is passed on goes to
# tests/vm/qemu/run.sh.

# suite_options NAME SCRIPT ARG...: --kver KVER and -q/--quiet for run.sh
# (in the array RUNARGS), --out DIR (in OUT, empty when not given);
# -h/--help prints SCRIPT's header comment (its lines from the third up to
# the first that is not a comment) and exits 0; any other option exits 2,
# NAME saying so.
suite_options() {
	local name=$1 script=$2
	shift 2
	OUT=
	RUNARGS=()
	while [ $# -gt 0 ]; do
		case "$1" in
		--kver) RUNARGS+=(--kver "$2"); shift 2 ;;
		--out) OUT=$2; shift 2 ;;
		-q | --quiet) RUNARGS+=(-q); shift ;;
		-h | --help) sed -n '3,/^[^#]/{/^#/p}' "$script" | sed 's/^# \{0,1\}//'; exit 0 ;;
		*) echo "$name: unknown option $1" >&2; exit 2 ;;
		esac
	done
}
