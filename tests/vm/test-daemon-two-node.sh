#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Guest side (runs inside the test VM through tests/vm/run.sh): two tandemd nodes in two network namespaces of
# the guest; the Primary's device is a kernel block device.
#   test-daemon-two-node.sh [auto|ublk|kernel-nbd]
# auto (the default, what ctest runs): the daemon's own choice, which on the test kernel must be ublk
# (/dev/ublk-control exists); test-daemon-two-node-nbd.sh runs the same with `up --frontend kernel-nbd`.
# Initial sync, mkfs + files on the device, identical replicas, role switch, the files on the other node,
# `status` naming the frontend and the device. On ublk also: kill -9 of the Primary's daemon under fio, restart,
# promote: the same /dev/ublkbN is taken back (user recovery) and fio's verification passes; then `down` under
# fio: fio ends with I/O errors, no hang, no device left. Sizes are small: the guest CPU is emulated.
set -euo pipefail

FRONTEND=${1:-auto}
TS_NAME=vm2n
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
require_tools mkfs.ext4 mount umount sha256sum cmp truncate timeout fio
require_netns
tandem_binaries
case $FRONTEND in
  auto)
    if [ -e /dev/ublk-control ]; then kind=ublk
    elif [ -e /sys/module/nbd ] || [ -e /dev/nbd0 ]; then kind=kernel-nbd
    else skip "this kernel has neither ublk nor nbd"; fi;;
  ublk) [ -e /dev/ublk-control ] || skip "this kernel has no ublk driver"; kind=ublk;;
  kernel-nbd) [ -e /sys/module/nbd ] || [ -e /dev/nbd0 ] || skip "this kernel has no nbd driver"; kind=kernel-nbd;;
  *) fail "usage: test-daemon-two-node.sh [auto|ublk|kernel-nbd]";;
esac
up_args=()
[ "$FRONTEND" = auto ] || up_args=(--frontend "$FRONTEND")
if [ $kind = ublk ]; then dev_re='^/dev/ublkb[0-9]+$'; else dev_re='^/dev/nbd[0-9]+$'; fi

device_is_kernel() {
  local dev target
  dev=$(host_dev "$1")
  [ -L "$dev" ] || return 1
  target=$(readlink -f "$dev")
  [[ $target =~ $dev_re ]] && [ -b "$target" ]
}

# status_names HOST: `status` (text and JSON) names the frontend and the device the link points at.
status_names() {
  local h=$1 target text
  target=$(readlink -f "$(host_dev "$h")")
  text=$(adm "$h" status "$RES")
  grep -q "device:$target frontend:$kind" <<<"$text" || fail "$h's status does not name $target ($kind): $text"
  [ "$(status_json "$h" | json_str kind)" = "$kind" ] || fail "$h's status --json kind is not $kind"
  if [ $kind = ublk ]; then
    # The opcode encoding in use: legacy before Linux 6.4 (the test kernel is 6.1), ioctl-encoded after.
    grep -qE "frontend:ublk opcodes:(legacy|ioctl)" <<<"$text" || fail "$h's status does not name the opcodes: $text"
    grep -q "ublk opcodes: $(status_json "$h" | json_str opcodes)" "$(host_log "$h")" ||
      fail "$h's log does not say which opcodes it chose"
  fi
  info "$h: $(head -n 2 <<<"$text" | tail -n 1 | sed 's/^ *//')"
}

daemon_pid() { cat "$(host_run "$1")/$RES.pid"; }

step "two hosts in the guest ($FRONTEND), initial sync"
if [ $kind = ublk ]; then tandem_setup ublk 17 64 r0; else tandem_setup vm2 15 64 r0; fi
for h in alpha beta; do
  adm_ok "$h" create-md "$RES"
  adm_ok "$h" up "$RES" "${up_args[@]}"
done
wait_connected alpha
adm_ok alpha primary "$RES" --force
wait_synced alpha
wait_synced beta

step "alpha's device is a $kind device"
wait_until 20 "$DEV_alpha -> $dev_re" device_is_kernel alpha || fail "$DEV_alpha -> '$(readlink -f "$DEV_alpha")'"
status_names alpha
if [ "$FRONTEND" = auto ]; then
  grep -q "frontend auto: $kind" "$(host_log alpha)" || fail "alpha did not choose $kind automatically"
fi

step "mkfs.ext4, files, identical replicas"
timeout 300 mkfs.ext4 -q -F "$DEV_alpha" || fail "mkfs.ext4"
timeout 60 mount "$DEV_alpha" "$MNT_alpha" || fail "mount"
for i in 1 2 3 4; do head -c 2M /dev/urandom >"$MNT_alpha/f$i"; done
(cd "$MNT_alpha" && sha256sum f*) >"$WORK/sums"
timeout 60 umount "$MNT_alpha" || fail "umount"
wait_idle alpha
compare_data_regions

step "switch roles; the files on beta"
adm_ok alpha secondary "$RES"
[ ! -e "$DEV_alpha" ] || fail "$DEV_alpha still exists after secondary"
adm_ok beta primary "$RES"
wait_until 20 "$DEV_beta -> $dev_re" device_is_kernel beta || fail "$DEV_beta -> '$(readlink -f "$DEV_beta")'"
status_names beta
timeout 60 mount "$DEV_beta" "$MNT_beta" || fail "mount on beta"
(cd "$MNT_beta" && timeout 60 sha256sum --quiet -c "$WORK/sums") || fail "checksums differ on beta"
timeout 60 umount "$MNT_beta" || fail "umount on beta"

