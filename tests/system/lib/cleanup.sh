# Trap-based cleanup for a two-node test: runs on every exit (success, failure, skip, Ctrl-C) and leaves
# nothing behind. Requires common.sh, netns.sh and tandem.sh. Sourced by bash scripts.
#
# Order matters: filesystems on the device first (else `down` is refused), then `tandemadm down` per node,
# then whatever a crashed or hung daemon left (processes by pid file, loop devices bound to FUSE files under
# WORK, FUSE mounts under WORK), then the namespaces, then WORK itself. Each step is bounded and keeps going
# when an earlier one failed.
# shellcheck shell=bash

CLEANUP_PIDS=""  # Extra processes the script started (e.g. nbdkit in the bench): pid list.

# cleanup_init: call once, right after sourcing, before creating anything.
cleanup_init() {
  trap cleanup_run EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

cleanup_add_pid() { CLEANUP_PIDS="$CLEANUP_PIDS $1"; }

# Mount points under WORK, deepest first, whose type matches (fuse) or does not match (!fuse) $1.
_work_mounts() {
  [ -n "${WORK:-}" ] || return 0
  awk -v w="$WORK/" -v want="$1" 'index($2, w) == 1 {
      fuse = ($3 ~ /^fuse/); if ((want == "fuse") == fuse) print $2 }' /proc/mounts | sort -r
}

# _stop_pid PID [MATCH]: TERM, up to 10 s, then KILL. With MATCH, only if its command line contains MATCH
# (a stale pid file must not make us kill a process that reused the pid).
_stop_pid() {
  local pid=$1 match=${2:-}
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  if [ -n "$match" ] && ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$match"; then
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null
  timeout 10 tail --pid="$pid" -f /dev/null 2>/dev/null
  kill -0 "$pid" 2>/dev/null && { echo "cleanup: pid $pid ignored SIGTERM, killing" >&2; kill -KILL "$pid"; }
  return 0
}

cleanup_run() {
  local rc=$?
  set +eu  # Best effort from here on: a missing variable or failed step must not stop the rest.
  trap - EXIT INT TERM
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -n "${WORK:-}" ]; then
    echo
    echo "=== diagnostics (exit status $rc)"
    tandem_diagnostics
  fi
  local m h pid f
  # 1. Filesystems mounted on the tandem device.
  for m in $(_work_mounts '!fuse'); do
    timeout 20 umount "$m" 2>/dev/null || umount -l "$m"
  done
  # 2. Clean shutdown of each node's daemon, bounded.
  if [ -n "${WORK:-}" ] && [ -n "${TANDEMADM:-}" ]; then
    for h in $NETNS_HOSTS; do
      [ -S "$(host_run "$h")/$RES.ctl" ] || continue
      [ -e "/run/netns/$(host_ns "$h")" ] || continue
      ADM_TIMEOUT_S=20 adm "$h" down "$RES" >/dev/null 2>&1
    done
  fi
  # 3. Daemons that did not go (pid files), and other processes the script started.
  if [ -n "${WORK:-}" ]; then
    for f in "$WORK"/run-*/*.pid; do
      [ -f "$f" ] || continue
      _stop_pid "$(cat "$f" 2>/dev/null)" "$(dirname "$f")"
    done
  fi
  for pid in $CLEANUP_PIDS; do _stop_pid "$pid"; done
  # 4. Loop devices still bound to a FUSE file of a daemon: by the daemons' records (a crashed daemon's FUSE
  #    file reads as "/data" only, its mount namespace being gone), then by path; then the FUSE mounts.
  if [ -n "${WORK:-}" ]; then
    for f in "$WORK"/run-*/*.loop; do detach_recorded_loop "$f"; done
    losetup -l -n -O NAME,BACK-FILE 2>/dev/null | while read -r dev back; do
      case $back in "$WORK"/*) timeout 10 losetup -d "$dev" ;; esac
    done
    for m in $(_work_mounts fuse); do umount -l "$m"; done
  fi
  # 5. Device symlinks the daemons may have left (only ours: they point to loop devices).
  for h in $NETNS_HOSTS; do
    f=$(host_dev "$h" 2>/dev/null)
    [ -n "$f" ] && [ -L "$f" ] && rm -f "$f"
  done
  # 6. Namespaces (and with them the veth pair and any iptables rules), then WORK unless something is still
  #    mounted below it (never recurse into a live mount).
  netns_teardown
  if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
    if grep -q " $WORK/" /proc/mounts; then
      echo "cleanup: leaving $WORK (still mounted below it)" >&2
    else
      rm -rf "$WORK"
    fi
  fi
  exit "$rc"
}
