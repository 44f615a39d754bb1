#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Crashes of a daemon (kill -9) on real processes, and what the restart does about them:
#  1. The Primary's daemon is killed while fio writes through its NBD export. Restarted, it knows it crashed as
#     Primary: the handshake makes it the source of a resync of its activity-log extents (test-activity-log.sh
#     checks the bound), both data regions are
#     identical afterwards, and the data fio had written and verified before the crash reads back intact.
#  2. The Secondary's daemon is killed during writes. Restarted, it knows it may have lost acknowledged writes
#     from its disk's volatile cache and becomes the target of a full resync; identical again afterwards.
# Needs root, ip netns, /dev/fuse, loop devices, fio with the nbd engine. Exits 77 with "SKIP: reason" otherwise.
set -euo pipefail

TS_NAME=crash
LIB=$(cd "$(dirname "$0")/lib" && pwd)
# shellcheck source=lib/two_hosts.sh
. "$LIB/two_hosts.sh"
require_tools cmp truncate timeout
require_fio_nbd

nbd_uri() { echo "nbd+unix:///?socket=$(host_run "$1")/$RES.nbd"; }

# fio_job HOST NAME ARGS...: a bounded fio run against HOST's NBD export.
fio_job() {
  local h=$1 name=$2
  shift 2
  timeout 120 fio --name="$name" --ioengine=nbd --uri="$(nbd_uri "$h")" --direct=1 \
    --verify_state_save=0 --output="$WORK/$name.out" "$@"
}

daemon_pid() { cat "$(host_run "$1")/$RES.pid"; }

kill_daemon() {
  local h=$1 pid
  pid=$(daemon_pid "$h")
  kill -9 "$pid"
  wait_until 10 "$h's daemon gone" bash -c "! kill -0 $pid 2>/dev/null" || fail "$h's daemon survived kill -9"
  rm -f "$(host_run "$h")/$RES.pid"
  info "killed $h's daemon (pid $pid) with SIGKILL"
}

step "two hosts, initial sync, alpha Primary"
tandem_setup crs 12 256 r0
for h in alpha beta; do
  adm_ok "$h" create-md "$RES"
  adm_ok "$h" up "$RES"
done
wait_connected alpha
adm_ok alpha primary "$RES" --force
wait_synced alpha
wait_synced beta

step "fio writes and verifies 32 MiB through alpha's NBD export"
fio_job alpha base --rw=write --bs=64k --iodepth=8 --size=32M --verify=crc32c --do_verify=1 ||
  fail "fio (base) failed: $(tail -n 5 "$WORK/base.out")"
info "$(grep -E 'WRITE:' "$WORK/base.out" | head -n 1)"

step "kill -9 alpha's daemon (Primary) during random writes"
fio_job alpha storm --rw=randwrite --bs=4k --iodepth=16 --offset=64M --size=64M --time_based --runtime=20 \
  >/dev/null 2>&1 &
storm=$!
cleanup_add_pid "$storm"
sleep 2
# alpha's device is a loop device on a FUSE file in the daemon's own mount namespace: not visible here, and
# recorded in the run directory (the only way to find it once the daemon and its namespace are gone).
loop_rec="$(host_run alpha)/$RES.loop"
[ -f "$loop_rec" ] || fail "no loop record $loop_rec while alpha is Primary"
loop_idx=$(sed -n 's/^loop-index //p' "$loop_rec")
[ "$(readlink -f "$DEV_alpha")" = "/dev/loop$loop_idx" ] || fail "the record names loop$loop_idx, the link $(readlink -f "$DEV_alpha")"
[ "$(readlink /proc/self/ns/mnt)" != "$(readlink "/proc/$(daemon_pid alpha)/ns/mnt")" ] ||
  fail "alpha's daemon runs in the test's mount namespace"
! is_mounted "$(host_run alpha)/fuse-$RES" || fail "alpha's FUSE mount leaked into the test's mount namespace"
kill_daemon alpha
wait "$storm" 2>/dev/null || true  # fio fails when its server dies, as it should
info "after kill -9 /dev/loop$loop_idx's backing file reads '$(cat "/sys/block/loop$loop_idx/loop/backing_file" 2>&1)'"
wait_until 30 "beta notices" not_connected beta || fail "beta still Connected after alpha died"
show_status beta

step "restart alpha: crashed Primary, resync from it"
adm_ok alpha up "$RES"
wait_connected alpha
wait_synced alpha
wait_synced beta
grep -q "crashed while Primary" "$(host_log alpha)" || fail "alpha's log does not say it crashed as Primary"
grep -qE "handshake.*(sync-source\(full\)|crashed while Primary)" "$(host_log alpha)" ||
  fail "alpha did not become the sync source: $(grep handshake "$(host_log alpha)" | tail -n 1)"
show_status alpha
show_status beta
wait_idle alpha
compare_data_regions

step "the data fio verified before the crash is intact"
adm_ok alpha primary "$RES"
grep -q "loop$loop_idx recorded by pid [0-9]* is still bound to its FUSE file; detaching it" "$(host_log alpha)" ||
  fail "alpha did not detach the crashed run's /dev/loop$loop_idx by its record"
# verify_only re-reads and checks what the same job definition wrote, without writing.
fio_job alpha base --rw=write --bs=64k --iodepth=8 --size=32M --verify=crc32c --verify_only=1 ||
  fail "fio verification after the crash failed: $(tail -n 5 "$WORK/base.out")"
info "fio verified 32 MiB written before the crash"

step "kill -9 beta's daemon (Secondary) during writes; restart: full resync to it"
fio_job alpha storm2 --rw=randwrite --bs=4k --iodepth=16 --offset=64M --size=64M --time_based --runtime=5 \
  >/dev/null 2>&1 &
storm=$!
cleanup_add_pid "$storm"
sleep 2
kill_daemon beta
wait "$storm" || fail "fio on the Primary failed while its Secondary died: $(tail -n 5 "$WORK/storm2.out")"
info "the Primary kept serving fio while its Secondary was down"
adm_ok beta up "$RES"
wait_connected beta
wait_synced beta
wait_synced alpha
grep -qE "handshake.*sync-target\(full\).*stopped uncleanly" "$(host_log beta)" ||
  fail "beta was not made the target of a full resync: $(grep handshake "$(host_log beta)" | tail -n 1)"
show_status alpha
show_status beta
wait_idle alpha
compare_data_regions

step "down both nodes"
ADM_TIMEOUT_S=30 adm alpha down "$RES" >/dev/null || fail "alpha down"
ADM_TIMEOUT_S=30 adm beta down "$RES" >/dev/null || fail "beta down"

echo
echo "PASS"