if [ $kind = ublk ]; then
  step "kill -9 beta's daemon (Primary) under fio; restart; the same device is taken back"
  dev=$(readlink -f "$DEV_beta")
  # The data area starts at 16 MiB: the filesystem's files stay intact for the final check.
  timeout 600 fio --name=recover --eta=never --filename="$dev" --offset=16M --size=16M --rw=randwrite --bs=4k \
    --iodepth=16 --ioengine=libaio --direct=1 --rate_iops=1000 --verify=crc32c --do_verify=1 --verify_fatal=1 \
    --randrepeat=0 --output="$WORK/fio-recover.txt" >/dev/null 2>&1 &
  fio_pid=$!
  cleanup_add_pid "$fio_pid"
  sleep 2  # The write phase takes at least 4 s (rate_iops), however fast the machine.
  kill -0 "$fio_pid" 2>/dev/null || fail "fio finished before the kill: $(tail -n 5 "$WORK/fio-recover.txt")"
  pid=$(daemon_pid beta)
  kill -9 "$pid"
  wait_until 30 "beta's daemon gone" bash -c "! kill -0 $pid 2>/dev/null" || fail "beta's daemon survived kill -9"
  rm -f "$(host_run beta)/$RES.pid"
  info "killed beta's daemon (pid $pid) with SIGKILL while fio wrote to $dev"
  [ -b "$dev" ] || fail "$dev vanished after the daemon was killed"
  kill -0 "$fio_pid" 2>/dev/null || fail "fio ended while the daemon was dead: $(tail -n 5 "$WORK/fio-recover.txt")"
  # The default grace for taking the device back (60 s) is enough for the resync below on a quiet machine;
  # a busy one must not turn this into test-ublk-crashed-secondary.sh.
  sed -i "s/^resource $RES {/resource $RES {\n    options {\n        ublk-recovery-grace 600;\n    }/" "$CONF"
  adm_ok beta up "$RES" "${up_args[@]}"
  wait_connected beta
  wait_synced beta
  adm_ok beta primary "$RES"
  [ "$(readlink -f "$DEV_beta")" = "$dev" ] || fail "beta's device is $(readlink -f "$DEV_beta"), not $dev"
  grep -q "taken back from a crashed run" "$(host_log beta)" || fail "beta did not take $dev back"
  rc=0
  timeout 300 tail --pid="$fio_pid" -f /dev/null || fail "fio did not finish within 300 s after the recovery"
  wait "$fio_pid" || rc=$?
  [ "$rc" = 0 ] || { cat "$WORK/fio-recover.txt"; fail "fio failed across kill -9 and recovery (status $rc)"; }
  info "fio verified its writes across kill -9 of the daemon and user recovery of $dev"
  timeout 60 mount "$DEV_beta" "$MNT_beta" || fail "mount on beta after the recovery"
  (cd "$MNT_beta" && timeout 60 sha256sum --quiet -c "$WORK/sums") || fail "checksums differ after the recovery"
  timeout 60 umount "$MNT_beta" || fail "umount on beta"
  wait_idle beta
  compare_data_regions

  step "down on beta under fio: fio ends with errors, no device left"
  timeout 120 fio --name=load --eta=never --filename="$dev" --offset=16M --size=16M --rw=randrw --bs=4k \
    --iodepth=16 --ioengine=libaio --direct=1 --time_based --runtime=60 --output="$WORK/fio-down.txt" \
    >/dev/null 2>&1 &
  fio_pid=$!
  cleanup_add_pid "$fio_pid"
  sleep 3
  kill -0 "$fio_pid" 2>/dev/null || fail "fio ended before down: $(tail -n 5 "$WORK/fio-down.txt")"
  ADM_TIMEOUT_S=90 adm beta down "$RES" >/dev/null || fail "beta down under fio"
  rc=0
  timeout 30 tail --pid="$fio_pid" -f /dev/null || fail "fio still runs 30 s after down"
  wait "$fio_pid" || rc=$?
  [ "$rc" != 0 ] || fail "fio did not notice the device going away"
  [ ! -e "/sys/block/${dev#/dev/}" ] || fail "$dev still exists after down"
  [ ! -e "$DEV_beta" ] || fail "$DEV_beta still exists after down"
  [ ! -e "$(host_run beta)/$RES.ublk" ] || fail "the ublk record is still in beta's run directory after down"
  info "fio ended with status $rc; $dev and $DEV_beta are gone"
  ADM_TIMEOUT_S=60 adm alpha down "$RES" >/dev/null || fail "alpha down"
else
  step "down both nodes"
  ADM_TIMEOUT_S=60 adm beta down "$RES" >/dev/null || fail "beta down"
  ADM_TIMEOUT_S=60 adm alpha down "$RES" >/dev/null || fail "alpha down"
  [ ! -e "$DEV_beta" ] || fail "$DEV_beta still exists after down"
fi

echo
echo "PASS ($kind)"
