#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# `tandemadm adjust` on real daemons, as a DRBD admin uses `drbdadm adjust` after editing the resource file:
# - no change: nothing happens, the connection stays;
# - resync-rate and a split-brain policy: applied at once, the connection stays;
# - disk-options --resync-rate: a running option changed without the file, until the next adjust;
# - protocol C -> A: each node connects again with the new protocol (a node whose peer still ran the old
#   one was refused, StandAlone, and its next adjust connects it); replication goes on under protocol A;
# - a new disk path or a broken file: refused with a message, nothing changed;
# - after `disconnect`, adjust connects; on a resource that is down, adjust brings it up.
# Then `status --verbose --statistics` (checked here, where counters have something to count).
# Writes go through the Primary's device in between; the replicas are identical at the end.
set -euo pipefail

LIB=$(cd "$(dirname "$0")/lib" && pwd)
TS_NAME=adjust
# shellcheck source=lib/two_hosts.sh
. "$LIB/two_hosts.sh"

# lost_count HOST: how often HOST's daemon has lost its connection so far.
lost_count() { grep -c "connection to node .* lost" "$(host_log "$1")" || true; }
json_protocol() { status_json "$1" | json_str protocol; }
write_some() {  # write_some MIB_OFFSET: 4 MiB of random data through alpha's device
  timeout 60 dd if=/dev/urandom of="$DEV_alpha" bs=1M count=4 seek="$1" oflag=direct conv=notrunc status=none ||
    fail "writing through $DEV_alpha"
}

step "two nodes, 128 MiB, connected and in sync; alpha Primary"
tandem_setup adj 27 128 r0
for h in alpha beta; do adm_ok "$h" create-md "$RES" >/dev/null; adm_ok "$h" up "$RES"; done
wait_connected alpha
adm_ok alpha primary "$RES" --force
wait_synced alpha
wait_until 30 "device link $DEV_alpha" test -b "$DEV_alpha" || fail "no device at $DEV_alpha"
write_some 0

step "adjust with an unchanged file changes nothing"
out=$(adm_ok alpha adjust "$RES")
echo "$out"
grep -q "no changes" <<<"$out" || fail "adjust of an unchanged file did not say 'no changes'"
is_connected alpha || fail "alpha lost its connection"

step "resync-rate and after-sb-0pri apply at once; the connection stays"
lost_before=$(lost_count alpha)
sed -i "s/^resource $RES {\$/resource $RES {\n    disk { resync-rate 30M; }/" "$CONF"
sed -i 's/^\( *connect-int *1;\)$/\1\n        after-sb-0pri discard-zero-changes;/' "$CONF"
{ grep -q "resync-rate 30M" "$CONF" && grep -q "after-sb-0pri" "$CONF"; } || fail "could not edit $CONF"
for h in alpha beta; do
  out=$(adm_ok "$h" adjust "$RES")
  echo "$out"
  grep -q "applied: disk resync-rate (unset) -> 30M" <<<"$out" || fail "$h: resync-rate not reported as applied"
  grep -q "applied: net after-sb-0pri (unset) -> discard-zero-changes" <<<"$out" ||
    fail "$h: after-sb-0pri not reported as applied"
done
sleep 2
[ "$(lost_count alpha)" = "$lost_before" ] || fail "a live change dropped the connection"
is_connected alpha || fail "alpha is not connected after a live adjust"
write_some 8

step "disk-options changes a running option until the next adjust"
out=$(adm_ok alpha disk-options "$RES" --resync-rate=50M)
echo "$out"
grep -q "applied: disk resync-rate 30M -> 50M" <<<"$out" || fail "disk-options did not apply resync-rate"
adm_expect 1 alpha disk-options "$RES" --protocol=A  # a net keyword
adm_expect 1 alpha net-options "$RES" --protocol=D
out=$(adm_ok alpha adjust "$RES")
echo "$out"
grep -q "applied: disk resync-rate 50M -> 30M" <<<"$out" || fail "adjust did not go back to the file's resync-rate"
is_connected alpha || fail "disk-options or adjust dropped the connection"

