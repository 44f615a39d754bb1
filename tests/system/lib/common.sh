# Shared helpers for tandem's system tests, `make demo` and `make bench`: messages, skips, bounded waits and
# locating the binaries. Sourced by bash scripts (not executable on its own).
#
# Conventions every script follows:
# - exit 77 with "SKIP: reason" when a precondition (root, a kernel feature, a tool) is missing, so ctest
#   reports a skip, not a failure;
# - every wait is bounded (timeout(1) or wait_until below); nothing waits forever on a daemon that hangs;
# - everything a test creates lives under its own temporary directory WORK and its own network namespaces,
#   and the trap in cleanup.sh removes it even when the test fails.
# shellcheck shell=bash

# Set by the sourcing script before calling anything that prints (defaults keep helpers usable alone).
TS_NAME=${TS_NAME:-tandem-test}
TS_STEP=0

skip() { echo "SKIP: $*"; exit 77; }

# fail MESSAGE: prints the message and exits 1; the EXIT trap (cleanup.sh) then prints diagnostics.
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# step TITLE: a numbered step header, so a failure in the log is easy to place.
step() {
  TS_STEP=$((TS_STEP + 1))
  printf '\n=== [%s %d] %s\n' "$TS_NAME" "$TS_STEP" "$*"
}

info() { printf '    %s\n' "$*"; }

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s until it succeeds; returns 1 (with a
# message naming DESCRIPTION) after SECONDS. The command runs in this shell, so shell functions work.
wait_until() {
  local limit_s=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit_s))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "timed out after ${limit_s} s waiting for: $what" >&2
      return 1
    fi
    sleep 0.2
  done
}

require_root() { [ "$(id -u)" -eq 0 ] || skip "needs root"; }

require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not installed"
  done
}

# fio with its nbd ioengine (fio's own NBD client), which the tests drive tandem's export with.
require_fio_nbd() {
  require_tools fio
  fio --enghelp 2>/dev/null | grep -qw nbd || skip "fio was built without the nbd ioengine"
}

# The daemon's block device is a loop device on a FUSE file; both must be usable here.
require_fuse_loop() {
  [ -c /dev/fuse ] || skip "no /dev/fuse"
  [ -c /dev/loop-control ] || skip "no loop devices (/dev/loop-control missing)"
}

require_netns() {
  require_tools ip nsenter
  local probe="tandem-probe-$$"
  ip netns add "$probe" >/dev/null 2>&1 || skip "cannot create network namespaces (ip netns add failed)"
  ip netns del "$probe" >/dev/null 2>&1 || true
}

# tandem_binaries: sets TANDEM_SOURCE_DIR, TANDEM_BUILD_DIR, TANDEMADM and TANDEMD; skips when not built.
# ctest sets both directories; run by hand, the build defaults to REPO/build.
tandem_binaries() {
  local lib_dir
  lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  TANDEM_SOURCE_DIR=${TANDEM_SOURCE_DIR:-$(cd "$lib_dir/../../.." && pwd)}
  TANDEM_BUILD_DIR=${TANDEM_BUILD_DIR:-$TANDEM_SOURCE_DIR/build}
  TANDEMADM=$TANDEM_BUILD_DIR/tools/tandemadm
  TANDEMD=$TANDEM_BUILD_DIR/userspace/tandemd
  [ -x "$TANDEMADM" ] || skip "tandemadm not built at $TANDEMADM (set TANDEM_BUILD_DIR)"
  [ -x "$TANDEMD" ] || skip "tandemd not built at $TANDEMD (set TANDEM_BUILD_DIR)"
  export TANDEM_SOURCE_DIR TANDEM_BUILD_DIR
}

# is_mounted PATH: from the mount table; mountpoint(1) would stat a dead FUSE mount and fail with ENOTCONN.
is_mounted() { awk -v p="$1" '$2 == p { found = 1 } END { exit !found }' /proc/mounts; }

# detach_recorded_loop FILE: the loop device a dead daemon recorded in FILE (RUN_DIR/RES.loop, format in
# docs/kernel-frontends.md), if it is still bound to that daemon's FUSE file; the record is removed. The
# daemon runs in its own mount namespace: its FUSE file reads as the recorded path while the namespace lives,
# and as "/data" once it is gone (kill -9), so the record is the only thing that names the device then.
# A living daemon's record is left alone (it detaches its own device).
detach_recorded_loop() {
  local f=$1 idx backing pid now id want_id
  [ -f "$f" ] || return 0
  idx=$(sed -n 's/^loop-index \([0-9][0-9]*\)$/\1/p' "$f")
  backing=$(sed -n 's/^backing //p' "$f")
  pid=$(sed -n 's/^pid \([0-9][0-9]*\)$/\1/p' "$f")
  # The FUSE file's identity (as losetup's BACK-MAJ:MIN BACK-INO): "/data" is what every FUSE file of another
  # mount namespace reads as, so only the identity tells ours from another resource's device with the number.
  want_id=$(sed -n 's/^backing-dev //p;s/^backing-inode //p' "$f" | tr '\n' ' ' | sed 's/ $//')
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && return 0
  if [ -n "$idx" ] && now=$(cat "/sys/block/loop$idx/loop/backing_file" 2>/dev/null); then
    # Empty when the device cannot say: its FUSE server is dead (ours, crashed); a live device answers.
    id=$(losetup -l -n -O BACK-MAJ:MIN,BACK-INO "/dev/loop$idx" 2>/dev/null | awk '{ print $1, $2 }')
    case $now in
      "$backing" | /data | "/data (deleted)")
        if [ -z "$want_id" ] || [ -z "$id" ] || [ "$id" = "$want_id" ]; then
          timeout 10 losetup -d "/dev/loop$idx" 2>/dev/null || true
        fi ;;
    esac
  fi
  rm -f "$f"
  return 0
}
