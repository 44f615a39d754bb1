#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# The acceptance test of the two-node mirror (issue 2), on real processes: two hosts as network namespaces
# joined by a veth pair, one tandemd per host, each in its own run directory.
#
#  1. create-md, up, wait-connect on both; `primary --force` on alpha; wait-sync.
#  2. The config's device symlink appears on alpha and points to /dev/loopN; mkfs.ext4, mount, write 72 MiB of
#     random files (sha256 recorded). `secondary` is refused while mounted, and while a process holds the
#     device open (the refusal names it); umount; the data regions of both
#     backing files are byte-identical.
#  3. beta's `primary` is refused (exit 11) while alpha is Primary; alpha `secondary` removes its symlink;
#     beta `primary`; the files are intact on beta.
#  4. The link is cut; beta (Primary) keeps writing; alpha becomes Outdated; the link is restored; the resync
#     makes both UpToDate and the data regions identical again.
#  5. alpha restarted with a config whose shared secret differs is refused: beta never connects and logs
#     the authentication failure.
#
# Needs root, ip netns, /dev/fuse, loop devices, mkfs.ext4. Exits 77 with "SKIP: reason" otherwise.
set -euo pipefail

TS_NAME=mirror
LIB=$(cd "$(dirname "$0")/lib" && pwd)
# shellcheck source=lib/two_hosts.sh
. "$LIB/two_hosts.sh"
require_tools mkfs.ext4 mount umount losetup sha256sum cmp dd od truncate timeout stat

# Writes COUNT files of 8 MiB random data plus a directory of small files below DIR/NAME, then records
# their sha256 sums in WORK/NAME.sha256 (paths relative to DIR).
write_files() {
  local dir=$1 name=$2 count=$3 i
  mkdir -p "$dir/$name/small"
  for i in $(seq 1 "$count"); do
    timeout 60 dd if=/dev/urandom of="$dir/$name/big$i" bs=1M count=8 status=none || fail "writing $dir/$name/big$i"
  done
  for i in $(seq 1 200); do head -c $((i * 37)) /dev/urandom >"$dir/$name/small/f$i"; done
  timeout 60 sync -f "$dir/$name/big1" || fail "sync $dir"
  (cd "$dir" && find "$name" -type f -print0 | sort -z | xargs -0 sha256sum) >"$WORK/$name.sha256"
  info "wrote $count x 8 MiB + 200 small files to $dir/$name"
}

check_files() {
  local dir=$1 name=$2
  (cd "$dir" && timeout 120 sha256sum --quiet -c "$WORK/$name.sha256") || fail "sha256 mismatch for $name in $dir"
  info "sha256 of every file in $name matches"
}

# mount_device HOST: mounts HOST's device (the config's symlink) on its mount point.
mount_device() {
  local h=$1
  timeout 30 mount "$(host_dev "$h")" "$(host_mnt "$h")" || fail "mount $(host_dev "$h") on $h"
}
umount_device() {
  local h=$1
  timeout 60 umount "$(host_mnt "$h")" || fail "umount $(host_mnt "$h") on $h"
}

# device_is_loop HOST: HOST's config device is a symlink to a /dev/loopN block device.
device_is_loop() {
  local dev target
  dev=$(host_dev "$1")
  [ -L "$dev" ] || return 1
  target=$(readlink -f "$dev")
  [[ $target =~ ^/dev/loop[0-9]+$ ]] && [ -b "$target" ]
}

step "two hosts: network namespaces, backing files, config"
tandem_setup mir 11 512 r0
info "alpha $IP_alpha ($NS_alpha), beta $IP_beta ($NS_beta), work dir $WORK"
info "devices: alpha $DEV_alpha, beta $DEV_beta"

step "create-md and up on both nodes"
for h in alpha beta; do
  adm_ok "$h" create-md "$RES"
  adm_ok "$h" up "$RES"
  [ -s "$(host_run "$h")/$RES.pid" ] || fail "$h: no pid file after up"
done
show_status alpha

step "wait-connect"
wait_connected alpha
wait_connected beta
show_status alpha
show_status beta

step "primary --force on alpha, initial sync"
adm_ok alpha primary "$RES" --force
role_is alpha Primary || fail "alpha role is '$(node_role alpha)' after primary --force"
wait_synced alpha
wait_synced beta
show_status alpha
show_status beta

step "alpha's device appears as a loop device"
wait_until 10 "$DEV_alpha -> /dev/loopN" device_is_loop alpha || fail "$DEV_alpha is not a symlink to a loop device"
info "$DEV_alpha -> $(readlink -f "$DEV_alpha")"
[ ! -e "$DEV_beta" ] || fail "beta (Secondary) has a device $DEV_beta"

step "mkfs.ext4, mount, write 72 MiB of random files on alpha"
timeout 120 mkfs.ext4 -q -F "$DEV_alpha" || fail "mkfs.ext4 $DEV_alpha"
mount_device alpha
write_files "$MNT_alpha" set1 9
info "$(df -h "$MNT_alpha" | tail -n1)"

step "secondary is refused while the device is mounted"
adm_expect 11 alpha secondary "$RES"
role_is alpha Primary || fail "alpha is no longer Primary after a refused secondary"