step "protocol C -> A: each node connects again with the new protocol"
sed -i 's/^\( *protocol *\)C;$/\1A;/' "$CONF"
grep -qE '^ *protocol +A;' "$CONF" || fail "could not change the protocol in $CONF"
out=$(adm_ok alpha adjust "$RES")
echo "$out"
grep -q "reconnected for: net protocol C -> A" <<<"$out" || fail "alpha: protocol change not reported"
[ "$(json_protocol alpha)" = A ] || fail "alpha's status still shows protocol $(json_protocol alpha)"
write_some 16  # alpha is disconnected meanwhile (beta refuses protocol A): the bitmap keeps these blocks
adm_ok beta adjust "$RES"
# The node that refused the mismatched handshake went StandAlone, as DRBD does; its next adjust connects it.
for h in alpha beta; do [ "$(node_cstate "$h")" = StandAlone ] && adm_ok "$h" adjust "$RES"; done
wait_connected alpha
wait_synced alpha
[ "$(json_protocol beta)" = A ] || fail "beta's status shows protocol $(json_protocol beta)"
write_some 24
wait_idle alpha
compare_data_regions
show_status alpha

step "a new disk path is refused and nothing changes"
cp "$CONF" "$WORK/good.conf"
sed -i "s|disk      $DISK_alpha;|disk      $WORK/elsewhere.img;|" "$CONF"
grep -q "elsewhere.img" "$CONF" || fail "could not change alpha's disk in $CONF"
adm_expect 11 alpha adjust "$RES"
out=$(adm alpha adjust "$RES" 2>&1) || true
grep -q "on alpha: disk .* -> .*elsewhere.img" <<<"$out" || fail "the refusal does not name the disk: $out"
is_connected alpha || fail "a refused adjust changed the connection"
cp "$WORK/good.conf" "$CONF"

step "a broken file is refused with its file:line"
sed -i 's/^\( *connect-int *1;\)$/\1\n        bogus-keyword 1;/' "$CONF"
grep -q "bogus-keyword" "$CONF" || fail "could not break $CONF"
out=$(adm alpha adjust "$RES" 2>&1) && fail "adjust accepted a broken file: $out"
info "refused: $out"
grep -q "$CONF:[0-9]*:.*bogus-keyword" <<<"$out" || fail "the message does not name file:line and the keyword: $out"
cp "$WORK/good.conf" "$CONF"
is_connected alpha || fail "a broken file changed the connection"

step "after disconnect, adjust connects"
adm_ok alpha disconnect "$RES"
wait_until 10 "alpha StandAlone" test "$(node_cstate alpha)" = StandAlone || fail "alpha not StandAlone"
write_some 32
out=$(adm_ok alpha adjust "$RES")
echo "$out"
grep -q "connecting to the peer" <<<"$out" || fail "adjust did not say it connects"
wait_connected alpha
wait_synced alpha

step "adjust on a resource that is down brings it up"
adm_ok beta down "$RES"
write_some 40
out=$(adm_ok beta adjust "$RES")
echo "$out"
grep -q "not up; starting it" <<<"$out" || fail "adjust of a down resource did not start it"
wait_connected alpha
wait_synced alpha
wait_idle alpha
compare_data_regions
show_status beta

step "status --verbose --statistics, as drbdadm's"
out=$(adm_ok alpha status "$RES" --verbose --statistics)
echo "$out"
grep -q "^$RES node-id:0 role:Primary suspended:no\$" <<<"$out" || fail "no node-id/suspended on the first line"
grep -qE "^      size:[0-9]+ read:[0-9]+ written:[1-9][0-9]* al-writes:[0-9]+ upper-pending:[0-9]+\$" <<<"$out" ||
  fail "no size/read/written line"
grep -q "^  beta node-id:1 connection:Connected role:Secondary\$" <<<"$out" || fail "no peer line with node-id"
grep -qE "^        received:[0-9]+ sent:[1-9][0-9]* out-of-sync:0\$" <<<"$out" || fail "no received/sent line"
echo "PASS"
