#!/bin/bash
# Guest side (runs inside the test VM through tests/vm/run.sh): the ublk frontend through tests/tools/ublk_memdev.
#   1. in-memory disk, 2 queues, completions on worker threads: the device appears with the right size, 4 KiB
#      blocks, write-back cache with FUA, discard and write-zeroes; mkfs.ext4, mount, files, sync (flushes and
#      FUA writes reach the target), busy while mounted, umount, remount, checksums match; fio random 4 KiB
#      writes at QD 32 with crc32c verification; blkdiscard and blkdiscard -z reach the target and read back
#      as zeroes.
#   2. the device deleted (SIGTERM) under fio: fio ends with I/O errors, no hang; no /dev/ublkbN or /dev/ublkcN
#      is left.
#   3. kill -9 of the server under fio on a file-backed disk: /dev/ublkbN stays, its I/O waits; the restarted
#      server takes the same device back (user recovery) and fio's verification passes.
# Sizes are small: the guest CPU is emulated.
set -euo pipefail
B=${TANDEM_BUILD_DIR:?TANDEM_BUILD_DIR must name the build tree}
memdev=$B/tests/tools/ublk_memdev
[ -x "$memdev" ] || { echo "SKIP: $memdev not built (cmake --build ... --target ublk_memdev)"; exit 77; }
for tool in mkfs.ext4 fio blkdiscard sha256sum; do
  command -v $tool >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
[ -e /dev/ublk-control ] || { echo "SKIP: this kernel has no ublk driver (/dev/ublk-control)"; exit 77; }