step "umount; both backing files hold the same data"
umount_device alpha
wait_idle alpha
compare_data_regions

step "beta cannot become Primary while alpha is"
adm_expect 11 beta primary "$RES"
role_is beta Secondary || fail "beta role is '$(node_role beta)'"

step "secondary is refused while a process has the device open, and names it"
sleep 60 <"$DEV_alpha" &
HOLDER_PID=$!
cleanup_add_pid "$HOLDER_PID"
wait_until 5 "the holder has the device open" test -e "/proc/$HOLDER_PID/fd/0" || fail "no holder"
out=$(adm alpha secondary "$RES" 2>&1) && fail "secondary succeeded while pid $HOLDER_PID had the device open"
info "refused: $out"
grep -q "pid $HOLDER_PID (sleep)" <<<"$out" || fail "the refusal does not name pid $HOLDER_PID (sleep): $out"
kill "$HOLDER_PID"
wait "$HOLDER_PID" 2>/dev/null || true
role_is alpha Primary || fail "alpha is no longer Primary after a refused secondary"

step "switch roles: alpha secondary, beta primary"
adm_ok alpha secondary "$RES"
if [ -e "$DEV_alpha" ] || [ -L "$DEV_alpha" ]; then fail "$DEV_alpha still exists after secondary"; fi
role_is alpha Secondary || fail "alpha role is '$(node_role alpha)' after secondary"
adm_ok beta primary "$RES"
wait_until 10 "$DEV_beta -> /dev/loopN" device_is_loop beta || fail "$DEV_beta is not a symlink to a loop device"
info "$DEV_beta -> $(readlink -f "$DEV_beta")"
show_status alpha
show_status beta

step "the files are intact on beta"
mount_device beta
check_files "$MNT_beta" set1
umount_device beta

step "cut the link; beta keeps writing; alpha becomes Outdated"
resync_sent_before=$(status_json beta | json_num resync-sent)
link_cut alpha
mount_device beta
write_files "$MNT_beta" set2 4
check_files "$MNT_beta" set1
umount_device beta
wait_until 30 "beta notices the lost peer" not_connected beta || fail "beta still Connected with the link down"
wait_until 30 "alpha Outdated" local_dstate_is alpha Outdated ||
  fail "alpha dstate is '$(node_dstate alpha)', expected Outdated while cut off"
role_is beta Primary || fail "beta lost its Primary role while disconnected"
show_status alpha
show_status beta

step "restore the link; resync"
link_restore alpha
wait_connected beta
wait_connected alpha
wait_synced beta
wait_synced alpha
wait_idle beta
show_status alpha
show_status beta
# Only the blocks written while apart travel (the bitmap), not the device.
resync_sent=$(($(status_json beta | json_num resync-sent) - resync_sent_before))
data_size=$(status_json beta | json_num size)
info "resync after the cut: $resync_sent bytes sent for a $data_size-byte device"
[ "$resync_sent" -gt 0 ] || fail "no resync data was sent after the cut"
[ "$resync_sent" -lt $((data_size / 2)) ] || fail "the resync after the cut sent $resync_sent bytes: not bitmap-based"
compare_data_regions

step "a node with a wrong shared secret is refused"
adm_ok alpha down "$RES"
wait_until 10 "alpha's daemon gone" bash -c "! kill -0 \$(cat '$RUN_alpha/$RES.pid' 2>/dev/null) 2>/dev/null" ||
  fail "alpha's daemon still running after down"
BAD_CONF=$WORK/tandem-wrong-secret.conf
sed 's/shared-secret "[^"]*"/shared-secret "not-the-right-secret"/' "$CONF" >"$BAD_CONF"
grep -q not-the-right-secret "$BAD_CONF" || fail "could not write the wrong-secret config"
log_lines_before=$(wc -l <"$(host_log beta)")
adm_with "$BAD_CONF" alpha up "$RES" || fail "alpha up with the wrong-secret config"
# Several connect attempts (connect-int 1 s) must all fail; beta must never reach Connected.
for _ in $(seq 1 16); do
  [ "$(node_cstate beta)" != Connected ] || fail "beta connected to a peer with the wrong shared secret"
  sleep 0.5
done
# The failure itself, not a "peer authenticated" line.
auth_lines=$(tail -n +"$((log_lines_before + 1))" "$(host_log beta)" |
  grep -iE 'authenticat[a-z]* .*(fail|refus|reject|denied|wrong)|(wrong|bad) shared.secret' || true)
[ -n "$auth_lines" ] || fail "beta's log does not mention the authentication failure"
info "beta's log: $(printf '%s\n' "$auth_lines" | head -n 1)"
info "alpha's log: $(grep -iE 'authenticat|secret' "$(host_log alpha)" | tail -n 1)"
show_status beta

step "down both nodes"
ADM_TIMEOUT_S=30 adm_with "$BAD_CONF" alpha down "$RES" >/dev/null || fail "alpha down"
ADM_TIMEOUT_S=30 adm beta down "$RES" >/dev/null || fail "beta down"
[ ! -e "$DEV_beta" ] || fail "$DEV_beta still exists after down"

echo
echo "PASS"
