# SPDX-License-Identifier: GPL-2.0-only
#
# KTAP helpers shared by the static checks (tests/static/t_*.sh).
# Sourced, not run: it sets up the counters and a scratch directory $TMP
# (removed on exit).  A check script prints "KTAP version 1" and its
# plan, sets PLAN, reports each result with ok/not_ok/skip/result and
# ends with ktap_done, whose status is the script's exit status.

n=0
failed=0
passed=0
skipped=0

ok() {
	n=$((n + 1)); passed=$((passed + 1))
	echo "ok $n $1"
}

not_ok() {
	n=$((n + 1)); failed=$((failed + 1))
	echo "not ok $n $1${2:+ ($2)}"
}

skip() {
	n=$((n + 1)); skipped=$((skipped + 1))
	echo "ok $n $1 # SKIP $2"
}

# result STATUS NAME [WHY]: ok if STATUS is 0, else not ok.
result() {
	if [ "$1" -eq 0 ]; then ok "$2"; else not_ok "$2" "${3:-}"; fi
}

# diag_file FILE: print FILE as KTAP diagnostics.
diag_file() {
	sed 's/^/# /' "$1"
}

# missing TOOL... : names the first tool that is not on PATH, if any.
missing() {
	local t

	for t in "$@"; do
		if ! command -v "$t" >/dev/null 2>&1; then
			echo "$t"
			return 0
		fi
	done
	return 1
}

# ktap_done: totals; fails when the number of results is not $PLAN.
ktap_done() {
	if [ $n -ne "$PLAN" ]; then
		echo "# planned $PLAN tests but ran $n"
		failed=$((failed + 1))
	fi
	echo "# totals: pass:$passed fail:$failed skip:$skipped"
	[ $failed -eq 0 ]
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
