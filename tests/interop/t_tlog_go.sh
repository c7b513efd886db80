#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The audit log against an independent implementation of the same
# standards: Go's golang.org/x/mod/sumdb/note (C2SP signed notes) and
# sumdb/tlog (RFC 6962/9162 trees and proofs), from Debian's
# golang-golang-x-mod-dev, built offline with Debian's golang-go in
# GOPATH mode over /usr/share/gocode: nothing is downloaded.
#
# tests/interop/interop_store.c (built by `make user`) writes a
# multi-epoch store with the project's code and describes it;
# tests/interop/tlog-go/main.go checks it with Go's packages, and gives
# notes signed by Go to the project's verifier and to bioflow-verify.
# main.go lists the checks.  Prints KTAP; one SKIP when go or the Go
# package is missing (tools/install-deps.sh installs both).  A few
# seconds (the Go build is cached in build/go-cache).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
B=$ROOT/build
SUMDB=/usr/share/gocode/src/golang.org/x/mod/sumdb

# one RESULT TAIL [LOG]: a single result (LOG's lines as diagnostics).
one() {
	printf 'KTAP version 1\n1..1\n'
	[ -z "${3:-}" ] || sed 's/^/# /' "$3"
	printf '%s 1 tlog interop with golang.org/x/mod/sumdb%s\n' "$1" "$2"
	[ "$1" = ok ]
	exit
}

command -v go >/dev/null 2>&1 || one ok " # SKIP no go (Debian package golang-go)"
[ -f "$SUMDB/note/note.go" ] && [ -f "$SUMDB/tlog/tlog.go" ] ||
	one ok " # SKIP no $SUMDB (Debian package golang-golang-x-mod-dev)"
for p in "$B/tests/interop/interop_store" "$B/bioflow-verify"; do
	[ -x "$p" ] || one "not ok" ": $p is not built (make user)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/tlog-go.XXXXXX") || one "not ok" ": mktemp"
trap 'rm -rf "$work"' EXIT
mkdir -p "$B/go-cache" "$B/tests/interop"
# GOPATH mode (no modules, no proxy): imports come from Debian's sources.
# The package is named relative to ROOT (GOPATH mode takes no absolute
# import paths).
if ! cd "$ROOT" || ! env GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOPROXY=off \
	GOENV=off GOTOOLCHAIN=local GOCACHE="$B/go-cache" GOTMPDIR="$work" \
	go build -o "$B/tests/interop/tlog-go" ./tests/interop/tlog-go \
	>"$work/build.log" 2>&1; then
	one "not ok" ": go build tests/interop/tlog-go failed" "$work/build.log"
fi
"$B/tests/interop/tlog-go" -helper "$B/tests/interop/interop_store" \
	-verify "$B/bioflow-verify" -work "$work"
