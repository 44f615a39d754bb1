#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Resync rate control on real daemons: the dynamic controller (c-plan-ahead > 0) keeps a full resync under
# c-max-rate, status --json reports the measured rate and the time left, pause-sync holds the resync
# (PausedSyncS on the source, PausedSyncT on the target) and resume-sync finishes it; replicas identical.
# Then csums-alg: a full resync (invalidate-remote) of nearly identical disks sends only the blocks whose
# digests differ.
# (Only the ceiling is checked, which a slow machine cannot break; speed itself is for `make bench`.)
set -euo pipefail

LIB=$(cd "$(dirname "$0")/lib" && pwd)
TS_NAME=resync-control
# shellcheck source=lib/two_hosts.sh
. "$LIB/two_hosts.sh"

step "two nodes, 256 MiB, dynamic resync controller with c-max-rate 20 MiB/s"
tandem_setup rsc 23 256 r0
cat >>"$CONF" <<'EOC'
common {
    disk { c-plan-ahead 20; c-delay-target 10; c-max-rate 20M; c-min-rate 1M; }
}
EOC
for h in alpha beta; do adm_ok "$h" create-md "$RES" >/dev/null; adm_ok "$h" up "$RES"; done
wait_connected alpha
adm_ok alpha primary "$RES" --force

json_repl() { status_json "$1" | json_str replication-state; }
is_syncing() { [ "$(json_repl alpha)" = SyncSource ]; }
wait_until 20 "resync started" is_syncing || fail "no resync: $(node_dstate alpha)"

step "the measured rate stays under c-max-rate; status shows rate and time left"
max_seen=0
for _ in 1 2 3 4 5 6; do
  sleep 1
  j=$(status_json alpha)
  rate=$(echo "$j" | json_num resync-rate)
  eta=$(echo "$j" | json_num resync-eta-s)
  info "resync-rate $((rate / 1024)) KiB/s, eta ${eta} s, done $(echo "$j" | json_num resync-done) bytes"
  [ "$rate" -gt "$max_seen" ] && max_seen=$rate
done
limit=$((20 * 1024 * 1024 * 12 / 10))
[ "$max_seen" -le "$limit" ] || fail "resync ran at $max_seen bytes/s, above c-max-rate 20 MiB/s (+20%)"
[ "$max_seen" -gt 0 ] || fail "status --json never reported a resync rate"

step "pause-sync holds the resync on both sides; resume-sync finishes it"
adm_ok alpha pause-sync "$RES"
sleep 1
done_a=$(status_json alpha | json_num resync-done)
sleep 2
done_b=$(status_json alpha | json_num resync-done)
[ "$done_a" = "$done_b" ] || fail "resync advanced while paused ($done_a -> $done_b)"
adm alpha status "$RES" | grep -q "replication:PausedSyncS" || fail "alpha does not show PausedSyncS"
adm beta status "$RES" | grep -q "replication:PausedSyncT" || fail "beta does not show PausedSyncT: $(adm beta status "$RES")"
show_status alpha
show_status beta
adm_ok alpha resume-sync "$RES"
SYNC_TIMEOUT_S=120 wait_synced alpha
compare_data_regions

step "csums-alg sha1: a full resync of nearly identical disks sends only what differs"
for h in alpha beta; do adm_ok "$h" down "$RES"; done
sed -i 's/^\( *protocol *C;\)$/\1 csums-alg sha1;/' "$CONF"
grep -q "csums-alg sha1" "$CONF" || fail "could not add csums-alg to the config"
# 1 MiB of beta's data changed behind tandem's back (beta is down).
dd if=/dev/urandom of="$DISK_beta" bs=1M seek=100 count=1 conv=notrunc status=none
for h in alpha beta; do adm_ok "$h" up "$RES"; done
wait_connected alpha
adm_ok alpha invalidate-remote "$RES"
SYNC_TIMEOUT_S=120 wait_synced alpha
j=$(status_json alpha)
sent=$(echo "$j" | json_num resync-sent)
equal=$(echo "$j" | json_num resync-csum-equal)
info "resync-sent $sent bytes, resync-csum-equal $equal bytes"
[ "$sent" -ge $((1024 * 1024)) ] || fail "the changed MiB was not sent ($sent bytes)"
[ "$sent" -le $((2 * 1024 * 1024)) ] || fail "csums-alg sent $sent bytes for 1 MiB of differences"
[ "$equal" -ge $((250 * 1024 * 1024)) ] || fail "csums-alg found only $equal bytes equal"
compare_data_regions
echo "PASS"
