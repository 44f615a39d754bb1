#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# The activity log bounds the resync after a crash of the Primary (issue 3), on real processes:
#  - alpha (Primary, al-extents 16 = 64 MiB of hot extents) writes with fio through its NBD export, first a
#    region that fio verifies, then random writes with verify headers over 256 MiB while its daemon is killed
#    with SIGKILL;
#  - restarted, alpha marks only its activity-log extents out of sync: the resync copies at most
#    16 × 4 MiB (checked with status --json resync-total and the log), far less than the 512 MiB device;
#  - everything fio had acknowledged reads back (fio verify, with the verify state fio saved for the writes
#    it completed before the crash), and both backing files' data regions are identical.
# Needs root, ip netns, /dev/fuse, fio with the nbd engine. Exits 77 with "SKIP: reason" otherwise.
set -euo pipefail

TS_NAME=al
LIB=$(cd "$(dirname "$0")/lib" && pwd)
# shellcheck source=lib/two_hosts.sh
. "$LIB/two_hosts.sh"
require_tools cmp truncate timeout
require_fio_nbd

AL_EXTENTS=16
AL_BOUND=$((AL_EXTENTS * 4 * 1024 * 1024))

nbd_uri() { echo "nbd+unix:///?socket=$(host_run "$1")/$RES.nbd"; }

# fio_job HOST NAME ARGS...: a bounded fio run against HOST's NBD export, in $WORK (verify state files).
fio_job() {
  local h=$1 name=$2
  shift 2
  (cd "$WORK" && exec timeout 120 fio --name="$name" --ioengine=nbd --uri="$(nbd_uri "$h")" --direct=1 \
    --output="$WORK/$name.out" "$@")
}

kill_daemon() {
  local h=$1 pid
  pid=$(cat "$(host_run "$h")/$RES.pid")
  kill -9 "$pid"
  wait_until 10 "$h's daemon gone" bash -c "! kill -0 $pid 2>/dev/null" || fail "$h's daemon survived kill -9"
  rm -f "$(host_run "$h")/$RES.pid"
  info "killed $h's daemon (pid $pid) with SIGKILL"
}

step "two hosts (al-extents $AL_EXTENTS), initial sync, alpha Primary"
tandem_setup al 16 512 r0
sed -i "s/^resource $RES {/resource $RES {\n    disk { al-extents $AL_EXTENTS; }/" "$CONF"
grep -q "al-extents $AL_EXTENTS" "$CONF" || fail "could not add al-extents to $CONF"
for h in alpha beta; do
  adm_ok "$h" create-md "$RES"
  adm_ok "$h" up "$RES"
done
wait_connected alpha
adm_ok alpha primary "$RES" --force
wait_synced alpha
wait_synced beta
json=$(status_json alpha)
[ "$(echo "$json" | json_num al-extents)" = "$AL_EXTENTS" ] || fail "status --json does not show al-extents $AL_EXTENTS: $json"

step "fio writes and verifies 32 MiB through alpha's NBD export"
fio_job alpha base --rw=write --bs=64k --iodepth=8 --size=32M --verify=crc32c --do_verify=1 \
  --verify_state_save=0 || fail "fio (base) failed: $(tail -n 5 "$WORK/base.out")"
al_writes=$(status_json alpha | json_num al-writes)
info "activity-log transactions so far: $al_writes"
[ "${al_writes:-0}" -gt 0 ] || fail "writes to cold extents wrote no activity-log transaction"

step "kill -9 alpha's daemon (Primary) during random writes over 256 MiB"
# fio records which writes completed (its verify state) when it is terminated, not when its I/O fails, and it
# counts a write that failed because the server died as done (its verify then reports the never-written block).
# So fio is frozen mid-run, the daemon gets a second to answer what fio had sent (the replies wait in the
# socket), the daemon is killed, and fio is terminated: its verify state then holds exactly the acknowledged
# writes. The daemon dies with its activity log hot (and writes of the last second possibly only in the disk
# cache); test-crash-restart.sh kills a daemon with writes in flight.
fio_job alpha storm --rw=randwrite --bs=4k --iodepth=16 --offset=128M --size=256M --time_based --runtime=60 \
  --verify=crc32c --do_verify=1 --verify_state_save=1 --thread >/dev/null 2>&1 &
