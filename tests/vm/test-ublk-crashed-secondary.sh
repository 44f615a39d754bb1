#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Guest side (runs inside the test VM through tests/vm/run.sh): a daemon killed (-9) while Primary on ublk,
# restarted, and NOT promoted again. Its /dev/ublkbN must not keep the openers' I/O waiting forever:
#   1. grace period over (options { ublk-recovery-grace 8; }): fio, which was writing when the daemon died,
#      ends with I/O errors within a bound; the device and its /dev/ublkcN are deleted; `status` no longer
#      mentions it.
#   2. `down` within the grace period while a filesystem is mounted on the device: `down` is refused, naming
#      the mount; `status` says the device is stopped but held; after umount, `down` succeeds.
# At the end no /dev/ublkb*, nothing in /sys/class/ublk-char. One node (no peer): nothing here needs one.
set -euo pipefail

TS_NAME=vmcs
LIB=${TANDEM_SOURCE_DIR:?}/tests/system/lib
# shellcheck source=../system/lib/common.sh
. "$LIB/common.sh"
# shellcheck source=../system/lib/netns.sh
. "$LIB/netns.sh"
# shellcheck source=../system/lib/tandem.sh
. "$LIB/tandem.sh"
# shellcheck source=../system/lib/cleanup.sh
. "$LIB/cleanup.sh"
cleanup_init

require_root
require_tools mkfs.ext4 mount umount timeout fio
require_netns
tandem_binaries
[ -e /dev/ublk-control ] || skip "this kernel has no ublk driver"
[ -z "$(ls /sys/class/ublk-char 2>/dev/null)" ] || skip "ublk devices exist already: $(ls /sys/class/ublk-char)"

# set_grace SECONDS: the tandem-only option in the resource's options section (read at `up`).
set_grace() {
  sed -i '/^    options {/,/^    }/d' "$CONF"
  sed -i "s/^resource $RES {/resource $RES {\n    options {\n        ublk-recovery-grace $1;\n    }/" "$CONF"
}
daemon_pid() { cat "$(host_run alpha)/$RES.pid"; }
no_ublk_left() { [ -z "$(ls /sys/class/ublk-char 2>/dev/null)" ] && ! ls /dev/ublkb* >/dev/null 2>&1; }
crashed_note() { adm alpha status "$RES" 2>/dev/null | sed -n 's/^ *crashed-run: //p'; }

# promote_and_kill TARGET OUT: promote alpha, start fio writing TARGET ("dev": the device itself, else a
# file), kill -9 the daemon under it, restart the daemon. Sets dev (/dev/ublkbN) and fio_pid.
promote_and_kill() {
  local target=$1 out=$2 pid
  adm_ok alpha primary "$RES" --force
  wait_until 20 "$DEV_alpha -> /dev/ublkbN" bash -c "[[ \$(readlink -f $DEV_alpha) =~ ^/dev/ublkb[0-9]+$ ]]" ||
    fail "$DEV_alpha -> '$(readlink -f "$DEV_alpha")'"
  dev=$(readlink -f "$DEV_alpha")
  [ "$target" = dev ] && target=$dev
  timeout 300 fio --name=crash --eta=never --filename="$target" --rw=randwrite --bs=4k --iodepth=16 \
    --ioengine=libaio --direct=1 --size=8M --time_based --runtime=240 --rate_iops=500 --output="$out" \
    >/dev/null 2>&1 &
  fio_pid=$!
  cleanup_add_pid "$fio_pid"
  sleep 3
  kill -0 "$fio_pid" 2>/dev/null || fail "fio ended before the kill: $(tail -n 5 "$out")"
  pid=$(daemon_pid)
  kill -9 "$pid"
  wait_until 30 "the daemon gone" bash -c "! kill -0 $pid 2>/dev/null" || fail "the daemon survived kill -9"
  rm -f "$(host_run alpha)/$RES.pid"
  info "killed the daemon (pid $pid) under fio on $target"
  [ -b "$dev" ] || fail "$dev vanished after the daemon was killed"
  adm_ok alpha up "$RES"
  role_is alpha Secondary || fail "the restarted node is $(node_role alpha), not Secondary"
}

step "one node on ublk"
tandem_setup ucs 31 64 r0
set_grace 8
adm_ok alpha create-md "$RES"
adm_ok alpha up "$RES"

step "1. kill -9 under fio, restart, stay Secondary: fio ends with errors once the grace period is over"
t0=$(date +%s)
promote_and_kill dev "$WORK/fio-1.txt"
note=$(crashed_note)
[ -n "$note" ] || fail "status does not mention the crashed run's device: $(adm alpha status "$RES")"
info "status: $note"
# The kernel notices the dead server within ~5 s; then the grace (8 s); then STOP_DEV and DEL_DEV.
rc=0
timeout 90 tail --pid="$fio_pid" -f /dev/null || fail "fio still waits 90 s after the restart (grace 8 s)"
wait "$fio_pid" || rc=$?
[ "$rc" != 0 ] || fail "fio did not see I/O errors: $(tail -n 5 "$WORK/fio-1.txt")"
info "fio ended with status $rc $(( $(date +%s) - t0 )) s after the kill"
wait_until 30 "no ublk device left" no_ublk_left || fail "left: $(ls /sys/class/ublk-char /dev/ublkb* 2>&1)"
[ ! -e "$(host_run alpha)/$RES.ublk" ] || fail "the ublk record is still there"
[ -z "$(crashed_note)" ] || fail "status still mentions the crashed run: $(crashed_note)"
grep -q "not taken back by .primary. in time" "$(host_log alpha)" || fail "no log line about the grace period"

step "2. again with a filesystem mounted on it; down within the grace period"
ADM_TIMEOUT_S=90 adm alpha down "$RES" >/dev/null || fail "down"
set_grace 600
adm_ok alpha up "$RES"
adm_ok alpha primary "$RES" --force
timeout 120 mkfs.ext4 -q -F "$DEV_alpha" || fail "mkfs.ext4"
timeout 60 mount "$DEV_alpha" "$MNT_alpha" || fail "mount"
adm_expect 11 alpha secondary "$RES"
promote_and_kill "$MNT_alpha/f" "$WORK/fio-2.txt"
info "status: $(crashed_note)"
out=$(ADM_TIMEOUT_S=120 adm alpha down "$RES" 2>&1) && fail "down succeeded with a mounted crashed-run device"
info "down refused: $out"
# (Named as init sees it: in the VM init's root is /newroot, so the path may carry that prefix.)
grep -q "mounted on [^ ]*$MNT_alpha" <<<"$out" || fail "down does not name the mount: $out"
grep -q "stopped" <<<"$(crashed_note)" || fail "status does not say the device is stopped: $(crashed_note)"
[ ! -e "$dev" ] || fail "$dev still exists after down stopped it"
rc=0
timeout 60 tail --pid="$fio_pid" -f /dev/null || fail "fio still waits after down stopped the device"
wait "$fio_pid" || rc=$?
[ "$rc" != 0 ] || fail "fio did not see I/O errors"
timeout 60 umount "$MNT_alpha" || fail "umount of the stopped device's filesystem"
ADM_TIMEOUT_S=90 adm alpha down "$RES" >/dev/null || fail "down after umount"
wait_until 30 "no ublk device left" no_ublk_left || fail "left: $(ls /sys/class/ublk-char /dev/ublkb* 2>&1)"
info "down after umount deleted the device"

echo
echo "PASS"
