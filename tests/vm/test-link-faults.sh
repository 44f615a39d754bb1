#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Guest side (runs inside the test VM through tests/vm/run.sh): a bad and then a broken replication link
# under load, on the Primary's kernel device.
#   test-link-faults.sh [auto|kernel-nbd]   auto: the daemon's choice, ublk on the test kernel;
#                                           test-link-faults-nbd.sh forces kernel NBD.
#   1. tc netem on the Primary's veth (20 ms ± 5 ms delay, 2 % loss): fio writes with verification through
#      the device; the peers stay Connected (TCP retransmits) and fio's verify passes;
#   2. iptables drops everything between the hosts while fio writes: the Primary carries on alone, the
#      Secondary is Outdated; the link returns: bitmap resync, replicas identical.
# Needs netem and iptables in the kernel (the test VM has both; this machine's kernel has no netem).
set -euo pipefail

FRONTEND=${1:-auto}
TS_NAME=vmlink
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
require_tools fio tc iptables cmp timeout
require_netns
tandem_binaries
[ -e /dev/ublk-control ] || [ -e /sys/module/nbd ] || [ -e /dev/nbd0 ] || skip "this kernel has neither ublk nor nbd"

up_args=()
case $FRONTEND in
  auto) ;;
  kernel-nbd)
    [ -e /sys/module/nbd ] || [ -e /dev/nbd0 ] || skip "this kernel has no nbd driver"
    up_args=(--frontend kernel-nbd) ;;
  *) fail "usage: test-link-faults.sh [auto|kernel-nbd]" ;;
esac

step "two hosts in the guest ($FRONTEND), initial sync, alpha Primary"
if [ "$FRONTEND" = auto ]; then tandem_setup lnk 18 64 r0; else tandem_setup lnkn 19 64 r0; fi
for h in alpha beta; do adm_ok "$h" create-md "$RES" >/dev/null; adm_ok "$h" up "$RES" "${up_args[@]}"; done
wait_connected alpha
adm_ok alpha primary "$RES" --force
wait_synced alpha
dev_of() { readlink -f "$DEV_alpha"; }
wait_until 20 "alpha's device" test -b "$(dev_of)" || fail "no device for alpha"
DEV=$(dev_of)
info "alpha's device: $DEV ($(status_json alpha | json_str kind))"

# fio_write NAME SECONDS: random 4 KiB writes with crc32c verification, rate-limited (the guest CPU is
# emulated), in the background; sets FIO_PID.
fio_write() {
  timeout 300 fio --name="$1" --eta=never --filename="$DEV" --size=32M --rw=randwrite --bs=4k --iodepth=8 \
    --ioengine=libaio --direct=1 --rate_iops=300 --runtime="$2" --time_based=0 --verify=crc32c --do_verify=1 \
    --verify_fatal=1 --randrepeat=0 --output="$WORK/fio-$1.txt" >/dev/null 2>&1 &
  FIO_PID=$!
  cleanup_add_pid "$FIO_PID"
}
fio_wait() {
  local rc=0
  wait "$FIO_PID" || rc=$?
  [ "$rc" -eq 0 ] || fail "fio $1 failed ($rc): $(tail -n 8 "$WORK/fio-$1.txt")"
  info "fio $1: $(grep -o 'write: IOPS=[^,]*' "$WORK/fio-$1.txt" | head -n 1), verify passed"
}

step "netem: 20 ms ± 5 ms delay and 2 % loss on alpha's link, fio with verify"
on_host alpha tc qdisc add dev "$VETH_alpha" root netem delay 20ms 5ms loss 2% ||
  skip "tc netem is not available in this kernel"
fio_write netem 8
fio_wait netem
is_connected alpha || fail "the peers lost each other under netem: $(node_cstate alpha)"
on_host alpha tc qdisc del dev "$VETH_alpha" root
wait_idle alpha
show_status alpha

step "iptables cut while fio writes: alpha carries on, beta is Outdated; the link returns, bitmap resync"
sent_before=$(status_json alpha | json_num resync-sent)
fio_write cut 12
sleep 2
link_drop alpha
wait_until 30 "alpha notices the cut" not_connected alpha || fail "alpha still Connected after the cut"
wait_until 30 "beta Outdated" local_dstate_is beta Outdated || fail "beta is $(node_dstate beta)"
show_status alpha
sleep 3
link_undrop alpha
fio_wait cut
wait_connected alpha
wait_synced alpha
j=$(status_json alpha)
sent=$(( $(echo "$j" | json_num resync-sent) - sent_before ))
size=$(echo "$j" | json_num size)
info "resync after the cut: $sent bytes sent (device: $size bytes)"
[ "$sent" -gt 0 ] && [ "$sent" -lt "$size" ] || fail "the resync after the cut sent $sent bytes: not bitmap-based"
wait_idle alpha
compare_data_regions
echo "PASS"
