#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# `make demo`: a guided tour of tandem on one machine. Two "hosts", alpha and beta, are network namespaces
# joined by a virtual cable; each runs its own tandemd. We mirror a disk, put a filesystem with some files
# on it, move the Primary role to the other host and find the files there. Everything is removed at the end,
# also when something fails or you press Ctrl-C.
#
# Usage: tools/examples/demo.sh [BUILD_DIR]   (default: build; needs root, FUSE and loop devices)
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
LIB=$REPO/tests/system/lib
BUILD_ARG=${1:-build}
case $BUILD_ARG in /*) TANDEM_BUILD_DIR=$BUILD_ARG ;; *) TANDEM_BUILD_DIR=$REPO/$BUILD_ARG ;; esac
TANDEM_SOURCE_DIR=$REPO
export TANDEM_BUILD_DIR TANDEM_SOURCE_DIR

TS_NAME=demo
# shellcheck source=../../tests/system/lib/common.sh
. "$LIB/common.sh"
# shellcheck source=../../tests/system/lib/netns.sh
. "$LIB/netns.sh"
# shellcheck source=../../tests/system/lib/tandem.sh
. "$LIB/tandem.sh"
# shellcheck source=../../tests/system/lib/cleanup.sh
. "$LIB/cleanup.sh"
cleanup_init

if [ -t 1 ]; then BOLD=$'\e[1m' DIM=$'\e[2m' OFF=$'\e[0m'; else BOLD="" DIM="" OFF=""; fi

# chapter TITLE TEXT...: a numbered heading and a sentence or two of explanation.
CHAPTER=0
chapter() {
  CHAPTER=$((CHAPTER + 1))
  printf '\n%s%d. %s%s\n' "$BOLD" "$CHAPTER" "$1" "$OFF"
  shift
  local line
  for line in "$@"; do printf '   %s\n' "$line"; done
}

# run HOST COMMAND...: shows the command as typed on HOST, then runs it there (in HOST's namespace).
run() {
  local h=$1
  shift
  printf '%s[%s]#%s %s\n' "$DIM" "$h" "$OFF" "$*"
  on_host "$h" "$@" 2>&1 | sed 's/^/   /'
  return "${PIPESTATUS[0]}"
}

# tadm HOST ARGS...: tandemadm on HOST, shown the way an administrator would type it there.
tadm() {
  local h=$1
  shift
  printf '%s[%s]#%s tandemadm %s\n' "$DIM" "$h" "$OFF" "$*"
  adm "$h" "$@" 2>&1 | sed 's/^/   /'
  return "${PIPESTATUS[0]}"
}

# Remarks in the narrative are indented like command output, marked so they are not mistaken for it.
info() { printf '   %s-- %s%s\n' "$BOLD" "$*" "$OFF"; }

status_both() {
  tadm alpha status "$RES"
  tadm beta status "$RES"
}

require_root
require_fuse_loop
require_tools mkfs.ext4 mount umount sha256sum truncate timeout
require_netns
tandem_binaries
START_S=$SECONDS

printf '%standem demo%s: a disk mirrored synchronously between two hosts, DRBD style.\n' "$BOLD" "$OFF"
printf 'tandemadm: %s\ntandemd:   %s\n' "$TANDEMADM" "$TANDEMD"

chapter "Two hosts" \
  "alpha and beta are network namespaces on this machine, joined by a veth pair (a virtual cable)." \
  "Each has a 256 MiB backing file; tandem keeps its metadata at the end of it, like DRBD's internal meta-disk."
tandem_setup demo 13 256 r0
info "alpha: $IP_alpha   backing file $DISK_alpha"
info "beta:  $IP_beta   backing file $DISK_beta"

chapter "The resource file" \
  "Plain DRBD syntax; both hosts read the same file and pick their own 'on' section (here with --host)."
sed 's/^/   | /' "$CONF"

chapter "Create metadata and start both nodes" \
  "create-md writes tandem's superblock; up starts the node's daemon, which connects to its peer."
for h in alpha beta; do
  tadm "$h" create-md "$RES"
  tadm "$h" up "$RES"
done
ADM_TIMEOUT_S=70 tadm alpha wait-connect "$RES" --timeout 60
status_both
info "Connected, but neither disk holds valid data yet (Inconsistent): nobody may be Primary."

chapter "Make alpha Primary" \
  "The very first time, --force tells alpha its (empty) disk is the good copy; beta is then synced from it."
tadm alpha primary "$RES" --force
if [ -t 1 ]; then
  # Straight to the terminal, so tandemadm draws its progress bar (it stays quiet when piped).
  printf '%s[alpha]#%s tandemadm wait-sync %s --timeout 300\n' "$DIM" "$OFF" "$RES"
  ADM_TIMEOUT_S=310 adm alpha wait-sync "$RES" --timeout 300
else
  ADM_TIMEOUT_S=310 tadm alpha wait-sync "$RES" --timeout 300
fi
status_both
info "alpha's device: $DEV_alpha -> $(readlink -f "$DEV_alpha") (a real block device; beta, the Secondary, has none)"

chapter "Use the device on alpha" \
  "Every write is on both disks before it is acknowledged (protocol C)."
run alpha mkfs.ext4 -q -L demo "$DEV_alpha"
run alpha mount "$DEV_alpha" "$MNT_alpha"
run alpha sh -c "echo 'Hello from alpha, written at $(date).' >$MNT_alpha/hello.txt"
run alpha dd if=/dev/urandom of="$MNT_alpha/random.bin" bs=1M count=16 status=none
run alpha cp "$CONF" "$MNT_alpha/tandem.conf"
run alpha sync
(cd "$MNT_alpha" && sha256sum hello.txt random.bin tandem.conf) >"$WORK/sums"
run alpha ls -l "$MNT_alpha"
run alpha df -h "$MNT_alpha"
status_both

chapter "Only one Primary" \
  "While alpha is Primary, beta refuses to become Primary too."
tadm beta primary "$RES" || info "(refused, as it should be: exit status $?)"

chapter "Move the Primary role to beta" \
  "Unmount on alpha, demote alpha, promote beta. No copy is needed: beta already has every block."
run alpha umount "$MNT_alpha"
tadm alpha secondary "$RES"
tadm beta primary "$RES"
status_both
info "beta's device: $DEV_beta -> $(readlink -f "$DEV_beta"); alpha's $DEV_alpha is gone"

chapter "The files, on beta"
run beta mount "$DEV_beta" "$MNT_beta"
run beta ls -l "$MNT_beta"
run beta cat "$MNT_beta/hello.txt"
printf '%s[beta]#%s sha256sum -c sums-from-alpha\n' "$DIM" "$OFF"
(cd "$MNT_beta" && sha256sum -c "$WORK/sums") 2>&1 | sed 's/^/   /'
run beta umount "$MNT_beta"

chapter "Clean up" \
  "down stops each daemon cleanly (flushes, saves metadata); then the namespaces and files are removed."
tadm beta down "$RES"
tadm alpha down "$RES"
printf '\n%sDone%s in %d s. Next: docs/user-guide.md.\n' "$BOLD" "$OFF" $((SECONDS - START_S))
