#!/bin/bash
# FUSE+loop frontend end to end: a 256 MiB in-memory disk served by fuse_loop_memdev appears as /dev/loopN;
# mkfs.ext4, mount, write, remount and compare checksums; O_DIRECT write/read-back; busy detection while
# mounted; SIGTERM removes the loop device and the FUSE mount.
# Needs root, /dev/fuse, loop devices, mkfs.ext4. Exits 77 with "SKIP: reason" otherwise.
set -euo pipefail

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "needs root"
[ -c /dev/fuse ] || skip "no /dev/fuse"
[ -c /dev/loop-control ] || skip "no loop devices (/dev/loop-control missing)"
for tool in mkfs.ext4 losetup mount umount md5sum dd timeout; do
  command -v "$tool" >/dev/null || skip "$tool not installed"
done

BUILD=${TANDEM_BUILD_DIR:?TANDEM_BUILD_DIR not set}
MEMDEV="$BUILD/tests/tools/fuse_loop_memdev"
[ -x "$MEMDEV" ] || fail "$MEMDEV not built"

WORK=$(mktemp -d /tmp/tandem-fuse-loop.XXXXXX)
FUSE_DIR="$WORK/fuse-memdev"
MNT="$WORK/mnt"
OUT="$WORK/memdev.out"
ERR="$WORK/memdev.err"
mkdir -p "$MNT"
PID=""
DEV=""

# mountpoint(1) stats the path, which fails with ENOTCONN on a dead FUSE mount; the mount table does not lie.
is_mounted() { grep -q " $1 " /proc/mounts; }

cleanup() {
  local rc=$?
  set +e
  is_mounted "$MNT" && { timeout 20 umount "$MNT" || umount -l "$MNT"; }
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID"
    timeout 20 tail --pid="$PID" -f /dev/null
    kill -0 "$PID" 2>/dev/null && kill -KILL "$PID"
  fi
  if [ -n "$DEV" ] && losetup "$DEV" 2>/dev/null | grep -q "$FUSE_DIR"; then timeout 10 losetup -d "$DEV"; fi
  is_mounted "$FUSE_DIR" && umount -l "$FUSE_DIR"
  if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
    echo "--- memdev stdout"; cat "$OUT" 2>/dev/null
    echo "--- memdev stderr"; tail -n 50 "$ERR" 2>/dev/null
  fi
  # Never recurse into a directory that still has something mounted below it.
  grep -q " $WORK/" /proc/mounts || rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

# Waits (bounded) until the memdev printed a line matching $1 after line $2; prints the line.
wait_line() {
  local pattern=$1 after=$2
  timeout 20 bash -c "until tail -n +$((after + 1)) '$OUT' | grep -m1 -E '$pattern'; do sleep 0.1; done" ||
    fail "memdev did not print '$pattern' within 20 s"
}
lines() { wc -l <"$OUT"; }

"$MEMDEV" --dir "$FUSE_DIR" --size-mib 256 --resource memdev >"$OUT" 2>"$ERR" &
PID=$!
DEV=$(wait_line '^/dev/loop[0-9]+$' 0)
[ -b "$DEV" ] || fail "$DEV is not a block device"
echo "device: $DEV"
is_mounted "$FUSE_DIR" || fail "FUSE is not mounted on $FUSE_DIR"
grep -q "tandem:memdev $FUSE_DIR fuse.tandem" /proc/mounts || fail "FUSE mount lacks fsname tandem:memdev"
[ "$(blockdev --getsize64 "$DEV")" -eq $((256 << 20)) ] || fail "$DEV has the wrong size"
[ "$(blockdev --getss "$DEV")" -eq 4096 ] || fail "$DEV logical block size is not 4096"

# Filesystem round trip.
timeout 60 mkfs.ext4 -q -F "$DEV" || fail "mkfs.ext4 on $DEV"
timeout 20 mount "$DEV" "$MNT" || fail "mount $DEV"
n=$(lines); kill -USR1 "$PID"
[ "$(wait_line '^busy ' "$n")" = "busy 1" ] || fail "mounted $DEV not reported busy"
for i in 1 2 3; do
  timeout 60 dd if=/dev/urandom of="$MNT/file$i" bs=1M count=$((i * 8)) status=none
done
mkdir -p "$MNT/dir" && seq 1 10000 >"$MNT/dir/numbers"
timeout 60 sync
(cd "$MNT" && md5sum file1 file2 file3 dir/numbers) >"$WORK/sums"
timeout 20 umount "$MNT" || fail "umount $MNT"
n=$(lines); kill -USR1 "$PID"
[ "$(wait_line '^busy ' "$n")" = "busy 0" ] || fail "unmounted $DEV still reported busy"
timeout 20 mount "$DEV" "$MNT" || fail "remount $DEV"
(cd "$MNT" && timeout 60 md5sum -c --quiet "$WORK/sums") || fail "checksums differ after remount"
timeout 20 umount "$MNT" || fail "umount $MNT"

# O_DIRECT straight to the device, at an offset, then read back.
timeout 20 dd if=/dev/urandom of="$WORK/blob" bs=1M count=16 status=none
timeout 60 dd if="$WORK/blob" of="$DEV" bs=1M seek=100 oflag=direct conv=notrunc status=none ||
  fail "O_DIRECT write to $DEV"
timeout 60 dd if="$DEV" of="$WORK/back" bs=1M skip=100 count=16 iflag=direct status=none ||
  fail "O_DIRECT read from $DEV"
cmp -s "$WORK/blob" "$WORK/back" || fail "O_DIRECT read-back differs"

n=$(lines); kill -USR2 "$PID"
stats=$(wait_line '^stats ' "$n")
echo "$stats"
case "$stats" in *" errors=0 "*) ;; *) fail "FUSE requests failed: $stats" ;; esac

