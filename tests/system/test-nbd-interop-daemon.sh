#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# NBD export of a running, connected Primary, exercised by real clients: fio's nbd engine with crc32c
# verification (4 KiB random writes at iodepth 32, then 1 MiB sequential writes), nbdinfo for size and
# flags; afterwards both backing files' data regions must be byte-identical (every write reached the peer).
#
# Two hosts as network namespaces (see lib/netns.sh), one tandemd each. Needs root, ip netns, /dev/fuse, loop
# devices, fio with the nbd engine, nbdinfo. Exits 77 with "SKIP: reason" otherwise.
set -euo pipefail

TS_NAME=nbd-interop
LIB=$(cd "$(dirname "$0")/lib" && pwd)
# shellcheck source=lib/two_hosts.sh
. "$LIB/two_hosts.sh"
require_tools nbdinfo cmp od timeout truncate
require_fio_nbd

step "two connected nodes, alpha Primary"
tandem_setup nbd 12 256 r0
for h in alpha beta; do
  adm_ok "$h" create-md "$RES"
  adm_ok "$h" up "$RES"
done
wait_connected alpha
wait_connected beta
adm_ok alpha primary "$RES" --force
wait_synced alpha
show_status alpha

step "the NBD export"
SOCK=$(status_json alpha | json_str nbd-socket || true)
[ -n "$SOCK" ] || SOCK=$RUN_alpha/$RES.nbd
info "status-json nbd-socket: $SOCK"
wait_until 10 "NBD socket $SOCK" test -S "$SOCK" || fail "no NBD socket at $SOCK"
[ "$SOCK" = "$RUN_alpha/$RES.nbd" ] || fail "NBD socket is $SOCK, expected $RUN_alpha/$RES.nbd"
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "NBD socket mode is $(stat -c %a "$SOCK"), want 600"
URI="nbd+unix:///?socket=$SOCK"
SIZE=$(status_json alpha | json_num size || true)
[ -n "$SIZE" ] || fail "status --json has no size"

step "nbdinfo reports size and flags"
timeout 30 nbdinfo "$URI" >"$WORK/nbdinfo.txt" || fail "nbdinfo $URI failed"
sed 's/^/    /' "$WORK/nbdinfo.txt"
for want in "export-size: $SIZE" "is_read_only: false" "can_flush: true" "can_fua: true" "can_trim: true" \
  "can_zero: true"; do
  grep -q "$want" "$WORK/nbdinfo.txt" || fail "nbdinfo output lacks '$want'"
done

# run_fio NAME ARGS...: one fio job against the export, verified; fails on any error or verify mismatch.
run_fio() {
  local name=$1
  shift
  # In WORK: fio drops a verify state file in the current directory.
  (cd "$WORK" && timeout 600 fio --name="$name" --ioengine=nbd --uri="$URI" --verify=crc32c --do_verify=1 --verify_fatal=1 \
    "$@" --output="$WORK/fio-$name.txt") || { cat "$WORK/fio-$name.txt"; fail "fio $name failed"; }
  grep -q "err= 0" "$WORK/fio-$name.txt" || { cat "$WORK/fio-$name.txt"; fail "fio $name reported errors"; }
  grep -E '^ +(write|read):' "$WORK/fio-$name.txt" | sed 's/^ */    /'
}

step "fio: 4 KiB random writes, iodepth 32, 64 MiB, crc32c verify"
run_fio randwrite-4k --rw=randwrite --bs=4k --iodepth=32 --size=64M

step "fio: 1 MiB sequential writes, iodepth 8, 64 MiB at offset 128 MiB, crc32c verify"
run_fio seqwrite-1m --rw=write --bs=1M --iodepth=8 --size=64M --offset=128M

step "both backing files hold the same data"
wait_idle alpha
show_status alpha
compare_data_regions

echo
echo "PASS"
