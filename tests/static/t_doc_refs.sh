#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The docs' references are true: a promise in docs/ names the test that
# proves it, so a test renamed or removed must not leave a promise
# pointing at nothing.
#
#   1  every project path the README and docs/*.md cite (tests/, bench/,
#      tools/, daemon/, kernel/, uapi/, udev/, dts/, packaging/,
#      collector/, lib/idcard|kiosk|sandbox; a built program counts when
#      its .c or .sh source exists; a "*" is a pattern that must match)
#      exists
#   2  every relative Markdown link in them resolves (to a file or
#      directory, relative to the document)
#   3  every attacker of docs/threat-model.md (its "###" sections under
#      "Attackers") names at least one test under tests/
#   4  the checks above catch a made-up path, link and test-less attacker
#      (a document written here for the purpose)
# Prints KTAP; exit status 0 only if every check passed.

set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
. "$ROOT/tests/static/lib/ktap.sh"

PLAN=4
echo "KTAP version 1"
echo "1..$PLAN"

PREFIX='(tests|bench|tools|daemon|kernel|uapi|udev|dts|packaging|collector|lib/(idcard|kiosk|sandbox))'

# missing_paths FILE...: the cited project paths that do not exist.
missing_paths() {
	grep -ohE "(^|[^/A-Za-z0-9_.-])$PREFIX/[A-Za-z0-9_.*/+-]*" "$@" |
		sed -E 's/^[^a-z]//; s/[.,:;)]*$//' | sort -u |
		while read -r p; do
			compgen -G "$p" >/dev/null || [ -e "$p.c" ] || [ -e "$p.sh" ] ||
				echo "$p"
		done
}

# broken_links FILE...: FILE: target for each relative link that does not
# resolve.
broken_links() {
	local f t
	for f in "$@"; do
		grep -oE '\]\([^)#[:space:]]+' "$f" | sed 's/^](//' | sort -u |
			while read -r t; do
				case "$t" in *://* | mailto:*) continue ;; esac
				[ -e "$(dirname "$f")/$t" ] || echo "$f: $t"
			done
	done
}

# untested_attackers FILE: the "###" headings under "## Attackers" whose
# section names no test.
untested_attackers() {
	awk '/^## /{inatt = /^## Attackers/; if (h != "" && !c) print h; h = ""}
	     /^### /{if (h != "" && !c) print h; h = inatt ? $0 : ""; c = 0}
	     /tests\//{c++}
	     END{if (h != "" && !c) print h}' "$1"
}

DOCS=(README.md docs/*.md)

bad=$(missing_paths "${DOCS[@]}")
result "$([ -z "$bad" ]; echo $?)" "every project path the docs cite exists" \
	"$(echo $bad)"

bad=$(broken_links "${DOCS[@]}")
result "$([ -z "$bad" ]; echo $?)" "every relative link in the docs resolves" \
	"$(echo $bad)"

bad=$(untested_attackers docs/threat-model.md)
result "$([ -z "$bad" ]; echo $?)" "every attacker in the threat model names a test" \
	"$(echo $bad)"

# 4: the same functions on a document made to fail each check.
mkdir -p "$TMP/docs"
cat >"$TMP/docs/bad.md" <<'EOF'
## Attackers

### One with a test

`tests/vm/t_session.c` proves it, and `tests/vm/t_no_such_test.c`; see
[the uAPI](uapi.md).

### One without

It cannot do anything ([gone](no-such.md)).
EOF
cp docs/uapi.md "$TMP/docs/"
p=$(missing_paths "$TMP/docs/bad.md")
l=$(broken_links "$TMP/docs/bad.md")
a=$(untested_attackers "$TMP/docs/bad.md")
if [ "$p" = tests/vm/t_no_such_test.c ] && [ "$l" = "$TMP/docs/bad.md: no-such.md" ] &&
   [ "$a" = "### One without" ]; then
	ok "the checks catch a made-up path, a broken link and an attacker without a test"
else
	not_ok "the checks catch a made-up path, a broken link and an attacker without a test" \
		"paths [$p] links [$l] attackers [$a]"
fi
ktap_done
