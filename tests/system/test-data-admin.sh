#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# DRBD's data admin commands on real processes:
#  - new-current-uuid --clear-bitmap on two fresh, connected nodes: both UpToDate, no initial sync;
#  - invalidate on the Secondary after its backing file was damaged behind tandem's back: full resync repairs it;
#  - invalidate-remote from the Primary: the same, started from the other side;
#  - verify finds blocks damaged behind tandem's back and a reconnect resyncs exactly those;
#  - suspend-io holds new writes (status: suspended:user) until resume-io;
#  - outdate on a disconnected Secondary: its promotion is then refused.
# Needs root, ip netns, /dev/fuse, loop devices, fio with the nbd engine. Exits 77 with "SKIP: reason" otherwise.
set -euo pipefail

TS_NAME=adm
LIB=$(cd "$(dirname "$0")/lib" && pwd)
# shellcheck source=lib/two_hosts.sh
. "$LIB/two_hosts.sh"
require_tools cmp dd truncate timeout
require_fio_nbd

damage_beta() {  # overwrite 64 KiB in the middle of beta's data region, behind tandem's back
  dd if=/dev/urandom of="$DISK_beta" bs=64k count=1 seek=100 conv=notrunc status=none || fail "damaging beta"
  if cmp -s -n "$(data_size_of)" "$DISK_alpha" "$DISK_beta"; then fail "the damage did not change beta's data"; fi
}

step "two fresh nodes: new-current-uuid --clear-bitmap skips the initial sync"
tandem_setup dadm 14 128 r0
for h in alpha beta; do
  adm_ok "$h" create-md "$RES"
  adm_ok "$h" up "$RES"
done
wait_connected alpha
adm_ok alpha new-current-uuid "$RES" --clear-bitmap
wait_until 10 "both UpToDate" both_uptodate alpha || fail "alpha dstate '$(node_dstate alpha)'"
wait_until 10 "both UpToDate" both_uptodate beta || fail "beta dstate '$(node_dstate beta)'"
sent=$(status_json alpha | json_num resync-sent)
[ "$sent" = 0 ] || fail "an initial sync ran anyway ($sent bytes)"
info "both UpToDate, $sent bytes resynced"

step "alpha Primary without --force; write data"
adm_ok alpha primary "$RES"
timeout 60 fio --name=w --ioengine=nbd --uri="nbd+unix:///?socket=$RUN_alpha/$RES.nbd" --direct=1 --rw=write \
  --bs=1M --size=32M --output="$WORK/fio.out" >/dev/null || fail "fio: $(tail -n 3 "$WORK/fio.out")"
wait_idle alpha
compare_data_regions

step "damage beta's copy; invalidate on beta repairs it"
damage_beta
adm_expect 11 alpha invalidate "$RES"  # refused on the Primary
adm_ok beta invalidate "$RES"
wait_connected beta
wait_synced beta
wait_synced alpha
wait_idle alpha
compare_data_regions

step "damage beta's copy again; invalidate-remote on alpha repairs it"
damage_beta
adm_ok alpha invalidate-remote "$RES"
sleep 1
wait_connected alpha
wait_synced alpha
wait_synced beta
wait_idle alpha
compare_data_regions

step "damage beta's copy; verify on alpha finds it; a reconnect repairs it"
damage_beta
verify_done() {
  local j
  j=$(status_json alpha)
  [ "$(json_str replication-state <<<"$j")" = Established ] &&
    [ "$(json_num verify-done <<<"$j")" = "$(json_num verify-total <<<"$j")" ]
}
adm_ok alpha verify "$RES"
wait_until 60 "verify finished" verify_done || fail "verify did not finish: $(adm alpha status "$RES")"
oos=$(status_json alpha | json_num verify-out-of-sync)
[ "$oos" = 65536 ] || fail "verify found $oos bytes out of sync, expected the 65536 damaged"
info "verify found $oos bytes out of sync"
adm_ok alpha disconnect "$RES"
adm_ok alpha connect "$RES"
wait_connected alpha
wait_synced alpha
wait_synced beta
wait_idle alpha
compare_data_regions

step "suspend-io holds new writes until resume-io"
adm_ok alpha suspend-io "$RES"
adm alpha status "$RES" | grep -q "^$RES role:Primary suspended:user\$" ||
  fail "status does not show suspended:user: $(adm alpha status "$RES")"
timeout 60 fio --name=s --ioengine=nbd --uri="nbd+unix:///?socket=$RUN_alpha/$RES.nbd" --direct=1 --rw=write \
  --bs=64k --size=1M --output="$WORK/fio-s.out" >/dev/null &
FIO_PID=$!
cleanup_add_pid "$FIO_PID"
sleep 2
kill -0 "$FIO_PID" 2>/dev/null || fail "the writes completed while I/O was suspended"
adm_ok alpha resume-io "$RES"
wait "$FIO_PID" || fail "fio after resume-io: $(tail -n 3 "$WORK/fio-s.out")"
adm_expect 11 alpha resume-io "$RES"  # nothing is suspended now
wait_idle alpha
compare_data_regions

step "outdate a disconnected Secondary: it refuses promotion"
adm_ok beta disconnect "$RES"
adm_ok beta outdate "$RES"
local_dstate_is beta Outdated || fail "beta dstate '$(node_dstate beta)' after outdate"
adm_ok alpha secondary "$RES"
adm_expect 11 beta primary "$RES"

step "down both nodes"
ADM_TIMEOUT_S=30 adm alpha down "$RES" >/dev/null || fail "alpha down"
ADM_TIMEOUT_S=30 adm beta down "$RES" >/dev/null || fail "beta down"

echo
echo "PASS"
