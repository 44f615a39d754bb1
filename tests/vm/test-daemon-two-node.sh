#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Guest side (runs inside the test VM through tests/vm/run.sh): two tandemd nodes in two network namespaces of
# the guest, on a kernel with nbd, where the daemon's automatic frontend choice gives the Primary a kernel NBD
# device (/dev/nbdN) instead of FUSE + loop. Initial sync, mkfs + files on the device, identical replicas,
# role switch, the files on the other node, clean down. Sizes are small: the guest CPU is emulated.
set -euo pipefail

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
require_tools mkfs.ext4 mount umount sha256sum cmp truncate timeout
require_netns
tandem_binaries
[ -e /sys/module/nbd ] || [ -e /dev/nbd0 ] || skip "this kernel has no nbd driver"

device_is_nbd() {
  local dev target
  dev=$(host_dev "$1")
  [ -L "$dev" ] || return 1
  target=$(readlink -f "$dev")
  [[ $target =~ ^/dev/nbd[0-9]+$ ]] && [ -b "$target" ]
}

step "two hosts in the guest, initial sync"
tandem_setup vm2 15 64 r0
for h in alpha beta; do
  adm_ok "$h" create-md "$RES"
  adm_ok "$h" up "$RES"
done
wait_connected alpha
adm_ok alpha primary "$RES" --force
wait_synced alpha
wait_synced beta

step "alpha's device is a kernel NBD device"
wait_until 20 "$DEV_alpha -> /dev/nbdN" device_is_nbd alpha || fail "$DEV_alpha -> '$(readlink -f "$DEV_alpha")'"
info "$DEV_alpha -> $(readlink -f "$DEV_alpha") ($(status_json alpha | json_str kind))"
grep -q "frontend auto: kernel-nbd" "$(host_log alpha)" || fail "alpha did not choose kernel NBD automatically"

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
adm_ok beta primary "$RES"
wait_until 20 "$DEV_beta -> /dev/nbdN" device_is_nbd beta || fail "$DEV_beta -> '$(readlink -f "$DEV_beta")'"
timeout 60 mount "$DEV_beta" "$MNT_beta" || fail "mount on beta"
(cd "$MNT_beta" && timeout 60 sha256sum --quiet -c "$WORK/sums") || fail "checksums differ on beta"
timeout 60 umount "$MNT_beta" || fail "umount on beta"

step "down both nodes"
ADM_TIMEOUT_S=60 adm beta down "$RES" >/dev/null || fail "beta down"
ADM_TIMEOUT_S=60 adm alpha down "$RES" >/dev/null || fail "alpha down"
[ ! -e "$DEV_beta" ] || fail "$DEV_beta still exists after down"

echo
echo "PASS"
