#!/bin/bash
# Guest side (runs inside the test VM through tests/vm/run.sh): the kernel NBD frontend over an in-memory
# disk, once connected through netlink and once through the legacy ioctls.
#   - the device appears with the right size, 4 KiB blocks, write-back cache with FUA, discard;
#   - mkfs.ext4, mount, write files, sync (flushes reach the target), busy while mounted, umount, remount,
#     checksums match;
#   - fio random 4 KiB writes at QD 32 with crc32c verification on the raw device;
#   - blkdiscard zeroes the in-memory disk (trim reaches the target);
#   - SIGTERM disconnects: size 0, no pid;
#   - (netlink) a device left connected by a killed server is disconnected by the next start, and a device
#     of a live server with the same backend identifier is left alone.
# Sizes are small: the guest CPU is emulated.
set -euo pipefail
B=${TANDEM_BUILD_DIR:?TANDEM_BUILD_DIR must name the build tree}
memdev=$B/tests/tools/kernel_nbd_memdev
[ -x "$memdev" ] || { echo "SKIP: $memdev not built (cmake --build ... --target kernel_nbd_memdev)"; exit 77; }
for tool in mkfs.ext4 fio blkdiscard sha256sum; do
  command -v $tool >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
[ -e /sys/module/nbd ] || [ -e /dev/nbd0 ] || { echo "SKIP: this kernel has no nbd driver"; exit 77; }

