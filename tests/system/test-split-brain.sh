#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Split brain on real processes (issue 3's system test for it):
#  1. after-sb-0pri discard-zero-changes: alpha (Primary) writes while the link is cut; beta is promoted with
#     --force but writes nothing, then both are Secondary. When the link returns, the split brain is detected and
#     resolved automatically: beta's (empty) changes are discarded and it is resynced; replicas identical.
#  2. Both Primary and both write while apart: detected, both StandAlone, `status` says split-brain, the
#     split-brain handler runs. Manual recovery as in DRBD: on the victim `secondary; connect --discard-my-data`,
#     on the survivor `connect`; the victim is resynced, its changes are gone, replicas identical.
# Needs root, ip netns, /dev/fuse, loop devices, fio with the nbd engine. Exits 77 with "SKIP: reason" otherwise.
set -euo pipefail

TS_NAME=sb
LIB=$(cd "$(dirname "$0")/lib" && pwd)
# shellcheck source=lib/two_hosts.sh
. "$LIB/two_hosts.sh"
require_tools cmp truncate timeout sed grep
require_fio_nbd

# write_at HOST OFFSET: 4 MiB of fresh random data through HOST's NBD export.
write_at() {
  timeout 60 fio --name=w --ioengine=nbd --uri="nbd+unix:///?socket=$(host_run "$1")/$RES.nbd" --direct=1 \
    --rw=write --bs=1M --size=4M --offset="$2" --refill_buffers --output="$WORK/fio-$1.out" >/dev/null ||
    fail "fio write on $1 failed: $(tail -n 3 "$WORK/fio-$1.out")"
}
standalone() { [ "$(node_cstate "$1")" = StandAlone ]; }

step "two hosts with after-sb-0pri discard-zero-changes and a split-brain handler"
tandem_setup sbr 13 128 r0
# Policies and a handler that records each call with DRBD's environment variables.
sed -i -e 's|^\( *connect-int .*\)$|\1\n        after-sb-0pri discard-zero-changes;|' \
  -e "s|^\\( *on alpha {\\)|    handlers { split-brain \"echo \$DRBD_RESOURCE peer=\$DRBD_PEER >> $WORK/sb-calls\"; }\\n\\1|" "$CONF"
grep -q "after-sb-0pri" "$CONF" && grep -q "split-brain" "$CONF" || fail "could not edit $CONF"
for h in alpha beta; do
  adm_ok "$h" create-md "$RES"
  adm_ok "$h" up "$RES"
done
wait_connected alpha
adm_ok alpha primary "$RES" --force
wait_synced alpha
wait_synced beta

step "cut the link; alpha writes; beta is forced Primary but writes nothing; both Secondary"
link_cut alpha
wait_until 30 "alpha notices" not_connected alpha || fail "alpha still Connected"
wait_until 30 "beta notices" not_connected beta || fail "beta still Connected"
write_at alpha 0
adm_ok alpha secondary "$RES"
adm_ok beta primary "$RES" --force
adm_ok beta secondary "$RES"

step "restore the link: split brain detected and resolved by discard-zero-changes"
link_restore alpha
wait_connected alpha
wait_synced alpha
wait_synced beta
grep -q "automatically resolved" "$(host_log alpha)" || fail "alpha's log does not show the automatic resolution"
info "$(grep "automatically resolved" "$(host_log alpha)" | tail -n 1 | cut -c1-200)"
wait_idle alpha
compare_data_regions

step "both Primary and both write while apart"
adm_ok alpha primary "$RES"
link_cut alpha
wait_until 30 "alpha notices" not_connected alpha || fail "alpha still Connected"
wait_until 30 "beta notices" not_connected beta || fail "beta still Connected"
adm_ok beta primary "$RES" --force
write_at alpha 8M
write_at beta 16M
link_restore alpha
wait_until 30 "split brain detected on alpha" standalone alpha || fail "alpha is '$(node_cstate alpha)', not StandAlone"
wait_until 30 "split brain detected on beta" standalone beta || fail "beta is '$(node_cstate beta)', not StandAlone"
adm alpha status "$RES" | grep -q "split-brain" || fail "alpha's status does not mention the split brain"
show_status alpha
show_status beta
wait_until 10 "split-brain handler ran" test -s "$WORK/sb-calls" || fail "the split-brain handler did not run"
info "handler calls: $(tr '\n' ';' <"$WORK/sb-calls")"
grep -q "^$RES peer=" "$WORK/sb-calls" || fail "handler environment missing: $(cat "$WORK/sb-calls")"

step "manual recovery: beta discards its data, alpha reconnects"
adm_ok beta secondary "$RES"
adm_ok beta connect "$RES" --discard-my-data
adm_ok alpha connect "$RES"
wait_connected alpha
wait_synced alpha
wait_synced beta
role_is alpha Primary || fail "alpha lost its Primary role"
wait_idle alpha
compare_data_regions
show_status alpha

step "down both nodes"
ADM_TIMEOUT_S=30 adm alpha down "$RES" >/dev/null || fail "alpha down"
ADM_TIMEOUT_S=30 adm beta down "$RES" >/dev/null || fail "beta down"

echo
echo "PASS"
