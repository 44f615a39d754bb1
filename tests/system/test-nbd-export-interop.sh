#!/bin/bash
# NBD export interop with real clients, without the daemon: nbd_memserver serves a 64 MiB in-memory disk
# through NbdExport on a unix socket (completions on 4 worker threads, so replies come back out of order).
# Checks: nbdinfo sees size and flags; nbdcopy in and out is byte-identical (nbdcopy uses several connections
# because we advertise multi-conn); qemu-img info/convert through the nbd+unix URI; fio's nbd engine with
# random 4k writes at iodepth 32 verified by crc32c; a read-only export refuses writes; SIGTERM removes the
# socket. Needs nbdinfo, nbdcopy, qemu-img, fio (with the nbd engine). Exits 77 with "SKIP: reason" otherwise.
set -euo pipefail

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

for tool in nbdinfo nbdcopy qemu-img fio cmp timeout head; do
  command -v "$tool" >/dev/null || skip "$tool not installed"
done
fio --enghelp 2>/dev/null | grep -qw nbd || skip "fio was built without the nbd ioengine"

BUILD=${TANDEM_BUILD_DIR:?TANDEM_BUILD_DIR not set}
SERVER="$BUILD/tests/tools/nbd_memserver"
[ -x "$SERVER" ] || fail "$SERVER not built (cmake --build $BUILD --target nbd_memserver)"

SIZE_MIB=64
WORK=$(mktemp -d /tmp/tandem-nbd-interop.XXXXXX)
SOCK="$WORK/export.sock"
URI="nbd+unix:///?socket=$SOCK"
PID=""

cleanup() {
  local rc=$?
  set +e
  stop_server
  if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
    echo "--- server log"
    tail -n 60 "$WORK"/server*.err 2>/dev/null
  fi
  cd / && rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

# Starts nbd_memserver with the given extra arguments and waits (bounded) for its "ready" line.
start_server() {
  local log=$1
  shift
  "$SERVER" --socket "$SOCK" --size ${SIZE_MIB}M --threads 4 "$@" >"$WORK/$log.out" 2>"$WORK/$log.err" &
  PID=$!
  timeout 20 bash -c "until grep -q ready '$WORK/$log.out'; do kill -0 $PID || exit 1; sleep 0.1; done" ||
    fail "nbd_memserver did not become ready within 20 s"
}

stop_server() {
  [ -n "$PID" ] || return 0
  if kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID"
    timeout 20 tail --pid="$PID" -f /dev/null || { kill -KILL "$PID"; wait "$PID" 2>/dev/null; PID=""; return 1; }
  fi
  wait "$PID" 2>/dev/null
  local rc=$?
  PID=""
  return $rc
}

start_server server1

echo "== nbdinfo"
timeout 30 nbdinfo "$URI" >"$WORK/info.txt" || fail "nbdinfo failed"
cat "$WORK/info.txt"
for want in "export-size: $((SIZE_MIB << 20))" "is_read_only: false" "can_flush: true" "can_fua: true" \
  "can_trim: true" "can_zero: true" "can_multi_conn: true" "block_size_maximum: 33554432"; do
  grep -q "$want" "$WORK/info.txt" || fail "nbdinfo output lacks '$want'"
done
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "socket mode is $(stat -c %a "$SOCK"), want 600"

echo "== nbdcopy in and out"
head -c $((SIZE_MIB << 20)) /dev/urandom >"$WORK/in.img"
timeout 120 nbdcopy "$WORK/in.img" "$URI" || fail "nbdcopy into the export failed"
timeout 120 nbdcopy "$URI" "$WORK/out.img" || fail "nbdcopy out of the export failed"
cmp "$WORK/in.img" "$WORK/out.img" || fail "nbdcopy round trip differs"

echo "== qemu-img"
timeout 30 qemu-img info "$URI" >"$WORK/qinfo.txt" || fail "qemu-img info failed"
cat "$WORK/qinfo.txt"
grep -q "virtual size: $SIZE_MIB MiB" "$WORK/qinfo.txt" || fail "qemu-img info does not report $SIZE_MIB MiB"
timeout 120 qemu-img convert -f raw -O raw "$URI" "$WORK/qout.img" || fail "qemu-img convert out failed"
cmp "$WORK/in.img" "$WORK/qout.img" || fail "qemu-img convert out differs from what nbdcopy wrote"
head -c $((SIZE_MIB << 20)) /dev/urandom >"$WORK/in2.img"
timeout 120 qemu-img convert -n -f raw -O raw "$WORK/in2.img" "$URI" || fail "qemu-img convert in failed"
timeout 120 nbdcopy "$URI" "$WORK/out2.img" || fail "nbdcopy after qemu-img convert failed"
cmp "$WORK/in2.img" "$WORK/out2.img" || fail "qemu-img convert in differs"

echo "== fio randwrite iodepth 32 with crc32c verify"
cd "$WORK"  # fio drops a verify state file in the current directory.
timeout 300 fio --name=nbd-verify --ioengine=nbd --uri="$URI" --rw=randwrite --bs=4k --iodepth=32 \
  --size=$((SIZE_MIB / 2))M --verify=crc32c --do_verify=1 --verify_fatal=1 --output="$WORK/fio.txt" ||
  { cat "$WORK/fio.txt"; fail "fio verify failed"; }
grep -q "err= 0" "$WORK/fio.txt" || { cat "$WORK/fio.txt"; fail "fio reported errors"; }

echo "== SIGTERM removes the socket"
stop_server || fail "nbd_memserver did not exit cleanly on SIGTERM"
[ ! -e "$SOCK" ] || fail "socket $SOCK still exists after stop"

echo "== read-only export"
start_server server2 --read-only
timeout 30 nbdinfo "$URI" >"$WORK/info2.txt" || fail "nbdinfo on the read-only export failed"
grep -q "is_read_only: true" "$WORK/info2.txt" || fail "read-only export not reported read-only"
if timeout 60 nbdcopy "$WORK/in.img" "$URI" 2>"$WORK/ro.err"; then
  fail "nbdcopy into a read-only export succeeded"
fi
stop_server || fail "nbd_memserver (read-only) did not exit cleanly"

echo "PASS"