work=$(mktemp -d /tmp/ublk.XXXXXX)
mnt=$work/mnt
mkdir -p "$mnt"
server_pid="" fio_pid=""
cleanup() {
  [ -n "$fio_pid" ] && kill -KILL "$fio_pid" 2>/dev/null || true
  mountpoint -q "$mnt" && umount "$mnt" || true
  [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null || true
}
trap cleanup EXIT
step() { echo "--- $(date +%T) $*"; }
fail() { echo "FAIL: $*"; for f in "$work"/*.err; do echo "== $f"; tail -20 "$f"; done; exit 1; }

# start_server NAME ARGS...: sets server_pid, dev (/dev/ublkbN), idx (N), how (new|recovered).
start_server() {
  local name=$1
  shift
  "$memdev" "$@" > "$work/$name.out" 2> "$work/$name.err" &
  server_pid=$!
  for _ in $(seq 1 600); do
    if [ -s "$work/$name.out" ]; then break; fi
    kill -0 "$server_pid" 2>/dev/null || fail "ublk_memdev ($name) exited before the device was ready"
    sleep 0.1
  done
  read -r dev _ enc how < "$work/$name.out" || fail "no device line from ublk_memdev ($name)"
  idx=${dev#/dev/ublkb}
  echo "$dev ($enc opcodes, $how)"
}

# ask SIG NAME PREFIX: sends a signal and waits for the next stdout line starting with PREFIX.
ask() {
  local sig=$1 name=$2 prefix=$3 before line
  before=$(wc -l < "$work/$name.out")
  kill "-$sig" "$server_pid"
  for _ in $(seq 1 100); do
    line=$(sed -n "$((before + 1)),\$p" "$work/$name.out" | grep "^$prefix" | head -1 || true)
    [ -n "$line" ] && { echo "$line"; return 0; }
    sleep 0.1
  done
  fail "no '$prefix' line after SIG$sig"
}
stat_of() { sed 's/.* '"$1"'=\([0-9]*\).*/\1/' <<<"$2"; }

# stop_server NAME: SIGTERM, bounded wait, and no device left behind.
stop_server() {
  local name=$1
  kill -TERM "$server_pid"
  for _ in $(seq 1 300); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$server_pid" 2>/dev/null && fail "ublk_memdev did not exit within 30 s of SIGTERM"
  wait "$server_pid" || fail "ublk_memdev exited with status $?"
  server_pid=""
  grep -qx stopped "$work/$name.out" || fail "no 'stopped' line"
  for _ in $(seq 1 50); do [ -e "/dev/ublkb$idx" ] || [ -e "/dev/ublkc$idx" ] || break; sleep 0.1; done
  [ ! -e "/sys/block/ublkb$idx" ] || fail "/sys/block/ublkb$idx still exists after stop"
  [ ! -e "/dev/ublkc$idx" ] || fail "/dev/ublkc$idx still exists after stop"
  echo "$dev deleted"
}

# The opcode encoding the kernel must end up with: ioctl-encoded from Linux 6.4 on, legacy before.
IFS=. read -r kmaj kmin _ <<<"$(uname -r)"
if [ "$kmaj" -gt 6 ] || { [ "$kmaj" = 6 ] && [ "${kmin%%[!0-9]*}" -ge 4 ]; }; then want_enc=ioctl; else want_enc=legacy; fi

t0=$(date +%s)
step "1. in-memory disk, 2 queues, async completions"
start_server mem --size-mib 256 --queues 2 --threads 2 --resource vmtest
[ "$enc" = "$want_enc" ] || fail "Linux $(uname -r): $enc opcodes in use, expected $want_enc"
grep -q "ublk opcodes: $want_enc" "$work/mem.err" || fail "the encoding choice is not logged: $(grep -i opcode "$work/mem.err")"
q=/sys/block/ublkb$idx/queue
[ "$(cat /sys/block/ublkb$idx/size)" = $((256 * 2048)) ] || fail "size is $(cat /sys/block/ublkb$idx/size) sectors"
[ "$(cat $q/logical_block_size)" = 4096 ] || fail "logical block size $(cat $q/logical_block_size)"
[ "$(cat $q/physical_block_size)" = 4096 ] || fail "physical block size $(cat $q/physical_block_size)"
[ "$(cat $q/write_cache)" = "write back" ] || fail "write cache '$(cat $q/write_cache)'"
[ "$(cat $q/fua)" = 1 ] || fail "fua $(cat $q/fua)"
[ "$(cat $q/discard_max_bytes)" != 0 ] || fail "no discard"
[ "$(cat $q/write_zeroes_max_bytes)" != 0 ] || fail "no write-zeroes"
[ "$(ls /sys/block/ublkb$idx/mq | wc -l)" = 2 ] || fail "expected 2 hardware queues: $(ls /sys/block/ublkb$idx/mq)"

step "mkfs, mount, files"
mkfs.ext4 -q -F -b 4096 "$dev"
mount "$dev" "$mnt"
[ "$(ask USR1 mem busy)" = "busy 1" ] || fail "open_count() is 0 while mounted"
for i in 1 2 3 4; do head -c $((3 << 20)) /dev/urandom > "$mnt/f$i"; done
(cd "$mnt" && sha256sum f1 f2 f3 f4) > "$work/sums"
sync
stats=$(ask USR2 mem stats)
[ "$(stat_of flushes "$stats")" -gt 0 ] || fail "sync sent no flush to the target ($stats)"
[ "$(stat_of fua "$stats")" -gt 0 ] || fail "no FUA write reached the target ($stats)"
umount "$mnt"
[ "$(ask USR1 mem busy)" = "busy 0" ] || fail "open_count() is not 0 after umount"
echo 3 > /proc/sys/vm/drop_caches
mount "$dev" "$mnt"
(cd "$mnt" && sha256sum -c --quiet "$work/sums") || fail "checksums differ after remount"
umount "$mnt"
echo "files intact after remount ($stats)"

step "fio randwrite 4k QD32 verify=crc32c 32M"
fio --name=verify --eta=never --filename="$dev" --rw=randwrite --bs=4k --iodepth=32 --ioengine=libaio --direct=1 \
  --size=32M --verify=crc32c --do_verify=1 --verify_fatal=1 --randrepeat=0 \
  --output="$work/fio-mem.txt" || { cat "$work/fio-mem.txt"; fail "fio verify failed"; }
grep -E "WRITE:|READ:" "$work/fio-mem.txt" || true

step "blkdiscard, blkdiscard -z"
zero4m=$(head -c $((4 << 20)) /dev/zero | sha256sum)
for mode in discard zeroout; do
  head -c $((4 << 20)) /dev/urandom | dd of="$dev" bs=1M oflag=direct status=none
  if [ $mode = discard ]; then blkdiscard -l $((4 << 20)) "$dev"; else blkdiscard -z -l $((4 << 20)) "$dev"; fi
  [ "$(dd if="$dev" bs=1M count=4 iflag=direct status=none | sha256sum)" = "$zero4m" ] ||
    fail "data still there after blkdiscard ($mode)"
done
stats=$(ask USR2 mem stats)
[ "$(stat_of trims "$stats")" -gt 0 ] || fail "no trim reached the target ($stats)"
[ "$(stat_of zeroes "$stats")" -gt 0 ] || fail "no write-zeroes reached the target ($stats)"
echo "discarded and zeroed ranges read back as zeroes ($stats)"

step "2. delete the device under fio"
fio --name=load --eta=never --filename="$dev" --rw=randrw --bs=4k --iodepth=16 --ioengine=libaio --direct=1 \
  --size=64M --time_based --runtime=60 --output="$work/fio-delete.txt" > /dev/null 2>&1 &
fio_pid=$!
sleep 3
kill -0 "$fio_pid" 2>/dev/null || fail "fio ended before the device was deleted: $(tail -5 "$work/fio-delete.txt")"
stop_server mem
rc=0
timeout 30 tail --pid="$fio_pid" -f /dev/null || fail "fio still runs 30 s after the device was deleted"
wait "$fio_pid" || rc=$?
fio_pid=""
[ "$rc" != 0 ] || fail "fio did not report the deleted device"
grep -qiE "error|Input/output|No such device" "$work/fio-delete.txt" || echo "(fio exited $rc)"
echo "fio ended with status $rc after the device was deleted"

step "3. kill -9 under fio, user recovery"
truncate -s 128M "$work/disk.img"
args=(--file "$work/disk.img" --record "$work/memdev.ublk" --threads 2 --resource vmrec)
start_server rec1 "${args[@]}"
[ "$how" = new ] || fail "first start on a fresh record says '$how'"
rec_dev=$dev
# The id of the device deleted in step 2 is reused: wait (bounded) until the new device answers a read, so
# fio does not open the node while the kernel still replaces it.
dev_answers() { dd if="$dev" of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null; }
for _ in $(seq 1 100); do dev_answers && break; sleep 0.2; done
dev_answers || fail "$dev does not answer a read 20 s after it appeared"
fio --name=recover --eta=never --filename="$dev" --rw=randwrite --bs=4k --iodepth=16 --ioengine=libaio \
  --direct=1 --size=16M --rate_iops=1000 --verify=crc32c --do_verify=1 --verify_fatal=1 --randrepeat=0 \
  --output="$work/fio-recover.txt" > /dev/null 2>&1 &
fio_pid=$!
sleep 2  # The write phase takes at least 4 s (rate_iops), however fast the machine.
kill -0 "$fio_pid" 2>/dev/null || fail "fio finished before the kill: $(tail -n 8 "$work/fio-recover.txt")"
kill -KILL "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=""
echo "killed the server under fio"
sleep 1
[ -b "$rec_dev" ] || fail "$rec_dev vanished after the server was killed"
kill -0 "$fio_pid" 2>/dev/null || fail "fio ended while the server was dead: $(tail -5 "$work/fio-recover.txt")"
start_server rec2 "${args[@]}"
[ "$dev" = "$rec_dev" ] || fail "the restarted server got $dev, not $rec_dev"
[ "$how" = recovered ] || fail "the restarted server did not take $rec_dev back ($how)"
rc=0
timeout 240 tail --pid="$fio_pid" -f /dev/null || fail "fio did not finish within 240 s after the recovery"
wait "$fio_pid" || rc=$?
fio_pid=""
[ "$rc" = 0 ] || { cat "$work/fio-recover.txt"; fail "fio failed across the kill and recovery (status $rc)"; }
grep -E "WRITE:|READ:" "$work/fio-recover.txt" || true
echo "fio verified its data across kill -9 and user recovery"
stop_server rec2
[ ! -e "$work/memdev.ublk" ] || fail "the record file is still there after a clean stop"

echo "PASS: ublk frontend in $(( $(date +%s) - t0 )) s"
