#!/bin/sh
# Cross-check: tools/examples/r0.conf must be accepted by both `tandemadm dump` and drbd-utils'
# `drbdadm dump`, and both must agree on hosts, node ids, addresses, protocol and authentication.
#
# drbdadm insists that device names start with /dev/drbd, so the example uses /dev/drbd0 (tandem links that
# path to its kernel device while Primary); both tools read the very same file.
#
# Needs root (unshare -u to give drbdadm a matching hostname without changing the host's), unshare, drbdadm.
# Exits 77 (skip) with a reason when something is missing. Changes nothing outside a temporary directory.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=${TANDEM_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
build=${TANDEM_BUILD_DIR:-$src/build}
tandemadm=$build/tools/tandemadm
example=$src/tools/examples/r0.conf

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ -x "$tandemadm" ] || fail "tandemadm not built at $tandemadm (set TANDEM_BUILD_DIR)"
[ -r "$example" ] || fail "example config missing: $example"
# --- tandemadm's own error paths (need nothing special, so they run before any skip) ---
expect_exit() {  # expect_exit CODE MESSAGE-SUBSTRING ARGS...
  want=$1 text=$2; shift 2
  set +e; out=$("$tandemadm" "$@" 2>&1); got=$?; set -e
  [ "$got" -eq "$want" ] || fail "tandemadm $*: exit $got, expected $want ($out)"
  case $out in *"$text"*) ;; *) fail "tandemadm $*: message '$out' lacks '$text'" ;; esac
}
bad=$(mktemp "${TMPDIR:-/tmp}/tandem-bad.XXXXXX")
printf 'resource r0 {\n  net { protocl C; }\n}\n' >"$bad"
expect_exit 1 "unknown command 'frobnicate'" -c "$example" frobnicate r0
expect_exit 1 "resource 'nosuch' is not defined" -c "$example" dump nosuch
expect_exit 1 "sh-local-host: missing resource name" -c "$example" sh-local-host
expect_exit 10 "$bad:2: unknown keyword 'protocl' in net section" -c "$bad" dump
expect_exit 10 "cannot read configuration" -c "$bad.missing" dump
expect_exit 0 "beta" -c "$example" --host beta sh-local-host r0
rm -f "$bad"

command -v drbdadm >/dev/null 2>&1 || skip "drbdadm (drbd-utils) is not installed"
command -v unshare >/dev/null 2>&1 || skip "unshare (util-linux) is not installed"
[ "$(id -u)" -eq 0 ] || skip "needs root for 'unshare -u' (a private hostname for drbdadm)"
unshare -u true 2>/dev/null || skip "unshare -u is not permitted here (no CAP_SYS_ADMIN?)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tandem-config-drbdadm.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# --- tandem ---
"$tandemadm" -c "$example" dump r0 >"$tmp/tandem.out" 2>"$tmp/tandem.err" ||
  fail "tandemadm dump r0 failed: $(cat "$tmp/tandem.err")"
# The dump must itself be valid input (round trip through the real binary).
"$tandemadm" -c "$tmp/tandem.out" dump r0 >"$tmp/tandem2.out" 2>"$tmp/tandem2.err" ||
  fail "tandemadm cannot re-read its own dump: $(cat "$tmp/tandem2.err")"
grep -v '^#' "$tmp/tandem.out" >"$tmp/a"; grep -v '^#' "$tmp/tandem2.out" >"$tmp/b"
cmp -s "$tmp/a" "$tmp/b" || fail "tandemadm dump is not stable under re-parsing"

# --- drbdadm ---
cp "$example" "$tmp/r0-drbd.conf"
# `drbdadm dump` only reads the file; it may warn that the example's IP addresses are not local (they are
# not meant to be), which is fine. The hostname is changed inside a private UTS namespace only.
run_drbdadm() {
  unshare -u sh -c 'hostname alpha && exec drbdadm -c "$1" dump r0' sh "$tmp/r0-drbd.conf"
}
if ! run_drbdadm >"$tmp/drbd.out" 2>"$tmp/drbd.err"; then
  fail "drbdadm dump r0 failed: $(cat "$tmp/drbd.err")"
fi

# --- agreement on the interpreted settings ---
# Normalise both dumps to "HOST key value" for host settings and "net key value" for the net section
# (quotes, comments and spacing stripped; drbdadm's device name mapped back), sorted, then compare.
extract() {
  sed -e 's/#.*//' -e 's/"//g' -e 's/;//' "$1" |
    awk '$1 == "on" { host = $2; next }
         $1 == "net" { host = "net"; next }
         $1 ~ /^(node-id|address|device|disk|meta-disk|protocol|cram-hmac-alg|shared-secret)$/ {
           line = host; for (i = 1; i <= NF; i++) line = line " " $i; print line }' | sort
}
extract "$tmp/tandem.out" >"$tmp/tandem.keys"
extract "$tmp/drbd.out" >"$tmp/drbd.keys"
if ! diff -u "$tmp/drbd.keys" "$tmp/tandem.keys" >"$tmp/keys.diff"; then
  cat "$tmp/keys.diff"
  fail "tandemadm and drbdadm disagree about the example (drbdadm = -, tandem = +)"
fi
[ "$(wc -l <"$tmp/tandem.keys")" -eq 13 ] || fail "expected 13 compared settings, got: $(cat "$tmp/tandem.keys")"
echo "PASS: tandemadm and drbdadm both accept $example and agree on $(wc -l <"$tmp/tandem.keys") settings"