storm=$!
cleanup_add_pid "$storm"
sleep 4
fio_pid=$(pgrep -P "$(pgrep -P "$storm" | head -n 1)" | head -n 1)
[ -n "$fio_pid" ] || fail "cannot find the fio process under $storm"
kill -STOP "$fio_pid"
sleep 1
kill_daemon alpha
kill -TERM "$fio_pid"
kill -CONT "$fio_pid"
wait "$storm" 2>/dev/null || true  # fio reports the errors of its writes in flight, as it should
ls "$WORK"/*storm*verify.state >/dev/null 2>&1 || fail "fio saved no verify state: $(ls "$WORK" | tr '\n' ' ')"
wait_until 30 "beta notices" not_connected beta || fail "beta still Connected after alpha died"

step "dump-md on the dead Primary shows its activity log"
dump=$("$TANDEMADM" -c "$CONF" --host alpha dump-md "$RES" 2>&1) || fail "dump-md failed: $dump"
echo "$dump" | grep -E "^(flags|al-|bitmap-out)" | sed 's/^/    /'
echo "$dump" | grep -q "^al-kept: *yes" || fail "dump-md does not say the activity log is kept"
active=$(echo "$dump" | sed -n 's/^al-active: *\([0-9]*\) extents.*/\1/p')
[ -n "$active" ] && [ "$active" -ge 1 ] && [ "$active" -le "$AL_EXTENTS" ] ||
  fail "dump-md shows '$active' active extents, expected 1..$AL_EXTENTS"

step "restart alpha: crashed Primary; only its activity-log extents are resynced"
adm_ok alpha up "$RES"
grep -qE "activity log: [0-9]+ extents? marked out of sync" "$(host_log alpha)" ||
  fail "alpha did not mark its activity-log extents: $(grep -iE 'activity|unclean' "$(host_log alpha)" | tail -n 3)"
info "$(grep -oE "activity log: [0-9]+ extents? marked out of sync[^;]*" "$(host_log alpha)" | tail -n 1)"
wait_connected alpha
wait_synced alpha
wait_synced beta
grep -qE "handshake.*sync-source\(bitmap\).*crashed while Primary" "$(host_log alpha)" ||
  fail "alpha was not the source of a bitmap-based resync: $(grep handshake "$(host_log alpha)" | tail -n 1)"
json=$(status_json alpha)
total=$(echo "$json" | json_num resync-total)
sent=$(echo "$json" | json_num resync-sent)
size=$(echo "$json" | json_num size)
info "resync after the crash: total $total bytes, sent $sent bytes, device $size bytes, bound $AL_BOUND bytes"
[ -n "$total" ] && [ "$total" -gt 0 ] || fail "no resync after the crash? resync-total '$total'"
[ "$total" -le "$AL_BOUND" ] || fail "resync of $total bytes exceeds al-extents x 4 MiB ($AL_BOUND)"
[ "$sent" -le "$AL_BOUND" ] || fail "resync sent $sent bytes, more than al-extents x 4 MiB ($AL_BOUND)"
[ "$total" -lt $((size / 4)) ] || fail "resync of $total bytes is not bounded (device $size bytes)"
wait_idle alpha
compare_data_regions

step "everything fio had acknowledged is there"
adm_ok alpha primary "$RES"
fio_job alpha base --rw=write --bs=64k --iodepth=8 --size=32M --verify=crc32c --verify_only=1 \
  --verify_state_save=0 || fail "fio verification of the base region failed: $(tail -n 5 "$WORK/base.out")"
info "fio verified the 32 MiB written before the crash"
fio_job alpha storm --rw=randwrite --bs=4k --iodepth=16 --offset=128M --size=256M --verify=crc32c \
  --verify_only=1 --verify_state_load=1 --thread ||
  fail "fio verification of the writes acknowledged before the crash failed ($(grep -c "bad magic" "$WORK/storm.out") bad blocks): $(grep -iE "verify|bad|err|io=" "$WORK/storm.out" | tail -n 8)"
info "fio verified the random writes it completed before the crash ($(grep -oE 'io=[^,]*' "$WORK/storm.out" | head -n 1))"

step "down both nodes"
ADM_TIMEOUT_S=30 adm alpha down "$RES" >/dev/null || fail "alpha down"
ADM_TIMEOUT_S=30 adm beta down "$RES" >/dev/null || fail "beta down"

echo
echo "PASS"