# A crashed daemon leaves a dead FUSE mount and a loop device bound to it: a restart at the same directory must
# clear both and serve again.
kill -KILL "$PID"
timeout 20 tail --pid="$PID" -f /dev/null || fail "memdev survived SIGKILL"
wait "$PID" 2>/dev/null || true  # Reap quietly (bash would print "Killed").
OLD_DEV=$DEV
is_mounted "$FUSE_DIR" || fail "expected a stale FUSE mount after SIGKILL"
: >"$OUT"
"$MEMDEV" --dir "$FUSE_DIR" --size-mib 256 --resource memdev >"$OUT" 2>>"$ERR" &
PID=$!
DEV=$(wait_line '^/dev/loop[0-9]+$' 0)
echo "device after restart: $DEV (was $OLD_DEV)"
[ "$(grep -c " $FUSE_DIR fuse.tandem " /proc/mounts)" -eq 1 ] || fail "stale FUSE mount not cleaned up"
if [ "$OLD_DEV" != "$DEV" ] && losetup "$OLD_DEV" 2>/dev/null | grep -q "$FUSE_DIR"; then
  fail "stale $OLD_DEV still attached"
fi
timeout 60 dd if="$WORK/blob" of="$DEV" bs=1M oflag=direct conv=notrunc status=none || fail "write after restart"
timeout 60 dd if="$DEV" of="$WORK/back2" bs=1M count=16 iflag=direct status=none || fail "read after restart"
cmp -s "$WORK/blob" "$WORK/back2" || fail "read-back differs after restart"

# Stop: the loop device and the FUSE mount must both go away.
kill -TERM "$PID"
timeout 30 tail --pid="$PID" -f /dev/null || fail "memdev did not exit within 30 s of SIGTERM"
wait "$PID" || fail "memdev exited with status $?"
PID=""
grep -qx stopped "$OUT" || fail "memdev did not report a clean stop"
if losetup "$DEV" 2>/dev/null | grep -q "$FUSE_DIR"; then fail "$DEV still attached after stop"; fi
is_mounted "$FUSE_DIR" && fail "FUSE still mounted on $FUSE_DIR after stop"
echo "PASS"