work=$(mktemp -d /tmp/kernel-nbd.XXXXXX)
mnt=$work/mnt
mkdir -p "$mnt"
server_pid=""
cleanup() {
  mountpoint -q "$mnt" && umount "$mnt" || true
  [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null || true
}
trap cleanup EXIT
step() { echo "--- $(date +%T) $*"; }
fail() { echo "FAIL: $*"; for f in "$work"/*.err; do echo "== $f"; tail -20 "$f"; done; exit 1; }

# Starts the server; sets server_pid, dev (/dev/nbdN), idx (N). $1: control interface, $2: log name.
start_server() {
  local control=$1 name=$2
  "$memdev" --size-mib 256 --control "$control" --resource "vmtest" > "$work/$name.out" 2> "$work/$name.err" &
  server_pid=$!
  for _ in $(seq 1 300); do
    if [ -s "$work/$name.out" ]; then break; fi
    kill -0 "$server_pid" 2>/dev/null || fail "kernel_nbd_memdev ($control) exited before the device was ready"
    sleep 0.1
  done
  read -r dev via how < "$work/$name.out" || fail "no device line from kernel_nbd_memdev ($control)"
  [ "$how" = "$control" ] || [ "$control" = auto ] || fail "asked for $control, connected via $how"
  idx=${dev#/dev/nbd}
  echo "connected $dev via $how"
}

# Sends a signal and waits for the next stdout line starting with $3.
ask() {
  local sig=$1 name=$2 prefix=$3 before
  before=$(wc -l < "$work/$name.out")
  kill "-$sig" "$server_pid"
  for _ in $(seq 1 100); do
    line=$(sed -n "$((before + 1)),\$p" "$work/$name.out" | grep "^$prefix" | head -1 || true)
    [ -n "$line" ] && { echo "$line"; return 0; }
    sleep 0.1
  done
  fail "no '$prefix' line after SIG$sig"
}

stop_server() {
  local name=$1
  kill -TERM "$server_pid"
  for _ in $(seq 1 300); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$server_pid" 2>/dev/null && fail "kernel_nbd_memdev did not exit within 30 s of SIGTERM"
  wait "$server_pid" || fail "kernel_nbd_memdev exited with status $?"
  server_pid=""
  grep -qx stopped "$work/$name.out" || fail "no 'stopped' line"
  [ ! -e "/sys/block/nbd$idx/pid" ] || fail "/dev/nbd$idx still has a pid after stop"
  [ "$(cat /sys/block/nbd$idx/size)" = 0 ] || fail "/dev/nbd$idx still has size $(cat /sys/block/nbd$idx/size) after stop"
  echo "$dev disconnected"
}

run_case() {
  local control=$1 fio_size=$2
  step "$control: connect"
  start_server "$control" "$control"
  local q=/sys/block/nbd$idx/queue
  [ "$(cat /sys/block/nbd$idx/size)" = $((256 * 2048)) ] || fail "size is $(cat /sys/block/nbd$idx/size) sectors"
  [ "$(cat $q/logical_block_size)" = 4096 ] || fail "logical block size $(cat $q/logical_block_size)"
  [ "$(cat $q/write_cache)" = "write back" ] || fail "write cache '$(cat $q/write_cache)' (SEND_FLUSH not seen)"
  [ "$(cat $q/fua)" = 1 ] || fail "fua $(cat $q/fua) (SEND_FUA not seen)"
  [ "$(cat $q/discard_max_bytes)" != 0 ] || fail "no discard (SEND_TRIM not seen)"
  [ -e "/sys/block/nbd$idx/pid" ] || fail "no pid file for a connected device"
  [ "$(ask HUP "$control" connected)" = "connected 1" ] || fail "the frontend does not see the device connected"

  step "$control: mkfs, mount, files"
  mkfs.ext4 -q -F -b 4096 "$dev"
  mount "$dev" "$mnt"
  [ "$(ask USR1 "$control" busy)" = "busy 1" ] || fail "open_count() is 0 while mounted"
  for i in 1 2 3 4; do head -c $((3 << 20)) /dev/urandom > "$mnt/f$i"; done
  (cd "$mnt" && sha256sum f1 f2 f3 f4) > "$work/sums"
  sync
  flushes=$(ask USR2 "$control" stats | sed 's/.*flushes=//')
  [ "$flushes" -gt 0 ] || fail "sync sent no flush to the target"
  umount "$mnt"
  [ "$(ask USR1 "$control" busy)" = "busy 0" ] || fail "open_count() is not 0 after umount"
  echo 3 > /proc/sys/vm/drop_caches
  mount "$dev" "$mnt"
  (cd "$mnt" && sha256sum -c --quiet "$work/sums") || fail "checksums differ after remount"
  umount "$mnt"
  echo "files intact after remount (target saw $flushes flushes)"

  step "$control: fio randwrite 4k QD32 verify=crc32c $fio_size"
  fio --name=verify --eta=never --filename="$dev" --rw=randwrite --bs=4k --iodepth=32 --ioengine=libaio --direct=1 \
    --size="$fio_size" --verify=crc32c --do_verify=1 --verify_fatal=1 --randrepeat=0 \
    --output="$work/fio-$control.txt" || { cat "$work/fio-$control.txt"; fail "fio verify failed"; }
  grep -E "WRITE:|READ:" "$work/fio-$control.txt" || true

  step "$control: blkdiscard"
  head -c $((4 << 20)) /dev/urandom | dd of="$dev" bs=1M oflag=direct status=none
  blkdiscard "$dev"
  [ "$(dd if="$dev" bs=1M count=4 iflag=direct status=none | sha256sum)" = \
    "$(head -c $((4 << 20)) /dev/zero | sha256sum)" ] ||
    fail "data still there after blkdiscard (trim did not reach the target)"
  echo "discarded range reads back as zeroes"

  step "$control: SIGTERM"
  stop_server "$control"
}

t0=$(date +%s)
run_case netlink 64M
run_case ioctl 16M

step "netlink: a device left by a killed server is disconnected at the next start"
start_server netlink killed
old_idx=$idx
kill -KILL "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
[ "$(cat /sys/block/nbd$old_idx/backend 2>/dev/null)" = "tandem:vmtest" ] ||
  fail "/dev/nbd$old_idx lost its backend identifier after kill -9 (nothing to clean up?)"
start_server netlink restarted
grep -q "left by a previous run" "$work/restarted.err" || fail "the restart did not report the stale device"
[ "$idx" = "$old_idx" ] || [ ! -e "/sys/block/nbd$old_idx/pid" ] || fail "stale /dev/nbd$old_idx still connected"
first_pid=$server_pid first_idx=$idx
start_server netlink second  # Same resource, first server alive: it must leave /dev/nbd$first_idx alone.
[ "$idx" != "$first_idx" ] || fail "the second server got the first one's device"
[ -e "/sys/block/nbd$first_idx/pid" ] || fail "the second server disconnected a live server's device"
grep -q "is alive; leaving it alone" "$work/second.err" || fail "the second server did not notice the live device"
stop_server second
server_pid=$first_pid idx=$first_idx dev=/dev/nbd$first_idx
stop_server restarted

echo "PASS: kernel NBD frontend (netlink and ioctl) in $(( $(date +%s) - t0 )) s"
